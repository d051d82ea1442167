"""The base of every WebSocket consumer here: Channels' JSON consumer, dispatching without a
thread hop per message and with fewer objects per open socket.

- ``dispatch`` and ``websocket_disconnect``: Channels' consumers run ``close_old_connections``
  through ``sync_to_async`` before every handler and after every disconnect. A consumer is not
  inside a request's ``ThreadSensitiveContext``, so that is asgiref's one process-wide sync
  thread: every frame in, every status push out, every handshake and every close of every
  socket in the process queued on that single thread, one after another, each paying two
  thread switches, for nothing, since our consumers never use a database connection there.
  Their database work goes through the bridge (``mpesa_plumbing.db.in_db``), which repairs
  its own connections (with ``PAYMENTS_DB_THREADS=0`` too). So ``dispatch`` finds the handler
  and awaits it, and a disconnect leaves the groups and calls ``disconnect``, nothing more.
- ``__call__``: Channels' ``AsyncConsumer.__call__`` with ``dispatch_in_turn`` in place of
  ``channels.utils.await_many_dispatch``: the same contract (one read pending on the socket
  and one on the channel layer, each message handled in turn, never two handlers at once,
  the reads cancelled on exit, now even when one of them failed), without an
  ``asyncio.wait`` (its coroutine, set, waiter and callbacks) parked per idle socket: about
  0.8 KB of the 2.3 KB per socket that this file, the lighter socket middleware and the
  embedded layer's list saved (``python -m bench.inprocess --sockets 500``: 12.6 -> 10.4 KB
  held by the application). It also ends the socket on one of the subclass's ``failures``
  (``failed``), so that a consumer needs no ``__call__`` of its own around this one: with
  the bridge's context kept apart (db.py), the access log's closure and dict and the origin
  check's frame gone (asgi.py), 10.4 -> 8.9 KB.
"""

import asyncio
import functools
from collections.abc import Awaitable, Callable

from asgiref.sync import markcoroutinefunction
from channels.consumer import get_handler_name
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.layers import get_channel_layer


class BridgedJsonConsumer(AsyncJsonWebsocketConsumer):
    """``AsyncJsonWebsocketConsumer`` for consumers whose database work goes through
    ``in_db``: the same handlers and errors, no sync-thread hop per message.

    ``failures``: exceptions that end the socket through ``failed(exc)`` rather than
    propagating (a channel layer gone away under it), handled here so that a subclass needs
    no ``__call__`` of its own, another frame kept for the socket's life."""

    failures: tuple[type[BaseException], ...] = ()

    async def __call__(self, scope, receive, send):
        self.scope, self.base_send = scope, send
        try:
            self.channel_layer = get_channel_layer(self.channel_layer_alias)
            sources = [receive]
            if self.channel_layer is not None:
                self.channel_name = await self.channel_layer.new_channel()
                self.channel_receive = functools.partial(self.channel_layer.receive, self.channel_name)
                sources.append(self.channel_receive)
            await dispatch_in_turn(sources, self.dispatch)
        except StopConsumer:
            pass
        except self.failures as exc:
            await self.failed(exc)

    @classmethod
    def as_asgi(cls, **initkwargs):
        """Channels' ``as_asgi`` (the same attributes) whose function hands over the new
        consumer's awaitable: no frame of its own kept for the socket's life."""

        @markcoroutinefunction
        def app(scope, receive, send):
            return cls(**initkwargs)(scope, receive, send)

        app.consumer_class, app.consumer_initkwargs = cls, initkwargs
        return functools.update_wrapper(app, cls, updated=())

    async def failed(self, exc: BaseException) -> None:
        """One of ``failures`` ended the socket (the subclass that names them says how)."""
        raise exc

    async def dispatch(self, message):
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def websocket_disconnect(self, message):
        for group in self.groups:
            await self.channel_layer.group_discard(group, self.channel_name)
        await self.disconnect(message["code"])
        raise StopConsumer()


async def dispatch_in_turn(
    sources: list[Callable[[], Awaitable[dict]]], dispatch: Callable[[dict], Awaitable[None]]
) -> None:
    """Read from every source at once; hand each message to ``dispatch`` one at a time, in
    source order when several are ready; a source's next read starts once its message is
    handled. Returns only by an exception (``StopConsumer``, a source's error, cancellation),
    after cancelling the pending reads; an error a read raises while the loop is already on
    its way out is dropped (the exception that ended the loop is the one that propagates)."""
    loop = asyncio.get_running_loop()
    waiter: asyncio.Future | None = None

    def wake(_read) -> None:
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def start(source) -> asyncio.Future:
        read = asyncio.ensure_future(source())
        read.add_done_callback(wake)
        return read

    reads = [start(source) for source in sources]
    try:
        while True:
            if not any(read.done() for read in reads):
                waiter = loop.create_future()
                try:
                    await waiter
                finally:
                    waiter = None
            for i, read in enumerate(reads):
                if read.done():
                    await dispatch(read.result())
                    reads[i] = start(sources[i])
    finally:
        for read in reads:
            read.cancel()
        # All cancelled before any is awaited: a read that failed (its error is on its way
        # out) must not leave the other one pending, as Channels' loop did.
        await asyncio.gather(*reads, return_exceptions=True)
