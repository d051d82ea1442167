"""Settlement and transitions on the real database (money rows of the catalogue)."""

import json
from datetime import timedelta

import pytest
import time_machine
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.utils import timezone

from frontend.models import LedgerEntry, Order, Wallet
from payments import checkout
from payments.daraja.payloads import NAIROBI, parse_stk_callback
from payments.live.broadcast import payment_group_name
from payments.models import CallbackRecord, Payment, PaymentEvent
from payments.signals import payment_paid
from tests.factories import (
    accepted_for,
    callback_body,
    callback_result,
    dumps,
    make_payment,
    next_phone,
    query_result,
    wallet_of,
)

S = Payment.Status
O = CallbackRecord.Outcome  # noqa: E741
pytestmark = pytest.mark.django_db


def apply(payment, result, source="callback", **kw):
    return checkout.payment_apply_result(payment=payment, result=result, source=source, **kw)


def balance(user) -> int:
    return Wallet.objects.get(user=user).balance


def test_success_credits_the_wallet_once_from_our_amount(user, django_capture_on_commit_callbacks):
    payment = make_payment(user, amount=250)
    paid = []
    payment_paid.connect(receiver := lambda sender, payment, payable, **kw: paid.append(payable.balance))
    with django_capture_on_commit_callbacks(execute=True) as pushes:
        applied = apply(payment, callback_result(payment))
    payment_paid.disconnect(receiver)
    payment.refresh_from_db()
    assert applied.outcome == O.APPLIED
    assert (payment.status, payment.settled_by, payment.result_code) == (S.PAID, "callback", "0")
    assert payment.receipt_number == f"SKN{payment.pk:07d}"
    assert payment.transaction_date.astimezone(NAIROBI).isoformat() == "2026-11-23T12:01:05+03:00"
    assert balance(user) == 250
    assert LedgerEntry.objects.get(payment=payment).balance_after == 250
    # after the commit: one hook pushes the status to open pages, then sends payment_paid
    # once, with the payable as committed
    assert [c.__qualname__ for c in pushes] == ["broadcast_after_commit.<locals>.push_status"]
    assert paid == [250]
    assert PaymentEvent.objects.filter(payment=payment, kind=PaymentEvent.Kind.BROADCAST).count() == 1


def test_the_same_receipt_in_another_case_is_never_a_second_credit(user):
    """Receipts are one spelling (trimmed, upper case) before every uniqueness decision."""
    first, second = make_payment(user, amount=100), make_payment(user, amount=100)
    assert apply(first, callback_result(first, receipt="QJD4T7ZOT0")).outcome == O.APPLIED
    again = apply(second, callback_result(second, receipt=" qjd4t7zot0 "))
    second.refresh_from_db()
    assert again.outcome == O.REVIEW and second.status == S.NEEDS_REVIEW and second.receipt_number is None
    assert balance(user) == 100 and LedgerEntry.objects.count() == 1
    assert Payment.objects.get(pk=first.pk).receipt_number == "QJD4T7ZOT0"


def test_the_database_refuses_a_receipt_in_lower_case(user):
    from django.db import IntegrityError, transaction

    payment = make_payment(user)
    with pytest.raises(IntegrityError), transaction.atomic():
        Payment.objects.filter(pk=payment.pk).update(receipt_number="qjd4t7zot0")


def test_duplicate_success_is_a_no_op(user):
    payment = make_payment(user, amount=100)
    first = apply(payment, callback_result(payment))
    version = Payment.objects.get(pk=payment.pk).version
    second = apply(payment, callback_result(payment))
    assert (first.outcome, second.outcome) == (O.APPLIED, O.DUPLICATE)
    assert balance(user) == 100 and LedgerEntry.objects.count() == 1
    assert Payment.objects.get(pk=payment.pk).version == version


def test_every_transition_increases_version(user):
    payment = make_payment(user, pushed=False)
    versions = [Payment.objects.get(pk=payment.pk).version]
    checkout.payment_mark_pushed(payment, accepted_for(payment))
    versions.append(Payment.objects.get(pk=payment.pk).version)
    apply(Payment.objects.get(pk=payment.pk), callback_result(payment))
    versions.append(Payment.objects.get(pk=payment.pk).version)
    assert versions == sorted(set(versions)) and len(versions) == 3


