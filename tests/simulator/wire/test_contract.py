"""The simulator answers like the recorded captures (tests/contract/daraja/): for each capture
it can reproduce, the real endpoint's answer has the capture's HTTP status, the same JSON shape
and types (``shape``: keys, nesting, int vs decimal vs string) and Daraja's exact codes and
texts. The callbacks it POSTs are compared the same way."""

import json
from decimal import Decimal

import pytest

from tests.contract.daraja import body_bytes, body_json, load, shape


def same_answer(response, name: str, *, texts=("errorCode", "errorMessage")) -> None:
    capture = load(name)
    assert response.status_code == capture["http_status"], response.content
    expected = body_json(capture)
    if expected is None:
        assert response.content == body_bytes(capture)
        return
    got = json.loads(response.content, parse_float=Decimal)
    assert shape(got) == shape(expected)
    for key in texts:
        if key in expected:
            assert got[key] == expected[key]


def test_oauth_answers(daraja):
    same_answer(daraja.oauth(), "oauth_success", texts=("expires_in",))
    same_answer(daraja.oauth(secret="wrong"), "oauth_bad_credentials")
    same_answer(daraja.oauth(query="?grant_type=password"), "oauth_bad_grant_type")
    same_answer(daraja.oauth(authorization="Bearer abc"), "oauth_bad_auth_type")


def test_push_accepted(daraja):
    same_answer(daraja.push(), "stk_push_accepted", texts=("ResponseCode", "ResponseDescription"))


@pytest.mark.parametrize(
    ("name", "overrides"),
    [
        ("stk_push_bad_request_invalid_amount", {"Amount": "abc"}),
        ("stk_push_bad_request_invalid_phone_number", {"PhoneNumber": "0712"}),
        ("stk_push_bad_request_invalid_callback_url", {"CallBackURL": "https://<your-url>/cb"}),
        ("stk_push_bad_request_invalid_remarks", {"TransactionDesc": ""}),
        ("stk_push_bad_request_invalid_timestamp", {"Timestamp": "2024-01-01"}),
        ("stk_push_bad_request_invalid_business_short_code", {"BusinessShortCode": "abc"}),
        ("stk_push_bad_request_invalid_transaction_type", {"TransactionType": "Pay"}),
        ("stk_push_bad_request_invalid_party_a", {"PartyA": "12"}),
        ("stk_push_bad_request_invalid_party_b", {"PartyB": "x"}),
        ("stk_push_wrong_credentials", {"Password": "bm9wZQ=="}),
    ],
)
def test_push_refusals(daraja, name, overrides):
    same_answer(daraja.push(**overrides), name)


def test_push_to_an_unknown_shortcode(daraja):
    same_answer(daraja.push(BusinessShortCode="600000"), "stk_push_merchant_does_not_exist")


def test_push_with_a_bad_token(daraja):
    same_answer(daraja.push(token="nope"), "stk_push_invalid_access_token")


def test_second_push_to_a_busy_phone(daraja):
    daraja.accepted("254712000001")
    same_answer(daraja.push("254712000001"), "stk_push_subscriber_locked")


@pytest.mark.parametrize(
    ("name", "fault_phone"),
    [
        ("stk_push_system_busy", "254700990011"),
        ("stk_push_spike_arrest", "254700990012"),
        ("stk_push_quota_violation", "254700990016"),
        ("stk_push_internal_server_error", "254700990017"),
    ],
)
def test_push_faults_by_phone(daraja, name, fault_phone):
    same_answer(daraja.push(fault_phone), name)


def test_wrong_path_and_method(daraja):
    same_answer(daraja.post("/simulator/mpesa/stkpush/v9/nope", {}), "stk_push_resource_not_found")
    response = daraja.client.get("/simulator/mpesa/stkpush/v1/processrequest")
    same_answer(response, "stk_push_method_not_allowed", texts=("errorCode",))


QUERY_TEXTS = ("ResponseCode", "ResponseDescription", "ResultCode", "ResultDesc")


def test_query_pending_then_final(daraja, clock, run_deliveries):
    checkout_id = daraja.accepted("254708374149")
    same_answer(daraja.query(checkout_id), "stk_query_pending_4999", texts=QUERY_TEXTS[:2] + QUERY_TEXTS[2:])
    clock.advance(5)
    run_deliveries()
    same_answer(daraja.query(checkout_id), "stk_query_success", texts=QUERY_TEXTS)


def test_query_cancelled(daraja, clock, run_deliveries):
    checkout_id = daraja.accepted("254700001032")
    clock.advance(5)
    run_deliveries()
    answer = daraja.query(checkout_id)
    same_answer(answer, "stk_query_cancelled_1032", texts=QUERY_TEXTS[:3])
    assert answer.json()["ResultDesc"] == "Request Cancelled by user."  # §7: the query's own wording


