"""When C2B callbacks happen (§14.9): a payment becomes due SimC2BCallback rows, and the
answer to its Validation decides whether a Confirmation follows.

- No URLs registered: M-Pesa "automatically completes the request", nothing is POSTed.
- Validation off (SIMULATOR_C2B_VALIDATION=off, no ValidationURL, or fault no_validation):
  completed, one Confirmation.
- Otherwise a Validation first; accepted → Confirmation; rejected → cancelled, nothing more;
  no answer within the budget (or a non-200, or no ResultCode) → ResponseType decides:
  Completed → Confirmation, Cancelled → cancelled.

Callers hold a transaction; nothing here sends anything (c2b_delivery.py does).
"""

from datetime import datetime, timedelta
from functools import partial

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from mpesa_plumbing import jobs

from .. import live_index
from ..conf import SimConfig
from ..handset import presence
from ..models import SimC2BCallback, SimC2BPayment, SimC2BRegistration
from ..wire.c2b_bodies import (
    NO_ANSWER,
    REJECTED,
    Notification,
    Verdict,
    money,
    notification_body,
    render_msisdn,
)
from .c2b_faults import C2BFaults

CB = SimC2BCallback
P = SimC2BPayment.Status


def _notification(payment: SimC2BPayment, *, balance: str, config: SimConfig) -> str:
    c2b = config.c2b
    return notification_body(
        Notification(
            transaction_type=payment.transaction_type,
            trans_id=payment.trans_id,
            trans_time=payment.trans_time,
            amount=payment.amount,
            shortcode=payment.shortcode,
            bill_ref_number=payment.bill_ref_number,
            msisdn=render_msisdn(payment.msisdn, c2b.msisdn_mode, payment.version),
            org_balance=balance,
            third_party_trans_id=payment.third_party_trans_id,
            names=c2b.names,
        )
    )


def _faults(payment: SimC2BPayment) -> C2BFaults:
    return C2BFaults(**payment.faults)


def _announce(payment: SimC2BPayment) -> None:
    """Open index pages and the payer's handset pages learn the new state (after commit)."""
    live_index.announce_c2b(payment.pk)
    transaction.on_commit(partial(presence.notify_c2b_sync, payment.msisdn, presence.c2b_payload(payment)))


def announce_after_attempt(payment: SimC2BPayment) -> None:
    """A Confirmation attempt ended: its answer shows on open index pages."""
    live_index.announce_c2b(payment.pk)


def schedule(payment: SimC2BPayment, *, config: SimConfig) -> list[SimC2BCallback]:
    """A new payment (saved, with the registration copied in): its first POST, or none."""
    due = payment.created_at + timedelta(seconds=config.c2b.delay)
    if not payment.confirmation_url:  # §14.9: no URLs registered → completed, nothing sent
        return complete(payment, decided_by="no URLs registered", due=due, config=config)
    faults = _faults(payment)
    if config.c2b.validation and payment.validation_url and not faults.no_validation:
        row = CB.objects.create(
            payment=payment,
            kind=CB.Kind.VALIDATION,
            due_at=due,
            url=payment.validation_url,
            body=_notification(payment, balance="", config=config),  # §14.6: "usually blank"
        )
        _announce(payment)
        return [row]
    reason = "validation skipped (fault)" if faults.no_validation else "validation off"
    return complete(payment, decided_by=reason, due=due, config=config)


def complete(
    payment: SimC2BPayment,
    *,
    decided_by: str,
    due: datetime,
    config: SimConfig,
    verdict: Verdict | None = None,
) -> list[SimC2BCallback]:
    """The money moves: the shortcode's balance goes up and the Confirmation(s) are due."""
    registration = SimC2BRegistration.objects.filter(shortcode=payment.shortcode)
    registration.update(org_balance=F("org_balance") + payment.amount)
    balance = registration.values_list("org_balance", flat=True).first()
    payment.org_balance = money(balance if balance is not None else payment.amount)
    payment.status = P.COMPLETED
    _decided(payment, decided_by, verdict)
    if verdict is not None and verdict.third_party_trans_id and config.c2b.echo_third_party_trans_id:
        payment.third_party_trans_id = verdict.third_party_trans_id  # §14.9, documented echo
    payment.save()
    _announce(payment)
    faults = _faults(payment)
    if not payment.confirmation_url or faults.lost_confirmation:
        return []
    body = _notification(payment, balance=payment.org_balance, config=config)
    gap = timedelta(seconds=config.duplicate_gap)
    rows = [
        CB(
            payment=payment,
            kind=CB.Kind.CONFIRMATION if n == 0 else CB.Kind.DUPLICATE,
            due_at=due + n * gap,
            url=payment.confirmation_url,
            body=body,
        )
        for n in range(faults.duplicates)
    ]
    created = CB.objects.bulk_create(rows)
    if due <= timezone.now() + timedelta(seconds=1):
        transaction.on_commit(jobs.wake)
    return created


def _decided(payment: SimC2BPayment, decided_by: str, verdict: Verdict | None) -> None:
    payment.decided_by = decided_by[:64]
    payment.decided_at = timezone.now()
    if verdict is not None and verdict.outcome == REJECTED:
        payment.result_code, payment.result_desc = verdict.result_code, verdict.result_desc


def cancel(payment: SimC2BPayment, *, decided_by: str, verdict: Verdict | None = None) -> None:
    """The payment is cancelled: no money moves, no Confirmation (§14.9)."""
    payment.status = P.CANCELLED
    _decided(payment, decided_by, verdict)
    payment.save()
    _announce(payment)


def after_validation(row: SimC2BCallback, verdict: Verdict, *, config: SimConfig) -> None:
    """The Validation POST of ``row`` ended (answered, refused, timed out, interrupted):
    decide its payment, once (the payment row is locked; a decided payment stays decided)."""
    with transaction.atomic():
        payment = (
            SimC2BPayment.objects.select_for_update().filter(pk=row.payment_id, status=P.VALIDATING).first()
        )
        if payment is None:
            return
        now = timezone.now()
        if verdict.outcome == REJECTED:
            return cancel(payment, decided_by=f"validation rejected: {verdict.reason}", verdict=verdict)
        if verdict.outcome == NO_ANSWER:
            if payment.response_type != "Completed":
                return cancel(payment, decided_by=f"no validation answer ({verdict.reason}): Cancelled")
            complete(
                payment,
                decided_by=f"no validation answer ({verdict.reason}): Completed",
                due=now,
                config=config,
            )
            return
        complete(payment, decided_by="validation accepted", due=now, config=config, verdict=verdict)
