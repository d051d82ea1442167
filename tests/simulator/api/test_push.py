"""STK push on the wire (§3): the success body, every validation error and its envelope."""

import json
import re
import threading

import pytest

from simulator.models import SimPush
from tests.simulator.conftest import NAIROBI, stk_password

INVALID = "400.002.02"
LOCK = "Unable to lock subscriber, a transaction is already in process for the current subscriber"
ENVELOPE = {"requestId", "errorCode", "errorMessage"}


def assert_error(response, status: int, code: str, message: str) -> None:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == ENVELOPE
    assert (body["errorCode"], body["errorMessage"]) == (code, message)
    assert body["errorCode"].split(".")[0] == str(response.status_code)  # §1.2
    assert re.fullmatch(r"[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\d{5,8}", body["requestId"])
    assert response["Content-Type"] == "application/json;charset=UTF-8"


def test_success_body_is_exactly_daraja_s(daraja, clock):
    response = daraja.push("254708374149")
    assert response.status_code == 200
    body = response.json()
    assert list(body) == [
        "MerchantRequestID",
        "CheckoutRequestID",
        "ResponseCode",
        "ResponseDescription",
        "CustomerMessage",
    ]
    assert body["ResponseCode"] == "0"
    assert (
        body["ResponseDescription"] == body["CustomerMessage"] == "Success. Request accepted for processing"
    )
    # §1.3: ws_CO_ + DDMMYYYYHHmmss (Nairobi) + 1-3 digit counter + the 9 subscriber digits
    assert re.fullmatch(r"ws_CO_02042025170008\d{1,3}708374149", body["CheckoutRequestID"])
    assert re.fullmatch(r"[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\d{5,8}", body["MerchantRequestID"])


def test_numbers_and_numeric_strings_are_both_accepted(daraja):
    as_numbers = daraja.push_body(
        _phone="254711000010",
        BusinessShortCode=174379,
        Amount=1,
        PartyA=254711000010,
        PartyB=174379,
        PhoneNumber=254711000010,
    )
    assert daraja.post("/simulator/mpesa/stkpush/v1/processrequest", as_numbers).status_code == 200
    assert daraja.push("254711000011", Amount="1").status_code == 200
    assert daraja.push("254111000012", Amount=5.0).status_code == 200  # 2541… numbers too (§3.7)
    push = SimPush.objects.get(phone="254111000012")
    assert push.amount == 5


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("BusinessShortCode", "abc", "Invalid BusinessShortCode"),
        ("BusinessShortCode", 1743, "Invalid BusinessShortCode"),
        ("BusinessShortCode", "17437900", "Invalid BusinessShortCode"),
        ("BusinessShortCode", "174 379", "Invalid BusinessShortCode"),
        ("BusinessShortCode", True, "Invalid BusinessShortCode"),
        ("BusinessShortCode", "DROP", "Invalid BusinessShortCode"),
        ("Timestamp", "2025-04-02 17:00", "Invalid Timestamp"),
        ("Timestamp", "2025040217000", "Invalid Timestamp"),
        ("Timestamp", "20251302170008", "Invalid Timestamp"),
        ("Timestamp", "DROP", "Invalid Timestamp"),
        ("TransactionType", "CustomerPayBill", "Invalid TransactionType"),
        ("TransactionType", "DROP", "Invalid TransactionType"),
        ("Amount", 0, "Invalid Amount"),
        ("Amount", -5, "Invalid Amount"),
        ("Amount", 10.5, "Invalid Amount"),
        ("Amount", "10.50", "Invalid Amount"),
        ("Amount", "ten", "Invalid Amount"),
        ("Amount", True, "Invalid Amount"),
        ("Amount", None, "Invalid Amount"),
        ("Amount", "DROP", "Invalid Amount"),
        ("PartyA", "0712345678", "Invalid PartyA"),
        ("PartyA", "+254712345678", "Invalid PartyA"),
        ("PartyA", "254812345678", "Invalid PartyA"),
        ("PartyA", "DROP", "Invalid PartyA"),
        ("PartyB", "12", "Invalid PartyB"),
        ("PartyB", "till", "Invalid PartyB"),
        ("PartyB", "DROP", "Invalid PartyB"),
        ("PhoneNumber", "0712345678", "Invalid PhoneNumber"),
        ("PhoneNumber", "255712345678", "Invalid PhoneNumber"),
        ("PhoneNumber", "2547123456789", "Invalid PhoneNumber"),
        ("PhoneNumber", "DROP", "Invalid PhoneNumber"),
        ("CallBackURL", "https://<your-url>/callback", "Invalid CallBackURL"),
        ("CallBackURL", "http://127.0.0.1/call back", "Invalid CallBackURL"),
        ("CallBackURL", "DROP", "Invalid CallBackURL"),
        ("TransactionDesc", "DROP", "Invalid Remarks"),
        ("TransactionDesc", "", "Invalid Remarks"),
        ("TransactionDesc", "   ", "Invalid Remarks"),
        ("TransactionDesc", None, "Invalid Remarks"),
    ],
)
def test_validation_errors(daraja, drop, field, value, message):
    response = daraja.push(**{field: drop if value == "DROP" else value})
    assert_error(response, 400, INVALID, f"Bad Request - {message}")
    assert not SimPush.objects.exists()


