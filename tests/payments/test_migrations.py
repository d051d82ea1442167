"""Data migrations keep every row: run forward from the state before them on real rows."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)


def migrate(target: list[tuple[str, str]]):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(target)
    executor.loader.build_graph()
    return executor.loader.project_state([t for t in target if t[1] is not None]).apps


def test_receipts_are_upper_cased_and_a_second_spelling_goes_to_review():
    old = migrate([("payments", "0001_initial")])
    User, Wallet, Payment = (
        old.get_model(*name) for name in (("auth", "User"), ("payments", "Wallet"), ("payments", "Payment"))
    )
    user = User.objects.create(username="m1")
    wallet = Wallet.objects.create(user=user, balance=200)
    common = dict(
        user=user,
        purpose="deposit",
        wallet=wallet,
        amount=100,
        account_reference="DEP1",
        transaction_desc="Wallet top-up",
        status="paid",
        expires_at="2026-01-01T00:00:00Z",
    )
    first = Payment.objects.create(
        phone="254712000001", receipt_number="qjd4t7zot0", settled_at="2026-01-01T10:00:00Z", **common
    )
    second = Payment.objects.create(
        phone="254712000002", receipt_number="QJD4T7ZOT0 ", settled_at="2026-01-01T11:00:00Z", **common
    )
    other = Payment.objects.create(phone="254712000003", receipt_number="SKN0000001", **common)

    new = migrate([("payments", "0002_receipts_in_one_spelling")])
    Payment = new.get_model("payments", "Payment")
    kept, reviewed = Payment.objects.get(pk=first.pk), Payment.objects.get(pk=second.pk)
    assert kept.receipt_number == "QJD4T7ZOT0" and not kept.flagged
    assert reviewed.receipt_number is None and reviewed.flagged
    assert "QJD4T7ZOT0" in reviewed.review_reason and str(first.pk) in reviewed.review_reason
    assert Payment.objects.get(pk=other.pk).receipt_number == "SKN0000001"
    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())


def test_the_shop_models_move_out_of_the_engine_with_every_row():
    """payments 0003 → frontend 0001/0002 → payments 0004: orders, wallets and the ledger are
    copied to the shop with their ids, and every payment names its payable."""
    old = migrate([("payments", "0003_payables"), ("frontend", None)])
    User = old.get_model("auth", "User")
    Order, Wallet = old.get_model("payments", "Order"), old.get_model("payments", "Wallet")
    Payment, Ledger = old.get_model("payments", "Payment"), old.get_model("payments", "LedgerEntry")
    user = User.objects.create(username="mover")
    wallet = Wallet.objects.create(user=user, balance=300)
    order = Order.objects.create(user=user, reference="ORD77", description="Kikoi", amount=850, status="paid")
    common = dict(user=user, account_reference="X", transaction_desc="Y", expires_at="2026-01-01T00:00:00Z")
    paid_order = Payment.objects.create(
        purpose="order",
        order=order,
        phone="254712000001",
        amount=850,
        status="paid",
        receipt_number="SKN0000077",
        **common,
    )
    Order.objects.filter(pk=order.pk).update(paid_by=paid_order)
    deposit = Payment.objects.create(
        purpose="deposit",
        wallet=wallet,
        phone="254712000002",
        amount=300,
        status="paid",
        receipt_number="SKN0000078",
        **common,
    )
    Ledger.objects.create(wallet=wallet, payment=deposit, amount=300, balance_after=300)

    new = migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
    Payment = new.get_model("payments", "Payment")
    ShopOrder, ShopWallet = new.get_model("frontend", "Order"), new.get_model("frontend", "Wallet")
    ShopLedger, ContentType = (
        new.get_model("frontend", "LedgerEntry"),
        new.get_model("contenttypes", "ContentType"),
    )
    moved_order = ShopOrder.objects.get(pk=order.pk)
    assert (moved_order.reference, moved_order.amount, moved_order.status) == ("ORD77", 850, "paid")
    assert moved_order.public_id == order.public_id and moved_order.paid_by_id == paid_order.pk
    assert ShopWallet.objects.get(pk=wallet.pk).balance == 300
    assert ShopLedger.objects.get(payment_id=deposit.pk).balance_after == 300
    by_order, by_deposit = Payment.objects.get(pk=paid_order.pk), Payment.objects.get(pk=deposit.pk)
    assert (by_order.payable_kind, by_order.payable_id, by_order.payable_exclusive) == (
        "order",
        str(order.pk),
        True,
    )
    assert ContentType.objects.get(pk=by_order.payable_type_id).model == "order"
    assert (by_deposit.payable_kind, by_deposit.payable_id, by_deposit.payable_exclusive) == (
        "wallet",
        str(wallet.pk),
        False,
    )
    assert "payments_order" not in connection.introspection.table_names()
