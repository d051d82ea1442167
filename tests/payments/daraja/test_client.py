"""The Daraja client against a real loopback HTTP server (pytest-httpserver) playing Daraja.

Covers token caching/expiry/single-flight (F8, F9), retry-once on 404.001.03 (F7), typed
error envelopes, timeouts vs unreachable (F10), pending query shapes (F14), no redirects.
"""

import asyncio
import base64
import json
import logging
import threading
import time
from datetime import datetime, timedelta

import pytest
from asgiref.sync import async_to_sync
from django.core.cache import cache
from werkzeug import Response

from payments.daraja import client as client_module
from payments.daraja.client import DarajaClient, token_cache_key
from payments.daraja.config import DarajaConfig, daraja_get_config
from payments.daraja.errors import (
    DarajaAPIError,
    DarajaAuthError,
    DarajaError,
    DarajaTimeout,
    DarajaUnavailable,
)
from payments.daraja.payloads import NAIROBI
from tests.helpers.fake_daraja import PUSH_ARGS, PUSH_OK, envelope
from tests.helpers.procs import free_port


async def test_token_is_fetched_once_and_reused(daraja):
    daraja.oauth()
    daraja.server.expect_request("/mpesa/stkpush/v1/processrequest", method="POST").respond_with_json(PUSH_OK)
    client = DarajaClient()
    for _ in range(3):
        accepted = await client.stk_push(**PUSH_ARGS)
    assert accepted.checkout_request_id == PUSH_OK["CheckoutRequestID"]
    assert daraja.tokens_issued == 1
    auth = daraja.requests("/oauth/v1/generate")[0].headers["Authorization"]
    assert base64.b64decode(auth.removeprefix("Basic ")).decode() == "dev-consumer-key:dev-consumer-secret"
    pushes = daraja.requests("/mpesa/stkpush/v1/processrequest")
    assert {r.headers["Authorization"] for r in pushes} == {"Bearer token" + "0" * 22 + "1"}


@pytest.mark.parametrize("expires_in", ["3599", 3599])
async def test_expires_in_as_string_or_number(daraja, expires_in):
    daraja.oauth(expires_in=expires_in)
    token = await DarajaClient().get_access_token()
    cached = await cache.aget(token_cache_key(daraja_get_config()))
    assert cached["token"] == token
    assert 3500 < cached["expires_at"] - time.time() <= 3599


async def test_token_near_expiry_is_refreshed_before_use(daraja):
    daraja.oauth()
    config = daraja_get_config()
    await cache.aset(token_cache_key(config), {"token": "old", "expires_at": time.time() + 30})
    token = await DarajaClient().get_access_token()
    assert token != "old" and daraja.tokens_issued == 1


async def test_concurrent_callers_fetch_one_token(daraja):
    daraja.oauth(delay=0.3)
    tokens = await asyncio.gather(*(DarajaClient().get_access_token() for _ in range(10)))
    assert len(set(tokens)) == 1
    assert daraja.tokens_issued == 1


def test_threads_and_separate_loops_share_one_token(daraja):
    """Two 'workers' (threads with their own event loops, one shared cache): one fetch (F8, F9)."""
    daraja.oauth(delay=0.3)
    results: list[str] = []

    def worker():
        results.append(async_to_sync(DarajaClient().get_access_token)())

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert len(results) == 8 and len(set(results)) == 1
    assert daraja.tokens_issued == 1


async def test_token_cache_is_scoped_by_consumer_key(daraja):
    daraja.oauth()
    base = daraja_get_config()
    other = DarajaConfig(**{**base.__dict__, "consumer_key": "another-app"})
    assert token_cache_key(base) != token_cache_key(other)
    assert base.consumer_key not in token_cache_key(base)
    first = await DarajaClient(base).get_access_token()
    second = await DarajaClient(other).get_access_token()
    assert first != second and daraja.tokens_issued == 2