def test_order_is_marked_paid(user, order):
    payment = make_payment(user, order=order)
    apply(payment, callback_result(payment))
    order.refresh_from_db()
    assert order.status == Order.Status.PAID and order.paid_by_id == payment.pk
    assert not LedgerEntry.objects.exists()


def test_second_successful_payment_for_a_paid_order_is_flagged_for_refund(user, order):
    first = make_payment(user, order=order)
    checkout.payment_apply_result(payment=first, result=query_result(first, "1037"), source="query")
    # the customer retried; both prompts were answered (the first late, after a timeout)
    second = make_payment(user, order=order)
    apply(second, callback_result(second))
    late = apply(first, callback_result(first))
    first.refresh_from_db()
    assert late.outcome == O.APPLIED and first.status == S.PAID
    assert first.flagged and "refund" in first.review_reason
    assert Order.objects.get(pk=order.pk).paid_by_id == second.pk


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("1032", S.CANCELLED),
        ("1031", S.CANCELLED),
        ("1037", S.TIMED_OUT),
        ("1019", S.TIMED_OUT),
        ("1", S.FAILED),
        ("2001", S.FAILED),
        ("1025", S.FAILED),
        ("9999", S.FAILED),
        ("1001", S.FAILED),
        ("SFC_IC0003", S.FAILED),
        ("E3008", S.FAILED),
    ],
)
def test_failure_codes_map_to_states_without_credit(user, code, status):
    payment = make_payment(user)
    result = callback_result(payment, code=code)
    assert apply(payment, result).outcome == O.APPLIED
    payment.refresh_from_db()
    assert (payment.status, payment.result_code) == (status, code)
    assert balance(user) == 0


@pytest.mark.parametrize("amount", ["1000", "99.99", "100.5"])
def test_amount_mismatch_goes_to_review_without_credit(user, amount):
    from decimal import Decimal

    payment = make_payment(user, amount=100)
    applied = apply(payment, callback_result(payment, amount=Decimal(amount)))
    payment.refresh_from_db()
    assert applied.outcome == O.REVIEW and payment.status == S.NEEDS_REVIEW
    assert "amount mismatch" in payment.review_reason
    assert balance(user) == 0 and not LedgerEntry.objects.exists()


def test_amount_as_string_is_not_trusted(user):
    """§6.2: Amount is a JSON number. A string (even the right figure) is not an amount we
    trust: the success goes to review, nothing is credited."""
    payment = make_payment(user, amount=100)
    body = callback_body(payment)
    for item in body["Body"]["stkCallback"]["CallbackMetadata"]["Item"]:
        if item["Name"] == "Amount":
            item["Value"] = "100"
    result = parse_stk_callback(dumps(body))
    assert result.is_success and result.receipt_number and result.amount is None
    applied = apply(payment, result)
    payment.refresh_from_db()
    assert applied.outcome == O.REVIEW and payment.status == S.NEEDS_REVIEW
    assert "without Amount" in payment.review_reason and balance(user) == 0


@pytest.mark.parametrize("kwargs", [{"metadata": False}, {"receipt": "bad receipt!"}])
def test_success_without_receipt_is_not_credited(user, kwargs):
    """B4. The payment goes to review (a human decides); the query cannot supply the receipt
    (§4.2), so no automatic query is scheduled for it."""
    payment = make_payment(user)
    applied = apply(payment, callback_result(payment, **kwargs))
    payment.refresh_from_db()
    assert applied.outcome == O.REVIEW and payment.status == S.NEEDS_REVIEW and balance(user) == 0


def test_shortcode_header_mismatch_goes_to_review(user):
    payment = make_payment(user)
    applied = apply(payment, callback_result(payment), shortcode="600999")
    assert applied.outcome == O.REVIEW and balance(user) == 0
    ours = make_payment(user)
    assert apply(ours, callback_result(ours), shortcode=" 174379 ").outcome == O.APPLIED


