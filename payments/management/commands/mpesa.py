"""``manage.py mpesa …``: what operators and developers ask all day.

  trigger <scenario>   start a payment against the simulator and watch it to the end
  tail                 live stream of callbacks, pushes, queries and state changes (masked)
  replay <record>      re-run a stored raw callback through the handler (idempotent)
  reconcile            ask Daraja (STK query) about open payments now
  status <payment>     one payment: summary and timeline (full id, short id, CheckoutRequestID
                       or receipt)
  doctor               the go-live check (payments/reporting/doctor/); exit 1 when one fails
  register-urls        register the Pay Bill (C2B) Validation and Confirmation URLs with Daraja

Every action takes ``--json`` (one JSON object per line) for machines. Log lines go to stderr
only with ``-v 2`` (or ``--verbose``; ``-v 3``: DEBUG): the command's own output tells the story.
"""

import argparse
import json
import time
from datetime import timedelta

from asgiref.sync import async_to_sync
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from mpesa_plumbing.jobs import run_due_jobs
from mpesa_plumbing.logs import logs_for_verbosity, mask_phone
from payments import checkout
from payments.checkout.reconcile import payment_reconcile, payments_reconcile_stale
from payments.checkout.register_urls import register, registration_plan
from payments.daraja.errors import DarajaError, DarajaUnavailable
from payments.models import CallbackRecord, Payment, PaymentEvent
from payments.payables import kind_of, sample_for
from payments.reporting import doctor
from payments.reporting.reach import simulator_scenarios, unreachable_hint
from payments.reporting.timeline import payment_summary, short_id, write_events, write_summary
from payments.selectors import payments_matching

POLL = 0.2


