"""Channel layers whose cost per idle socket is a future: ``LocalChannelLayer`` for one process
(``make run``'s default) and ``OneReaderRedisChannelLayer`` for several, through Redis.

``LocalChannelLayer``: a single-process channel layer whose cost per message does not grow
with open sockets.

Channels' own ``InMemoryChannelLayer`` sweeps *every* channel queue and *every* group
membership for expired entries on each ``receive`` and ``group_send``: with 5,000 open
checkouts each status push walks ~10,000 entries, and each socket's next ``receive`` walks them
again (performance-notes.md; bench/README.md, "memory-1p"). ``LocalChannelLayer`` keeps the
same API and the same semantics (message expiry, group expiry, capacity, ``ChannelFull``
ignored by ``group_send``, deep-copied messages) but finds what expires through two heaps, and
which groups a channel is in through a reverse index, so a push costs O(members + log n). A
message for a socket that is waiting goes straight to its receive; only unread messages are
queued, so an idle socket holds one future rather than a queue.

Use it where the in-memory layer would go (``make run``'s default)::

    CHANNEL_LAYERS = {"default": {"BACKEND": "mpesa_plumbing.layers.LocalChannelLayer"}}

and the Redis one where channels-redis's core layer would go (``project/layers.py`` builds
its configuration from ``REDIS_URL``)::

    CHANNEL_LAYERS = {"default": {"BACKEND": "mpesa_plumbing.layers.OneReaderRedisChannelLayer",
                                  "CONFIG": {"hosts": [REDIS_URL]}}}
"""

import asyncio
import heapq
import itertools
import logging
import time
from collections import deque
from copy import deepcopy

from channels.exceptions import ChannelFull
from channels.layers import InMemoryChannelLayer
from channels_redis.core import RedisChannelLayer
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