async def test_invalid_token_refreshes_once_and_retries_once(daraja, caplog):
    caplog.set_level(logging.INFO, logger="payments.daraja")
    daraja.oauth()
    pushes = []

    def handler(request):
        pushes.append(request.headers["Authorization"])
        if len(pushes) == 1:
            return Response(
                json.dumps(envelope("404.001.03", "Invalid Access Token")),
                status=404,
                content_type="application/json",
            )
        return Response(json.dumps(PUSH_OK), content_type="application/json")

    daraja.server.expect_request("/mpesa/stkpush/v1/processrequest").respond_with_handler(handler)
    accepted = await DarajaClient().stk_push(**PUSH_ARGS)
    assert accepted.checkout_request_id == PUSH_OK["CheckoutRequestID"]
    assert daraja.tokens_issued == 2 and len(pushes) == 2 and pushes[0] != pushes[1]
    # a revoked token refreshed is routine: INFO, never a warning someone is paged for
    refused = [r for r in caplog.records if "token refused" in r.getMessage()]
    assert [r.levelname for r in refused] == ["INFO"]
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


async def test_second_invalid_token_is_an_error_not_a_loop(daraja):
    daraja.oauth()
    daraja.server.expect_request("/mpesa/stkpush/v1/processrequest").respond_with_json(
        envelope("404.001.03", "Invalid Access Token"), status=404
    )
    with pytest.raises(DarajaAPIError) as excinfo:
        await DarajaClient().stk_push(**PUSH_ARGS)
    assert excinfo.value.error_code == "404.001.03" and excinfo.value.definite
    assert len(daraja.requests("/mpesa/stkpush/v1/processrequest")) == 2
    assert daraja.tokens_issued == 2


async def test_wrong_credentials_empty_400_is_a_definite_auth_error(daraja):
    daraja.server.expect_request("/oauth/v1/generate").respond_with_data("", status=400)
    with pytest.raises(DarajaAuthError) as excinfo:
        await DarajaClient().stk_push(**PUSH_ARGS)
    assert excinfo.value.definite
    assert daraja.requests("/mpesa/stkpush/v1/processrequest") == []


async def test_oauth_500_sends_no_push_and_caches_nothing(daraja):
    daraja.server.expect_request("/oauth/v1/generate").respond_with_data("busy", status=503)
    with pytest.raises(DarajaUnavailable) as excinfo:  # a gateway page, not Daraja's envelope
        await DarajaClient().stk_push(**PUSH_ARGS)
    assert excinfo.value.definite and excinfo.value.http_status == 503
    assert daraja.requests("/mpesa/stkpush/v1/processrequest") == []
    assert await cache.aget(token_cache_key(daraja_get_config())) is None


async def test_slow_oauth_is_definite_for_the_push(daraja):
    daraja.oauth(delay=1.5)  # past the 1 s read timeout
    with pytest.raises(DarajaUnavailable):
        await DarajaClient().stk_push(**PUSH_ARGS)
    assert daraja.requests("/mpesa/stkpush/v1/processrequest") == []


@pytest.mark.parametrize(
    ("status", "code", "message"),
    [
        (400, "400.002.02", "Bad Request - Invalid PhoneNumber"),
        (
            500,
            "500.001.1001",
            "Unable to lock subscriber, a transaction is already in process for the current subscriber",
        ),
        (500, "500.003.02", "System is busy. Please try again in few minutes."),
    ],
)
async def test_error_envelopes_become_typed_errors(daraja, status, code, message):
    daraja.oauth()
    daraja.server.expect_request("/mpesa/stkpush/v1/processrequest").respond_with_json(
        envelope(code, message), status=status
    )
    with pytest.raises(DarajaAPIError) as excinfo:
        await DarajaClient().stk_push(**PUSH_ARGS)
    error = excinfo.value
    assert (error.http_status, error.error_code, error.error_message) == (status, code, message)
    assert error.request_id == "6e86-45dd-91ac-fd5d4178ab523792718"


async def test_push_read_timeout_is_ambiguous(daraja):
    daraja.oauth()

    def slow(request):
        time.sleep(1.5)
        return Response(json.dumps(PUSH_OK), content_type="application/json")

    daraja.server.expect_request("/mpesa/stkpush/v1/processrequest").respond_with_handler(slow)
    with pytest.raises(DarajaTimeout) as excinfo:
        await DarajaClient().stk_push(**PUSH_ARGS)
    assert not excinfo.value.definite


