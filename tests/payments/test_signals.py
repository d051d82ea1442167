"""payment_paid / payment_failed / payment_needs_review: sent once, after the commit, with the
payable; never on rollback, never twice for a duplicate (payments/signals.py)."""

import pytest
from django.db import transaction

from frontend.models import LedgerEntry, Order, Wallet
from payments import checkout
from payments.signals import payment_failed, payment_needs_review, payment_paid
from tests.factories import callback_result, make_payment, query_result

pytestmark = pytest.mark.django_db


@pytest.fixture
def heard():
    """Every signal heard: (name, sender, payment pk, payable class, reason)."""
    seen = []
    hooks = []
    for name, signal in (
        ("paid", payment_paid),
        ("failed", payment_failed),
        ("review", payment_needs_review),
    ):

        def receiver(sender, payment, payable, name=name, **kwargs):
            seen.append((name, sender.__name__, payment.pk, type(payable).__name__, kwargs.get("reason")))

        signal.connect(receiver, weak=False)
        hooks.append((signal, receiver))
    yield seen
    for signal, receiver in hooks:
        signal.disconnect(receiver)


def apply(payment, result, source="callback"):
    return checkout.payment_apply_result(payment=payment, result=result, source=source)


def test_paid_is_announced_once_after_commit(user, heard, django_capture_on_commit_callbacks):
    payment = make_payment(user, amount=40)
    with django_capture_on_commit_callbacks(execute=False) as pending:
        apply(payment, callback_result(payment))
        assert heard == []  # nothing inside the transaction
    for callback in pending:
        callback()
    assert [(s, sender, pk, kind) for s, sender, pk, kind, _ in heard] == [
        ("paid", "Wallet", payment.pk, "Wallet")
    ]
    with django_capture_on_commit_callbacks(execute=True):
        apply(payment, callback_result(payment))  # a duplicate: no second signal
    assert len(heard) == 1


def test_failed_carries_the_customers_words(user, heard, django_capture_on_commit_callbacks):
    payment = make_payment(user)
    with django_capture_on_commit_callbacks(execute=True):
        apply(payment, callback_result(payment, code=1032))
    [(signal, _, _, _, reason)] = heard
    assert signal == "failed" and reason.startswith("Cancelled:")


def test_review_carries_the_reason(user, heard, django_capture_on_commit_callbacks):
    payment = make_payment(user, amount=100)
    with django_capture_on_commit_callbacks(execute=True):
        apply(payment, callback_result(payment, amount=99))
    [(signal, _, _, _, reason)] = heard
    assert signal == "review" and "amount mismatch" in reason


@pytest.mark.django_db(transaction=True)
def test_nothing_is_announced_when_the_settlement_rolls_back(user, heard):
    payment = make_payment(user, amount=30)

    class Boom(Exception):
        pass

    def settle_then_fail():
        with transaction.atomic():
            apply(payment, callback_result(payment))
            raise Boom

    with pytest.raises(Boom):
        settle_then_fail()
    assert heard == [] and not LedgerEntry.objects.exists() and Wallet.objects.get(user=user).balance == 0
    apply(payment, callback_result(payment))  # the real one, committed
    assert [s for s, *_ in heard] == ["paid"]


def test_an_order_whose_amount_changed_since_the_prompt_goes_to_review(
    user, heard, django_capture_on_commit_callbacks
):
    order = Order.objects.create(user=user, reference="ORD5", description="Kikoi", amount=500)
    payment = make_payment(user, order=order)
    Order.objects.filter(pk=order.pk).update(amount=650)  # repriced while the prompt was open
    with django_capture_on_commit_callbacks(execute=True):
        applied = apply(payment, callback_result(payment))
    payment.refresh_from_db()
    order.refresh_from_db()
    assert applied.outcome == "review" and payment.status == "needs_review" and order.status == "unpaid"
    assert "amount changed since the prompt" in payment.review_reason
    assert [s for s, *_ in heard] == ["review"]
    # a query success cannot sneak past it either
    other = make_payment(
        user, order=Order.objects.create(user=user, reference="ORD6", description="x", amount=10)
    )
    Order.objects.filter(pk=other.payable_id).update(amount=11)
    assert apply(other, query_result(other, "0"), source="query").outcome == "review"