class LocalChannelLayer(InMemoryChannelLayer):
    def __init__(self, expiry=60, group_expiry=86400, capacity=100, channel_capacity=None, **kwargs):
        super().__init__(
            expiry=expiry,
            group_expiry=group_expiry,
            capacity=capacity,
            channel_capacity=channel_capacity,
            **kwargs,
        )
        # ``channels``: only channels with unread messages, channel → deque of (expires at, message).
        # A socket waiting for its next message holds one future in ``_receivers``, not a queue:
        # an idle checkout costs a dict entry, a one-item list and a future (an ``asyncio.Queue``
        # is four deques, and a deque alone is ~760 bytes; two receives on one channel are rare).
        self._receivers: dict[str, list[asyncio.Future]] = {}
        self._message_deadlines: list[tuple[float, int, str]] = []  # (expires at, seq, channel)
        self._member_deadlines: list[tuple[float, int, str, str]] = []  # (ends at, seq, group, channel)
        self._groups_of: dict[str, set[str]] = {}  # channel → the groups it is in
        self._seq = itertools.count()

    # --- channels ----------------------------------------------------------------------------
    def _to_waiting(self, channel: str, message: dict) -> bool:
        """Give ``message`` to the first receive still waiting on ``channel``, if any."""
        waiting = self._receivers.get(channel)
        while waiting:
            receiver = waiting.pop(0)
            if not receiver.done():
                if not waiting:
                    del self._receivers[channel]
                receiver.set_result(message)
                return True
        self._receivers.pop(channel, None)
        return False

    def _put(self, channel: str, message: dict) -> None:
        if self._to_waiting(channel, deepcopy(message)):  # straight to the waiting socket
            return
        pending = self.channels.get(channel)
        capacity = self.get_capacity(channel)  # 0: unbounded, as for Channels' layer
        if capacity and pending is not None and len(pending) >= capacity:
            raise ChannelFull(channel)
        if pending is None:
            pending = self.channels[channel] = deque()
        expires_at = time.time() + self.expiry
        pending.append((expires_at, deepcopy(message)))
        heapq.heappush(self._message_deadlines, (expires_at, next(self._seq), channel))

    def _hand_back(self, channel: str, message: dict) -> None:
        """A receive was cancelled after it had been handed ``message``: the next waiting
        receive gets it, or it stays first in line."""
        if self._to_waiting(channel, message):
            return
        expires_at = time.time() + self.expiry
        self.channels.setdefault(channel, deque()).appendleft((expires_at, message))
        heapq.heappush(self._message_deadlines, (expires_at, next(self._seq), channel))

    async def send(self, channel, message):
        assert isinstance(message, dict), "message is not a dict"
        self.require_valid_channel_name(channel)
        assert "__asgi_channel__" not in message
        self._put(channel, message)

    async def receive(self, channel):
        self.require_valid_channel_name(channel)
        self._clean_expired()
        pending = self.channels.get(channel)
        if pending:
            _, message = pending.popleft()
            if not pending:
                del self.channels[channel]
            return message
        receiver = asyncio.get_running_loop().create_future()
        self._receivers.setdefault(channel, []).append(receiver)
        try:
            return await receiver
        except asyncio.CancelledError:
            if receiver.done() and not receiver.cancelled():
                self._hand_back(channel, receiver.result())
            raise
        finally:
            waiting = self._receivers.get(channel)
            if waiting is not None and receiver in waiting:
                waiting.remove(receiver)
                if not waiting:
                    del self._receivers[channel]

    # --- expiry ------------------------------------------------------------------------------
    def _clean_expired(self) -> None:
        """Only what is due: O(1) when nothing expired, O(log n) per expired entry."""
        now = time.time()
        deadlines = self._message_deadlines
        while deadlines and deadlines[0][0] < now:
            _, _, channel = heapq.heappop(deadlines)
            pending = self.channels.get(channel)
            if pending is None:
                continue  # already received or removed
            while pending and pending[0][0] < now:
                pending.popleft()
                self._remove_from_groups(channel)  # an expired message drops its channel's groups
            if not pending:
                del self.channels[channel]
        members = self._member_deadlines
        ends_before = int(now) - self.group_expiry
        while members and members[0][0] < ends_before:
            joined, _, group, channel = heapq.heappop(members)
            channels = self.groups.get(group)
            if channels is not None and channels.get(channel) == joined:  # not re-joined since
                self._leave(group, channel)

    def _remove_from_groups(self, channel: str) -> None:
        for group in list(self._groups_of.get(channel, ())):
            self._leave(group, channel)

    def _leave(self, group: str, channel: str) -> None:
        channels = self.groups.get(group)
        if channels is not None:
            channels.pop(channel, None)
            if not channels:
                del self.groups[group]
        groups = self._groups_of.get(channel)
        if groups is not None:
            groups.discard(group)
            if not groups:
                del self._groups_of[channel]

    # --- groups ------------------------------------------------------------------------------
    async def group_add(self, group, channel):
        self.require_valid_group_name(group)
        self.require_valid_channel_name(channel)
        joined = time.time()
        self.groups.setdefault(group, {})[channel] = joined
        self._groups_of.setdefault(channel, set()).add(group)
        heapq.heappush(self._member_deadlines, (joined, next(self._seq), group, channel))

    async def group_discard(self, group, channel):
        self.require_valid_channel_name(channel)
        self.require_valid_group_name(group)
        self._leave(group, channel)

    async def group_send(self, group, message):
        assert isinstance(message, dict), "Message is not a dict"
        self.require_valid_group_name(group)
        self._clean_expired()
        for channel in list(self.groups.get(group, ())):
            try:
                self._put(channel, message)
            except ChannelFull:
                pass

    async def flush(self):
        await super().flush()
        self._message_deadlines, self._member_deadlines, self._groups_of = [], [], {}
        self._receivers = {}


def is_in_process(backend: str) -> bool:
    """True for a layer that lives in one process (Channels' in-memory layer, or this one): a
    message sent from one process never reaches a socket held by another."""
    try:
        return issubclass(import_string(backend), InMemoryChannelLayer)
    except ImportError:
        return backend.endswith("InMemoryChannelLayer")


