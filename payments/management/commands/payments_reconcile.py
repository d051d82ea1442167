"""Query Daraja for open payments now (the reconciler's manual trigger)."""

import json
import uuid
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError

from payments.models import Payment
from payments.services.reconcile import payment_reconcile, payments_reconcile_stale


class Command(BaseCommand):
    help = "Reconcile open payments by STK query: one (--payment) or all older than --older-than."

    def add_arguments(self, parser):
        parser.add_argument("--payment", help="Public id of one payment.")
        parser.add_argument("--older-than", type=int, default=60, help="Seconds (default 60).")
        parser.add_argument("--json", action="store_true", help="Machine-readable output.")

    def handle(self, *args, payment: str | None, older_than: int, json: bool, **options):
        if payment:
            try:
                found = Payment.objects.filter(public_id=uuid.UUID(payment)).first()
            except ValueError:
                found = None
            if found is None:
                raise CommandError(f"No payment with id {payment!r}.")
            decisions = [payment_reconcile(found)]
        else:
            decisions = payments_reconcile_stale(older_than=timedelta(seconds=older_than))
        self._print(decisions, as_json=json)

    def _print(self, decisions, *, as_json: bool) -> None:
        if as_json:
            self.stdout.write(json.dumps([d.__dict__ for d in decisions]))
            return
        if not decisions:
            self.stdout.write("Nothing to reconcile.")
        for d in decisions:
            self.stdout.write(f"{d.payment[:10]}  {d.action:<8} {d.detail}")
