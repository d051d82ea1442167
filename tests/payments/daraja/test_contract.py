"""Our Daraja client reads every recorded capture (tests/contract/daraja/) as a correct client
must: each answer is served byte for byte by a real loopback server, each callback goes through
the callback parser, and the conclusion is compared with the capture's "expect"."""

import time

import pytest
from django.core.cache import cache
from werkzeug import Response

from payments.daraja.client import DarajaClient, token_cache_key
from payments.daraja.config import daraja_get_config
from payments.daraja.errors import DarajaError
from payments.daraja.payloads import parse_stk_callback
from tests.contract.daraja import all_captures, body_bytes
from tests.helpers.fake_daraja import PUSH_ARGS

PATHS = {
    "oauth": "/oauth/v1/generate",
    "stk_push": "/mpesa/stkpush/v1/processrequest",
    "stk_query": "/mpesa/stkpushquery/v1/query",
}


def serve(daraja, capture) -> None:
    """Answer the capture's API with exactly the capture (OAuth answered normally first)."""
    if capture["api"] != "oauth":
        daraja.oauth()
    response = Response(
        body_bytes(capture), status=capture["http_status"], headers=capture.get("headers", {})
    )
    daraja.server.expect_request(PATHS[capture["api"]]).respond_with_response(response)


async def call(capture):
    client = DarajaClient()
    if capture["api"] == "oauth":
        return await client.get_access_token()
    if capture["api"] == "stk_push":
        return await client.stk_push(**PUSH_ARGS)
    return await client.stk_query(checkout_request_id="ws_CO_02042024170008357715990366")


def check_error(exc: DarajaError, expect: dict) -> None:
    assert exc.http_status == expect["http_status"]
    if expect.get("error_code"):
        assert exc.error_code == expect["error_code"]
        assert exc.error_message == expect.get("error_message", exc.error_message)
    else:  # no Daraja envelope came back: whatever we call it, it is not one of Daraja's codes
        assert not exc.error_code[:1].isdigit()
    if "transient_error" in expect:
        assert exc.transient is expect["transient_error"]


ANSWERS = [c for c in all_captures() if c["api"] != "stk_callback"]


@pytest.mark.parametrize("capture", ANSWERS, ids=[c["name"] for c in ANSWERS])
async def test_every_recorded_answer_is_read_correctly(daraja, capture):
    serve(daraja, capture)
    expect = capture["expect"]
    if capture["kind"] == "error" and not expect.get("pending"):
        with pytest.raises(DarajaError) as excinfo:
            await call(capture)
        check_error(excinfo.value, expect)
        return
    result = await call(capture)
    if capture["api"] == "oauth":
        cached = await cache.aget(token_cache_key(daraja_get_config()))
        assert result == expect["access_token"] == cached["token"]
        assert expect["expires_in"] - 5 < cached["expires_at"] - time.time() <= expect["expires_in"]
    elif capture["api"] == "stk_push":
        assert result.checkout_request_id == expect["checkout_request_id"]
        assert result.merchant_request_id == expect["merchant_request_id"]
    else:
        assert result.pending is expect["pending"]
        if "result_code" in expect:
            assert result.result_code == expect["result_code"]
        if "success" in expect:
            assert result.is_success is expect["success"]
        if expect.get("rate_limited"):
            assert result.retry_after and result.retry_after >= 30


CALLBACKS = all_captures(api="stk_callback")


@pytest.mark.parametrize("capture", CALLBACKS, ids=[c["name"] for c in CALLBACKS])
def test_every_recorded_callback_is_parsed_correctly(capture):
    result = parse_stk_callback(body_bytes(capture))
    expect = capture["expect"]
    assert result.checkout_request_id == expect["checkout_request_id"]
    assert result.result_code == expect["result_code"]
    assert result.is_success is expect["success"]
    assert result.receipt_number == expect.get("receipt")
    if "amount" in expect:
        assert (None if result.amount is None else str(result.amount)) == expect["amount"]
    # §13.1: a masked, hashed or absent PhoneNumber is never taken for a number
    assert result.phone == expect.get("phone")
    if "transaction_time" in expect:
        assert result.transaction_date.isoformat() == expect["transaction_time"]


def test_the_captures_cover_every_api_and_kind():
    kinds = {(c["api"], c["kind"]) for c in all_captures()}
    assert {("oauth", "success"), ("oauth", "error"), ("stk_push", "success"), ("stk_push", "error")} <= kinds
    assert {("stk_query", "success"), ("stk_query", "pending"), ("stk_query", "failure")} <= kinds
    assert {("stk_callback", "success"), ("stk_callback", "failure")} <= kinds