def test_query_being_processed_shape(daraja, settings):
    settings.SIMULATOR_QUERY_PENDING_SHAPE = "500"
    same_answer(daraja.query(daraja.accepted()), "stk_query_being_processed_500")


def test_query_of_an_unknown_id(daraja):
    answer = daraja.query("ws_CO_01012026000000001712345678")
    capture = body_json(load("stk_query_does_not_exist"))  # quoted without its requestId (§4.4)
    assert answer.status_code == 500 and set(answer.json()) == {"requestId", *capture}
    assert {k: answer.json()[k] for k in capture} == capture


def _posted(receiver) -> dict:
    return json.loads(receiver.seen[-1]["body"], parse_float=Decimal)


@pytest.mark.parametrize(
    ("phone", "name", "balance"),
    [
        ("254708374149", "stk_callback_success", True),
        ("254708374149", "stk_callback_success_no_balance", False),
        ("254700001032", "stk_callback_cancelled_1032", True),
        ("254700001037", "stk_callback_timeout_1037", True),
        ("254700000001", "stk_callback_insufficient_1", True),
        ("254700002001", "stk_callback_wrong_pin_2001", True),
    ],
)
def test_callbacks_have_the_captured_shape(
    daraja, receiver, clock, run_deliveries, settings, phone, name, balance
):
    settings.SIMULATOR_INCLUDE_BALANCE_ITEM = balance
    daraja.accepted(phone)
    clock.advance(61)
    run_deliveries()
    sent, captured = _posted(receiver), body_json(load(name))
    assert shape(sent) == shape(captured)
    assert sent["Body"]["stkCallback"]["ResultDesc"] == captured["Body"]["stkCallback"]["ResultDesc"]
    assert receiver.seen[-1]["headers"]["Content-Type"] == load(name)["headers"]["Content-Type"]


def test_string_result_code_callbacks_have_the_captured_shape(daraja, receiver, clock, run_deliveries):
    daraja.client.post(
        "/simulator/control/scripts/",
        data=json.dumps({"phone": "254712000002", "result_code": "SFC_IC0003"}),
        content_type="application/json",
    )
    daraja.accepted("254712000002")
    clock.advance(5)
    run_deliveries()
    assert shape(_posted(receiver)) == shape(body_json(load("stk_callback_sfc_ic0003")))


# --- Daraja 2026 (§13): masked/hashed/absent phones, early and rate-limited queries, odd answers
@pytest.mark.parametrize(
    ("mode", "name"),
    [
        ("masked", "stk_callback_masked_phone"),
        ("hashed", "stk_callback_hashed_phone"),
        ("absent", "stk_callback_no_phone"),
    ],
)
def test_2026_phone_callbacks_have_the_captured_shape(
    daraja, receiver, clock, run_deliveries, settings, mode, name
):
    settings.SIMULATOR_CALLBACK_PHONE = mode
    daraja.accepted("254708512430")  # the captures' subscriber, so the values must match too
    clock.advance(3)
    run_deliveries()
    sent, captured = _posted(receiver), body_json(load(name))
    assert shape(sent) == shape(captured)
    phones = [
        [
            i["Value"]
            for i in cb["Body"]["stkCallback"]["CallbackMetadata"]["Item"]
            if i["Name"] == "PhoneNumber"
        ]
        for cb in (sent, captured)
    ]
    assert phones[0] == phones[1]  # ["254708***430"], [<the capture's hash>] or []
    assert receiver.seen[-1]["headers"]["Content-Type"] == load(name)["headers"]["Content-Type"]


def test_query_too_early(daraja, settings):
    settings.SIMULATOR_QUERY_TOO_EARLY_SECONDS = 5
    same_answer(daraja.query(daraja.accepted()), "stk_query_too_early_400")


def test_query_spike_arrest(daraja, settings):
    settings.SIMULATOR_QUERY_RATE_LIMIT = "5/60"
    checkout_id = daraja.accepted()
    for _ in range(5):
        daraja.query(checkout_id)
    answer = daraja.query(checkout_id)
    same_answer(answer, "stk_query_spike_arrest_429", texts=("fault",))  # faultstring and errorcode too
    assert answer["Retry-After"].isdigit()


def _scripted(daraja, api: str, fault: str) -> None:
    created = daraja.client.post(
        "/simulator/control/scripts/", {"api": api, "fault": fault}, content_type="application/json"
    )
    assert created.status_code == 201


def test_push_gateway_page_under_200(daraja):
    daraja.token()
    _scripted(daraja, "stkpush", "html")
    same_answer(daraja.push(), "stk_push_gateway_html_200")  # byte for byte: it is not JSON


def test_push_error_envelope_under_200(daraja):
    daraja.token()
    _scripted(daraja, "stkpush", "error_200")
    same_answer(daraja.push(), "stk_push_error_envelope_http_200")
