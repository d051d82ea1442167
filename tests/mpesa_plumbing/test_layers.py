"""LocalChannelLayer keeps the contract of Channels' InMemoryChannelLayer (each contract test
runs against both) and does not sweep every channel and group on each message."""

import asyncio
import tracemalloc

import pytest
from channels.exceptions import ChannelFull
from channels.layers import InMemoryChannelLayer

from mpesa_plumbing.layers import LocalChannelLayer

LAYERS = [InMemoryChannelLayer, LocalChannelLayer]


@pytest.fixture(params=LAYERS, ids=lambda cls: cls.__name__)
async def layer(request):
    layer = request.param(capacity=3)
    yield layer
    await layer.flush()


def expiring(cls, **kwargs):
    return cls(expiry=0.1, **kwargs)


async def test_send_then_receive(layer):
    await layer.send("chan-1", {"type": "test.message", "text": "Habari"})
    assert await layer.receive("chan-1") == {"type": "test.message", "text": "Habari"}


async def test_capacity_raises_channel_full(layer):
    for _ in range(3):
        await layer.send("chan-1", {"type": "m"})
    with pytest.raises(ChannelFull):
        await layer.send("chan-1", {"type": "m"})


async def test_process_local_channels(layer):
    name = await layer.new_channel()
    await layer.send(name, {"type": "local"})
    assert (await layer.receive(name))["type"] == "local"


async def test_order_is_kept(layer):
    for n in (1, 2, 3):
        await layer.send("chan-3", {"type": f"m.{n}"})
    assert [(await layer.receive("chan-3"))["type"] for _ in range(3)] == ["m.1", "m.2", "m.3"]


async def test_messages_are_copies(layer):
    message = {"type": "m", "payment": {"status": "paid"}}
    await layer.send("chan-1", message)
    message["payment"]["status"] = "changed by the sender"
    assert (await layer.receive("chan-1"))["payment"]["status"] == "paid"


async def test_groups_reach_members_only(layer):
    for channel in ("g-1", "g-2", "g-3"):
        await layer.group_add("group", channel)
    await layer.group_discard("group", "g-2")
    await layer.group_send("group", {"type": "m.1"})
    async with asyncio.timeout(1):
        assert (await layer.receive("g-1"))["type"] == "m.1"
        assert (await layer.receive("g-3"))["type"] == "m.1"
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.2):
            await layer.receive("g-2")


async def test_group_send_ignores_full_channels(layer):
    await layer.group_add("group", "g-1")
    for _ in range(5):
        await layer.group_send("group", {"type": "m"})
    assert [(await layer.receive("g-1"))["type"] for _ in range(3)] == ["m"] * 3


@pytest.mark.parametrize("cls", LAYERS, ids=lambda cls: cls.__name__)
async def test_an_unread_message_expires_and_its_channel_goes(cls):
    layer = expiring(cls)
    await layer.send("chan-1", {"type": "m.1"})
    await asyncio.sleep(0.15)
    await layer.send("chan-2", {"type": "m.2"})
    assert (await layer.receive("chan-2"))["type"] == "m.2"
    assert len(layer.channels) == 0  # chan-1 swept when chan-2 was read


@pytest.mark.parametrize("cls", LAYERS, ids=lambda cls: cls.__name__)
async def test_expired_messages_are_dropped_newer_kept(cls):
    layer = expiring(cls)
    for n in (1, 2, 3):
        await layer.send("chan-1", {"type": f"m.{n}"})
    assert (await layer.receive("chan-1"))["type"] == "m.1"
    await asyncio.sleep(0.15)
    await layer.send("chan-1", {"type": "m.4"})
    assert (await layer.receive("chan-1"))["type"] == "m.4"
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.3):
            await layer.receive("chan-1")
    assert len(layer.channels) == 0


@pytest.mark.parametrize("cls", LAYERS, ids=lambda cls: cls.__name__)
async def test_an_expired_message_drops_its_channel_from_groups(cls):
    layer = expiring(cls)
    await layer.group_add("group", "g-1")
    await layer.group_add("other", "g-1")
    await layer.group_add("group", "g-2")
    await layer.send("g-1", {"type": "stale"})
    await asyncio.sleep(0.15)
    await layer.group_send("group", {"type": "fresh"})
    assert set(layer.groups.get("group", {})) == {"g-2"} and not layer.groups.get("other")


