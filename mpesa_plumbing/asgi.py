"""ASGI wrappers: a request-body cap and a structured access log.

- ``BodySizeLimit``: Django's ASGI handler spools the whole body before a view runs, and a
  body without (or with an understated) Content-Length is only measured after it has been
  read. This refuses with 413 as soon as the declared or received size passes the cap, before
  the application buffers anything. (Daphne itself reads a whole body into memory before it
  calls the application, so the memory a huge body costs is the server's: a proxy's body limit
  bounds it; README, "Going live".)
- ``AccessLog``: one structured line per HTTP request and WebSocket handshake, with the path
  passed through ``redact`` first (capability tokens in callback paths: Daphne's own access
  log prints raw paths, so it runs with ``-v 0`` and this logs instead).
- ``OriginValidator``: WebSocket handshakes only from allowed origins (scheme, host and port).
- ``ProtocolRouter`` and ``PathRouter``: Channels' ``ProtocolTypeRouter`` and ``URLRouter``,
  the same routing, handing over the chosen application's awaitable instead of awaiting it.

A wrapper with nothing left to do once it has chosen or built the inner call is a plain
function returning that call's awaitable (``markcoroutinefunction``: an ASGI 3 application to
asgiref's and uvicorn's tests): an ``async def`` wrapper stays suspended for the whole of an
open socket's life, its coroutine, its locals and any scope copy it made held per socket.
"""

import logging
import time
from collections.abc import Callable
from urllib.parse import urlsplit

from asgiref.sync import markcoroutinefunction
from channels.routing import ProtocolTypeRouter, URLRouter
from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host
from django.urls.exceptions import Resolver404

access_logger = logging.getLogger("mpesa_plumbing.access")


class BodySizeLimit:
    """``cap_for_path(path)`` gives the byte limit of a request to ``path``."""

    def __init__(self, app, cap_for_path: Callable[[str], int]):
        self.app = app
        self.cap_for_path = cap_for_path

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        cap = self.cap_for_path(scope.get("path", ""))
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
    def __init__(self, app, redact: Callable[[str], str] = str):
        self.app = app
        self.redact = redact

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket") or not settings.ACCESS_LOG:
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        watch = _StatusWatch(send)
        try:
            await self.app(scope, receive, watch)
        finally:
            client = scope.get("client") or ("", 0)
            access_logger.info(
                "%s %s %s",
                scope.get("method", "WS"),
                self.redact(scope.get("path", "")),
                watch.status,
                extra={
                    "event": "http.access" if scope["type"] == "http" else "ws.handshake",
                    "status": watch.status,
                    "ms": round((time.perf_counter() - started) * 1000, 1),
                    "client": client[0],
                },
            )


class _StatusWatch:
    """``send`` that notes the response's status (101 for an accepted socket, 403 for one
    closed before that). An object of two slots, not a closure and a dict: an open socket
    keeps it for its whole life."""

    __slots__ = ("send", "status")

    def __init__(self, send):
        self.send, self.status = send, None

    async def __call__(self, message):
        kind = message["type"]
        if kind == "http.response.start":
            self.status = message["status"]
        elif kind == "websocket.accept":
            self.status = 101
        elif kind == "websocket.close" and self.status is None:
            self.status = 403
        await self.send(message)


def _origin(scheme: str, host: str, port: int | None) -> tuple[str, str, int]:
    return scheme, host.lower().rstrip("."), port or (443 if scheme == "https" else 80)


