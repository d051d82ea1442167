"""OneReaderRedisChannelLayer on a real redis-server: channels-redis's contract (each contract test
runs against channels-redis's own core layer too), the two classes talking to each other, and
what one reader per process changes: an idle socket waits on a future, unread messages expire,
a failed reader fails every waiting receive."""

import asyncio
import threading
import tracemalloc

import pytest
from channels_redis.core import RedisChannelLayer
from redis.exceptions import ConnectionError as RedisConnectionError

from mpesa_plumbing.layers import OneReaderRedisChannelLayer

pytestmark = pytest.mark.redis

LAYERS = [RedisChannelLayer, OneReaderRedisChannelLayer]


def make(cls, server, **config):
    return cls(hosts=[{"address": server.url, "socket_timeout": None}], **config)


@pytest.fixture(params=LAYERS, ids=lambda cls: cls.__name__)
async def layer(request, redis):
    layer = make(request.param, redis)
    yield layer
    await layer.flush()


async def test_send_then_receive_on_a_process_channel(layer):
    channel = await layer.new_channel()
    await layer.send(channel, {"type": "test.message", "text": "Habari"})
    async with asyncio.timeout(5):
        assert await layer.receive(channel) == {"type": "test.message", "text": "Habari"}


async def test_order_is_kept(layer):
    channel = await layer.new_channel()
    for n in (1, 2, 3):
        await layer.send(channel, {"type": f"m.{n}"})
    async with asyncio.timeout(5):
        assert [(await layer.receive(channel))["type"] for _ in range(3)] == ["m.1", "m.2", "m.3"]


async def test_a_normal_channel_is_read_directly(layer):
    await layer.send("jobs", {"type": "job"})
    async with asyncio.timeout(5):
        assert (await layer.receive("jobs"))["type"] == "job"


async def test_each_waiting_socket_gets_its_own_group_message(layer):
    channels = [await layer.new_channel() for _ in range(50)]
    for n, channel in enumerate(channels):
        await layer.group_add(f"payment.{n}", channel)
    await layer.group_add("payment.0", channels[1])  # socket 1 also watches payment 0
    waiting = [asyncio.ensure_future(layer.receive(channel)) for channel in channels]
    await asyncio.sleep(0)
    for n in range(50):
        await layer.group_send(f"payment.{n}", {"type": "payment.status", "n": n})
    async with asyncio.timeout(10):
        got = [(await receive)["n"] for receive in waiting]
        assert got[0] == 0 and got[2:] == list(range(2, 50)) and got[1] in (0, 1)
        assert (await layer.receive(channels[1]))["n"] == ({0, 1} - {got[1]}).pop()


async def test_a_message_to_a_socket_not_waiting_is_kept_for_its_next_receive(layer):
    busy, idle = await layer.new_channel(), await layer.new_channel()
    reading = asyncio.ensure_future(layer.receive(busy))  # the process is reading
    await layer.send(idle, {"type": "for.idle"})
    await layer.send(busy, {"type": "for.busy"})
    async with asyncio.timeout(5):
        assert (await reading)["type"] == "for.busy"
        assert (await layer.receive(idle))["type"] == "for.idle"


async def test_the_two_classes_talk_to_each_other(redis):
    """Processes may run either class during an upgrade: the same keys, groups and wire format."""
    ours, theirs = make(OneReaderRedisChannelLayer, redis), make(RedisChannelLayer, redis)
    try:
        for sender, receiver in ((theirs, ours), (ours, theirs)):
            channel = await receiver.new_channel()
            await receiver.group_add("payment.7", channel)
            await sender.group_send("payment.7", {"type": "payment.status", "from": type(sender).__name__})
            await sender.send(channel, {"type": "direct"})
            async with asyncio.timeout(5):
                assert (await receiver.receive(channel))["from"] == type(sender).__name__
                assert (await receiver.receive(channel))["type"] == "direct"
            await receiver.group_discard("payment.7", channel)
    finally:
        await ours.flush()
        await theirs.close_pools()


@pytest.fixture
async def ours(redis):
    layer = make(OneReaderRedisChannelLayer, redis)
    yield layer
    await layer.flush()


async def until(condition, seconds: float = 5.0) -> None:
    """Let the loop run until ``condition()`` holds (bounded): the layer's own state, which has
    no event to wait on, changed by its reader as Redis answers."""
    async with asyncio.timeout(seconds):
        while not condition():  # noqa: ASYNC110 (no event to wait on; bounded by the timeout)
            await asyncio.sleep(0.005)


async def test_a_receive_cancelled_as_its_message_arrives_passes_it_on(ours):
    channel = await ours.new_channel()
    first = asyncio.ensure_future(ours.receive(channel))
    await asyncio.sleep(0)
    second = asyncio.ensure_future(ours.receive(channel))
    await asyncio.sleep(0)
    ours._deliver(channel, {"type": "m.1"})  # what the reader does: to the first waiting receive…
    first.cancel()  # …which is cancelled before it could take it
    with pytest.raises(asyncio.CancelledError):
        await first
    async with asyncio.timeout(5):
        assert (await second)["type"] == "m.1"


async def test_a_cancelled_last_receive_keeps_its_message_first_in_line(ours):
    channel = await ours.new_channel()
    waiting = asyncio.ensure_future(ours.receive(channel))
    await asyncio.sleep(0)
    ours._deliver(channel, {"type": "m.1"})
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    await ours.send(channel, {"type": "m.2"})
    async with asyncio.timeout(5):
        assert [(await ours.receive(channel))["type"] for _ in range(2)] == ["m.1", "m.2"]


