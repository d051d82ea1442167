"""``manage.py simulator <action>``: drive the Daraja simulator from a terminal.

Works on the database directly (same settings as the server), so it needs no running server;
deliveries it sends itself (``fire``, ``resend``, ``trigger``, ``deliver``) go out from this
process. Human-readable output by default, ``--json`` for machines.
"""

import json
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from mpesa_plumbing.logs import mask_phone
from simulator.api import behaviour, tokens
from simulator.c2b_delivery import c2b_deliver_due
from simulator.conf import sim_config
from simulator.control import state
from simulator.control.c2b_command import C2BCommandMixin, add_c2b_arguments
from simulator.delivery import deliver_due, deliver_push_now, send_delivery
from simulator.models import SimC2BPayment, SimDelivery, SimPush, SimScript
from simulator.outcomes import rules, scheduler, scripts
from simulator.selectors import delivery_as_json, push_as_json, pushes_recent
from simulator.wire.errors import WireError

FAULT_FLAGS = (
    ("--lost", "lost", {"action": "store_true", "help": "no callback ever"}),
    ("--duplicates", "duplicates", {"type": int, "help": "send the callback N times"}),
    ("--concurrent", "concurrent", {"action": "store_true", "help": "duplicates all at once"}),
    ("--before-response", "before_response", {"action": "store_true", "help": "callback before push answer"}),
    ("--late", "late_seconds", {"type": float, "help": "callback S seconds after the query turns final"}),
    ("--conflict-first", "conflict_first", {"help": "first a callback with this code, then the real one"}),
    ("--amount-delta", "amount_delta", {"type": int, "help": "success callback Amount + N"}),
    ("--no-metadata", "no_metadata", {"action": "store_true", "help": "success without CallbackMetadata"}),
    ("--string-code", "string_code", {"action": "store_true", "help": 'ResultCode as a string ("0")'}),
    ("--query-pending", "query_pending_seconds", {"type": float, "help": "query pending S s after the push"}),
    ("--push-error", "push_error", {"choices": rules.PUSH_ERRORS, "help": "refuse the push synchronously"}),
    ("--push-timeout", "push_timeout", {"action": "store_true", "help": "answer the push too late"}),
    ("--expire-token", "expire_token", {"action": "store_true", "help": "revoke the push's token"}),
)


def _outcome_flags(parser) -> None:
    parser.add_argument("--code", dest="result_code", help="ResultCode (0, 1032, SFC_IC0003…); default 0")
    parser.add_argument("--desc", dest="result_desc", help="ResultDesc instead of Daraja's wording")
    parser.add_argument("--delay", type=float, help="seconds until the outcome (default: the setting)")
    for flag, dest, kwargs in FAULT_FLAGS:
        parser.add_argument(flag, dest=dest, **kwargs)


def _outcome_spec(options: dict[str, Any]) -> dict[str, Any]:
    keys = ["result_code", "result_desc", "delay", *(dest for _, dest, _ in FAULT_FLAGS)]
    return {k: options[k] for k in keys if options.get(k) is not None and options.get(k) is not False}


