"""A simulated C2B payment on the wire (daraja-reference.md §14.6, §14.8, §14.9): Validation,
then Confirmation, according to the receiver's answer and ResponseType; at most once."""

import hashlib
import time

import pytest
from werkzeug import Response

from simulator.c2b_delivery import INTERRUPTED
from simulator.models import SimC2BCallback, SimC2BPayment
from tests.simulator.conftest import START

KEYS = [
    "TransactionType",
    "TransID",
    "TransTime",
    "TransAmount",
    "BusinessShortCode",
    "BillRefNumber",
    "InvoiceNumber",
    "OrgAccountBalance",
    "ThirdPartyTransID",
    "MSISDN",
    "FirstName",
]
HASHED = hashlib.sha256(b"254708374149").hexdigest()


def pay(daraja, **fields) -> SimC2BPayment:
    response = daraja.simulate(**fields)
    assert response.status_code == 200, response.content
    return SimC2BPayment.objects.get(originator_conversation_id=response.json()["OriginatorCoversationID"])


def test_validation_then_confirmation(daraja, registered, clock, run_c2b):
    payment = pay(daraja, BillRefNumber=" inv-1001 ", Amount="10")
    assert run_c2b() == 0  # due SIMULATOR_C2B_DELAY_SECONDS after the payment
    clock.advance(1)
    assert run_c2b() == 1
    [validation] = registered.bodies("validation")
    assert registered.confirmations == []  # the answer came; the confirmation is due now
    assert run_c2b() == 1
    [confirmation] = registered.bodies("confirmation")
    for body in (validation, confirmation):
        assert list(body) == KEYS  # FirstName only: MiddleName/LastName absent (§14.6)
        assert all(isinstance(v, str) for v in body.values())
        assert body["TransactionType"] == "Pay Bill"
        assert body["TransID"] == payment.trans_id
        assert body["TransTime"] == START.strftime("%Y%m%d%H%M%S")  # Nairobi time
        assert body["TransAmount"] == "10.00"
        assert body["BusinessShortCode"] == "600984"
        assert body["BillRefNumber"] == " inv-1001 "  # exactly as typed
        assert body["MSISDN"] == HASHED  # default: hashed (§13.1, §14.8)
        assert body["FirstName"] == "NICHOLAS"
    assert validation["OrgAccountBalance"] == ""
    assert confirmation["OrgAccountBalance"] == "10.00"
    assert registered.validations[0]["headers"]["Content-Type"] == "application/json;charset=UTF-8"
    assert "Businessshortcode" not in registered.validations[0]["headers"]
    payment.refresh_from_db()
    assert (payment.status, payment.decided_by) == ("completed", "validation accepted")
    kinds = list(payment.callbacks.order_by("pk").values_list("kind", "status", "response_status", "verdict"))
    assert kinds == [
        ("validation", "sent", 200, "accepted: ResultCode 0"),
        ("confirmation", "sent", 200, ""),
    ]


def test_the_balance_grows_with_each_confirmation(daraja, registered, clock, run_c2b):
    pay(daraja, Amount=10)
    pay(daraja, Amount=20, Msisdn="254712345678")
    clock.advance(1)
    run_c2b()
    run_c2b()
    assert sorted(b["OrgAccountBalance"] for b in registered.bodies("confirmation")) == ["10.00", "30.00"]


@pytest.mark.parametrize("code", ["C2B00011", "C2B00012", "C2B00013", "C2B00016", "1"])
def test_a_rejection_cancels_the_payment(daraja, registered, clock, run_c2b, code):
    registered.validation_answer = f'{{"ResultCode":"{code}","ResultDesc":"Rejected"}}'
    payment = pay(daraja)
    clock.advance(1)
    run_c2b()
    clock.advance(60)
    assert run_c2b() == 0
    assert registered.confirmations == []
    payment.refresh_from_db()
    assert (payment.status, payment.result_code, payment.result_desc) == ("cancelled", code, "Rejected")