async def cancel_the_first_receive(layer, channel: str) -> asyncio.Task:
    """Start a receive, let it start the reader, cancel it: the reader it started."""
    waiting = asyncio.ensure_future(layer.receive(channel))
    await until(lambda: layer._reader is not None)
    reader = layer._reader
    waiting.cancel()
    await asyncio.gather(waiting, return_exceptions=True)
    return reader


async def test_the_reader_stops_with_the_last_receive_and_starts_again(ours):
    channel = await ours.new_channel()
    reader = await cancel_the_first_receive(ours, channel)
    await until(reader.done, 2)  # no reader left blocked in Redis for nobody
    assert reader.cancelled() and ours._reader is None and not ours._waiting
    await ours.send(channel, {"type": "later"})
    async with asyncio.timeout(5):
        assert (await ours.receive(channel))["type"] == "later"


async def test_unread_messages_expire(redis):
    """channels-redis kept a closed socket's unread messages for the life of the process."""
    layer = make(OneReaderRedisChannelLayer, redis, expiry=1)
    try:
        busy, gone = await layer.new_channel(), await layer.new_channel()
        reading = asyncio.ensure_future(layer.receive(busy))
        await layer.send(gone, {"type": "for.a.closed.socket"})
        await until(lambda: gone in layer._unread)
        await asyncio.sleep(1.1)  # past its expiry
        await layer.send(busy, {"type": "for.busy"})
        async with asyncio.timeout(5):
            assert (await reading)["type"] == "for.busy"
        assert gone not in layer._unread and not layer._unread_order
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.2):
                await layer.receive(gone)
    finally:
        await layer.flush()


async def test_unread_messages_beyond_capacity_drop_the_oldest(redis):
    layer = make(OneReaderRedisChannelLayer, redis, capacity=3)
    try:
        channel = await layer.new_channel()
        for n in range(5):
            layer._deliver(channel, {"type": f"m.{n}"})  # as the reader does, nobody waiting
        assert [(await layer.receive(channel))["type"] for _ in range(3)] == ["m.2", "m.3", "m.4"]
    finally:
        await layer.flush()


async def test_redis_gone_fails_every_waiting_receive(redis_own):
    layer = make(OneReaderRedisChannelLayer, redis_own)
    channels = [await layer.new_channel() for _ in range(3)]
    waiting = [asyncio.ensure_future(layer.receive(channel)) for channel in channels]
    await until(lambda: layer._reader is not None and len(layer._waiting) == 3)
    await asyncio.sleep(0.1)  # the reader is blocked in Redis
    redis_own.kill()
    async with asyncio.timeout(10):
        results = await asyncio.gather(*waiting, return_exceptions=True)
    assert all(isinstance(result, RedisConnectionError) for result in results), results
    assert layer._reader is None and not layer._waiting


async def test_a_replaced_readers_failure_fails_no_receive(ours, monkeypatch):
    """A reader cancelled with the last receive that ends with an error (Redis failing under
    it as it was cancelled) after a new reader took over: the receives now waiting belong to
    the new reader and go on."""
    real, gate, calls = ours.receive_single, asyncio.Event(), []

    async def receive_single(channel):
        calls.append(channel)
        if len(calls) > 1:
            return await real(channel)
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            await gate.wait()
            raise RedisConnectionError("Connection closed by server.") from None

    monkeypatch.setattr(ours, "receive_single", receive_single)
    channel = await ours.new_channel()
    stale = await cancel_the_first_receive(ours, channel)
    second = asyncio.ensure_future(ours.receive(channel))
    await until(lambda: len(calls) == 2)  # the new reader is reading
    gate.set()
    await until(stale.done)
    assert not second.done() and ours._reader is not None and ours._reader is not stale
    await ours.send(channel, {"type": "after"})
    async with asyncio.timeout(5):
        assert (await second)["type"] == "after"


async def test_two_event_loops_cannot_receive_at_once(ours):
    channel, other = await ours.new_channel(), await ours.new_channel()
    loop = asyncio.new_event_loop()

    def run_elsewhere() -> None:
        loop.run_forever()
        loop.close()  # in its own thread: channels-redis closes its pools as the loop closes

    thread = threading.Thread(target=run_elsewhere, daemon=True)
    thread.start()
    elsewhere = asyncio.run_coroutine_threadsafe(ours.receive(other), loop)
    try:
        await until(lambda: other in ours._waiting)
        with pytest.raises(RuntimeError, match="Two event loops"):
            await ours.receive(channel)
    finally:
        loop.call_soon_threadsafe(elsewhere.cancel)
        await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(ours.close_pools(), loop))
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
    assert loop.is_closed()


def _bytes_per_waiting_socket(cls, server) -> float:
    async def measure():
        layer = make(cls, server)
        channels = [await layer.new_channel() for _ in range(300)]
        first = asyncio.ensure_future(layer.receive(channels[0]))  # the reader (or lock) set up
        await asyncio.sleep(0.05)
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        tasks = [asyncio.ensure_future(layer.receive(channel)) for channel in channels[1:]]
        await asyncio.sleep(0.05)
        used = tracemalloc.get_traced_memory()[0] - before
        tracemalloc.stop()
        for task in [first, *tasks]:
            task.cancel()
        await asyncio.gather(first, *tasks, return_exceptions=True)
        await layer.close_pools()
        return used / len(tasks)

    return asyncio.run(measure())


def test_an_idle_socket_waiting_on_redis_costs_a_future_not_a_queue_and_two_tasks(redis):
    ours = _bytes_per_waiting_socket(OneReaderRedisChannelLayer, redis)
    theirs = _bytes_per_waiting_socket(RedisChannelLayer, redis)
    assert ours < 1500 and theirs > ours + 5000, (ours, theirs)