def test_wrong_password_is_wrong_credentials(daraja):
    response = daraja.push(Password=stk_password("174379", "not-the-passkey", "20250402170008"))
    assert_error(response, 500, "500.001.1001", "Wrong credentials")


def test_timestamp_generated_twice_is_wrong_credentials(daraja):
    """§9.1: Timestamp in the body differs from the one inside Password."""
    body = daraja.push_body(_timestamp="20250402170008")
    body["Timestamp"] = "20250402170009"
    response = daraja.post("/simulator/mpesa/stkpush/v1/processrequest", body)
    assert_error(response, 500, "500.001.1001", "Wrong credentials")


def test_unknown_shortcode_is_merchant_does_not_exist(daraja, settings):
    ts = "20250402170008"
    response = daraja.push(
        BusinessShortCode="600999",
        PartyB="600999",
        _timestamp=ts,
        Password=stk_password("600999", settings.DARAJA_PASSKEY, ts),
    )
    assert_error(response, 500, "500.001.1001", "Merchant does not exist")


@pytest.mark.parametrize(
    ("content_type", "raw"),
    [
        ("text/plain", None),
        ("application/x-www-form-urlencoded", b"BusinessShortCode=174379"),
        ("application/json", b"{not json"),
        ("application/json", b"[1, 2]"),
    ],
)
def test_body_daraja_cannot_read_is_invalid_businessshortcode(daraja, content_type, raw):
    """§9.3: no Content-Type: application/json → "Invalid BusinessShortCode"."""
    raw = raw if raw is not None else json.dumps(daraja.push_body()).encode()
    response = daraja.post(
        "/simulator/mpesa/stkpush/v1/processrequest", None, content_type=content_type, raw=raw
    )
    assert_error(response, 400, INVALID, "Bad Request - Invalid BusinessShortCode")


def test_json_content_type_with_charset_is_fine(daraja):
    response = daraja.post(
        "/simulator/mpesa/stkpush/v1/processrequest",
        daraja.push_body(),
        content_type="application/json;charset=UTF-8",
    )
    assert response.status_code == 200


@pytest.mark.parametrize("token", ["", "not-a-token", "A" * 28])
def test_bad_bearer_token_is_404(daraja, token):
    response = daraja.post("/simulator/mpesa/stkpush/v1/processrequest", daraja.push_body(), token=token)
    assert_error(response, 404, "404.001.03", "Invalid Access Token")


