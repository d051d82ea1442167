"""Daraja's callbacks over HTTP: THE one door. STK results at
``POST /payments/callbacks/<id>/<token>/``; payments from the M-Pesa menu (C2B Validation and
Confirmation, daraja-reference.md §14) at
``POST /payments/callbacks/c2b/<shortcode>/<token>/<validation|confirmation>/``.

``CallbackEndpoint`` is an ASGI application that ``with_callbacks`` puts in front of Django in
``project/asgi.py`` (and in any adopting project's ``asgi.py``). Under Daphne (``make run``)
and in the tests (which drive the same ASGI application) every callback comes through here;
Django has no view for the path. Answering before Django's request cycle matters for speed:
its per-request thread hops, request object and middleware chain were about half of a
callback's CPU (bench/README.md, "profile").

The door answers only what Django would otherwise have passed to a view unchanged: a request
with a valid Host, over HTTPS (or with SECURE_SSL_REDIRECT off). Anything else goes on to
Django, which refuses it (400 bad Host, redirect to HTTPS) exactly as for any other path.
"""

import asyncio
import json
import logging
import re
import uuid
from dataclasses import dataclass, field

from django.conf import settings
from django.db import DatabaseError, DataError
from django.http.request import split_domain_port, validate_host

from mpesa_plumbing.client_ip import client_ip_from, ip_in
from mpesa_plumbing.db import in_db

from ..checkout import c2b_receive, c2b_validate, callback_receive
from ..checkout.callback_url import (
    C2B_PATH_PREFIX,
    CALLBACK_PATH_PREFIX,
    redact_callback_tokens,
    verify_c2b_token,
    verify_callback_token,
)
from ..daraja import c2b as c2b_wire

logger = logging.getLogger("payments.callback")
ACK = {"ResultCode": 0, "ResultDesc": "Accepted"}
CALLBACK_PATH = re.compile(rf"^{re.escape(CALLBACK_PATH_PREFIX)}(?P<public_id_hex>[^/]+)/(?P<token>[^/]+)/$")
_PUBLIC_ID_HEX = re.compile(r"[0-9a-f]{32}")
C2B_PATH = re.compile(
    rf"^{re.escape(C2B_PATH_PREFIX)}(?P<shortcode>[0-9]{{4,8}})/(?P<token>[^/]+)/(?P<kind>validation|confirmation)/$"
)


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict
    headers: dict[str, str] = field(default_factory=dict)


def _error(status: int, message: str) -> Answer:
    return Answer(status, {"error": message, "fields": {}})


async def answer_callback(
    *,
    method: str,
    path: str,
    ip: str | None,
    body: bytes | None,
    headers: dict[str, str],
    public_id_hex: str = "",
    token: str,
    c2b: tuple[str, str] | None = None,
) -> Answer:
    """One callback, STK (``public_id_hex``) or C2B (``c2b`` = (shortcode, kind)). 200 for
    processed, duplicate, late and orphan callbacks; 400 malformed (recorded); 403 IP refused
    and 404 bad token (not recorded); 405 not POST; 413 too large (``body`` None); 503 when the
    database cannot take it (nothing falsely acknowledged). A C2B Validation is always
    answered 200 with accept or a ``C2B000xx`` reject, within its budget. Refusals are logged
    here with the token redacted (the path is a capability)."""
    refused, ip_allowed = _refused(method, ip)
    if refused is None:
        if c2b is None:
            answer = await _answer_stk(public_id_hex, token, ip, ip_allowed, body, headers)
        else:
            answer = await _answer_c2b(*c2b, token, ip, ip_allowed, body, headers)
    else:
        answer = refused
    if answer.status >= 400:
        logger.warning(
            "callback answered %s",
            answer.status,
            extra={
                "event": "callback.refused",
                "status": answer.status,
                "path": redact_callback_tokens(path),
            },
        )
    return answer


def _refused(method: str, ip: str | None) -> tuple[Answer | None, bool | None]:
    """The checks every callback passes first: POST, and the address (§6.1, §13.3)."""
    if method != "POST":
        return Answer(405, {"error": "Use POST.", "fields": {}}, {"Allow": "POST"}), None
    mode = settings.DARAJA_CALLBACK_IP_MODE
    ip_allowed = None if mode == "off" else ip_in(ip, settings.DARAJA_CALLBACK_NETWORKS)
    if ip_allowed is False:
        logger.warning("callback from a non-allowlisted address", extra={"event": "callback.ip", "ip": ip})
        if mode == "enforce":
            return _error(403, "Forbidden."), False
    return None, ip_allowed


async def _answer_stk(public_id_hex, token, ip, ip_allowed, body, headers) -> Answer:
    if not _PUBLIC_ID_HEX.fullmatch(public_id_hex):  # the one spelling we issue (uuid.UUID takes
        return _error(404, "Not found.")  # braces, dashes, upper case, "urn:uuid:" and other digits)
    public_id = uuid.UUID(hex=public_id_hex)
    if not verify_callback_token(public_id, token):
        logger.warning("callback with a bad token", extra={"event": "callback.token", "ip": ip})
        return _error(404, "Not found.")
    if body is None or len(body) > settings.PAYMENTS_MAX_BODY_BYTES:
        return _error(413, "Request body too large.")
    try:
        record = await in_db(
            callback_receive,
            public_id=public_id,
            body=body,
            headers=headers,
            remote_ip=ip,
            ip_allowed=ip_allowed,
        )
    except DatabaseError as exc:
        return _not_stored(exc, "callback not stored", {"payment": str(public_id)})
    if record.outcome == record.Outcome.MALFORMED:
        return Answer(400, {"ResultCode": 1, "ResultDesc": "Rejected: " + record.detail})
    return Answer(200, ACK)


