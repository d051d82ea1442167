"""The job kernel (mpesa_plumbing/jobs.py): sources run by a runner thread that owns one
long-lived event loop, so their async calls share it; one failing source never stops another."""

import asyncio
import threading

import pytest
from asgiref.sync import async_to_sync
from django.test import override_settings

from mpesa_plumbing import jobs

pytestmark = pytest.mark.django_db(transaction=True)


async def _running_loop():
    return asyncio.get_running_loop()


def test_the_runner_thread_runs_every_source_on_one_loop(monkeypatch):
    loops, passes = [], threading.Event()

    def source() -> int:
        loops.append(async_to_sync(_running_loop)())
        if len(loops) >= 3:
            passes.set()
        return 0

    def broken() -> int:
        raise RuntimeError("a source that fails every time")

    monkeypatch.setattr(jobs, "_sources", {"broken": broken, "probe": source})
    with override_settings(PAYMENTS_DB_THREADS=1):
        runner = jobs.JobRunner(poll_seconds=0.05)
        runner.start()
        try:
            assert passes.wait(timeout=10)
        finally:
            runner.stop()
            runner.join(timeout=10)
    assert not runner.is_alive()
    assert len(set(map(id, loops))) == 1  # the same loop every pass, not a new one per call


def test_wake_runs_the_sources_before_the_poll_interval(monkeypatch):
    ran = threading.Event()
    calls = []

    def source() -> int:
        calls.append(1)
        if len(calls) == 2:
            ran.set()
        return 0

    monkeypatch.setattr(jobs, "_sources", {"probe": source})
    with override_settings(PAYMENTS_DB_THREADS=1):
        runner = jobs.JobRunner(poll_seconds=60)
        runner.start()
        try:
            for _ in range(200):  # the first pass happens at start; then wait to be woken
                if calls:
                    break
                threading.Event().wait(0.01)
            runner.wake()
            assert ran.wait(timeout=5)  # well before the 60 s poll
        finally:
            runner.stop()
            runner.join(timeout=10)


def test_an_idle_pass_takes_no_write_lock():
    """Nothing due: the claim is one read, so a runner's once-a-second pass never queues
    behind (or in front of) a callback's write transaction on SQLite."""
    import sqlite3

    from django.db import connection

    from payments.models import Payment

    if connection.vendor != "sqlite":
        pytest.skip("SQLite's write lock")
    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA busy_timeout = 100")  # fail fast instead of waiting 10 s
    writer = sqlite3.connect(connection.settings_dict["NAME"], isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")  # a callback's transaction, in progress
        due = Payment.objects.filter(next_check_at__isnull=False)
        claimed = jobs.claim_due(
            due, due_field="next_check_at", lease_field="check_lease_until", lease_seconds=30
        )
        assert claimed == []
    finally:
        writer.execute("ROLLBACK")
        writer.close()
        connection.close()
