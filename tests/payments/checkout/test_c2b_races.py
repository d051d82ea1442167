"""Races between the two ways money arrives for one payment: the STK callback and a payment
from the M-Pesa menu (C2B Confirmation), and duplicated confirmations, on real threads through
the callback door. Runs on SQLite and, under ``make test``, on PostgreSQL (marker
``postgres``), where row locks instead of a single writer decide the races."""

import pytest
from django.db.models import Sum

from frontend.models import LedgerEntry
from payments.models import C2BPayment, CallbackRecord, Payment
from tests.factories import c2b_notice, callback_body, dumps, make_payment
from tests.helpers.asgi import CallbackDoor
from tests.helpers.race import run_parallel

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]
ROUNDS = 8


def credited(payment) -> int:
    return LedgerEntry.objects.filter(payment=payment).aggregate(s=Sum("amount"))["s"] or 0


def test_menu_payment_and_stk_success_at_the_same_moment_credit_once(user):
    for round_ in range(ROUNDS):
        payment = make_payment(user, amount=100 + round_)
        stk = dumps(callback_body(payment, receipt=f"SKS{round_:07d}"))
        menu = dumps(c2b_notice(payment.paybill_account, payment.amount, receipt=f"TKM{round_:07d}"))

        def deliver(i, payment=payment, stk=stk, menu=menu):
            door = CallbackDoor()
            response = door.callback(payment, stk) if i == 0 else door.c2b("confirmation", menu)
            return response.status_code

        assert run_parallel(2, deliver) == [200, 200]
        payment.refresh_from_db()
        assert payment.status == "paid" and credited(payment) == payment.amount
        assert payment.receipt_number in (f"SKS{round_:07d}", f"TKM{round_:07d}")
        menu_row = C2BPayment.objects.get(trans_id=f"TKM{round_:07d}")
        if payment.receipt_number.startswith("TKM"):  # the menu won: the STK receipt is the contradiction
            assert (
                menu_row.state == "matched" and payment.flagged and "second receipt" in payment.review_reason
            )
        else:  # the prompt won: the menu money waits for a refund
            assert menu_row.state == "review" and "paid twice" in menu_row.review_reason
    assert LedgerEntry.objects.count() == ROUNDS


def test_duplicated_confirmations_at_once_credit_once(user):
    payment = make_payment(user, amount=700)
    body = dumps(c2b_notice(payment.paybill_account, 700, receipt="TKD0000001"))
    codes = run_parallel(8, lambda i: CallbackDoor().c2b("confirmation", body).status_code)
    assert codes == [200] * 8
    payment.refresh_from_db()
    assert payment.status == "paid" and credited(payment) == 700
    assert C2BPayment.objects.count() == 1
    records = CallbackRecord.objects.filter(kind="c2b_confirmation")
    assert records.count() == 8  # every delivery stored raw
    assert sorted(set(records.values_list("outcome", flat=True))) == ["applied", "duplicate"]
    assert Payment.objects.get(pk=payment.pk).version == payment.version