async def _answer_c2b(shortcode, kind, token, ip, ip_allowed, body, headers) -> Answer:
    if not verify_c2b_token(shortcode, token):
        logger.warning("C2B callback with a bad token", extra={"event": "callback.token", "ip": ip})
        return _error(404, "Not found.")
    if body is None or len(body) > settings.PAYMENTS_MAX_BODY_BYTES:
        return _error(413, "Request body too large.")
    arguments = {
        "shortcode": shortcode,
        "body": body,
        "headers": headers,
        "remote_ip": ip,
        "ip_allowed": ip_allowed,
    }
    if kind == "validation":
        # §14.9: Daraja waits ~8 s, then applies the registered ResponseType. We answer well
        # inside that; when we cannot check in time, the money does not move (C2B00016).
        try:
            answer = await asyncio.wait_for(
                in_db(c2b_validate, **arguments), timeout=settings.PAYMENTS_C2B_VALIDATION_SECONDS
            )
        except (TimeoutError, DatabaseError) as exc:
            logger.error(
                "pay bill validation not checked in time (%s): rejected",
                exc.__class__.__name__,
                extra={"event": "c2b.validation_error"},
            )
            answer = c2b_wire.reject(c2b_wire.OTHER_ERROR)
        return Answer(200, answer)
    try:
        record = await in_db(c2b_receive, **arguments)
    except DatabaseError as exc:
        return _not_stored(exc, "pay bill confirmation not stored", {})
    if record.outcome == record.Outcome.MALFORMED:
        return Answer(400, {"ResultCode": 1, "ResultDesc": "Rejected: " + record.detail})
    return Answer(200, c2b_wire.CONFIRMATION_ACK)


def _not_stored(exc: DatabaseError, what: str, extra: dict) -> Answer:
    """503 while the database cannot take a callback (Daraja's retry, or the reconciler, will
    bring the result); 400 when it refused a value of this one (``DataError``: the same body
    would be refused again)."""
    refused = isinstance(exc, DataError)
    logger.error(
        "%s: %s (%s)",
        what,
        "a value the database refuses" if refused else "database unavailable",
        exc.__class__.__name__,
        extra={"event": "callback.data_error" if refused else "callback.db_error", **extra},
    )
    if refused:
        return Answer(400, {"ResultCode": 1, "ResultDesc": "Rejected: a value the database cannot store"})
    return _error(503, "Temporarily unavailable.")


class CallbackEndpoint:
    """ASGI: callbacks to ``answer_callback``; every other request to ``app`` (Django)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        path = scope.get("path", "") if scope["type"] == "http" else ""
        c2b = C2B_PATH.match(path) if path.startswith(C2B_PATH_PREFIX) else None
        match = c2b or (CALLBACK_PATH.match(path) if path.startswith(CALLBACK_PATH_PREFIX) else None)
        if match is None:
            return await self.app(scope, receive, send)
        headers = _headers(scope)
        if not _django_would_serve(scope, headers):
            return await self.app(scope, receive, send)  # Django answers 400 / redirects
        body = await _read_body(receive, cap=settings.PAYMENTS_MAX_BODY_BYTES)
        if body is _GONE:
            return None  # the client went away
        answer = await answer_callback(
            method=scope.get("method", ""),
            path=scope["path"],
            public_id_hex="" if c2b else match["public_id_hex"],
            token=match["token"],
            c2b=(match["shortcode"], match["kind"]) if c2b else None,
            ip=client_ip_from((scope.get("client") or ("",))[0], headers.get("X-Forwarded-For", "")),
            body=body,
            headers=headers,
        )
        payload = json.dumps(answer.body).encode()
        response_headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(payload)).encode()),
            (b"x-content-type-options", b"nosniff"),
            *((k.lower().encode(), v.encode()) for k, v in answer.headers.items()),
        ]
        await send({"type": "http.response.start", "status": answer.status, "headers": response_headers})
        await send({"type": "http.response.body", "body": payload})
        return None


def with_callbacks(app):
    """Wrap a Django ASGI application so Daraja's callbacks are answered by the door."""
    return CallbackEndpoint(app)


def _django_would_serve(scope, headers: dict[str, str]) -> bool:
    """True when Django's middleware would pass this request to a view unchanged."""
    domain, _port = split_domain_port(headers.get("Host", ""))
    allowed = settings.ALLOWED_HOSTS
    if settings.DEBUG and not allowed:
        allowed = [".localhost", "127.0.0.1", "[::1]"]
    if not domain or not validate_host(domain, allowed):
        return False
    if settings.SECURE_SSL_REDIRECT and scope.get("scheme") != "https":
        proxy = settings.SECURE_PROXY_SSL_HEADER
        if not proxy:
            return False
        meta_name, expected = proxy
        name = meta_name.removeprefix("HTTP_").replace("_", "-").title()
        return headers.get(name) == expected
    return True


def _headers(scope) -> dict[str, str]:
    """Header names as Django's ``request.headers`` spells them (``Content-Type``); repeated
    headers joined with a comma, as Django's META does."""
    out: dict[str, str] = {}
    for raw_name, raw_value in scope.get("headers", []):
        name, value = raw_name.decode("latin-1").title(), raw_value.decode("latin-1")
        out[name] = f"{out[name]},{value}" if name in out else value
    return out


_GONE = object()


async def _read_body(receive, *, cap: int):
    """The body; None once it passes ``cap`` (the rest is drained, not kept); ``_GONE`` when
    the client disconnected."""
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return _GONE
        chunk = message.get("body", b"")
        size += len(chunk)
        if size <= cap:
            chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks) if size <= cap else None
