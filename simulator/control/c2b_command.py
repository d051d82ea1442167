"""The C2B actions of ``manage.py simulator`` (a mixin of its Command, kept here so the
command module stays small): c2b-pay, c2b-list, c2b-deliver, c2b-registrations."""

from typing import Any

from ..c2b_delivery import deliver_payment_now
from ..c2b_selectors import c2b_payment_as_json, c2b_recent, registration_as_json, with_callbacks
from ..conf import sim_config
from ..models import SimC2BRegistration
from . import c2b_actions


def add_c2b_arguments(sub) -> None:
    pay = sub.add_parser("c2b-pay", help="a customer pays a paybill/till (C2B), as the simulate API does")
    pay.add_argument("--phone", help="the paying MSISDN (default: the sandbox test MSISDN)")
    pay.add_argument("--account", help="the account number, exactly as typed (paybills)")
    pay.add_argument("--amount", type=int, default=1)
    pay.add_argument("--shortcode", help="default: the first paybill of SIMULATOR_C2B_SHORTCODES")
    pay.add_argument("--mistype", action="store_true", help="the customer mistypes the account number")
    pay.add_argument("--overpay", type=int, default=0, help="the customer pays N shillings more")
    pay.add_argument("--lost-confirmation", action="store_true", help="no Confirmation is ever POSTed")
    pay.add_argument("--duplicates", type=int, help="POST the Confirmation N times")
    pay.add_argument("--slow-validation", action="store_true", help="the validation answer comes too late")
    pay.add_argument("--no-validation", action="store_true", help="a Confirmation without a Validation")
    pay.add_argument("--now", action="store_true", help="send its POSTs now, from this process")
    listing = sub.add_parser(
        "c2b-list", help="recent C2B payments with their validation/confirmation attempts"
    )
    listing.add_argument("--limit", type=int, default=10)
    listing.add_argument("--phone", default="")
    deliver = sub.add_parser("c2b-deliver", help="send a C2B payment's scheduled POSTs now")
    deliver.add_argument("trans_id")
    sub.add_parser("c2b-registrations", help="registered C2B URLs per shortcode")


class C2BCommandMixin:
    def payment_lines(self, p: dict[str, Any]) -> str:
        account = f" account {p['bill_ref_number']!r}" if p["bill_ref_number"] else ""
        lines = [
            f"{p['created_at'][11:19]}  {p['trans_id']}  {p['phone']} → {p['shortcode']}{account}  "
            f"KES {p['amount']}  {p['status']}" + (f" ({p['decided_by']})" if p["decided_by"] else "")
        ]
        for c in p["callbacks"]:
            if c["status"] in ("scheduled", "sending", "cancelled"):
                lines.append(f"    #{c['id']} {c['kind']} {c['status']} (due {c['due_at'][11:19]})")
            else:
                outcome = f"HTTP {c['response_status']}" if c["response_status"] else f"error: {c['error']}"
                verdict = f" → {c['verdict']}" if c["verdict"] else ""
                lines.append(f"    #{c['id']} {c['kind']} {c['status']} {outcome}{verdict}")
        return "\n".join(lines)

    def do_c2b_pay(self, options):
        data = {
            key: options[key]
            for key in ("phone", "account", "amount", "shortcode", "overpay", "duplicates")
            if options.get(key) is not None
        }
        for flag in ("mistype", "lost_confirmation", "slow_validation", "no_validation"):
            if options.get(flag):
                data[flag] = True
        payment = c2b_actions.c2b_pay(data, config=sim_config())
        if options["now"]:
            deliver_payment_now(payment.trans_id)
        shown = c2b_payment_as_json(with_callbacks().get(pk=payment.pk))
        self.emit(shown, "Paid:\n" + self.payment_lines(shown))

    def do_c2b_list(self, options):
        rows = [c2b_payment_as_json(p) for p in c2b_recent(limit=options["limit"], phone=options["phone"])]
        rows.reverse()  # oldest first, like a log
        if self.as_json:
            self.emit({"payments": rows}, "")
            return
        self.stdout.write("\n".join(self.payment_lines(p) for p in rows) or "No C2B payments yet.")

    def do_c2b_deliver(self, options):
        sent = deliver_payment_now(options["trans_id"])
        shown = c2b_payment_as_json(with_callbacks().get(trans_id=options["trans_id"]))
        self.emit({"sent": sent, "payment": shown}, f"Sent {sent}:\n" + self.payment_lines(shown))

    def do_c2b_registrations(self, options):
        rows = [registration_as_json(r) for r in SimC2BRegistration.objects.all()]
        lines = [
            f"{r['shortcode']} {r['version']} {r['response_type']}: confirmation {r['confirmation_url']}, "
            f"validation {r['validation_url'] or 'none'} (balance {r['org_balance']})"
            for r in rows
        ]
        self.emit({"registrations": rows}, "\n".join(lines) or "No C2B registrations.")
