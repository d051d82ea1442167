"""Callback values that no database column can hold: the callback's fault, never an outage."""

import pytest

from frontend.models import LedgerEntry
from payments.checkout.callback_url import callback_path
from payments.models import CallbackRecord, Payment
from tests.factories import callback_body, dumps, make_payment

pytestmark = pytest.mark.django_db
O = CallbackRecord.Outcome  # noqa: E741


def post(door, payment, body):
    return door.post(
        callback_path(payment.public_id), body if isinstance(body, (str, bytes)) else dumps(body)
    )


@pytest.mark.postgres
@pytest.mark.parametrize(
    "change",
    [
        "40-digit ResultCode",
        "100-digit ResultCode string",
        "NUL in CheckoutRequestID",
        "NUL in ResultDesc",
        "NUL byte",
    ],
)
def test_a_value_no_column_can_hold_is_a_stored_400_not_an_outage(door, user, change):
    """What PostgreSQL's columns cannot hold (a code longer than any ResultCode, a NUL character
    escaped or raw) is this callback's fault: 400, the raw record kept and marked malformed, the
    payment untouched. It was a 503 "database unavailable", the record left unprocessed or, for
    a raw NUL byte, not stored at all."""
    payment = make_payment(user)
    data = callback_body(payment)
    cb = data["Body"]["stkCallback"]
    if change == "40-digit ResultCode":
        cb["ResultCode"] = int("1" * 40)
    elif change == "100-digit ResultCode string":
        cb["ResultCode"] = "9" * 100
    elif change == "NUL in CheckoutRequestID":
        cb["CheckoutRequestID"] += "\x00"
    elif change == "NUL in ResultDesc":
        cb["ResultDesc"] = "a\x00b"
    body = dumps(data).encode()
    if change == "NUL byte":
        body = body.replace(b'{"Body"', b'{\x00"Body"', 1)  # kept as U+FFFD: still not JSON
    response = post(door, payment, body)
    assert response.status_code == 400, response.content
    record = CallbackRecord.objects.get()
    assert record.outcome == O.MALFORMED and record.processed_at is not None
    assert "\x00" not in record.body and ("\ufffd" in record.body) == (change == "NUL byte")
    assert Payment.objects.get(pk=payment.pk).status == "pending"


def test_a_value_the_database_refuses_while_settling_is_recorded_as_malformed(door, user, monkeypatch):
    """Whatever slips past the parser and is refused by the database (``DataError``) rolls the
    settlement back and leaves the record saying so; the answer is 400, never "unavailable"."""
    from django.db import DataError

    import payments.checkout.callbacks as callbacks

    def refused(**kwargs):
        raise DataError("value too long for type character varying(32)")

    monkeypatch.setattr(callbacks, "payment_apply_result", refused)
    payment = make_payment(user, amount=40)
    response = post(door, payment, callback_body(payment))
    assert response.status_code == 400 and "cannot store" in response.json()["ResultDesc"]
    record = CallbackRecord.objects.get()
    assert record.outcome == O.MALFORMED and "DataError" in record.detail
    assert Payment.objects.get(pk=payment.pk).status == "pending" and not LedgerEntry.objects.exists()


@pytest.mark.postgres
def test_a_pay_bill_notice_with_nul_is_kept_and_refused_not_lost(door, user):
    """A Confirmation whose fields hold NUL (escaped) is stored and answered 400; a Validation
    with a raw NUL byte is stored and rejected (C2B00016); neither is "database unavailable"
    nor lost."""
    from payments.models import C2BPayment
    from tests.factories import c2b_notice

    payment = make_payment(user, amount=30)
    notice = c2b_notice(payment.paybill_account, 30)
    notice["FirstName"] = "JO\x00SEPH"
    assert door.c2b("confirmation", dumps(notice)).status_code == 400
    validation = dumps(c2b_notice(payment.paybill_account, 30, validation=True)).encode()
    raw = validation.replace(b"{", b"{\x00", 1)  # kept as U+FFFD, where JSON allows none
    answer = door.c2b("validation", raw)
    assert answer.status_code == 200 and answer.json()["ResultCode"] == "C2B00016"
    kinds = dict(CallbackRecord.objects.values_list("kind", "outcome"))
    assert kinds == {"c2b_confirmation": O.MALFORMED, "c2b_validation": O.REVIEW}
    assert not C2BPayment.objects.exists() and Payment.objects.get(pk=payment.pk).status == "pending"
