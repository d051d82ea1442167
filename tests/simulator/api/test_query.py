"""STK query (§4): pending shapes, final shape, unknown ids, validation."""

import pytest

from tests.simulator.api.test_push import INVALID, assert_error


def test_final_answer_shape(daraja, clock):
    checkout_id = daraja.accepted("254700001032")
    clock.advance(3)
    response = daraja.query(checkout_id)
    assert response.status_code == 200
    body = response.json()
    assert list(body) == [
        "ResponseCode",
        "ResponseDescription",
        "MerchantRequestID",
        "CheckoutRequestID",
        "ResultCode",
        "ResultDesc",
    ]
    assert body["ResponseCode"] == "0"
    assert body["ResponseDescription"] == "The service request has been accepted successsfully"  # §4.2 typo
    assert body["CheckoutRequestID"] == checkout_id
    assert (body["ResultCode"], body["ResultDesc"]) == ("1032", "Request Cancelled by user.")
    assert "MpesaReceiptNumber" not in response.content.decode()


def test_pending_shape_4999(daraja):
    body = daraja.query(daraja.accepted()).json()
    assert body["ResponseCode"] == "0"
    assert (body["ResultCode"], body["ResultDesc"]) == ("4999", "The transaction is still under processing")


def test_pending_shape_500(daraja, settings, clock):
    settings.SIMULATOR_QUERY_PENDING_SHAPE = "500"
    checkout_id = daraja.accepted()
    assert_error(daraja.query(checkout_id), 500, "500.001.1001", "The transaction is being processed")
    clock.advance(3)
    assert daraja.query(checkout_id).json()["ResultCode"] == "0"


def test_unknown_checkout_request_id(daraja):
    response = daraja.query("ws_CO_020420251700083708374149")
    assert_error(response, 500, "500.001.1001", "The transaction does not Exist")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("Timestamp", "2025-04-02", "Bad Request - Invalid Timestamp"),
        ("Timestamp", "DROP", "Bad Request - Invalid Timestamp"),
        ("BusinessShortCode", "x", "Bad Request - Invalid BusinessShortCode"),
        ("CheckoutRequestID", "", "Bad Request - Invalid CheckoutRequestID"),
        ("CheckoutRequestID", 12, "Bad Request - Invalid CheckoutRequestID"),
        ("CheckoutRequestID", "DROP", "Bad Request - Invalid CheckoutRequestID"),
    ],
)
def test_query_validation(daraja, drop, field, value, message):
    checkout_id = daraja.accepted()
    response = daraja.query(checkout_id, **{field: drop if value == "DROP" else value})
    assert_error(response, 400, INVALID, message)


def test_query_checks_credentials(daraja):
    checkout_id = daraja.accepted()
    body = daraja.query_body(checkout_id, _timestamp="20250402170008")
    body["Timestamp"] = "20250402170010"
    response = daraja.post("/simulator/mpesa/stkpushquery/v1/query", body)
    assert_error(response, 500, "500.001.1001", "Wrong credentials")


def test_query_needs_a_valid_token(daraja):
    checkout_id = daraja.accepted()
    assert_error(daraja.query(checkout_id, token="nope"), 404, "404.001.03", "Invalid Access Token")


def test_query_needs_json(daraja):
    response = daraja.post(
        "/simulator/mpesa/stkpushquery/v1/query", None, content_type="text/plain", raw=b"{}"
    )
    assert_error(response, 400, INVALID, "Bad Request - Invalid BusinessShortCode")


def test_queries_are_counted(daraja, client):
    checkout_id = daraja.accepted()
    daraja.query(checkout_id)
    daraja.query("ws_CO_unknown")
    assert client.get("/simulator/control/counters/").json()["queries"] == 2
