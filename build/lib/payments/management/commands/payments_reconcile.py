"""Query Daraja for open payments now: the reconciler's manual trigger (cron-safe).

The same as ``manage.py mpesa reconcile`` (kept under this name for cron jobs and runbooks).
"""

from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Reconcile open payments by STK query: one (--payment) or all older than --older-than."

    def add_arguments(self, parser):
        parser.add_argument("--payment", help="Public id of one payment.")
        parser.add_argument("--older-than", type=int, default=60, help="Seconds (default 60).")
        parser.add_argument("--json", action="store_true", help="One JSON object per line.")

    def handle(self, *args, payment: str | None, older_than: int, json: bool, **options):
        argv = ["--json"] if json else []
        argv += ["reconcile", "--older-than", str(older_than)]
        if payment:
            argv += ["--payment", payment]
        call_command("mpesa", *argv, stdout=self.stdout)