class Command(BaseCommand):
    help = __doc__.splitlines()[0]

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="one JSON object per line")
        parser.add_argument("--verbose", action="store_true", help="log lines on stderr too (= -v 2)")
        # The same three after the action too (`mpesa status ID -v 2`); SUPPRESS: an option not
        # given there leaves the one given before the action alone.
        after = argparse.ArgumentParser(add_help=False)
        after.add_argument("--json", action="store_true", default=argparse.SUPPRESS)
        after.add_argument("--verbose", action="store_true", default=argparse.SUPPRESS)
        after.add_argument("-v", "--verbosity", type=int, choices=[0, 1, 2, 3], default=argparse.SUPPRESS)

        def add(name: str, **kwargs):
            return actions.add_parser(name, parents=[after], **kwargs)

        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        trigger = add("trigger", help="start a payment against the simulator and watch it")
        trigger.add_argument(
            "scenario",
            metavar="SCENARIO",
            help="a scenario of the simulator (success, cancelled, timeout, lost-callback, …; "
            "the simulator lists them at <DARAJA_BASE_URL>/control/scenarios/)",
        )
        trigger.add_argument("--user", default="demo", help="the customer (default: demo)")
        trigger.add_argument("--amount", type=int, default=1, help="KES (default 1)")
        trigger.add_argument("--timeout", type=float, default=150, help="stop watching after (s)")
        trigger.add_argument(
            "--query-after",
            type=float,
            default=10,
            help="no callback after this many seconds: ask Daraja (STK query)",
        )
        tail = add("tail", help="stream callbacks, pushes, queries and state changes")
        tail.add_argument("--since", type=float, default=300, help="start with events this many seconds old")
        tail.add_argument("--follow", action="store_true", help="keep streaming new events")
        tail.add_argument("--max-seconds", type=float, default=600, help="stop following after (s)")
        replay = add("replay", help="re-run a stored raw callback (idempotent)")
        replay.add_argument("record", type=int, help="CallbackRecord id (see the admin or `mpesa status`)")
        reconcile = add("reconcile", help="STK query for open payments now")
        reconcile.add_argument("--payment", help="one payment (id, short id, CheckoutRequestID, receipt)")
        reconcile.add_argument("--older-than", type=int, default=60, help="seconds (default 60)")
        status = add("status", help="one payment: summary and timeline")
        status.add_argument(
            "payment",
            help="the payment's id, its short id (10 hex, as tail shows), CheckoutRequestID or receipt",
        )
        register = add(
            "register-urls",
            help="register the Pay Bill (C2B) Validation and Confirmation URLs with Daraja "
            "(production allows it once per shortcode)",
        )
        register.add_argument("--shortcode", default="", help="default: DARAJA_C2B_SHORTCODE")
        register.add_argument(
            "--api-version",
            choices=["v1", "v2"],
            default="",
            help="the register-URL API version your Daraja app's products hold (default: DARAJA_C2B_VERSION)",
        )
        register.add_argument(
            "--response-type",
            choices=["Completed", "Cancelled"],
            default="",
            help="what Daraja does when our validation does not answer (default: DARAJA_C2B_RESPONSE_TYPE)",
        )
        register.add_argument("--dry-run", action="store_true", help="check and show the URLs, send nothing")
        add(
            "doctor",
            help="go-live check: credentials, shortcode, passkey, callback URL, IP allowlist, "
            "clock, deployment, simulator (exit status 1 when a check fails)",
        )

    def execute(self, *args, **options):
        if options.get("action") == "doctor":
            # The doctor reports what the system checks would refuse to start with.
            options["skip_checks"] = True
        if options.get("verbose"):
            options["verbosity"] = max(options.get("verbosity", 1), 2)
        with logs_for_verbosity(options.get("verbosity", 1)):
            return super().execute(*args, **options)

    def handle(self, *args, action: str, json: bool, **options):
        self.as_json = json
        getattr(self, action.replace("-", "_"))(**options)

    # --- helpers ----------------------------------------------------------------------
    def _payment(self, reference: str) -> Payment:
        found = payments_matching(reference)
        if not found:
            raise CommandError(
                f"No payment matches {reference!r}. Give its id (or the short id `tail` and the "
                "admin show: its first 10 hex digits), its CheckoutRequestID or its M-Pesa receipt."
            )
        if len(found) > 1:
            ids = ", ".join(short_id(p) for p in found)
            raise CommandError(f"{reference!r} matches several payments ({ids}): give more of the id.")
        return found[0]

    def _say(self, text: str, **data) -> None:
        if self.as_json:
            self.stdout.write(json.dumps(data))
        else:
            self.stdout.write(text)

    # --- actions ----------------------------------------------------------------------
    def trigger(self, *, scenario: str, user: str, amount: int, timeout: float, query_after: float, **_):
        if "/simulator" not in settings.DARAJA_BASE_URL:
            raise CommandError("trigger plays scenarios against the simulator; DARAJA_BASE_URL is not it.")
        customer = get_user_model().objects.filter(username=user).first()
        if customer is None:
            raise CommandError(f"No user {user!r} (`manage.py seed_demo --username {user}` creates one).")
        scenarios = simulator_scenarios()
        if scenario not in scenarios:
            raise CommandError(
                f"Unknown scenario {scenario!r}; the simulator knows: {', '.join(sorted(scenarios))}."
            )
        phone, meaning = scenarios[scenario]["phone"], scenarios[scenario]["meaning"]
        payable = sample_for(customer, amount)
        if payable is None:
            raise CommandError("No registered payable offers a sample to try (payable_sample_for).")
        self._say(
            f"Scenario {scenario}: {meaning}. KES {amount} for {kind_of(payable)} of {user} "
            f"from {mask_phone(phone)}.",
            scenario=scenario,
            meaning=meaning,
            phone=mask_phone(phone),
            amount=amount,
        )
        try:
            result = async_to_sync(checkout.payment_initiate)(
                user=customer,
                phone=phone,
                payable=payable,
                amount=amount if payable.payable_open_amount else None,
            )
        except checkout.InitiationRefused as exc:
            raise CommandError(f"Refused before anything was sent: {exc.message}") from None
        except Exception as exc:
            raise CommandError(f"Could not start: {exc}. {unreachable_hint()}") from None
        created = result.payment
        self._say(
            f"Payment {short_id(created)} ({created.public_id}); later: manage.py mpesa status "
            f"{short_id(created)}",
            payment=str(created.public_id),
            short_id=short_id(created),
        )
        self._watch(created, timeout=timeout, query_after=query_after)
        if created.error_code == "unavailable":
            self.stdout.write(unreachable_hint(created.error_message))

    def _watch(self, payment: Payment, *, timeout: float, query_after: float) -> None:
        """Print the payment's events as they happen until it is final and quiet (bounded)."""
        last_id, started, quiet_since, asked = 0, time.monotonic(), None, False
        while time.monotonic() - started < timeout:
            run_due_jobs()  # deliveries/reconciliation, in case no server or worker runs them
            events = list(
                PaymentEvent.objects.filter(payment=payment, pk__gt=last_id).select_related("payment")
            )
            if events:
                write_events(self.stdout, events, as_json=self.as_json)
                last_id, quiet_since = events[-1].pk, None
            payment.refresh_from_db()
            elapsed = time.monotonic() - started
            if (
                not payment.callbacks.exists()
                and payment.checkout_request_id
                and elapsed > query_after
                and not asked
            ):
                asked = True  # the safety net, on demand: lost callbacks are found by query
                payment_reconcile(payment)
                continue
            if payment.is_terminal:
                quiet_since = quiet_since or time.monotonic()
                if time.monotonic() - quiet_since > 1.5:  # late duplicates print too
                    break
            time.sleep(POLL)
        else:
            self.stdout.write(
                self.style.WARNING(f"Still {payment.status} after {timeout:.0f} s; stopped watching.")
            )
        write_summary(self.stdout, payment, as_json=self.as_json)

    def tail(self, *, since: float, follow: bool, max_seconds: float, **_):
        cutoff = timezone.now() - timedelta(seconds=since)
        last_id, started = 0, time.monotonic()
        query = PaymentEvent.objects.select_related("payment").order_by("pk")
        first = True
        while first or (follow and time.monotonic() - started < max_seconds):
            events = list(
                (query.filter(created_at__gte=cutoff) if first else query.filter(pk__gt=last_id))[:500]
            )
            write_events(self.stdout, events, as_json=self.as_json, with_payment=True)
            if events:
                last_id = events[-1].pk
            elif first:
                last_id = PaymentEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
            if first and follow and not self.as_json:
                self.stdout.write(f"Following (up to {max_seconds:.0f} s; Ctrl-C to stop)…")
            first = False
            if follow:
                time.sleep(POLL)

    def replay(self, *, record: int, **_):
        original = CallbackRecord.objects.filter(pk=record).first()
        if original is None:
            raise CommandError(f"No callback record {record}.")
        if original.kind == CallbackRecord.Kind.STK:
            copy = checkout.callback_replay(original)
        else:
            copy = checkout.c2b_replay(original)
        self._say(
            f"Callback {record} replayed as {copy.pk}: {copy.outcome} ({copy.detail})",
            record=record,
            replay=copy.pk,
            outcome=copy.outcome,
            detail=copy.detail,
        )
        if copy.payment_id:
            write_summary(self.stdout, Payment.objects.get(pk=copy.payment_id), as_json=self.as_json)

    def reconcile(self, *, payment: str | None, older_than: int, **_):
        if payment:
            decisions = [payment_reconcile(self._payment(payment))]
        else:
            decisions = payments_reconcile_stale(older_than=timedelta(seconds=older_than))
        for i, d in enumerate(decisions, 1):
            short = d.payment.replace("-", "")[:10]
            self._say(
                f"[{i}/{len(decisions)}] {short}  {d.action:<8} {d.detail}", **d.__dict__, short_id=short
            )
        if not decisions:
            self._say("Nothing to reconcile.", decisions=[])
        if any(d.action == "error" and d.detail.startswith("unavailable") for d in decisions):
            self._say(unreachable_hint(), hint=unreachable_hint())

    def status(self, *, payment: str, **_):
        found = self._payment(payment)
        summary = payment_summary(found)
        if self.as_json:
            self.stdout.write(json.dumps({"payment": summary}))
        else:
            for key, value in summary.items():
                self.stdout.write(f"{key:<20} {value}")
            callbacks = ", ".join(f"#{r.pk} {r.outcome}" for r in found.callbacks.order_by("pk")) or "none"
            self.stdout.write(f"{'callbacks':<20} {callbacks}\nTimeline:")
        write_events(self.stdout, found.events.select_related("payment"), as_json=self.as_json)

    def register_urls(self, *, shortcode: str, api_version: str, response_type: str, dry_run: bool, **_):
        plan = registration_plan(shortcode=shortcode, version=api_version, response_type=response_type)
        shown = {
            "shortcode": plan.shortcode,
            "version": plan.version,
            "response_type": plan.response_type,
            "validation_url": plan.shown(plan.validation_url),
            "confirmation_url": plan.shown(plan.confirmation_url),
        }
        for key, value in shown.items():
            self._say(f"{key:<17} {value}", **{key: value})
        for warning in plan.warnings:
            self._say(f"warning: {warning}", warning=warning)
        if plan.errors:
            raise CommandError("Not sent: " + "; ".join(plan.errors))
        if dry_run:
            self._say("Dry run: nothing sent.", sent=False)
            return
        try:
            answer = register(plan)
        except DarajaError as exc:
            hint = {
                "401.003.01": " Try --api-version " + ("v1" if plan.version == "v2" else "v2") + ".",
                "500.003.1001": " To change them in production, delete the old URLs on the Daraja portal "
                "(Self Services → URL Management) first.",
            }.get(exc.error_code, "")
            if exc.error_code.startswith("http.") or isinstance(exc, DarajaUnavailable):
                hint = " " + unreachable_hint()
            raise CommandError(f"Daraja refused: {exc.error_code} {exc.error_message}.{hint}") from None
        self._say(
            f"Registered: {answer.response_description or 'Success'} ({answer.originator_conversation_id})",
            registered=True,
            answer=answer.response_description,
            originator_conversation_id=answer.originator_conversation_id,
        )

    def doctor(self, **_):
        checks = async_to_sync(doctor.run_doctor)()
        if self.as_json:
            for check in checks:
                self.stdout.write(json.dumps(check.as_dict()))
            self.stdout.write(json.dumps(doctor.summary(checks)))
        else:
            width = max(len(check.name) for check in checks)
            style = {doctor.PASS: self.style.SUCCESS, doctor.WARN: self.style.WARNING}
            for check in checks:
                status = style.get(check.status, self.style.ERROR)(check.status)
                self.stdout.write(f"{status}  {check.name:<{width}}  {check.found}")
                if check.status != doctor.PASS:
                    self.stdout.write(f"{'':4}  {'':<{width}}  fix: {check.fix}")
            counts = doctor.summary(checks)["summary"]
            self.stdout.write(
                f"{len(checks)} checks: {counts['pass']} passed, {counts['warn']} warned, "
                f"{counts['fail']} failed."
            )
        failed = [check.name for check in checks if check.status == doctor.FAIL]
        if failed:
            raise CommandError(f"doctor: {', '.join(failed)} failed.", returncode=1)
