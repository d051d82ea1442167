"""The one bridge from async code to the database (mpesa_plumbing/db.py), as production runs
it: long-lived threads that keep their connections, with ``async_to_sync`` inside them running
on the caller's event loop (so per-loop clients are reused, never a new loop per call)."""

import asyncio
import contextvars
import gc
import os
import threading

import pytest
from asgiref.sync import async_to_sync
from django.core.asgi import get_asgi_application
from django.core.cache import caches
from django.db import DatabaseError, connection
from django.test import override_settings
from django.utils import translation

from mpesa_plumbing import jobs
from mpesa_plumbing.db import checkpoint_sqlite_logs, close_db_threads, in_db
from payments.asgi import checkout_application
from payments.daraja import client as daraja_client
from payments.daraja.config import daraja_get_config

pytestmark = pytest.mark.django_db(transaction=True)


def where() -> tuple[str, int]:
    """The thread this runs on and its raw database connection."""
    connection.ensure_connection()
    return threading.current_thread().name, id(connection.connection)


async def test_work_runs_on_the_bridge_threads_which_keep_their_connections():
    with override_settings(PAYMENTS_DB_THREADS=2):
        seen = [await in_db(where) for _ in range(20)]
    threads = {name for name, _ in seen}
    assert threads and all(name.startswith("db_") for name in threads) and len(threads) <= 2
    # one connection per thread, reused by every call that thread served
    assert len({conn for _, conn in seen}) == len(threads)


async def test_async_calls_inside_run_on_the_callers_event_loop():
    async def running_loop():
        return asyncio.get_running_loop()

    with override_settings(PAYMENTS_DB_THREADS=2):
        loops = [await in_db(async_to_sync(running_loop)) for _ in range(3)]
    assert loops == [asyncio.get_running_loop()] * 3


async def test_the_daraja_http_client_is_reused_from_the_bridge():
    config = daraja_get_config()

    async def http_client():
        return daraja_client._http(config)

    with override_settings(PAYMENTS_DB_THREADS=2):
        first = await in_db(async_to_sync(http_client))
        second = await in_db(async_to_sync(http_client))
    assert first is second and not first.is_closed


def test_a_short_lived_loop_closes_its_daraja_client():
    """``async_to_sync`` from plain sync code (a management command) makes a loop per call:
    the client made on it is closed with it, not leaked."""

    async def http_client():
        return daraja_client._http(daraja_get_config())

    made = async_to_sync(http_client)()
    assert made.is_closed


async def test_a_database_error_closes_the_connection_and_the_next_call_reconnects():
    def broken():
        where()
        raise DatabaseError("server closed the connection unexpectedly")

    def raw():
        connection.ensure_connection()
        return connection.connection  # the object itself: an id() could be reused after close

    with override_settings(PAYMENTS_DB_THREADS=1):
        before = await in_db(raw)
        with pytest.raises(DatabaseError):
            await in_db(broken)
        after = await in_db(raw)
    assert after is not before


async def test_closing_the_threads_closes_their_connections():
    with override_settings(PAYMENTS_DB_THREADS=2):
        await asyncio.gather(*(in_db(where) for _ in range(4)))
        await asyncio.to_thread(close_db_threads)
        name, _ = await in_db(where)  # a fresh pool starts on demand
    assert name.startswith("db_")


_mark = contextvars.ContextVar("test_db_mark", default="unset")


@pytest.mark.parametrize("threads", [2, 0])
async def test_the_work_sees_the_callers_context_and_keeps_its_own_changes(threads):
    """The work sees what its caller set (the active language of a page, for one); what the
    work sets (a language it rendered in, a variable) does not leak back into the caller, whose
    context an open socket keeps for its life."""

    def work():
        seen = _mark.get(), translation.get_language()
        _mark.set("set by the work")
        translation.activate("en")
        return seen

    token = _mark.set("the caller's")
    try:
        with override_settings(PAYMENTS_DB_THREADS=threads), translation.override("sw"):
            assert await in_db(work) == ("the caller's", "sw")
            assert (_mark.get(), translation.get_language()) == ("the caller's", "sw")
    finally:
        _mark.reset(token)


def test_the_servers_tasks_and_the_bridge_share_one_cache_backend():
    """The application, once built, gives every task of its server and the bridge's work from
    them one backend per cache (one Redis connection pool per process), not one per call that
    touches the cache."""

    def serve():
        checkout_application(get_asgi_application(), [], start_jobs=False)

        async def seen_by_the_work():
            return await in_db(lambda: caches["default"])

        async def two_sockets():
            return await asyncio.gather(seen_by_the_work(), seen_by_the_work())

        return asyncio.run(two_sockets()), caches["default"]

    try:
        with override_settings(PAYMENTS_DB_THREADS=2):
            (first, second), the_servers = contextvars.Context().run(serve)
    finally:
        gc.unfreeze()  # what building the application froze
    assert first is second is the_servers


def _file_size() -> int:
    return os.path.getsize(connection.settings_dict["NAME"])


def test_the_runner_copies_the_write_ahead_log_into_the_database_a_request_commit_does_not():
    """SQLite's checkpoint stalls the commit that finds the log past its threshold (every
    33rd callback in ``make bench``); the runner's pass does it instead. Each INSERT below
    commits on its own, as a callback's statements do, ~1,500 pages in all: past SQLite's
    default threshold (1,000), under the project's backstop (10,000)."""
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone()[0] == "wal"
        cursor.execute("CREATE TABLE checkpoint_probe (b BLOB)")
        try:
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # from an empty log
            before = _file_size()
            for _ in range(300):
                cursor.execute("INSERT INTO checkpoint_probe VALUES (randomblob(20000))")
            assert _file_size() == before  # every page still only in the log: no commit copied it
            assert jobs.run_due_jobs()["db.checkpoint"] == 0  # no jobs: an idle runner still waits
            assert _file_size() >= before + 300 * 20_000
        finally:
            cursor.execute("DROP TABLE checkpoint_probe")


@pytest.mark.django_db(transaction=False)
def test_the_checkpoint_leaves_a_connection_inside_a_transaction_alone():
    """SQLite refuses to checkpoint inside a transaction ("database table is locked"): a
    runner pass inside a test's transaction checkpoints nothing and raises nothing."""
    assert connection.in_atomic_block
    assert checkpoint_sqlite_logs() == 0
