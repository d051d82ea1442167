"""The one bridge from async code to the database: ``await in_db(fn, *args, **kwargs)``.

Every async caller (views, the callback door, consumers, the simulator's endpoints, the job
runner) runs its ORM work through here, never through its own ``sync_to_async``.

It is asgiref's ``sync_to_async`` on a small dedicated executor (``DB_THREADS`` threads,
``PAYMENTS_DB_THREADS`` in settings). Why a dedicated executor rather than asgiref's default
thread-per-request: Django's database connections are thread-local, and under ASGI each request
gets a fresh thread, so each request opened (and closed) its own connection, the largest single
cost of a callback in the profile (bench/README.md). These threads keep their connections, and
a request never holds one while it awaits the network (the Daraja call), so a PostgreSQL pool
cannot be starved by slow upstream answers.

Because it is asgiref's bridge, sync code running here that calls ``async_to_sync`` (the status
broadcast, the Daraja client) runs that coroutine on the caller's event loop, so per-loop
clients (httpx, the channel layer) are reused instead of a new loop being made per call.

The work runs in a copy of the caller's context (contextvars: the active language, for one)
and what it sets there stays there. asgiref's default copies it back into the caller's, so an
open socket's context kept, for the socket's life, the language its snapshot rendered in and
asgiref's storage of it (about 0.6 KB per socket, ``python -m bench.inprocess --sockets
500``), and a language the work activated leaked into its caller. Django's cache backends live
in such storage too: ``share_caches`` makes them once, in the context every task of the server
inherits (``payments.asgi.checkout_application``, the job runner), so the loop and every
bridge thread use one backend per alias and one Redis connection pool per process, rather than
a backend made by each call that touches the cache (or, with asgiref's default, kept by each
socket that redeemed a ticket, with its own Redis connection).

``DB_THREADS = 0`` runs the work thread-sensitively instead (asgiref's default), which the
in-process tests use for tests inside a transaction that other threads cannot see.
"""

import contextvars
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.cache import caches
from django.db import DatabaseError, connection, connections

_lock = threading.Lock()
_executor: ThreadPoolExecutor | None = None
_size = 0


def db_threads() -> int:
    return int(getattr(settings, "PAYMENTS_DB_THREADS", 4))


def _pool(size: int) -> ThreadPoolExecutor:
    global _executor, _size
    with _lock:
        if _executor is None or _size != size:
            if _executor is not None:
                _executor.shutdown(wait=False)
            _executor, _size = ThreadPoolExecutor(size, thread_name_prefix="db"), size
        return _executor


def _guarded(fn, args, kwargs) -> Any:
    try:
        return fn(*args, **kwargs)
    except DatabaseError:
        if not connection.in_atomic_block:  # a caller's transaction (tests) keeps its connection
            connection.close()  # a broken connection is reopened by this thread's next call
        raise


async def in_db(fn, *args, **kwargs) -> Any:
    """Run ``fn(*args, **kwargs)`` (sync ORM code) off the event loop; returns its result."""
    size = db_threads()
    context = contextvars.copy_context()  # the caller's, seen by ``fn``; what ``fn`` sets stays there
    if size <= 0:  # thread-sensitively (tests in a transaction), repaired the same way
        return await sync_to_async(_guarded, context=context)(fn, args, kwargs)
    bridge = sync_to_async(_guarded, thread_sensitive=False, executor=_pool(size), context=context)
    return await bridge(fn, args, kwargs)


SHAREABLE_CACHES = frozenset(
    "django.core.cache.backends." + path
    for path in (
        "redis.RedisCache",
        "locmem.LocMemCache",
        "db.DatabaseCache",
        "filebased.FileBasedCache",
        "dummy.DummyCache",
    )
)


def share_caches() -> None:
    """Make the configured cache backends that may be shared between threads (Django's Redis,
    local-memory, database, file and dummy ones) now, in the current context, for everything
    that inherits it: the tasks of a server whose application is built here, and the bridge's
    work from them (asgiref hands a context's storage to the thread it runs in). Any other
    backend (memcached's clients are not thread-safe) is left to Django: one per context."""
    for alias, config in settings.CACHES.items():
        if config.get("BACKEND") in SHAREABLE_CACHES:
            caches[alias]


def checkpoint_sqlite_logs() -> int:
    """Copy what SQLite's write-ahead log holds into the database file, for every SQLite alias
    in WAL mode (a job source: the runner calls it every pass; it reports no jobs, so an idle
    runner still waits its poll interval).

    SQLite's own checkpoint runs inside the COMMIT of whichever request first finds the log
    past ``wal_autocheckpoint`` pages (1,000 by default; a settled callback writes about 30):
    that commit copies the pages and syncs the file, and its callback waits. Under the bench's
    load every 33rd callback paid it, about 6-8 ms (push p50 4 ms, p99 11.5 ms; with the
    checkpoint here, p99 6.5-7.0 ms: README, Performance). Here it runs on the runner's bridge thread,
    PASSIVE (it waits for no reader or writer; the sync happens with the GIL released), so the
    request connections' ``PRAGMA wal_autocheckpoint=10000`` (``project/settings.py``) is only
    a backstop for a process whose runner is not running. Not inside a transaction (a test's):
    there, SQLite cannot checkpoint."""
    for alias in connections:
        db = connections[alias]
        if db.vendor != "sqlite" or db.in_atomic_block:
            continue
        with db.cursor() as cursor:  # a database not in WAL mode answers (0, -1, -1)
            cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")
    return 0


def close_db_threads(timeout: float = 10.0) -> None:
    """Close every bridge thread's connection and stop the threads (tests, shutdown).

    Each thread closes its own connection (Django's connections are thread-local), so one
    close task per thread is queued behind a barrier that only lets them finish together.
    """
    global _executor
    with _lock:
        executor, size, _executor = _executor, _size, None
    if executor is None:
        return
    barrier = threading.Barrier(size)

    def close_mine() -> None:
        try:
            barrier.wait(timeout=timeout)
        except threading.BrokenBarrierError:
            pass
        connection.close()

    for _ in range(size):
        executor.submit(close_mine)
    executor.shutdown(wait=True)
