"""What one crossing between the event loop and a database thread costs on this machine, with
nothing else in it: the price of each ``in_db`` call and of each ``async_to_sync`` from the
database thread (the status push), which no change to our own code can lower. Not part of
``make bench`` (about 10 s)::

    .venv/bin/python -m bench.hops

Prints process CPU and wall time per round trip, median of five rounds of 2,000, for:
asgiref's ``sync_to_async`` onto a one-thread executor (what ``in_db`` does) against the bare
``loop.run_in_executor``, and asgiref's ``async_to_sync`` from that thread back to the loop
against ``asyncio.run_coroutine_threadsafe``.
"""

import asyncio
import resource
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import async_to_sync, sync_to_async

ROUNDS, N = 5, 2000


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _nothing() -> None:
    return None


def _nothing_sync() -> None:
    return None


async def _measure(name: str, one_round) -> None:
    cpu, wall = [], []
    for _ in range(ROUNDS):
        started_cpu, started = _cpu(), time.perf_counter()
        await one_round()
        cpu.append((_cpu() - started_cpu) / N * 1e6)
        wall.append((time.perf_counter() - started) / N * 1e6)
    print(f"{name:<58} {statistics.median(cpu):7.1f} us CPU {statistics.median(wall):7.1f} us wall")


async def main() -> None:
    loop = asyncio.get_running_loop()
    executor = ThreadPoolExecutor(1, thread_name_prefix="hop")
    to_thread = sync_to_async(_nothing_sync, thread_sensitive=False, executor=executor)

    async def asgiref_out() -> None:
        for _ in range(N):
            await to_thread()

    async def bare_out() -> None:
        for _ in range(N):
            await loop.run_in_executor(executor, _nothing_sync)

    def back_by_asgiref() -> None:
        for _ in range(N):
            async_to_sync(_nothing)()

    def back_by_asyncio() -> None:
        for _ in range(N):
            asyncio.run_coroutine_threadsafe(_nothing(), loop).result()

    await _measure("loop -> thread -> loop, asgiref sync_to_async (in_db)", asgiref_out)
    await _measure("loop -> thread -> loop, loop.run_in_executor", bare_out)
    # Each round is one hop onto the thread (negligible against N) and N hops back from it.
    await _measure(
        "thread -> loop -> thread, asgiref async_to_sync (the push)",
        sync_to_async(back_by_asgiref, thread_sensitive=False, executor=executor),
    )
    await _measure(
        "thread -> loop -> thread, asyncio.run_coroutine_threadsafe",
        sync_to_async(back_by_asyncio, thread_sensitive=False, executor=executor),
    )
    executor.shutdown()


if __name__ == "__main__":
    asyncio.run(main())
