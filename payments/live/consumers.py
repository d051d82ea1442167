"""``ws/payments/<public_id>/``: one payment's live status, for its owner (or staff).

Who: the session (same-origin pages), or ``?ticket=`` — a single-use, short-lived ticket from
``POST /payments/<id>/ticket/`` (live/tickets.py) for front ends without our cookie.
Connect: authenticate → per-user limit → ``group_add`` → one database read that both
authorises (owner or staff) and is the snapshot → accept → snapshot frame. Joining before
reading closes the gap in which a callback could commit unseen (a refused socket leaves the
group again at once); frames carry ``version`` so the page drops anything older than what it
shows. Database work goes through the database bridge (mpesa_plumbing/db.py): no connection
is opened per handshake.

Refusals happen before accept (the handshake is rejected with HTTP 403): anonymous, not
the owner, unknown payment, too many sockets for this user, channel layer unreachable.
Close codes after accept:
  1011  the channel layer (Redis) failed under an open socket: reconnect (with backoff)
  4008  frame too large, binary, or not JSON (policy violation)
  4029  more than PAYMENTS_WS_MAX_MESSAGES frames within PAYMENTS_WS_RATE_WINDOW_SECONDS
Frames are in the socket's language, chosen at connect (live/language.py: ``?lang=``, the
``django_language`` cookie, Accept-Language).
Inbound frames: ``{"type": "ping"}`` → ``{"type": "pong"}``; ``{"type": "resync"}`` → a new
snapshot. Anything else gets ``{"type": "error"}`` and changes nothing.
"""

import logging
import time
from collections import defaultdict, deque
from importlib import import_module
from urllib.parse import parse_qs

from channels.middleware import BaseMiddleware
from django.conf import settings
from django.contrib.auth import (
    BACKEND_SESSION_KEY,
    HASH_SESSION_KEY,
    SESSION_KEY,
    get_user_model,
    load_backend,
)
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.http.cookie import parse_cookie
from django.utils import translation
from django.utils.crypto import constant_time_compare
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from mpesa_plumbing.db import in_db
from mpesa_plumbing.jsonbody import JsonError, loads
from mpesa_plumbing.sockets import BridgedJsonConsumer

from ..selectors import payment_get_for_user
from .broadcast import EVENT_TYPE, payment_group_name, payment_status_payload
from .language import scope_language
from .tickets import ticket_redeem

logger = logging.getLogger("payments.ws")

CLOSE_LAYER_DOWN = 1011
CLOSE_POLICY = 4008
CLOSE_RATE = 4029
MAX_FRAME_BYTES = 1024


def _snapshot(user, public_id, language: str):
    payment = payment_get_for_user(user=user, public_id=public_id)
    if payment is None:
        return None
    with translation.override(language):
        return payment_status_payload(payment)


class SocketAuthMiddleware(BaseMiddleware):
    """The socket's user from the session cookie, decided as Django decides it for a page
    (``django.contrib.auth.get_user``), in one step, the lookup through the database bridge.

    The session itself is not kept in the scope: a socket never writes it, and Channels'
    session wrapper would keep it (and check it on every frame sent) for the socket's life;
    one scope copy instead of three. ``scope["cookies"]`` stays (the language cookie)."""

    async def __call__(self, scope, receive, send):
        cookies = {}
        for name, value in scope.get("headers", ()):
            if name == b"cookie":
                cookies.update(parse_cookie(value.decode("latin-1")))
        user = await in_db(_session_user, cookies.get(settings.SESSION_COOKIE_NAME))
        return await self.inner(dict(scope, cookies=cookies, user=user), receive, send)


def _session_user(session_key: str | None):
    """The session's user (``AnonymousUser`` when none), with Django's checks: a backend still
    configured, a user it still returns, and the session's auth hash made with ``SECRET_KEY``
    or one of ``SECRET_KEY_FALLBACKS`` (a customer signed in before a key rotation is still
    signed in; Channels' ``get_user`` knows no fallbacks and flushed such a session, signing
    the customer out of every page). Read-only, unlike a page request: a socket cannot send the
    new cookie that cycling the key needs, and a stale session is refused here and flushed by
    the next page request, as Django does. Out of the middleware's frame, which stays suspended
    for the socket's life: the session and its decoded data are not kept."""
    session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    try:
        user_id = get_user_model()._meta.pk.to_python(session[SESSION_KEY])
        backend_path = session[BACKEND_SESSION_KEY]
    except (KeyError, ValidationError):
        return AnonymousUser()
    if backend_path not in settings.AUTHENTICATION_BACKENDS:
        return AnonymousUser()
    user = load_backend(backend_path).get_user(user_id)
    if user is None:
        return AnonymousUser()
    if hasattr(user, "get_session_auth_hash"):
        session_hash = session.get(HASH_SESSION_KEY)
        fallbacks = getattr(user, "get_session_auth_fallback_hash", tuple)
        if not session_hash or not any(
            constant_time_compare(session_hash, known)
            for known in (user.get_session_auth_hash(), *fallbacks())
        ):
            return AnonymousUser()
    return user


def _frame_bytes(text: str) -> int:
    """The frame's size in bytes as it came (UTF-8), not in characters."""
    return len(text) if text.isascii() else len(text.encode("utf-8", errors="surrogatepass"))


def AuthStack(inner):  # noqa: N802 (named like channels' AuthMiddlewareStack)
    return SocketAuthMiddleware(inner)


