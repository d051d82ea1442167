"""Data migrations keep every row: run forward from the state before them on real rows."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)


def migrate(target: list[tuple[str, str]]):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(target)
    return executor.loader.project_state(target).apps


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