@pytest.mark.parametrize("cls", LAYERS, ids=lambda cls: cls.__name__)
async def test_group_membership_expires_unless_renewed(cls, monkeypatch):
    layer = cls(group_expiry=10)
    clock = [1_000_000.0]
    monkeypatch.setattr("time.time", lambda: clock[0])
    await layer.group_add("group", "old")
    await layer.group_add("group", "renewed")
    clock[0] += 8
    await layer.group_add("group", "renewed")  # joins again: a new 10 s
    clock[0] += 4
    await layer.group_send("group", {"type": "m"})
    assert set(layer.groups["group"]) == {"renewed"}


class CountingDict(dict):
    def __init__(self, *args):
        super().__init__(*args)
        self.walks = 0

    def items(self):
        self.walks += 1
        return super().items()

    def values(self):
        self.walks += 1
        return super().values()


@pytest.mark.parametrize(("cls", "walks"), [(InMemoryChannelLayer, True), (LocalChannelLayer, False)])
async def test_a_push_does_not_walk_every_socket(cls, walks):
    """With 2,000 idle checkouts subscribed, one payment's push and its socket's receive touch
    that payment's group only (Channels' own layer walks every channel and group, twice)."""
    layer = cls()
    for n in range(2000):
        await layer.group_add(f"payment.{n}", f"socket-{n}")
    layer.channels, layer.groups = CountingDict(layer.channels), CountingDict(layer.groups)
    await layer.group_send("payment.7", {"type": "payment.status"})
    assert (await layer.receive("socket-7"))["type"] == "payment.status"
    assert (layer.channels.walks + layer.groups.walks > 0) is walks


async def test_a_receive_cancelled_as_its_message_arrives_loses_nothing(layer):
    waiting = asyncio.create_task(layer.receive("chan-1"))
    await asyncio.sleep(0)  # the receive is now waiting
    await layer.send("chan-1", {"type": "m.1"})
    waiting.cancel()  # before it ran again: the message was handed over but not yet taken
    with pytest.raises(asyncio.CancelledError):
        await waiting
    await layer.send("chan-1", {"type": "m.2"})
    assert [(await layer.receive("chan-1"))["type"] for _ in range(2)] == ["m.1", "m.2"]


async def test_waiting_receivers_each_get_one_message_in_order(layer):
    first = asyncio.create_task(layer.receive("chan-1"))
    await asyncio.sleep(0)
    second = asyncio.create_task(layer.receive("chan-1"))
    await asyncio.sleep(0)
    for n in (1, 2):
        await layer.send("chan-1", {"type": f"m.{n}"})
    assert [(await first)["type"], (await second)["type"]] == ["m.1", "m.2"]
    assert len(layer.channels) == 0


def _bytes_per_waiting_socket(cls) -> float:
    async def measure():
        layer = cls()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        tasks = [asyncio.create_task(layer.receive(f"socket-{n}")) for n in range(500)]
        await asyncio.sleep(0)
        used = tracemalloc.get_traced_memory()[0] - before
        tracemalloc.stop()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        return used / len(tasks)

    return asyncio.run(measure())


def test_an_idle_socket_waiting_on_the_layer_costs_a_future_not_a_queue():
    """Each open checkout waits on the layer for its next frame: Channels' layer gives it an
    asyncio.Queue (four deques, ~3 KB), ours one future."""
    ours, channels = (
        _bytes_per_waiting_socket(LocalChannelLayer),
        _bytes_per_waiting_socket(InMemoryChannelLayer),
    )
    assert ours < channels - 2000, (ours, channels)


async def test_a_cancelled_receive_passes_its_message_to_the_next_waiting_one(layer):
    first = asyncio.create_task(layer.receive("chan-1"))
    await asyncio.sleep(0)
    second = asyncio.create_task(layer.receive("chan-1"))
    await asyncio.sleep(0)
    await layer.send("chan-1", {"type": "m.1"})  # handed to the first waiting receive…
    first.cancel()  # …which is cancelled before it could take it
    with pytest.raises(asyncio.CancelledError):
        await first
    async with asyncio.timeout(1):
        assert (await second)["type"] == "m.1"
    await layer.send("chan-1", {"type": "m.2"})
    assert (await layer.receive("chan-1"))["type"] == "m.2"
    assert len(layer.channels) == 0


@pytest.mark.parametrize("cls", LAYERS, ids=lambda cls: cls.__name__)
async def test_capacity_zero_means_unbounded(cls):
    layer = cls(capacity=0)
    for n in range(150):
        await layer.send("chan-1", {"type": f"m.{n}"})
    assert [(await layer.receive("chan-1"))["type"] for _ in range(150)] == [f"m.{n}" for n in range(150)]
