"""The demo's orders, wallets and ledger used to live in the engine (payments 0001): copy every
row here, keeping its primary key, and point each payment at its payable. Runs before
payments 0004 drops the old tables; a project without this shop never runs it."""

import uuid

from django.core.management.color import no_style
from django.db import migrations


def copy_rows(apps, schema_editor):
    OldOrder = apps.get_model("payments", "Order")
    OldWallet = apps.get_model("payments", "Wallet")
    OldLedger = apps.get_model("payments", "LedgerEntry")
    Payment = apps.get_model("payments", "Payment")
    ContentType = apps.get_model("contenttypes", "ContentType")
    Order = apps.get_model("frontend", "Order")
    Wallet = apps.get_model("frontend", "Wallet")
    LedgerEntry = apps.get_model("frontend", "LedgerEntry")

    order_type = ContentType.objects.get_or_create(app_label="frontend", model="order")[0]
    wallet_type = ContentType.objects.get_or_create(app_label="frontend", model="wallet")[0]
    for old in OldWallet.objects.all():
        Wallet.objects.create(id=old.id, public_id=uuid.uuid4(), user_id=old.user_id, balance=old.balance)
    for old in OldOrder.objects.all():
        Order.objects.create(
            id=old.id,
            public_id=old.public_id,
            user_id=old.user_id,
            reference=old.reference,
            description=old.description,
            amount=old.amount,
            status=old.status,
            paid_by_id=old.paid_by_id,
            paid_at=old.paid_at,
        )
    for old in OldOrder.objects.all():  # auto_now_add stamped "now": keep the original time
        Order.objects.filter(pk=old.pk).update(created_at=old.created_at)
    for old in OldLedger.objects.all():
        entry = LedgerEntry.objects.create(
            id=old.id, wallet_id=old.wallet_id, payment_id=old.payment_id, amount=old.amount,
            balance_after=old.balance_after,
        )
        LedgerEntry.objects.filter(pk=entry.pk).update(created_at=old.created_at)
    Payment.objects.filter(purpose="order").exclude(order_id=None).update(
        payable_type=order_type, payable_kind="order"
    )
    Payment.objects.filter(purpose="deposit").exclude(wallet_id=None).update(
        payable_type=wallet_type, payable_kind="wallet", payable_exclusive=False
    )
    for payment in Payment.objects.filter(payable_id=None).only("pk", "order_id", "wallet_id"):
        Payment.objects.filter(pk=payment.pk).update(payable_id=str(payment.order_id or payment.wallet_id))
    _reset_sequences(schema_editor, [Order, Wallet, LedgerEntry])


def _reset_sequences(schema_editor, models):
    """Rows were inserted with explicit ids: move PostgreSQL's sequences past them."""
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for statement in connection.ops.sequence_reset_sql(no_style(), models):
            cursor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("frontend", "0001_shop"),
        ("payments", "0003_payables"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]
    run_before = [("payments", "0004_payables_only")]

    operations = [migrations.RunPython(copy_rows, migrations.RunPython.noop)]
