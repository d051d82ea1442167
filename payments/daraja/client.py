"""Async Daraja client: OAuth token shared through Django's cache, STK push, STK query and
C2B URL registration.

- explicit (connect, read) timeouts, no redirects followed;
- one token per consumer key in the shared cache, refreshed ``token_refresh_margin`` seconds
  before expiry, fetched by one caller at a time across threads and processes (cache lock);
- ``404.001.03`` (Invalid Access Token) → refresh once and retry that one call (§2.4);
- a fresh Nairobi timestamp per request, used for both Password and body (§9.1).
"""

import asyncio
import hashlib
import logging
import time
import weakref
from typing import Any

import httpx
from django.core.cache import cache

from . import answers, c2b, payloads
from .config import DarajaConfig, daraja_get_config
from .errors import (
    INVALID_ACCESS_TOKEN,
    DarajaAPIError,
    DarajaAuthError,
    DarajaError,
    DarajaProtocolError,
    DarajaTimeout,
    DarajaUnavailable,
)

logger = logging.getLogger(__name__)

PATH_OAUTH = "/oauth/v1/generate"
PATH_STK_PUSH = "/mpesa/stkpush/v1/processrequest"
PATH_STK_QUERY = "/mpesa/stkpushquery/v1/query"
PATH_C2B_REGISTER = "/mpesa/c2b/{version}/registerurl"  # §14.1: v1 or v2, per the app's products
TOKEN_LOCK_SECONDS = 15
TOKEN_WAIT_STEP = 0.02

# One pooled httpx client per event loop (an AsyncClient must not cross loops). A long-lived
# loop (Daphne's, the job runner's) keeps one client for the process; a short-lived loop
# (``async_to_sync`` from a management command) closes its client when the loop closes.
_clients: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient]" = (
    weakref.WeakKeyDictionary()
)
# Test hook: route every client through this transport (e.g. httpx.ASGITransport).
transport_override: httpx.AsyncBaseTransport | None = None


def _close_with_loop(loop: asyncio.AbstractEventLoop, client: httpx.AsyncClient) -> None:
    """Close ``client`` just before ``loop`` closes (the way channels_redis closes its pools)."""
    original_close = loop.close

    def close() -> None:
        if not client.is_closed and not loop.is_running() and not loop.is_closed():
            loop.run_until_complete(client.aclose())
        original_close()

    loop.close = close  # type: ignore[method-assign]


def _http(config: DarajaConfig) -> httpx.AsyncClient:
    loop = asyncio.get_running_loop()
    client = _clients.get(loop)
    if client is None or client.is_closed:
        client = httpx.AsyncClient(
            timeout=httpx.Timeout(
                config.read_timeout, connect=config.connect_timeout, pool=config.connect_timeout
            ),
            follow_redirects=False,
            transport=transport_override,
            headers={"User-Agent": "mpesa-express-django/1.0"},
        )
        _clients[loop] = client
        _close_with_loop(loop, client)
    return client


def token_cache_key(config: DarajaConfig) -> str:
    """Scoped by environment and consumer key (hashed: the key itself is a credential)."""
    digest = hashlib.sha256(f"{config.base_url}|{config.consumer_key}".encode()).hexdigest()[:24]
    return f"daraja:token:{digest}"