def test_paid_is_never_downgraded(user):
    payment = make_payment(user)
    apply(payment, callback_result(payment))
    late = apply(payment, callback_result(payment, code=1032))
    query = apply(payment, query_result(payment, "1037"), source="query")
    payment.refresh_from_db()
    assert (late.outcome, query.outcome) == (O.CONTRADICTION, O.CONTRADICTION)
    assert payment.status == S.PAID and payment.flagged
    assert balance(user) == payment.amount


def test_verified_success_wins_over_an_earlier_failure(user):
    """Conflicting callbacks (1032 then 0): money moved, so success wins and is flagged."""
    payment = make_payment(user)
    apply(payment, callback_result(payment, code=1032))
    applied = apply(payment, callback_result(payment))
    payment.refresh_from_db()
    assert applied.outcome == O.APPLIED and payment.status == S.PAID and payment.flagged
    assert balance(user) == payment.amount


def test_first_failure_stands_against_a_different_failure(user):
    payment = make_payment(user)
    apply(payment, callback_result(payment, code=1032))
    applied = apply(payment, callback_result(payment, code=1037))
    payment.refresh_from_db()
    assert applied.outcome == O.CONTRADICTION and payment.status == S.CANCELLED


def test_query_success_then_callback_completes_the_receipt(user):
    payment = make_payment(user, amount=70)
    by_query = apply(payment, query_result(payment, "0"), source="query")
    payment.refresh_from_db()
    assert by_query.outcome == O.APPLIED and payment.settled_by == "query" and payment.receipt_number is None
    assert balance(user) == 70
    completed = apply(payment, callback_result(payment))
    payment.refresh_from_db()
    assert completed.outcome == O.COMPLETED and payment.receipt_number == f"SKN{payment.pk:07d}"
    assert balance(user) == 70 and LedgerEntry.objects.count() == 1


def test_query_success_contradicting_a_stored_failure_goes_to_review(user):
    payment = make_payment(user)
    apply(payment, callback_result(payment, code=1032))
    applied = apply(payment, query_result(payment, "0"), source="query")
    payment.refresh_from_db()
    assert applied.outcome == O.CONTRADICTION and payment.status == S.NEEDS_REVIEW and balance(user) == 0


def test_pending_query_answer_changes_nothing(user):
    payment = make_payment(user)
    applied = apply(payment, query_result(payment, "4999"), source="query")
    assert Payment.objects.get(pk=payment.pk).status == S.PENDING and applied.outcome == O.DUPLICATE


def test_callback_before_push_response_is_not_reverted(user):
    """F18: the callback lands while we wait for Daraja's push response."""
    payment = make_payment(user, pushed=False)
    accepted = accepted_for(payment)
    apply(payment, callback_result(payment, checkout_id=accepted.checkout_request_id))
    checkout.payment_mark_pushed(payment, accepted)
    payment.refresh_from_db()
    assert payment.status == S.PAID and payment.checkout_request_id == accepted.checkout_request_id
    assert payment.pushed_at is not None
    assert balance(user) == payment.amount and LedgerEntry.objects.count() == 1


def test_receipt_reused_by_another_payment_goes_to_review(user):
    first, second = make_payment(user), make_payment(user)
    apply(first, callback_result(first, receipt="SKN0000001"))
    applied = apply(second, callback_result(second, receipt="SKN0000001"))
    second.refresh_from_db()
    assert applied.outcome == O.REVIEW and second.status == S.NEEDS_REVIEW
    assert balance(user) == first.amount


def test_local_deadline_expires_then_late_success_still_credits(user):
    """F21: expired stays reconcilable; a late verified success is honoured."""
    payment = make_payment(user, amount=40)
    with time_machine.travel(timezone.now() + timedelta(minutes=10)):
        assert checkout.payments_expire_overdue() == 1
    payment.refresh_from_db()
    assert payment.status == S.EXPIRED
    assert apply(payment, callback_result(payment)).outcome == O.APPLIED
    assert Payment.objects.get(pk=payment.pk).status == S.PAID and balance(user) == 40


