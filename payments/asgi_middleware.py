"""ASGI wrappers around Django: a request-body cap and a masked access log.

- ``BodySizeLimit``: Django's ASGI handler spools the whole body before a view runs, and a
  body without (or with an understated) Content-Length is only measured after it has been
  read. This refuses with 413 as soon as the declared or received size passes the cap.
- ``AccessLog``: one structured line per HTTP request and WebSocket handshake, with callback
  capability tokens redacted (Daphne's own access log prints raw paths, so we run it with
  ``-v 0`` and log here instead).
- ``StaticFiles``: WhiteNoise's file index (long-lived caching, compressed variants, finders
  in development) served at the ASGI level: WhiteNoise's Django middleware is sync-only and
  would force every request's middleware chain through a sync hop.
"""

import asyncio
import logging
import time

from django.conf import settings

from .callback_url import redact_callback_tokens

access_logger = logging.getLogger("payments.access")

JSON_PREFIXES = ("/payments/", "/simulator/")


class BodySizeLimit:
    def __init__(self, app):
        self.app = app

    def _cap(self, path: str) -> int:
        if path.startswith(JSON_PREFIXES):
            return settings.PAYMENTS_MAX_BODY_BYTES
        return settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 65_536

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        cap = self._cap(scope.get("path", ""))
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    return await _too_large(send, 400)
                if declared > cap:
                    return await _too_large(send)
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            size += len(message.get("body", b""))
            if size > cap:
                return await _too_large(send)
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return await self.app(scope, replay, send)


async def _too_large(send, status: int = 413) -> None:
    body = (
        b'{"error": "Request body too large.", "fields": {}}'
        if status == 413
        else b'{"error": "Bad Content-Length.", "fields": {}}'
    )
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


class AccessLog:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket") or not settings.ACCESS_LOG:
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        outcome = {"status": None}

        async def watch(message):
            kind = message["type"]
            if kind == "http.response.start":
                outcome["status"] = message["status"]
            elif kind == "websocket.accept":
                outcome["status"] = 101
            elif kind == "websocket.close" and outcome["status"] is None:
                outcome["status"] = 403
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            client = scope.get("client") or ("", 0)
            access_logger.info(
                "%s %s %s",
                scope.get("method", "WS"),
                redact_callback_tokens(scope.get("path", "")),
                outcome["status"],
                extra={
                    "event": "http.access" if scope["type"] == "http" else "ws.handshake",
                    "status": outcome["status"],
                    "ms": round((time.perf_counter() - started) * 1000, 1),
                    "client": client[0],
                },
            )


class StaticFiles:
    def __init__(self, app):
        self.app = app
        self._whitenoise = None

    def _index(self):
        if self._whitenoise is None:
            from whitenoise.middleware import WhiteNoiseMiddleware

            self._whitenoise = WhiteNoiseMiddleware()  # reads STATIC_ROOT/finders from settings
        return self._whitenoise

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not scope.get("path", "").startswith(settings.STATIC_URL):
            return await self.app(scope, receive, send)
        index = self._index()
        path = scope["path"]
        static_file = index.find_file(path) if index.autorefresh else index.files.get(path)
        if static_file is None:
            return await self.app(scope, receive, send)
        environ = {
            "HTTP_" + k.decode("latin1").upper().replace("-", "_"): v.decode("latin1")
            for k, v in scope.get("headers", [])
        }
        response = static_file.get_response(scope["method"], environ)
        headers = [(k.lower().encode("latin1"), str(v).encode("latin1")) for k, v in response.headers]
        await send({"type": "http.response.start", "status": int(response.status), "headers": headers})
        body = b""
        if response.file is not None:
            with response.file as handle:
                body = await asyncio.to_thread(handle.read)
        await send({"type": "http.response.body", "body": body})
