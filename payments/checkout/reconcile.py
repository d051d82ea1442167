"""The reconciler: STK Query for payments still open after a while (callbacks are
at-most-once, daraja-reference.md §6.4). Answers settle through the same
``payment_apply_result`` as callbacks, with ``source="query"``.

- "still processing" (4999 / 500.001.1001, §4.3) and query errors change nothing; the next
  check is scheduled with exponential backoff;
- past ``PAYMENTS_RECONCILE_MAX_AGE_SECONDS`` an open payment goes to ``needs_review`` with
  a logged alert (an ``unknown`` payment without CheckoutRequestID can only get there, or be
  settled by a callback through its own URL).
"""

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from mpesa_plumbing.jobs import claim_due
from mpesa_plumbing.logs import mask_phone

from ..daraja.errors import DarajaError
from ..models import Payment, PaymentEvent
from ..prepared import event_add
from .callbacks import callbacks_complete_unconfirmed
from .confirm import NOT_ASKED, stk_query
from .settle import payment_apply_result
from .transitions import payment_transition

logger = logging.getLogger("payments.reconcile")
S = Payment.Status
LEASE_SECONDS = 60


@dataclass(frozen=True)
class Decision:
    payment: str
    action: str  # settled | pending | error | review | skipped
    detail: str


def _backoff(attempts: int) -> timedelta:
    base = settings.PAYMENTS_RECONCILE_BACKOFF_SECONDS
    return timedelta(
        seconds=min(base * 2 ** max(0, attempts - 1), settings.PAYMENTS_RECONCILE_BACKOFF_MAX_SECONDS)
    )


def _reschedule(payment: Payment, attempts: int, *, at_least: float | None = None) -> None:
    """Next check after the backoff for ``attempts``, or later if Daraja asked us to wait."""
    wait = max(_backoff(attempts), timedelta(seconds=at_least or 0))
    Payment.objects.filter(pk=payment.pk).update(
        check_attempts=attempts, next_check_at=timezone.now() + wait, check_lease_until=None
    )


def _give_up(payment: Payment) -> Decision:
    reason = "no final answer from Daraja within the reconciliation window"
    with transaction.atomic():
        won = payment_transition(
            payment,
            allowed_from=Payment.OPEN_STATUSES,
            to=S.NEEDS_REVIEW,
            source=Payment.Source.QUERY,
            review_reason=reason,
            next_check_at=None,
            check_lease_until=None,
        )
    logger.error(
        "ALERT payment needs review: %s",
        reason,
        extra={
            "event": "reconcile.gave_up",
            "payment": str(payment.public_id),
            "checkout_request_id": payment.checkout_request_id or "",
            "phone": mask_phone(payment.phone),
        },
    )
    return Decision(str(payment.public_id), "review" if won else "skipped", reason)


def payment_reconcile(payment: Payment) -> Decision:
    """Query Daraja once for ``payment`` and act on the answer. Safe to call any time."""
    payment.refresh_from_db()
    pid = str(payment.public_id)
    if payment.status not in Payment.OPEN_STATUSES:
        Payment.objects.filter(pk=payment.pk).update(next_check_at=None, check_lease_until=None)
        return Decision(pid, "skipped", f"already {payment.status}")
    max_age = timedelta(seconds=settings.PAYMENTS_RECONCILE_MAX_AGE_SECONDS)
    if timezone.now() - payment.created_at > max_age:
        return _give_up(payment)
    attempts = payment.check_attempts + 1
    if not payment.checkout_request_id:
        _reschedule(payment, attempts)
        return Decision(pid, "pending", "no CheckoutRequestID: only its callback can settle it")
    try:
        answer = stk_query(payment.checkout_request_id)
    except DarajaError as exc:
        event_add(
            payment.pk,
            PaymentEvent.Kind.QUERY,
            source=Payment.Source.QUERY,
            detail={"error_code": exc.error_code, "error": exc.error_message[:200]},
        )
        _reschedule(payment, attempts)
        logger.warning("query failed: %s", exc.error_code, extra={"event": "reconcile.error", "payment": pid})
        return Decision(pid, "error", f"{exc.error_code} {exc.error_message}"[:200])
    if answer.result_desc == NOT_ASKED:  # spread under Daraja's rate limit: not an attempt
        _reschedule(payment, payment.check_attempts, at_least=answer.retry_after)
        return Decision(pid, "pending", NOT_ASKED)
    event_add(
        payment.pk,
        PaymentEvent.Kind.QUERY,
        source=Payment.Source.QUERY,
        detail={"result_code": answer.result_code, "result_desc": answer.result_desc[:200]},
    )
    if answer.pending:  # 4999, being processed, asked too early, rate limited (§4.3, §13.4)
        _reschedule(payment, attempts, at_least=answer.retry_after)
        return Decision(pid, "pending", f"not yet: {answer.result_desc}"[:200])
    applied = payment_apply_result(payment=payment, result=answer, source=Payment.Source.QUERY)
    Payment.objects.filter(pk=payment.pk).update(
        check_attempts=attempts, next_check_at=None, check_lease_until=None
    )
    if answer.is_success:
        callbacks_complete_unconfirmed(payment)
    logger.info(
        "reconciled: %s (%s)",
        applied.outcome,
        answer.result_code,
        extra={"event": "reconcile." + applied.outcome, "payment": pid},
    )
    return Decision(pid, "settled", f"{answer.result_code}: {applied.outcome}")


def payments_reconcile_due(*, limit: int = 20) -> int:
    """Job source: claim payments whose check is due and reconcile each."""
    due = Payment.objects.filter(status__in=Payment.OPEN_STATUSES, next_check_at__isnull=False)
    ids = claim_due(
        due,
        due_field="next_check_at",
        lease_field="check_lease_until",
        lease_seconds=LEASE_SECONDS,
        limit=limit,
    )
    if not ids:
        return 0
    for payment in Payment.objects.filter(pk__in=ids):
        payment_reconcile(payment)
    return len(ids)


def payments_reconcile_stale(*, older_than: timedelta) -> list[Decision]:
    """Manual sweep (``manage.py payments_reconcile``): every open payment older than
    ``older_than``, due or not."""
    cutoff = timezone.now() - older_than
    return [
        payment_reconcile(p)
        for p in Payment.objects.filter(status__in=Payment.OPEN_STATUSES, created_at__lt=cutoff)
    ]
