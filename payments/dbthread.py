"""Database work for async views, on a few long-lived threads.

Under ASGI every request runs its sync parts in a fresh thread, so each request opened (and
closed) its own database connection — the largest single cost of a callback in the profile
(bench/README.md). Async views instead hand their ORM work to this small pool: its threads
keep their connections, and a request never holds one while it awaits the network (the
Daraja call), so a PostgreSQL pool cannot be starved by slow upstream answers.

``PAYMENTS_DB_THREADS = 0`` runs the work through ``sync_to_async`` instead (the test
settings do this so request code sees the test's transaction).
"""

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import DatabaseError, connection

_lock = threading.Lock()
_executor: ThreadPoolExecutor | None = None


def _pool() -> ThreadPoolExecutor:
    global _executor
    with _lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(settings.PAYMENTS_DB_THREADS, thread_name_prefix="payments-db")
        return _executor


def _call(fn, args, kwargs) -> Any:
    try:
        return fn(*args, **kwargs)
    except DatabaseError:
        connection.close()  # a broken connection is reopened on the next call
        raise


async def run_in_db_thread(fn, *args, **kwargs) -> Any:
    """Run ``fn(*args, **kwargs)`` (sync ORM code) off the event loop; returns its result."""
    if settings.PAYMENTS_DB_THREADS <= 0:
        return await sync_to_async(fn)(*args, **kwargs)
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_pool(), partial(_call, fn, args, kwargs))