class PaymentStatusConsumer(BridgedJsonConsumer):
    # Sockets per user in this process (one event loop per process: no lock needed).
    open_by_user: dict[int, set[str]] = defaultdict(set)

    group: str | None = None
    user_id: int | None = None
    language: str = "en"
    recent: deque[float] | None = None  # inbound frame times, made on the first inbound frame

    failures = (OSError, RedisConnectionError, RedisTimeoutError)

    async def failed(self, exc):
        # Redis went away under an open socket: close it so the page reconnects and resyncs
        # from the database once the layer is back.
        logger.warning("channel layer failed: %r", exc, extra={"event": "ws.layer_down"})
        try:
            await self.base_send({"type": "websocket.close", "code": CLOSE_LAYER_DOWN})
        except Exception:  # the socket may already be gone
            pass
        await self.disconnect(CLOSE_LAYER_DOWN)

    async def connect(self):
        user = self.scope.get("user")
        public_id = self.scope["url_route"]["kwargs"]["public_id"]
        if user is None or not user.is_authenticated:
            ticket = parse_qs(self.scope.get("query_string", b"").decode("latin-1")).get("ticket")
            user = await in_db(ticket_redeem, ticket[0], public_id=public_id) if ticket else None
        if user is None or not user.is_authenticated:
            return await self.close()
        sockets = self.open_by_user[user.pk]
        if len(sockets) >= settings.PAYMENTS_WS_MAX_PER_USER:
            logger.warning("too many sockets for one user", extra={"event": "ws.limit", "user": user.pk})
            return await self.close()
        # The slot is taken before the awaits below, so handshakes arriving together count each
        # other; every refusal, and anything raised or cancelled on the way, gives it back.
        sockets.add(self.channel_name)
        self.user_id = user.pk
        try:
            await self._join(user, public_id)
        except BaseException:
            self._give_back_slot()
            raise

    async def _join(self, user, public_id) -> None:
        group = payment_group_name(public_id)
        try:
            await self.channel_layer.group_add(group, self.channel_name)
        except Exception as exc:  # channel layer (Redis) down: refuse rather than go deaf
            logger.warning("channel layer unavailable at connect: %r", exc, extra={"event": "ws.layer_down"})
            return await self._refuse()
        try:
            self.language = scope_language(self.scope)
            snapshot = await in_db(_snapshot, user, public_id, self.language)
        except BaseException:
            await self.channel_layer.group_discard(group, self.channel_name)
            raise
        if snapshot is None:  # not the owner, or no such payment: leave the group, refuse
            await self.channel_layer.group_discard(group, self.channel_name)
            return await self._refuse()
        self.group, self.viewer = group, user
        await self.accept()
        await self.send_json({"type": EVENT_TYPE, "payment": snapshot, "snapshot": True})

    async def send_snapshot(self, user, public_id) -> None:
        payload = await in_db(_snapshot, user, public_id, self.language)
        if payload is not None:
            await self.send_json({"type": EVENT_TYPE, "payment": payload, "snapshot": True})

    async def receive(self, text_data=None, bytes_data=None):
        if bytes_data is not None or text_data is None or _frame_bytes(text_data) > MAX_FRAME_BYTES:
            return await self.close(code=CLOSE_POLICY)
        now = time.monotonic()
        window = settings.PAYMENTS_WS_RATE_WINDOW_SECONDS
        if self.recent is None:
            self.recent = deque()
        while self.recent and now - self.recent[0] > window:
            self.recent.popleft()
        self.recent.append(now)
        if len(self.recent) > settings.PAYMENTS_WS_MAX_MESSAGES:
            return await self.close(code=CLOSE_RATE)
        try:
            message = loads(text_data, max_depth=4)
        except JsonError:
            return await self.close(code=CLOSE_POLICY)
        kind = message.get("type") if isinstance(message, dict) else None
        if kind == "ping":
            await self.send_json({"type": "pong"})
        elif kind == "resync":
            await self.send_snapshot(self.viewer, self.scope["url_route"]["kwargs"]["public_id"])
        else:
            await self.send_json({"type": "error", "error": "Only ping and resync are accepted."})

    async def payment_status(self, event):
        """Channel-layer event ``payment.status`` (the frame once per language) → the browser
        frame ``{"type": "payment.status", "payment": …}`` in this socket's language, sent as
        it came (serialised once by the broadcast, not per socket)."""
        frames = event.get("frames") or {}
        frame = frames.get(self.language) or frames.get(settings.LANGUAGE_CODE)
        if frame is not None:
            await self.send(text_data=frame)
        elif "payments" in event or "payment" in event:  # an event from before this release
            payloads = event.get("payments") or {}
            payload = (
                payloads.get(self.language) or payloads.get(settings.LANGUAGE_CODE) or event.get("payment")
            )
            await self.send_json({"type": EVENT_TYPE, "payment": payload})

    async def _refuse(self) -> None:
        self._give_back_slot()
        await self.close()

    def _give_back_slot(self) -> None:
        if self.user_id is not None:
            sockets = self.open_by_user.get(self.user_id)
            if sockets is not None:
                sockets.discard(self.channel_name)
                if not sockets:
                    del self.open_by_user[self.user_id]
            self.user_id = None

    async def disconnect(self, code):
        self._give_back_slot()
        if self.group is not None:
            try:
                await self.channel_layer.group_discard(self.group, self.channel_name)
            except Exception as exc:
                logger.warning("group_discard failed: %r", exc, extra={"event": "ws.layer_down"})
