"""Callback values that no database column can hold: the callback's fault, never an outage."""

import pytest
from django.db import DataError

from frontend.models import LedgerEntry
from payments.checkout.callback_url import callback_path
from payments.models import C2BPayment, CallbackRecord, Payment
from tests.factories import c2b_notice, callback_body, dumps, make_payment

pytestmark = pytest.mark.django_db
O = CallbackRecord.Outcome  # noqa: E741


def post(door, payment, body):
    return door.post(
        callback_path(payment.public_id), body if isinstance(body, (str, bytes)) else dumps(body)
    )


@pytest.mark.postgres
@pytest.mark.parametrize("change", ["40-digit ResultCode", "100-digit ResultCode string", "NUL byte"])
def test_a_value_no_column_can_hold_is_a_stored_400_not_an_outage(door, user, change):
    """A code longer than any ResultCode, or a raw NUL byte where JSON allows none, is this
    callback's fault: 400, the raw record kept (the NUL as U+FFFD) and marked malformed, the
    payment untouched. On PostgreSQL it was a 503 "database unavailable", the record left
    unprocessed or, for the NUL byte, not stored at all."""
    payment = make_payment(user)
    data = callback_body(payment)
    cb = data["Body"]["stkCallback"]
    if change == "40-digit ResultCode":
        cb["ResultCode"] = int("1" * 40)
    elif change == "100-digit ResultCode string":
        cb["ResultCode"] = "9" * 100
    body = dumps(data).encode()
    if change == "NUL byte":
        body = body.replace(b'{"Body"', b'{\x00"Body"', 1)
    response = post(door, payment, body)
    assert response.status_code == 400, response.content
    record = CallbackRecord.objects.get()
    assert record.outcome == O.MALFORMED and record.processed_at is not None
    assert "\x00" not in record.body and ("\ufffd" in record.body) == (change == "NUL byte")
    assert Payment.objects.get(pk=payment.pk).status == "pending"


@pytest.mark.postgres
def test_a_nul_in_a_callback_string_is_read_as_u_fffd_and_settles(door, user):
    """Money may have moved: a NUL in a cosmetic field (ResultDesc) does not cost the success
    (read as U+FFFD, stored, settled); one in the CheckoutRequestID makes it no longer this
    payment's (an orphan), as any other wrong id does."""
    first, second = make_payment(user, amount=20), make_payment(user, amount=30)
    data = callback_body(first)
    data["Body"]["stkCallback"]["ResultDesc"] = "processed\x00successfully"
    assert post(door, first, data).status_code == 200
    data = callback_body(second)
    data["Body"]["stkCallback"]["CheckoutRequestID"] += "\x00"
    assert post(door, second, data).status_code == 200
    outcomes = dict(CallbackRecord.objects.values_list("payment_id", "outcome"))
    assert outcomes == {first.pk: O.APPLIED, second.pk: O.ORPHAN}
    assert Payment.objects.get(pk=first.pk).result_desc == "processed\ufffdsuccessfully"
    assert Payment.objects.get(pk=second.pk).status == "pending"


def test_a_value_the_database_refuses_while_settling_rolls_it_back_and_is_recorded(door, user, monkeypatch):
    """Whatever slips past the parser and is refused by the database (``DataError``) after the
    settlement has written rolls it all back (no paid status, no credit) and leaves the record
    saying so; the answer is 400, never "unavailable"."""
    import payments.checkout.callbacks as callbacks

    def refused(record, *args, **kwargs):
        raise DataError("value too long for type character varying(32)")

    monkeypatch.setattr(callbacks, "_finish", refused)  # after the transition and the credit
    payment = make_payment(user, amount=40)
    response = post(door, payment, callback_body(payment))
    assert response.status_code == 400 and "cannot store" in response.json()["ResultDesc"]
    record = CallbackRecord.objects.get()
    assert record.outcome == O.MALFORMED and "DataError" in record.detail
    assert Payment.objects.get(pk=payment.pk).status == "pending" and not LedgerEntry.objects.exists()


@pytest.mark.postgres
def test_a_pay_bill_notice_with_nul_is_kept_and_read_not_lost(door, user):
    """A Confirmation whose name holds NUL is stored and settles (money moved); a Validation
    with a raw NUL byte where JSON allows none is stored and rejected (C2B00016)."""
    payment = make_payment(user, amount=30)
    notice = c2b_notice(payment.paybill_account, 30)
    notice["FirstName"] = "JO\x00SEPH"
    assert door.c2b("confirmation", dumps(notice)).status_code == 200
    validation = dumps(c2b_notice(payment.paybill_account, 30, validation=True)).encode()
    answer = door.c2b("validation", validation.replace(b"{", b"{\x00", 1))
    assert answer.status_code == 200 and answer.json()["ResultCode"] == "C2B00016"
    kinds = dict(CallbackRecord.objects.values_list("kind", "outcome"))
    assert kinds == {"c2b_confirmation": O.APPLIED, "c2b_validation": O.REVIEW}
    assert C2BPayment.objects.get().first_name == "JO\ufffdSEPH"
    assert Payment.objects.get(pk=payment.pk).status == "paid"


def test_a_confirmation_the_database_refuses_is_rolled_back_and_recorded(door, user, monkeypatch):
    import payments.checkout.c2b as c2b

    def refused(*args, **kwargs):
        raise DataError("value too long")

    monkeypatch.setattr(c2b, "_match", refused)  # after the C2BPayment row is written
    payment = make_payment(user, amount=30)
    assert door.c2b("confirmation", dumps(c2b_notice(payment.paybill_account, 30))).status_code == 400
    assert CallbackRecord.objects.get().outcome == O.MALFORMED and not C2BPayment.objects.exists()