class OneReaderRedisChannelLayer(RedisChannelLayer):
    """channels-redis's core layer (the same Redis keys, wire format, groups, capacity and
    backup queue, so processes running either class talk to each other) whose process-local
    receives each wait on one future while one reader per process drains the process's Redis
    channel and hands every message to its socket.

    channels-redis makes every waiting socket race for a receive lock: per idle socket two
    tasks (the lock's ``acquire`` and its buffer queue's ``get``), an ``asyncio.wait`` and an
    ``asyncio.Queue`` of four deques, several kilobytes each, and every message wakes the
    socket that then holds the lock (bench/README.md, "idle socket"). Here an idle socket
    costs a future and a dict entry.

    What it keeps from channels-redis: a receive cancelled after its message was handed over
    passes the message on (to the next waiting receive on that channel, else first in line);
    unread messages are kept per channel up to ``capacity`` (the oldest dropped, as its
    buffer does) and now also for no longer than ``expiry`` (its buffer kept the unread
    messages of a closed socket for the life of the process); one event loop receives at a
    time (``RuntimeError`` otherwise). When the reader fails (Redis gone), every receive then
    waiting fails with its error, as each would have in turn when it took the lock; the next
    receive starts a new reader. The reader is cancelled when the last waiting receive
    leaves; a message it had taken from Redis but not yet read is restored from Redis's
    backup queue by the next reader (channels-redis's own guarantee for a cancelled
    receive).
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._waiting: dict[str, list[asyncio.Future]] = {}  # channel → receives waiting on it
        self._unread: dict[str, deque] = {}  # channel → deque of (expires at, message)
        self._unread_order: deque = deque()  # (expires at, channel), oldest first
        self._reader: asyncio.Task | None = None
        self._reader_loop: asyncio.AbstractEventLoop | None = None

    async def receive(self, channel):
        if "!" not in channel:
            return await super().receive(channel)  # a normal channel: a direct Redis read
        assert self.require_valid_channel_name(channel)
        assert self.non_local_name(channel).endswith(self.client_prefix + "!"), "Wrong client prefix"
        message = self._take_unread(channel)
        if message is not None:
            return message
        loop = asyncio.get_running_loop()
        if self._reader_loop is not loop:
            if self._waiting:
                raise RuntimeError("Two event loops are trying to receive() on one channel layer at once!")
            self._reader, self._reader_loop = None, loop  # the last loop's reader was cancelled
        receiver = loop.create_future()
        self._waiting.setdefault(channel, []).append(receiver)
        if self._reader is None:
            self._reader = loop.create_task(self._read(self.non_local_name(channel)))
        try:
            return await receiver
        except asyncio.CancelledError:
            if receiver.done() and not receiver.cancelled() and receiver.exception() is None:
                self._hand_back(channel, receiver.result())
            raise
        finally:
            waiting = self._waiting.get(channel)
            if waiting is not None and receiver in waiting:
                waiting.remove(receiver)
                if not waiting:
                    del self._waiting[channel]
            if not self._waiting and self._reader is not None:
                self._reader.cancel()
                self._reader = None

    async def _read(self, process_channel: str) -> None:
        """The process's one reader: every message for a socket of this process, to its socket."""
        try:
            while True:
                channels, message = await self.receive_single(process_channel)
                for channel in channels if isinstance(channels, list) else [channels]:
                    self._deliver(channel, message)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # Redis gone: each waiting receive fails, as in channels-redis
            if self._reader is not asyncio.current_task():
                # Replaced (cancelled as it failed): the receives now waiting are the new reader's.
                logger.debug("a replaced Redis reader ended with %r", exc)
                return
            self._reader = None
            waiting, self._waiting = self._waiting, {}
            for receivers in waiting.values():
                for receiver in receivers:
                    if not receiver.done():
                        receiver.set_exception(exc)

    def _deliver(self, channel: str, message: dict) -> None:
        self._drop_expired()
        waiting = self._waiting.get(channel)
        while waiting:
            receiver = waiting.pop(0)
            if not receiver.done():
                if not waiting:
                    del self._waiting[channel]
                receiver.set_result(message)
                return
        self._waiting.pop(channel, None)
        self._keep_unread(channel, message)

    def _keep_unread(self, channel: str, message: dict, *, first: bool = False) -> None:
        unread = self._unread.get(channel)
        if unread is None:
            unread = self._unread[channel] = deque()
        elif len(unread) >= self.capacity:
            unread.popleft()  # a socket that stopped reading: drop the oldest, as channels-redis does
        expires_at = time.monotonic() + self.expiry
        (unread.appendleft if first else unread.append)((expires_at, message))
        self._unread_order.append((expires_at, channel))

    def _hand_back(self, channel: str, message: dict) -> None:
        """A receive cancelled after it was handed ``message``: the next waiting one gets it,
        or it is first in line."""
        waiting = self._waiting.get(channel)
        if waiting:
            self._deliver(channel, message)
        else:
            self._keep_unread(channel, message, first=True)

    def _take_unread(self, channel: str) -> dict | None:
        self._drop_expired()
        unread = self._unread.get(channel)
        if not unread:
            return None
        _, message = unread.popleft()
        if not unread:
            del self._unread[channel]
        return message

    def _drop_expired(self) -> None:
        """Unread messages older than ``expiry``: O(1) when none is due."""
        now, order = time.monotonic(), self._unread_order
        while order and order[0][0] < now:
            _, channel = order.popleft()
            unread = self._unread.get(channel)
            while unread and unread[0][0] < now:
                unread.popleft()
            if unread is not None and not unread:
                del self._unread[channel]

    async def flush(self):
        await super().flush()
        self._unread, self._unread_order = {}, deque()