class DarajaClient:
    """One instance per call site is fine: all state lives in the shared cache.

    ``last_answer_date``: the ``Date`` header of the last answer this instance received ("" when
    the answer had none) and ``time.time()`` when it arrived; None before any answer. Only
    ``manage.py mpesa doctor`` reads it, to compare our clock with Daraja's."""

    def __init__(self, config: DarajaConfig | None = None):
        self.config = config or daraja_get_config()
        self.last_answer_date: tuple[str, float] | None = None

    # --- transport ---------------------------------------------------------------------
    async def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        url = self.config.base_url + path
        try:
            response = await _http(self.config).request(method, url, **kwargs)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise DarajaUnavailable(f"could not reach Daraja: {exc.__class__.__name__}") from exc
        except httpx.TimeoutException as exc:
            raise DarajaTimeout(f"no answer from Daraja in time: {exc.__class__.__name__}") from exc
        except httpx.HTTPError as exc:
            raise DarajaTimeout(f"connection to Daraja broke: {exc.__class__.__name__}") from exc
        self.last_answer_date = (response.headers.get("Date", ""), time.time())
        return response

    # --- OAuth -------------------------------------------------------------------------
    async def _fetch_token(self) -> tuple[str, float]:
        response = await self._send(
            "GET",
            PATH_OAUTH,
            params={"grant_type": "client_credentials"},
            auth=(self.config.consumer_key, self.config.consumer_secret),
        )
        if response.status_code == 400 and not response.content.strip():
            # §2.3: wrong key/secret (or sandbox keys on production) → 400 with an empty body.
            raise DarajaAuthError(
                "Daraja refused the consumer key/secret", error_code="oauth.refused", http_status=400
            )
        data = answers.read_json(response)
        if response.status_code != 200 or answers.is_error_envelope(data):
            raise answers.error_from(response, data, what="OAuth answer")
        try:
            token = str(data["access_token"])
            # §2.2: "3599" as a string in the real API, a number in the v3 docs: accept both.
            expires_in = int(data["expires_in"])
        except (ValueError, KeyError, TypeError) as exc:
            raise answers.unreadable(response, "OAuth answer") from exc
        if not token:
            raise DarajaProtocolError("empty access_token")
        return token, time.time() + expires_in

    async def get_access_token(self, *, force_refresh: bool = False, stale: str = "") -> str:
        """A valid token from the shared cache, fetching one if needed.

        Only one caller fetches at a time (``cache.add`` lock); others wait for its result.
        ``stale`` names a token Daraja just refused: it is never returned again.
        """
        key = token_cache_key(self.config)
        margin = self.config.token_refresh_margin
        deadline = time.monotonic() + TOKEN_LOCK_SECONDS + self.config.read_timeout
        while True:
            cached = await cache.aget(key)
            if cached and not force_refresh and cached["token"] != stale:
                if cached["expires_at"] - time.time() > margin:
                    return cached["token"]
            if await cache.aadd(key + ":lock", 1, timeout=TOKEN_LOCK_SECONDS):
                try:
                    # Re-check: another process may have refreshed while we took the lock.
                    cached = await cache.aget(key)
                    if (
                        cached
                        and cached["token"] != stale
                        and cached["expires_at"] - time.time() > margin
                        and (not force_refresh or stale)
                    ):
                        return cached["token"]
                    token, expires_at = await self._fetch_token()
                    ttl = max(1, int(expires_at - time.time() - margin))
                    await cache.aset(key, {"token": token, "expires_at": expires_at}, timeout=ttl)
                    logger.info("daraja token refreshed", extra={"event": "daraja.token"})
                    return token
                finally:
                    await cache.adelete(key + ":lock")
            if time.monotonic() > deadline:
                raise DarajaTimeout("timed out waiting for another worker's token refresh")
            force_refresh = False  # someone else is refreshing; their token will do
            await asyncio.sleep(TOKEN_WAIT_STEP)

    async def _token_or_unavailable(self, **kwargs: Any) -> str:
        """A token; any OAuth failure is *definite* for the business call (never sent)."""
        try:
            return await self.get_access_token(**kwargs)
        except DarajaAPIError:
            raise
        except DarajaError as exc:
            raise DarajaUnavailable(
                f"OAuth failed: {exc.error_message}", http_status=exc.http_status
            ) from exc

    async def _authorized_post(self, path: str, build_body) -> httpx.Response:
        """POST with a bearer token; on 404.001.03 refresh once and retry once (§2.4)."""
        token = await self._token_or_unavailable()
        response = await self._send(
            "POST", path, json=build_body(), headers={"Authorization": f"Bearer {token}"}
        )
        if response.status_code == 404 and answers.error_code(response) == INVALID_ACCESS_TOKEN:
            logger.info("daraja token refused; refreshing once", extra={"event": "daraja.token"})
            token = await self._token_or_unavailable(force_refresh=True, stale=token)
            response = await self._send(
                "POST", path, json=build_body(), headers={"Authorization": f"Bearer {token}"}
            )
        return response

    # --- STK push ------------------------------------------------------------------------
    async def stk_push(
        self,
        *,
        phone: str,
        amount: int,
        account_reference: str,
        transaction_desc: str,
        callback_url: str,
    ) -> payloads.StkPushAccepted:
        """Send the prompt. Raises DarajaAPIError (definite refusal), DarajaUnavailable
        (never sent), DarajaTimeout/DarajaProtocolError (may have been accepted)."""
        cfg = self.config

        def body() -> dict[str, Any]:
            return payloads.build_stk_push_body(
                shortcode=cfg.shortcode,
                passkey=cfg.passkey,
                transaction_type=cfg.transaction_type,
                party_b=cfg.party_b,
                phone=phone,
                amount=amount,
                account_reference=account_reference,
                transaction_desc=transaction_desc,
                callback_url=callback_url,
                timestamp=payloads.daraja_timestamp(payloads.nairobi_now()),
            )

        response = await self._authorized_post(PATH_STK_PUSH, body)
        data = answers.read_json(response)
        if response.status_code != 200 or answers.is_error_envelope(data):
            raise answers.error_from(response, data, what="push answer")
        try:
            return payloads.parse_push_response(data)
        except ValueError as exc:
            raise answers.unreadable(response, f"push answer ({exc})") from exc

    # --- STK query -----------------------------------------------------------------------
    async def stk_query(self, *, checkout_request_id: str) -> payloads.StkResult:
        """Ask for a push's result. Every "not yet" answer (HTTP 200 ``4999``, HTTP 500
        ``500.001.1001`` being processed or not found yet, HTTP 400 "Invalid CheckoutRequestID"
        when asked too early, HTTP 429 rate limited; §4.3, §4.4, §13.4) comes back as
        ``result.pending`` (with ``retry_after`` when Daraja said how long), never as a
        failure. Other errors raise DarajaError; none of them is a verdict."""
        cfg = self.config

        def body() -> dict[str, Any]:
            return payloads.build_stk_query_body(
                shortcode=cfg.shortcode,
                passkey=cfg.passkey,
                checkout_request_id=checkout_request_id,
                timestamp=payloads.daraja_timestamp(payloads.nairobi_now()),
            )

        response = await self._authorized_post(PATH_STK_QUERY, body)
        data = answers.read_json(response)
        if response.status_code == 200 and not answers.is_error_envelope(data):
            try:
                return payloads.parse_query_response(data)
            except ValueError as exc:
                raise answers.unreadable(response, f"query answer ({exc})") from exc
        if (not_yet := answers.query_not_yet(response, data)) is not None:
            return payloads.StkResult(
                checkout_request_id=checkout_request_id,
                result_code=payloads.PENDING_RESULT_CODE,
                result_desc=not_yet[:255],
                retry_after=answers.retry_after(response),
            )
        raise answers.error_from(response, data, what="query answer")

    # --- C2B register URLs -----------------------------------------------------------------
    async def register_c2b_urls(
        self,
        *,
        shortcode: str,
        confirmation_url: str,
        validation_url: str,
        response_type: str = "Completed",
        version: str = "v2",
    ) -> c2b.RegisterAccepted:
        """Register the Validation and Confirmation URLs of ``shortcode`` (§14.2). Which
        version works depends on the Daraja app's API products: the other one answers
        ``401.003.01`` "no apiproduct match found" (§14.4). Raises DarajaAPIError (refused:
        forbidden word, already registered in production, product mismatch) or
        DarajaUnavailable/DarajaTimeout/DarajaProtocolError."""
        if version not in c2b.REGISTER_VERSIONS:
            raise ValueError(f"version must be one of {', '.join(c2b.REGISTER_VERSIONS)}")
        payload = c2b.build_register_body(
            shortcode=shortcode,
            response_type=response_type,
            confirmation_url=confirmation_url,
            validation_url=validation_url,
        )
        path = PATH_C2B_REGISTER.format(version=version)
        response = await self._authorized_post(path, lambda: payload)
        data = answers.read_json(response)
        if fault := answers.soap_fault(data):  # §14.4: e.g. the shortcode is not set up for C2B
            raise DarajaAPIError(fault, error_code="soap.fault", http_status=response.status_code)
        if response.status_code != 200 or answers.is_error_envelope(data):
            raise answers.error_from(response, data, what="register-URL answer")
        try:
            return c2b.parse_register_response(data)
        except ValueError as exc:
            if (
                isinstance(data, dict)
                and "already registered" in str(data.get("ResponseDescription", "")).lower()
            ):
                raise DarajaAPIError(str(exc), error_code="500.003.1001", http_status=200) from exc
            raise answers.unreadable(response, f"register-URL answer ({exc})") from exc


__all__ = ["DarajaClient", "DarajaError", "DarajaAuthError", "token_cache_key"]
