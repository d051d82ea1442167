"""Run background jobs (simulator callback deliveries, reconciliation) in the foreground.

Use it when the web processes run with PAYMENTS_RUN_JOBS_IN_PROCESS=false. Several workers
may run at once: jobs are leased atomically, so none is handled twice.
"""

import signal
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from mpesa_plumbing.jobs import JobRunner


class Command(BaseCommand):
    help = "Run the payments job runner (deliveries, reconciliation) until SIGINT/SIGTERM."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Run due jobs once and exit.")
        parser.add_argument("--poll", type=float, default=None, help="Seconds between polls.")
        parser.add_argument("--heartbeat", type=Path, default=None, help="File touched after every poll.")

    def handle(self, *args, once: bool, poll: float | None, heartbeat: Path | None, **options):
        runner = JobRunner(poll_seconds=poll or settings.PAYMENTS_JOB_POLL_SECONDS, heartbeat=heartbeat)
        if once:
            handled = runner.run_once()
            self.stdout.write(f"Handled {handled} job(s).")
            return
        signal.signal(signal.SIGTERM, lambda *_: runner.stop())
        signal.signal(signal.SIGINT, lambda *_: runner.stop())
        self.stdout.write(f"Worker running (poll {runner.poll_seconds}s); Ctrl-C to stop.")
        runner.run()
        self.stdout.write("Worker stopped.")