def test_push_that_never_answered_becomes_unknown(user):
    payment = make_payment(user, pushed=False)
    with time_machine.travel(timezone.now() + timedelta(minutes=2)):
        checkout.payments_expire_overdue()
    payment.refresh_from_db()
    assert payment.status == S.UNKNOWN and payment.next_check_at is not None


def test_no_broadcast_and_no_change_when_the_transaction_rolls_back(user, django_capture_on_commit_callbacks):
    """F26: an error after the state update but before commit: nothing is pushed."""
    payment = make_payment(user)
    with django_capture_on_commit_callbacks(execute=True) as pushes:
        with pytest.raises(RuntimeError), transaction.atomic():  # noqa: PT012 (the crash is the point)
            apply(payment, callback_result(payment))
            raise RuntimeError("crash before commit")
    assert pushes == [] and Payment.objects.get(pk=payment.pk).status == S.PENDING and balance(user) == 0


def test_transitions_are_recorded_on_the_timeline(user):
    payment = make_payment(user)
    apply(payment, callback_result(payment))
    states = list(
        PaymentEvent.objects.filter(payment=payment, kind="state").values_list(
            "from_status", "to_status", "source"
        )
    )
    assert states == [
        ("", "initiating", "customer"),
        ("initiating", "pending", "push"),
        ("pending", "paid", "callback"),
    ]


@pytest.mark.django_db(transaction=True)
def test_broadcast_reaches_the_payment_group_after_commit(user):
    payment = make_payment(user)
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(payment_group_name(payment.public_id), channel)
    apply(payment, callback_result(payment))
    message = async_to_sync(layer.receive)(channel)
    assert message["type"] == "payment.status"
    # the frame once per language, serialised; each socket forwards its own
    english = json.loads(message["frames"]["en"])["payment"]
    assert english["status"] == "paid" and english["receipt"] == f"SKN{payment.pk:07d}"


class TestCreate:
    def test_idempotency_key_replays_the_same_payment(self, user):
        phone = next_phone()
        first, created = checkout.payment_create(
            user=user, phone=phone, payable=wallet_of(user), amount=10, idempotency_key="k1"
        )
        again, created_again = checkout.payment_create(
            user=user, phone=phone, payable=wallet_of(user), amount=10, idempotency_key="k1"
        )
        assert (created, created_again) == (True, False) and first.pk == again.pk

    def test_idempotency_key_with_a_different_body_conflicts(self, user):
        phone = next_phone()
        checkout.payment_create(
            user=user, phone=phone, payable=wallet_of(user), amount=10, idempotency_key="k1"
        )
        with pytest.raises(checkout.IdempotencyConflict):
            checkout.payment_create(
                user=user, phone=phone, payable=wallet_of(user), amount=11, idempotency_key="k1"
            )
        assert Payment.objects.count() == 1

    def test_one_live_prompt_per_phone(self, user, other_user):
        phone = next_phone()
        checkout.payment_create(user=user, phone=phone, payable=wallet_of(user), amount=10)
        with pytest.raises(checkout.PromptInProgress):
            checkout.payment_create(user=other_user, phone=phone, payable=wallet_of(other_user), amount=10)

    def test_one_live_prompt_per_order(self, user, order):
        checkout.payment_create(user=user, phone=next_phone(), payable=order)
        with pytest.raises(checkout.PromptInProgress):
            checkout.payment_create(user=user, phone=next_phone(), payable=order)

    def test_paid_order_cannot_be_paid_again(self, user, order):
        payment = make_payment(user, order=order)
        apply(payment, callback_result(payment))
        order.refresh_from_db()
        with pytest.raises(checkout.PayableSettled):
            checkout.payment_create(user=user, phone=next_phone(), payable=order)

    def test_stale_prompt_does_not_block_the_phone_forever(self, user):
        phone = next_phone()
        make_payment(user, phone=phone)
        with time_machine.travel(timezone.now() + timedelta(minutes=10)):
            payment, created = checkout.payment_create(
                user=user, phone=phone, payable=wallet_of(user), amount=5
            )
        assert created and payment.status == S.INITIATING