async def test_unreachable_daraja_is_definite(settings):
    settings.DARAJA_BASE_URL = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(DarajaUnavailable) as excinfo:
        await DarajaClient().stk_push(**PUSH_ARGS)
    assert excinfo.value.definite


async def test_redirects_are_not_followed(daraja):
    daraja.oauth()
    daraja.server.expect_request("/mpesa/stkpush/v1/processrequest").respond_with_data(
        "", status=302, headers={"Location": "http://169.254.169.254/"}
    )
    with pytest.raises(DarajaError) as excinfo:  # not an envelope: unreadable, never followed
        await DarajaClient().stk_push(**PUSH_ARGS)
    assert excinfo.value.http_status == 302  # a followed redirect would have left loopback


async def test_push_body_is_consistent_and_in_nairobi_time(daraja, settings):
    daraja.oauth()
    daraja.server.expect_request("/mpesa/stkpush/v1/processrequest").respond_with_json(PUSH_OK)
    await DarajaClient().stk_push(**PUSH_ARGS)
    request = daraja.requests("/mpesa/stkpush/v1/processrequest")[0]
    body = request.get_json()
    assert request.headers["Content-Type"] == "application/json"
    assert (
        base64.b64decode(body["Password"]).decode() == "174379" + settings.DARAJA_PASSKEY + body["Timestamp"]
    )
    sent = datetime.strptime(body["Timestamp"], "%Y%m%d%H%M%S").replace(tzinfo=NAIROBI)
    assert abs(datetime.now(tz=NAIROBI) - sent) < timedelta(seconds=5)
    assert body["Amount"] == 10 and body["PartyB"] == "174379"
    assert body["TransactionType"] == "CustomerPayBillOnline"


async def test_query_pending_shapes_are_not_failures(daraja):
    daraja.oauth()
    answers = [
        (
            200,
            {
                "ResponseCode": "0",
                "ResultCode": "4999",
                "ResultDesc": "The transaction is still under processing",
            },
        ),
        (500, envelope("500.001.1001", "The transaction is being processed")),
        (
            200,
            {
                "ResponseCode": "0",
                "ResponseDescription": "The service request has been accepted successsfully",
                "CheckoutRequestID": "ws_CO_x",
                "ResultCode": "1032",
                "ResultDesc": "Request cancelled by user",
            },
        ),
    ]

    def handler(request):
        status, body = answers.pop(0)
        return Response(json.dumps(body), status=status, content_type="application/json")

    daraja.server.expect_request("/mpesa/stkpushquery/v1/query").respond_with_handler(handler)
    client = DarajaClient()
    first = await client.stk_query(checkout_request_id="ws_CO_x")
    second = await client.stk_query(checkout_request_id="ws_CO_x")
    final = await client.stk_query(checkout_request_id="ws_CO_x")
    assert first.pending and second.pending
    assert not final.pending and final.result_code == "1032"


async def test_query_unknown_id_is_not_a_verdict(daraja):
    """§4.4: "does not Exist" is seen for ids Daraja just issued; ask again later."""
    daraja.oauth()
    daraja.server.expect_request("/mpesa/stkpushquery/v1/query").respond_with_json(
        envelope("500.001.1001", "The transaction does not Exist"), status=500
    )
    result = await DarajaClient().stk_query(checkout_request_id="ws_CO_nope")
    assert result.pending and result.result_desc == "The transaction does not Exist"


def test_config_repr_hides_secrets():
    text = repr(daraja_get_config())
    assert "dev-consumer-secret" not in text and "bfb279f9" not in text


def test_one_http_client_per_event_loop():
    async def get():
        return client_module._http(daraja_get_config())

    loop = asyncio.new_event_loop()
    try:
        a, b = loop.run_until_complete(get()), loop.run_until_complete(get())
        assert a is b and not a.follow_redirects
        loop.run_until_complete(a.aclose())
    finally:
        loop.close()
