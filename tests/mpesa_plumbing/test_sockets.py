"""``dispatch_in_turn`` (mpesa_plumbing/sockets.py): Channels' ``await_many_dispatch``
contract — every source read at once, one handler at a time, reads cancelled on the way out."""

import asyncio

import pytest
from channels.exceptions import StopConsumer

from mpesa_plumbing.sockets import dispatch_in_turn


class Source:
    """A source whose messages the test puts in; records cancelled reads."""

    def __init__(self):
        self.queue: asyncio.Queue = asyncio.Queue()
        self.cancelled = 0

    async def __call__(self):
        try:
            return await self.queue.get()
        except asyncio.CancelledError:
            self.cancelled += 1
            raise


async def test_messages_from_both_sources_are_handled_one_at_a_time_in_arrival_order():
    socket, layer = Source(), Source()
    handled, running, most = [], [0], [0]
    first_started, release_first, third_done = asyncio.Event(), asyncio.Event(), asyncio.Event()

    async def dispatch(message):
        running[0] += 1
        most[0] = max(most[0], running[0])
        if message["n"] == 1:
            first_started.set()
            await release_first.wait()  # a slow handler: the others must wait for it
        handled.append(message["n"])
        running[0] -= 1
        if message["n"] == 3:
            third_done.set()
        if message["n"] == 4:
            raise StopConsumer

    task = asyncio.ensure_future(dispatch_in_turn([socket, layer], dispatch))
    socket.queue.put_nowait({"n": 1})
    await asyncio.wait_for(first_started.wait(), timeout=5)
    layer.queue.put_nowait({"n": 2})  # both arrive while 1 is being handled
    socket.queue.put_nowait({"n": 3})
    await asyncio.sleep(0.05)  # time for a wrong loop to start them; the right one must not
    assert handled == [] and running[0] == 1  # nothing overtook the slow handler
    release_first.set()
    await asyncio.wait_for(third_done.wait(), timeout=5)
    assert handled == [1, 2, 3]
    layer.queue.put_nowait({"n": 4})
    with pytest.raises(StopConsumer):
        await asyncio.wait_for(task, timeout=5)
    assert handled == [1, 2, 3, 4] and most[0] == 1
    assert socket.cancelled == 1 and layer.cancelled == 0  # the socket's pending read, cancelled


async def test_a_failing_source_ends_the_loop_and_cancels_the_other_read():
    layer = Source()

    async def broken_socket():
        await asyncio.sleep(0.01)  # the layer's read is pending by then
        raise ConnectionError("gone")

    async def dispatch(message):
        raise AssertionError("nothing to dispatch")

    with pytest.raises(ConnectionError):
        await asyncio.wait_for(dispatch_in_turn([broken_socket, layer], dispatch), timeout=5)
    assert layer.cancelled == 1


async def test_cancelling_the_consumer_cancels_its_reads():
    socket, layer = Source(), Source()

    async def dispatch(message):
        pass

    task = asyncio.ensure_future(dispatch_in_turn([socket, layer], dispatch))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert socket.cancelled == 1 and layer.cancelled == 1


async def test_without_a_channel_layer_only_the_socket_is_read():
    socket = Source()
    handled = []

    async def dispatch(message):
        handled.append(message["n"])
        if message["n"] == 2:
            raise StopConsumer

    task = asyncio.ensure_future(dispatch_in_turn([socket], dispatch))
    socket.queue.put_nowait({"n": 1})
    socket.queue.put_nowait({"n": 2})
    with pytest.raises(StopConsumer):
        await asyncio.wait_for(task, timeout=5)
    assert handled == [1, 2]
