"""Property tests: whatever a client sends, the simulator answers like Daraja (a WireError
with a catalogued envelope or a valid request), never an unhandled exception."""

from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulator.conf import sim_config
from simulator.wire.errors import WireError
from simulator.wire.requests import (
    PushRequest,
    parse_amount,
    parse_json_object,
    validate_push,
    validate_query,
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=10,
)
FIELDS = [
    "BusinessShortCode",
    "Password",
    "Timestamp",
    "TransactionType",
    "Amount",
    "PartyA",
    "PartyB",
    "PhoneNumber",
    "CallBackURL",
    "AccountReference",
    "TransactionDesc",
    "CheckoutRequestID",
]
bodies = st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=10), json_values, max_size=12)
NOW = datetime(2025, 4, 2, 14, 0, 8, tzinfo=UTC)


def attempt(fn, *args, **kwargs):
    """The result, or the WireError raised (any other exception fails the test)."""
    try:
        return fn(*args, **kwargs)
    except WireError as exc:
        return exc


@given(bodies)
def test_push_validation_only_raises_wire_errors(body):
    merchant = sim_config().merchant
    result = attempt(
        validate_push, body, merchant=merchant, allowed_hosts=("127.0.0.1",), now=NOW, max_skew=60
    )
    if isinstance(result, WireError):
        assert result.http_status in (400, 500)
        assert result.error_code in ("400.002.02", "500.001.1001")
    else:
        assert isinstance(result, PushRequest)


@given(bodies)
def test_query_validation_only_raises_wire_errors(body):
    result = attempt(validate_query, body, merchant=sim_config().merchant, now=NOW, max_skew=None)
    assert not isinstance(result, WireError) or result.http_status in (400, 500)


@given(
    st.binary(max_size=200), st.sampled_from(["application/json", "text/plain", "", "application/json; x"])
)
def test_any_body_bytes(raw, content_type):
    result = attempt(parse_json_object, content_type, raw)
    if isinstance(result, WireError):
        assert result.message == "Bad Request - Invalid BusinessShortCode"
    else:
        assert isinstance(result, dict)


@given(json_values)
def test_amount_is_a_whole_positive_int_or_nothing(value):
    amount = parse_amount(value)
    assert amount is None or (type(amount) is int and 1 <= amount < 10**12)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=bodies)
def test_push_endpoint_never_crashes(daraja, body):
    response = daraja.post("/simulator/mpesa/stkpush/v1/processrequest", body)
    assert response.status_code in (200, 400, 500)
    assert set(response.json()) in (
        {"requestId", "errorCode", "errorMessage"},
        {"MerchantRequestID", "CheckoutRequestID", "ResponseCode", "ResponseDescription", "CustomerMessage"},
    )