class Command(C2BCommandMixin, BaseCommand):
    help = "Script outcomes, fire or resend callbacks, tail pushes and C2B payments, reset, count."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="machine-readable output")
        sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        script = sub.add_parser("script", help="script the next outcome for a phone or a CheckoutRequestID")
        target = script.add_mutually_exclusive_group(required=True)
        target.add_argument("--phone", help="2547XXXXXXXX: the next push(es) to it")
        target.add_argument("--checkout", help="a CheckoutRequestID still pending: decide it again now")
        target.add_argument("--api", choices=("oauth", "stkpush", "query"), help="the next call(s) to an API")
        script.add_argument("--times", type=int, default=1, help="how many pushes/calls it applies to")
        script.add_argument("--fault", choices=rules.API_FAULTS, help="with --api: what goes wrong")
        script.add_argument("--seconds", type=float, help="with --api --fault slow: how slow")
        _outcome_flags(script)
        sub.add_parser("scripts", help="list scripts with uses left")
        trigger = sub.add_parser("trigger", help="make a push with a scripted outcome, no client needed")
        trigger.add_argument("--callback-url", required=True)
        trigger.add_argument("--phone", default=rules.TEST_MSISDN)
        trigger.add_argument("--amount", type=int, default=1)
        _outcome_flags(trigger)
        fire = sub.add_parser("fire", help="make a pending push's outcome happen now and send its callbacks")
        fire.add_argument("checkout_request_id")
        fire.add_argument("--code", dest="result_code", help="for a push waiting on a handset (default 0)")
        resend = sub.add_parser("resend", help="replay a stored delivery (same body, same URL) now")
        resend.add_argument("delivery_id", type=int)
        tail = sub.add_parser("tail", help="recent pushes with their deliveries")
        tail.add_argument("--limit", type=int, default=10)
        tail.add_argument("--phone", default="")
        tail.add_argument("--follow", action="store_true", help="keep polling the database for changes")
        tail.add_argument("--interval", type=float, default=1.0)
        tail.add_argument("--max-seconds", type=float, default=600.0, help="stop following after this long")
        sub.add_parser("reset", help="forget every push, delivery, script, token and counter")
        sub.add_parser("counters", help="requests per API, pushes, deliveries")
        sub.add_parser("expire-tokens", help="every live token now gets 404.001.03")
        sub.add_parser("deliver", help="run the delivery jobs once (settle timeouts, send what is due)")
        add_c2b_arguments(sub)

    def handle(self, *args, action: str, **options):
        self.as_json = options["json"]
        try:
            getattr(self, "do_" + action.replace("-", "_"))(options)
        except (rules.ScriptError, scheduler.ScheduleConflict) as exc:
            raise CommandError(str(exc)) from None
        except WireError as exc:
            raise CommandError(f"refused like Daraja would: {exc.error_code} {exc.message}") from None
        except (SimPush.DoesNotExist, SimDelivery.DoesNotExist, SimC2BPayment.DoesNotExist):
            raise CommandError("not found") from None

    # --- output -----------------------------------------------------------------------------
    def emit(self, data: Any, text: str) -> None:
        self.stdout.write(json.dumps(data, indent=2) if self.as_json else text)

    def push_lines(self, push: dict[str, Any]) -> str:
        result = push["result_code"] if push["result_code"] is not None else "waiting for handset"
        faults = f" faults={json.dumps(push['faults'])}" if push["faults"] else ""
        lines = [
            f"{push['created_at'][11:19]}  {push['checkout_request_id']}  {mask_phone(push['phone'])}  "
            f"KES {push['amount']}  → {result} ({push['plan_source']}){faults}"
        ]
        lines += [f"    {self.delivery_line(d)}" for d in push["deliveries"]]
        return "\n".join(lines)

    @staticmethod
    def delivery_line(d: dict[str, Any]) -> str:
        if d["status"] in ("scheduled", "sending", "cancelled"):
            return f"#{d['id']} {d['kind']} {d['status']} (due {d['due_at'][11:19]})"
        outcome = f"HTTP {d['response_status']}" if d["response_status"] else f"error: {d['error']}"
        return f"#{d['id']} {d['kind']} {d['status']} {outcome} in {d['duration_ms']} ms"

    # --- actions ----------------------------------------------------------------------------
    def do_script(self, options):
        spec = _outcome_spec(options)
        if options["api"]:
            if not options["fault"]:
                raise CommandError("--api needs --fault")
            data = {"api": options["api"], "fault": options["fault"], "seconds": options["seconds"]}
            script = scripts.script_create({**data, "times": options["times"]})
        elif options["checkout"]:
            script, _ = scripts.script_for_checkout(options["checkout"], spec, config=sim_config())
        else:
            script = scripts.script_create({"phone": options["phone"], "times": options["times"], **spec})
        data = scripts.script_as_json(script)
        self.emit(data, f"Script #{script.pk} for {script.target} {script.value}: {json.dumps(script.spec)}")

    def do_scripts(self, options):
        live = [scripts.script_as_json(s) for s in SimScript.objects.filter(remaining__gt=0)]
        lines = [
            f"#{s['id']} {s['target']} {s['value']} x{s['remaining']}: {json.dumps(s['spec'])}" for s in live
        ]
        self.emit({"scripts": live}, "\n".join(lines) or "No scripts.")

    def do_trigger(self, options):
        config = sim_config()
        data = {k: options[k] for k in ("phone", "amount")} | {"callback_url": options["callback_url"]}
        outcome = behaviour.push_trigger({**data, **_outcome_spec(options)}, config=config)
        if outcome.early is not None:
            send_delivery(outcome.early.pk, config=config)
        push = push_as_json(SimPush.objects.prefetch_related("deliveries").get(pk=outcome.push.pk))
        self.emit(push, "Triggered:\n" + self.push_lines(push))

    def do_fire(self, options):
        code = rules.parse_result_code(options["result_code"]) if options["result_code"] else None
        checkout_id = options["checkout_request_id"]
        scheduler.push_fire(checkout_id, result_code=code, config=sim_config())
        deliver_push_now(checkout_id)
        push = SimPush.objects.prefetch_related("deliveries").get(checkout_request_id=checkout_id)
        self.emit(push_as_json(push), self.push_lines(push_as_json(push)))

    def do_resend(self, options):
        config = sim_config()
        replay = state.delivery_resend(options["delivery_id"], config=config)
        sent = send_delivery(replay.pk, config=config) or SimDelivery.objects.get(pk=replay.pk)
        data = delivery_as_json(sent)
        self.emit(data, f"Resent #{options['delivery_id']} as {self.delivery_line(data)}")

    def do_tail(self, options):
        pushes = [push_as_json(p) for p in pushes_recent(limit=options["limit"], phone=options["phone"])]
        pushes.reverse()  # oldest first, like a log
        for push in pushes:
            self.emit(push, self.push_lines(push))
        if not pushes and not self.as_json:
            self.stdout.write("No pushes yet.")
        if options["follow"]:
            self.follow(pushes, options)

    def follow(self, pushes: list[dict[str, Any]], options) -> None:
        """Poll the database; print new pushes and delivery changes. Bounded by --max-seconds."""
        seen = {d["id"]: d["status"] for p in pushes for d in p["deliveries"]}
        last_id = max((p["id"] for p in pushes), default=0)
        deadline = time.monotonic() + max(0.0, min(options["max_seconds"], 86_400))
        if not self.as_json:
            self.stdout.write(f"Following (up to {options['max_seconds']:.0f} s; Ctrl-C to stop)…")
        try:
            while time.monotonic() < deadline:
                time.sleep(max(0.1, options["interval"]))
                for push in list(pushes_recent(limit=50, phone=options["phone"], after_id=last_id))[::-1]:
                    data = push_as_json(push)
                    last_id = max(last_id, push.pk)
                    seen.update({d["id"]: d["status"] for d in data["deliveries"]})
                    self.emit(data, self.push_lines(data))
                changed = SimDelivery.objects.filter(pk__in=list(seen)).exclude(status__in=["scheduled"])
                news = SimDelivery.objects.filter(push_id__lte=last_id).exclude(pk__in=list(seen))
                for delivery in [*changed, *news.filter(push__phone__contains=options["phone"])]:
                    if seen.get(delivery.pk) != delivery.status:
                        seen[delivery.pk] = delivery.status
                        data = delivery_as_json(delivery)
                        self.emit(data, f"    {self.delivery_line(data)}")
        except KeyboardInterrupt:
            pass

    def do_reset(self, options):
        deleted = state.reset_state()
        self.emit({"deleted": deleted}, "Reset: " + ", ".join(f"{n} {k}" for k, n in deleted.items()))

    def do_counters(self, options):
        data = state.counters()
        self.emit(data, "\n".join(f"{k:22} {v}" for k, v in data.items()))

    def do_expire_tokens(self, options):
        n = tokens.tokens_expire_all()
        self.emit({"expired": n}, f"Expired {n} token(s): the next business call gets 404.001.03.")

    def do_deliver(self, options):
        n = deliver_due() + c2b_deliver_due()
        self.emit({"handled": n}, f"Handled {n} job(s).")