def parse_origin(text: str) -> tuple[str, str, int] | None:
    """``https://shop.example:8443`` → (scheme, host, port) with default ports filled in;
    None for anything that is not an http(s) origin."""
    try:
        parts = urlsplit(text.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/"):
        return None
    return _origin(parts.scheme, parts.hostname, port)


class OriginValidator:
    """WebSocket handshakes only from an allowed origin, compared by scheme, host AND port
    (Channels' own validator compares the host alone, so a page on another port or scheme of
    the same host was let in).

    Allowed: the socket's own origin (the Origin header equals the scheme and Host of the
    handshake, with the Host in ALLOWED_HOSTS), or one of ``extra_origins()`` (front ends on
    other origins). Everything else, and a handshake without Origin, is refused (HTTP 403).
    """

    def __init__(self, app, extra_origins: Callable[[], list[str]] = list):
        self.app = app
        self.extra_origins = extra_origins
        self.denier = WebsocketDenier.as_asgi()

    @markcoroutinefunction  # an ASGI 3 application to every server's test, though a plain function
    def __call__(self, scope, receive, send):
        """The awaitable of the application that answers (a plain function: no frame of its
        own kept for an open socket's life)."""
        if scope["type"] == "websocket" and not self.allowed(scope):
            return self.denier(scope, receive, send)
        return self.app(scope, receive, send)

    def allowed(self, scope) -> bool:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        origin = parse_origin(headers.get("origin", ""))
        if origin is None:
            return False
        if origin in {parse_origin(o) for o in self.extra_origins()} - {None}:
            return True
        domain, port = split_domain_port(headers.get("host", ""))
        allowed_hosts = settings.ALLOWED_HOSTS or (
            [".localhost", "127.0.0.1", "[::1]"] if settings.DEBUG else []
        )
        if not domain or not validate_host(domain, allowed_hosts):
            return False
        scheme = "https" if scope.get("scheme") == "wss" or _behind_tls(headers) else "http"
        return origin == _origin(scheme, domain, int(port) if port.isdigit() else None)


def _behind_tls(headers: dict[str, str]) -> bool:
    """SECURE_PROXY_SSL_HEADER says the proxy in front terminated TLS."""
    proxy = settings.SECURE_PROXY_SSL_HEADER
    if not proxy:
        return False
    meta_name, expected = proxy
    return headers.get(meta_name.removeprefix("HTTP_").replace("_", "-").lower()) == expected


class ProtocolRouter(ProtocolTypeRouter):
    """``ProtocolTypeRouter`` (the same mapping and error) without a frame of its own."""

    @markcoroutinefunction
    def __call__(self, scope, receive, send):
        application = self.application_mapping.get(scope["type"])
        if application is None:
            return _raise(ValueError(f"No application configured for scope type {scope['type']!r}"))
        return application(scope, receive, send)


class PathRouter(URLRouter):
    """``URLRouter`` (Channels 4.3's: the same routes, checks, ``path_remaining``,
    ``url_route`` and errors; ``tests/mpesa_plumbing/test_routers.py`` runs every case through
    both) that keeps no frame or scope copy of its own once the route leads to a consumer: the
    consumer gets the one copy, as from Channels' router. Any other application (a nested
    router, a middleware around one) is awaited in a frame that goes on to the next route when
    it raises ``Resolver404`` (a nested router that matched only in part), as Channels' does."""

    @markcoroutinefunction
    def __call__(self, scope, receive, send):
        path = scope.get("path_remaining", scope.get("path", None))
        if path is None:
            return _raise(ValueError("No 'path' key in connection scope, cannot route URLs"))
        if "path_remaining" not in scope:  # the outermost router: strip root_path
            root_path = scope.get("root_path", "")
            if root_path and not path.startswith(root_path):
                return _raise(ValueError(f"No route found for path {path!r}."))
            path = path[len(root_path) :]
        return self._route(scope, path.lstrip("/"), 0, receive, send)  # lstrip: as Django matches

    def _route(self, scope, path: str, start: int, receive, send):
        """The awaitable of the first route from ``start`` on that matches ``path``."""
        for index in range(start, len(self.routes)):
            route = self.routes[index]
            try:
                match = route.pattern.match(path)
            except Resolver404:
                continue
            if not match:
                continue
            new_path, args, kwargs = match
            outer = scope.get("url_route", {})
            url_route = {
                "args": outer.get("args", ()) + args,
                "kwargs": {**outer.get("kwargs", {}), **kwargs, **route.default_args},
            }
            called = route.callback(dict(scope, path_remaining=new_path, url_route=url_route), receive, send)
            if hasattr(route.callback, "consumer_class"):  # a consumer (as_asgi): it routes no further
                return called
            return self._falling_through(called, scope, path, index + 1, receive, send)
        if "path_remaining" in scope:
            return _raise(Resolver404(f"No route found for path {path!r}."))
        return _raise(ValueError(f"No route found for path {path!r}."))

    async def _falling_through(self, called, scope, path: str, next_route: int, receive, send):
        try:
            return await called
        except Resolver404:
            pass  # a nested router found nothing: the routes after it
        return await self._route(scope, path, next_route, receive, send)


async def _raise(exc: Exception):
    """A router's refusal, raised where Channels' raises it: when the application is awaited."""
    raise exc
