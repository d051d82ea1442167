"""Background work that needs no human: job sources, atomic claiming, and the runner.

Jobs are rows with a due time and a lease (the simulator's callback deliveries, payments due
for reconciliation). A *source* claims its own due rows with ``claim_due`` and handles them;
each app registers its sources in its ``AppConfig.ready()``. The runner calls every source:
inside the web process by default (a daemon thread started by ``project/asgi.py``, so
``make run`` is complete) or as ``manage.py payments_worker``. Several runners at once never
handle the same row twice while its lease holds.

The runner thread owns one long-lived event loop and runs the (sync) sources through the
database bridge, so the sources' async calls (Daraja queries, status pushes) share that loop
and its pooled clients instead of making a new loop per call.
"""

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from django.db import close_old_connections, connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from .db import checkpoint_sqlite_logs, in_db, share_caches

logger = logging.getLogger("mpesa_plumbing.jobs")

_sources: dict[str, Callable[[], int]] = {}
_runner: "JobRunner | None" = None


def register_source(name: str, source: Callable[[], int]) -> None:
    """``source()`` handles what is due now and returns how many jobs it handled."""
    _sources[name] = source


def sources() -> list[str]:
    return list(_sources)


# Built in: every runner keeps SQLite's write-ahead log short, off the request path (db.py).
register_source("db.checkpoint", checkpoint_sqlite_logs)


def claim_due(
    queryset: QuerySet, *, due_field: str, lease_field: str, lease_seconds: float, limit: int = 50
) -> list[int]:
    """Atomically lease up to ``limit`` due rows; returns the primary keys this caller won.

    PostgreSQL: ``SELECT … FOR UPDATE SKIP LOCKED`` so concurrent claimers take different
    rows. SQLite: the IMMEDIATE transaction serialises claimers. Both: each row is taken by a
    conditional UPDATE on a free lease, so a row is never leased twice.

    Nothing due (a runner's usual pass, once a second) is found by one read before any
    transaction is opened: no BEGIN IMMEDIATE, so an idle runner never holds SQLite's write
    lock and a callback never waits behind it (a caller already inside ``atomic()`` keeps its
    own transaction, of course). A row that becomes due just after that read is claimed
    by the next pass, as it would be had it become due just after the transaction.
    """
    now = timezone.now()
    free = Q(**{f"{lease_field}__isnull": True}) | Q(**{f"{lease_field}__lt": now})
    lease = {lease_field: now + timedelta(seconds=lease_seconds)}
    due = queryset.filter(**{f"{due_field}__lte": now}).filter(free)
    if not due.exists():
        return []
    with transaction.atomic():
        due = due.order_by(due_field)
        if connection.features.has_select_for_update_skip_locked:
            # of=self: a due-filter through a foreign key must not lock the joined rows too
            due = due.select_for_update(skip_locked=True, of=("self",))
        candidates = list(due.values_list("pk", flat=True)[:limit])
        model = queryset.model
        return [pk for pk in candidates if model.objects.filter(pk=pk).filter(free).update(**lease)]


def run_due_jobs() -> dict[str, int]:
    """Run every registered source once (sync). One failing source does not stop the others."""
    done: dict[str, int] = {}
    for name, source in list(_sources.items()):
        try:
            done[name] = source()
        except Exception:
            logger.exception("job source %s failed", name, extra={"event": "jobs.error"})
            done[name] = 0
    return done


class JobRunner(threading.Thread):
    """Polls the sources every ``poll_seconds``; ``wake()`` runs them sooner."""

    def __init__(self, *, poll_seconds: float, heartbeat: Path | None = None):
        super().__init__(name="jobs", daemon=True)
        self.poll_seconds = poll_seconds
        self.heartbeat = heartbeat  # touched every loop: a health check reads its age
        self._wake = threading.Event()
        self._stopping = threading.Event()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    def _beat(self) -> None:
        if self.heartbeat is not None:
            self.heartbeat.touch()

    def run_once(self) -> int:
        """One pass from sync code (``payments_worker --once``, tests)."""
        try:
            return sum(run_due_jobs().values())
        finally:
            close_old_connections()
            self._beat()

    async def _main(self) -> None:
        share_caches()  # a thread starts with an empty context: the runner's own, kept (db.py)
        loop = asyncio.get_running_loop()
        while not self._stopping.is_set():
            started = time.monotonic()
            handled = sum((await in_db(run_due_jobs)).values())
            self._beat()
            if handled:  # more may be due right away (a burst): loop without waiting
                continue
            wait = max(0.0, self.poll_seconds - (time.monotonic() - started))
            await loop.run_in_executor(None, self._wake.wait, wait)
            self._wake.clear()

    def run(self) -> None:
        logger.info("job runner started", extra={"event": "jobs.start", "sources": ",".join(_sources)})
        asyncio.run(self._main())


def start_in_process_runner(*, poll_seconds: float) -> JobRunner:
    """Start (once per process) the runner thread used by the web process."""
    global _runner
    if _runner is None or not _runner.is_alive():
        _runner = JobRunner(poll_seconds=poll_seconds)
        _runner.start()
    return _runner


def wake() -> None:
    """Something became due now (e.g. a callback scheduled with no delay): run soon."""
    if _runner is not None:
        _runner.wake()