def test_get_is_method_not_allowed(client):
    response = client.get("/simulator/mpesa/stkpush/v1/processrequest")
    assert response.status_code == 405
    assert response.json()["errorCode"] == "405.001"


def test_unknown_daraja_path_is_resource_not_found(client):
    assert_error(client.post("/simulator/mpesa/stkpush/v2/other"), 404, "404.001.01", "Resource not found")


def test_second_push_to_a_phone_with_an_open_prompt_is_locked(daraja, clock):
    daraja.accepted("254711000020")
    response = daraja.push("254711000020")
    assert_error(
        response,
        500,
        "500.001.1001",
        "Unable to lock subscriber, a transaction is already in process for the current subscriber",
    )
    assert daraja.push("254711000021").status_code == 200  # other phones are free
    clock.advance(3)  # the first prompt is answered (default delay 3 s): the phone is free again
    assert daraja.push("254711000020").status_code == 200


def test_freshness_is_opt_in(daraja, clock, settings):
    """§3.6: third-party clients use server-local time (here UTC, 3 h behind Nairobi)."""
    utc_stamp = clock.now.astimezone(NAIROBI).replace(tzinfo=None)
    stale = (utc_stamp.replace(hour=utc_stamp.hour - 3)).strftime("%Y%m%d%H%M%S")
    assert daraja.push("254711000030", _timestamp=stale).status_code == 200
    settings.SIMULATOR_CHECK_TIMESTAMP_FRESHNESS = True
    assert_error(
        daraja.push("254711000031", _timestamp=stale), 400, INVALID, "Bad Request - Invalid Timestamp"
    )
    assert daraja.push("254711000032").status_code == 200


def test_buy_goods_against_a_paybill_is_invalid_transaction_type(daraja):
    response = daraja.push(TransactionType="CustomerBuyGoodsOnline")
    assert_error(response, 400, INVALID, "Bad Request - Invalid TransactionType")


def test_over_the_maximum_is_accepted_then_fails_with_3(daraja, receiver, clock, run_deliveries):
    """§3.5: accepted synchronously, ResultCode 3 asynchronously."""
    checkout_id = daraja.accepted(Amount=250_001)
    clock.advance(3)
    run_deliveries()
    assert receiver.codes() == [3]
    assert daraja.query(checkout_id).json()["ResultCode"] == "3"


def test_party_b_mismatch_is_accepted_then_fails_with_2028(daraja, receiver, clock, run_deliveries):
    """§3.1: wrong PartyB is accepted, then fails with 2028."""
    daraja.accepted(PartyB="600000")
    clock.advance(3)
    run_deliveries()
    assert receiver.codes() == [2028]


@pytest.mark.django_db(transaction=True)
def test_concurrent_pushes_to_one_phone_lock_the_subscriber(settings):
    """Five pushes to one phone at the same instant: one prompt, four "Unable to lock"."""
    from django.db import connection

    from simulator.api.behaviour import push_accept
    from simulator.conf import sim_config
    from simulator.wire.errors import WireError
    from simulator.wire.requests import PushRequest

    request = PushRequest(
        shortcode="174379",
        password="",
        timestamp="20250402170008",
        transaction_type="CustomerPayBillOnline",
        amount=1,
        party_a="254712000077",
        party_b="174379",
        phone="254712000077",
        callback_url="http://127.0.0.1:9/cb/",
        account_reference="X",
        transaction_desc="X",
    )
    barrier = threading.Barrier(5)
    results: list = []

    def push():
        try:
            barrier.wait(timeout=5)
            results.append(push_accept(request, token="", config=sim_config()))
        except WireError as exc:
            results.append(exc.message)
        finally:
            connection.close()

    threads = [threading.Thread(target=push) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    outcomes = sorted(r if isinstance(r, str) else "accepted" for r in results)
    assert outcomes == sorted(["accepted"] + [LOCK] * 4)
    assert SimPush.objects.filter(phone="254712000077").count() == 1
