"""What the Redis channel layer costs per socket and per message, with no server: channels-redis's
core layer against ours (``mpesa_plumbing.layers.OneReaderRedisChannelLayer``) on a real
redis-server on loopback. Not part of ``make bench`` (about 30 s)::

    .venv/bin/python -m bench.layers

For each class, in turn, three times after a warm-up: N sockets (tasks that receive in a loop,
each in its own group as a checkout is) and M group sends from the same process; prints
process CPU and wall time per message (send, Redis, the receive that hands it to its socket)
and the bytes held per waiting receive (``tracemalloc``, the socket's own task included),
medians of the three. Pinned to one core when the machine has two (redis-server, started by
this process, inherits the pin).
"""

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from channels_redis.core import RedisChannelLayer

from mpesa_plumbing.layers import OneReaderRedisChannelLayer
from tests.helpers.topology import RedisServer

CLASSES = (RedisChannelLayer, OneReaderRedisChannelLayer)
ROUNDS = 3


async def _per_message(cls, url: str, sockets: int, messages: int) -> tuple[float, float, float]:
    layer = cls(hosts=[{"address": url, "socket_timeout": None}])
    channels = [await layer.new_channel() for _ in range(sockets)]
    for n, channel in enumerate(channels):
        await layer.group_add(f"payment.{n}", channel)
    received, everything = [0], asyncio.Event()

    async def socket(channel: str) -> None:
        while True:
            await layer.receive(channel)
            received[0] += 1
            if received[0] >= messages:
                everything.set()

    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    tasks = [asyncio.ensure_future(socket(channel)) for channel in channels]
    await asyncio.sleep(0.5)  # every socket waiting
    held = (tracemalloc.get_traced_memory()[0] - before) / sockets
    tracemalloc.stop()
    cpu, wall = time.process_time(), time.perf_counter()
    for m in range(messages):
        await layer.group_send(f"payment.{(m * 7919) % sockets}", {"type": "payment.status", "m": m})
        if m % 10 == 9:
            await asyncio.sleep(0)  # let the sockets read while the sends go on
    await asyncio.wait_for(everything.wait(), 60)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await layer.flush()
    return cpu / messages * 1e6, wall / messages * 1e6, held


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sockets", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=2000)
    args = parser.parse_args()
    if (os.cpu_count() or 1) >= 2 and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {0})
    with tempfile.TemporaryDirectory(prefix="mpx-layers-") as work:
        server = RedisServer(Path(work)).start()
        try:
            for cls in CLASSES:  # warm-up: imports, Redis's first allocations
                asyncio.run(_per_message(cls, server.url, 100, 200))
            runs = {cls: [] for cls in CLASSES}
            for _ in range(ROUNDS):
                for cls in CLASSES:
                    runs[cls].append(asyncio.run(_per_message(cls, server.url, args.sockets, args.messages)))
            for cls, results in runs.items():
                cpu, wall, held = (statistics.median(column) for column in zip(*results, strict=True))
                sys.stdout.write(
                    f"{cls.__name__:28s} {args.sockets} sockets: {cpu:5.0f} us CPU, {wall:5.0f} us wall "
                    f"per message; {held / 1024:4.1f} KB per waiting socket (median of {ROUNDS}; CPU "
                    f"{', '.join(f'{r[0]:.0f}' for r in results)})\n"
                )
        finally:
            server.stop()


if __name__ == "__main__":
    main()
