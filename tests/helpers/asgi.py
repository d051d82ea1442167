"""The project's whole ASGI application, in-process (httpx's ASGI transport).

Tests that need a real server's doors go through here: above all Daraja's callback door, which
is an ASGI endpoint ahead of Django (payments/http/callback.py) that Django's test client
never reaches. From a sync test the request runs through ``async_to_sync``, so the database
bridge's thread-sensitive mode (``PAYMENTS_DB_THREADS = 0``) shares the test's transaction.
"""

import json
from contextlib import contextmanager
from typing import Any

import httpx
from asgiref.sync import async_to_sync
from django.core.signals import request_finished, request_started
from django.db import close_old_connections

from payments.checkout.callback_url import c2b_path, callback_path


def asgi_scope(
    kind: str,
    path: str,
    *,
    headers=(),
    method: str = "POST",
    scheme: str | None = None,
    host: bytes = b"127.0.0.1",
    client: tuple[str, int] = ("127.0.0.1", 5000),
    server: tuple[str, int] = ("127.0.0.1", 8000),
) -> dict:
    """An ASGI ``http`` or ``websocket`` scope for ``path`` as a server would build it, with
    ``Host`` first and then ``headers`` (name/value bytes pairs)."""
    scope = {
        "type": kind,
        "asgi": {"version": "3.0"},
        "scheme": scheme or ("http" if kind == "http" else "ws"),
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(b"host", host), *headers],
        "client": client,
        "server": server,
    }
    if kind == "http":
        scope.update(http_version="1.1", method=method)
    else:
        scope["subprotocols"] = []
    return scope


def _application():
    from project.asgi import application  # imported late: Django must be set up first

    return application


_in_flight = [0]


@contextmanager
def _keep_test_connection():
    """As Django's test client does: a request must not close the connection that holds the
    test's transaction (Django's handler closes old connections when a request starts and
    ends). Counted: concurrent requests reconnect the signals only when the last one ends."""
    if _in_flight[0] == 0:
        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
    _in_flight[0] += 1
    try:
        yield
    finally:
        _in_flight[0] -= 1
        if _in_flight[0] == 0:
            request_started.connect(close_old_connections)
            request_finished.connect(close_old_connections)


class AsgiClient:
    """Requests to ``project.asgi.application`` as if from ``client_ip``."""

    def __init__(self, *, client_ip: str = "127.0.0.1", host: str = "testserver", scheme: str = "http"):
        self.client_ip, self.base_url = client_ip, f"{scheme}://{host}"

    async def arequest(
        self,
        method: str,
        path: str,
        body: bytes | str | None = None,
        *,
        headers: dict[str, str] | None = None,
        content_type: str | None = "application/json",
    ) -> httpx.Response:
        transport = httpx.ASGITransport(app=_application(), client=(self.client_ip, 51234))
        sent = dict(headers or {})
        if content_type and body is not None:
            sent.setdefault("Content-Type", content_type)
        content = body.encode() if isinstance(body, str) else body
        with _keep_test_connection():
            async with httpx.AsyncClient(transport=transport, base_url=self.base_url, timeout=30) as http:
                return await http.request(method, path, content=content, headers=sent)

    def request(self, method: str, path: str, body: bytes | str | None = None, **kwargs) -> httpx.Response:
        return async_to_sync(self.arequest)(method, path, body, **kwargs)

    def post(self, path: str, body: bytes | str | None = None, **kwargs) -> httpx.Response:
        return self.request("POST", path, body, **kwargs)

    async def apost(self, path: str, body: bytes | str | None = None, **kwargs) -> httpx.Response:
        return await self.arequest("POST", path, body, **kwargs)


def callback_data(data: Any) -> bytes:
    """A callback body as sent: text and bytes unchanged, anything else as JSON."""
    if isinstance(data, bytes):
        return data
    if isinstance(data, str):
        return data.encode()
    return json.dumps(data).encode()


class CallbackDoor(AsgiClient):
    """Daraja calling our callback door (from an allowlisted-looking address by default)."""

    def callback(self, payment, data: Any, **kwargs) -> httpx.Response:
        return self.post(callback_path(payment.public_id), callback_data(data), **kwargs)

    async def acallback(self, payment, data: Any, **kwargs) -> httpx.Response:
        return await self.apost(callback_path(payment.public_id), callback_data(data), **kwargs)

    def c2b(self, kind: str, data: Any, *, shortcode: str | None = None, **kwargs) -> httpx.Response:
        """A C2B Validation (``kind="validation"``) or Confirmation to our registered URL."""
        from django.conf import settings

        return self.post(
            c2b_path(shortcode or settings.DARAJA_C2B_SHORTCODE, kind), callback_data(data), **kwargs
        )

    async def ac2b(self, kind: str, data: Any, *, shortcode: str | None = None, **kwargs) -> httpx.Response:
        from django.conf import settings

        path = c2b_path(shortcode or settings.DARAJA_C2B_SHORTCODE, kind)
        return await self.apost(path, callback_data(data), **kwargs)
