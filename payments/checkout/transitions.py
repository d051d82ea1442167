"""The one transition primitive and the local-deadline sweep."""

import logging
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from mpesa_plumbing.logs import mask_phone

from ..live.broadcast import broadcast_after_commit
from ..models import Payment, PaymentEvent
from ..prepared import event_add, rows_update
from ..signals import signal_for

logger = logging.getLogger("payments")
S = Payment.Status
_CAS_ATTEMPTS = 6


def payment_transition(
    payment: Payment,
    *,
    allowed_from: Iterable[str],
    to: str,
    source: str,
    detail: dict[str, Any] | None = None,
    **fields: Any,
) -> str | None:
    """Move ``payment`` to ``to`` if its current status is in ``allowed_from``.

    A compare-and-swap on the exact current status (re-read and retried while it stays
    allowed), so the winner knows what it replaced. Returns the previous status when this
    call won, None when the payment was elsewhere (duplicate, late, or lost the race).
    Records a timeline event and schedules the browser push for after commit.
    """
    allowed = set(allowed_from)
    current = payment.status
    for _ in range(_CAS_ATTEMPTS):
        if current not in allowed:
            return None
        now = timezone.now()
        updated = rows_update(
            Payment,
            where={"pk": payment.pk, "status": current},
            values={"status": to, "updated_at": now, **fields},
            increment="version",
        )
        if updated:
            event_add(
                payment.pk,
                PaymentEvent.Kind.STATE,
                source=source,
                from_status=current,
                to_status=to,
                detail=detail or {},
            )
            broadcast_after_commit(payment.pk, signal=signal_for(to))
            logger.info(
                "payment %s -> %s",
                current,
                to,
                extra={
                    "event": "payment.transition",
                    "payment": str(payment.public_id),
                    "checkout_request_id": payment.checkout_request_id or "",
                    "phone": mask_phone(payment.phone),
                    "source": source,
                    "from_status": current,
                    "to_status": to,
                },
            )
            payment.status = to
            return current
        current = Payment.objects.filter(pk=payment.pk).values_list("status", flat=True).first()
    return None


def payments_expire_overdue(*, phone: str | None = None) -> int:
    """Apply local deadlines: a push stuck in ``initiating`` (the process died mid-call)
    becomes ``unknown``; ``pending``/``unknown`` past ``expires_at`` become ``expired``
    (still reconcilable). Idempotent; returns how many payments moved."""
    now = timezone.now()
    stuck_after = settings.DARAJA_CONNECT_TIMEOUT + 2 * settings.DARAJA_READ_TIMEOUT + 30
    base = Payment.objects.all() if phone is None else Payment.objects.filter(phone=phone)
    moved = 0
    stuck = Q(status=S.INITIATING, created_at__lt=now - timedelta(seconds=stuck_after))
    overdue = Q(status__in=[S.PENDING, S.UNKNOWN], expires_at__lt=now)
    if not base.filter(stuck | overdue).exists():  # the usual answer, once a second: one narrow read
        return 0
    for payment in base.filter(stuck):
        with transaction.atomic():
            if payment_transition(
                payment,
                allowed_from=[S.INITIATING],
                to=S.UNKNOWN,
                source=Payment.Source.EXPIRY,
                detail={"reason": "push never answered (process stopped mid-call?)"},
                error_message="The push call did not complete; outcome unknown.",
                next_check_at=now,
            ):
                moved += 1
    for payment in base.filter(overdue):
        with transaction.atomic():
            if payment_transition(
                payment,
                allowed_from=[S.PENDING, S.UNKNOWN],
                to=S.EXPIRED,
                source=Payment.Source.EXPIRY,
                detail={"reason": "local deadline passed without an answer"},
            ):
                moved += 1
    return moved


def payment_stop_by_customer(payment: Payment) -> bool:
    """The customer stopped this attempt on the page ("Wrong number?"). Daraja cannot take a
    prompt back, so this only frees the phone and the payable for a new attempt: a success
    callback that still arrives wins (money moved) and is flagged for a person."""
    with transaction.atomic():
        return bool(
            payment_transition(
                payment,
                allowed_from=Payment.LIVE_STATUSES,
                to=S.CANCELLED,
                source=Payment.Source.CUSTOMER,
                detail={"reason": "stopped by the customer (wrong number?)"},
                settled_by=Payment.Source.CUSTOMER,
                settled_at=timezone.now(),
            )
        )