def test_integer_zero_accepts_too(daraja, registered, clock, run_c2b):
    registered.validation_answer = '{"ResultCode":0,"ResultDesc":"Accepted"}'  # DOC17 (2017)
    pay(daraja)
    clock.advance(1)
    run_c2b()
    run_c2b()
    assert len(registered.confirmations) == 1


@pytest.mark.parametrize(("response_type", "confirmed"), [("Completed", True), ("Cancelled", False)])
@pytest.mark.parametrize(
    "answer",
    [
        (500, '{"ResultCode":"0","ResultDesc":"Accepted"}'),
        (200, "<html>ok</html>"),
        (200, '{"ResultDesc":"Accepted"}'),
        (404, ""),
    ],
)
def test_an_unusable_answer_leaves_it_to_the_response_type(
    daraja, registered, clock, run_c2b, response_type, confirmed, answer
):
    daraja.register(
        ResponseType=response_type,
        ConfirmationURL=registered.confirmation_url,
        ValidationURL=registered.validation_url,
    )
    registered.validation_status, registered.validation_answer = answer
    payment = pay(daraja)
    clock.advance(1)
    run_c2b()
    run_c2b()
    assert len(registered.confirmations) == (1 if confirmed else 0)
    payment.refresh_from_db()
    assert payment.status == ("completed" if confirmed else "cancelled")
    assert payment.decided_by.startswith("no validation answer") and payment.decided_by.endswith(
        response_type
    )


@pytest.mark.parametrize(("response_type", "confirmed"), [("Completed", 1), ("Cancelled", 0)])
def test_a_validation_answer_slower_than_the_budget(
    daraja, registered, clock, run_c2b, settings, response_type, confirmed
):
    """§14.9: M-Pesa waits at most the budget (~8 s; 0.3 s here), then ResponseType decides."""
    settings.SIMULATOR_C2B_VALIDATION_TIMEOUT_SECONDS = 0.3

    def slow(request):
        time.sleep(1.0)
        return Response('{"ResultCode":"0","ResultDesc":"Accepted"}', content_type="application/json")

    registered.validation_handler = slow
    daraja.register(
        ResponseType=response_type,
        ConfirmationURL=registered.confirmation_url,
        ValidationURL=registered.validation_url,
    )
    payment = pay(daraja)
    clock.advance(1)
    started = time.monotonic()
    run_c2b()
    assert time.monotonic() - started < 0.9  # it did not wait for the answer
    run_c2b()
    assert len(registered.confirmations) == confirmed
    validation = payment.callbacks.get(kind="validation")
    assert (validation.status, validation.verdict) == ("failed", "no answer: no answer within 0.3 s")


def test_validation_off_sends_the_confirmation_only(daraja, registered, clock, run_c2b, settings):
    settings.SIMULATOR_C2B_VALIDATION = "off"
    payment = pay(daraja)
    clock.advance(1)
    assert run_c2b() == 1
    assert registered.validations == [] and len(registered.confirmations) == 1
    payment.refresh_from_db()
    assert payment.decided_by == "validation off"


def test_no_validation_url_sends_the_confirmation_only(daraja, registered, clock, run_c2b, drop):
    daraja.register(ConfirmationURL=registered.confirmation_url, ValidationURL=drop)
    pay(daraja)
    clock.advance(1)
    run_c2b()
    assert registered.validations == [] and len(registered.confirmations) == 1


def test_third_party_trans_id_is_echoed(daraja, registered, clock, run_c2b, settings):
    registered.validation_answer = '{"ResultCode":"0","ResultDesc":"Accepted","ThirdPartyTransID":"ORD-77"}'
    pay(daraja)
    clock.advance(1)
    run_c2b()
    run_c2b()
    assert registered.bodies("confirmation")[0]["ThirdPartyTransID"] == "ORD-77"
    settings.SIMULATOR_C2B_ECHO_THIRD_PARTY_TRANS_ID = False
    pay(daraja, Msisdn="254712345678")
    clock.advance(1)
    run_c2b()
    run_c2b()
    assert registered.bodies("confirmation")[1]["ThirdPartyTransID"] == ""


@pytest.mark.parametrize(
    ("mode", "version", "expected"),
    [
        ("full", "v1", "254708374149"),
        ("masked", "v1", "2547 ***** 149"),
        ("hashed", "v2", HASHED),
        ("masked_hash", "v1", f"{HASHED[:34]} ***** {HASHED[-25:]}"),
        ("by_version", "v1", HASHED),
        ("by_version", "v2", "2547 ***** 149"),
    ],
)
def test_msisdn_modes(daraja, registered, clock, run_c2b, settings, mode, version, expected):
    settings.SIMULATOR_C2B_MSISDN = mode
    daraja.register(
        version=version, ConfirmationURL=registered.confirmation_url, ValidationURL=registered.validation_url
    )
    pay(daraja)
    clock.advance(1)
    run_c2b()
    run_c2b()
    assert {b["MSISDN"] for b in registered.bodies("validation") + registered.bodies("confirmation")} == {
        expected
    }


def test_full_names(daraja, registered, clock, run_c2b, settings):
    settings.SIMULATOR_C2B_NAMES = "full"
    pay(daraja)
    clock.advance(1)
    run_c2b()
    run_c2b()
    body = registered.bodies("confirmation")[0]
    assert list(body)[-3:] == ["FirstName", "MiddleName", "LastName"]
    assert (body["FirstName"], body["MiddleName"], body["LastName"]) == ("NICHOLAS", "JOHN", "SONGOK")


def test_buy_goods_confirmation(daraja, c2b_receiver, clock, run_c2b, drop):
    daraja.register(ShortCode="600000", ConfirmationURL=c2b_receiver.confirmation_url, ValidationURL=drop)
    pay(daraja, ShortCode="600000", CommandID="CustomerBuyGoodsOnline", BillRefNumber=drop, Amount=11720)
    clock.advance(1)
    run_c2b()
    [body] = c2b_receiver.bodies("confirmation")
    assert (body["TransactionType"], body["BillRefNumber"], body["TransAmount"]) == (
        "Customer Merchant Payment",
        "",
        "11720.00",
    )


def test_at_most_once(daraja, registered, clock, run_c2b):
    """A confirmation answered 500 is not sent again, and nothing runs twice."""
    registered.confirmation_answer = "boom"
    pay(daraja)
    clock.advance(1)
    run_c2b()
    run_c2b()
    clock.advance(3600)
    assert run_c2b() == 0
    assert (len(registered.validations), len(registered.confirmations)) == (1, 1)


def test_an_interrupted_validation_is_decided_by_the_response_type(daraja, registered, clock, run_c2b):
    """The process died during the Validation POST: the sweep marks it interrupted and, as
    no answer counted, ResponseType (Completed) sends the Confirmation."""
    payment = pay(daraja)
    validation = payment.callbacks.get()
    SimC2BCallback.objects.filter(pk=validation.pk).update(status="sending", attempted_at=START)
    clock.advance(120)
    run_c2b()
    run_c2b()
    validation.refresh_from_db()
    assert (validation.status, validation.error) == ("failed", INTERRUPTED)
    payment.refresh_from_db()
    assert payment.decided_by == "no validation answer (interrupted): Completed"
    assert len(registered.confirmations) == 1 and registered.validations == []


def test_the_registration_at_payment_time_decides(daraja, registered, clock, run_c2b):
    pay(daraja)
    daraja.register(ConfirmationURL="http://localhost:9/new/", ValidationURL="http://localhost:9/new-v/")
    clock.advance(1)
    run_c2b()
    run_c2b()
    assert (len(registered.validations), len(registered.confirmations)) == (1, 1)
