"""Settlement: apply a callback, query or Pay Bill (C2B) result to a payment, exactly once.

Rules (ARCHITECTURE.md, state machine):
- ``paid`` is absorbing: nothing moves a paid payment; contradictions are flagged.
- a *verified* success (callback with receipt, our amount, our shortcode) wins over any
  non-paid state, because money moved; a query success (no receipt, §4.2) settles only an
  open payment, and contradicting a stored failure it goes to review instead;
- failures settle only open payments; the first final answer stands;
- the credit always uses OUR amount, never the message's (reliability-catalogue P4).
"""

import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from mpesa_plumbing.logs import mask_phone

from ..daraja.payloads import StkResult
from ..live.broadcast import broadcast_after_commit
from ..models import C2BPayment, CallbackRecord, Payment, PaymentEvent
from ..payables import PayableRefused, payable_for_update
from ..prepared import event_add, rows_update
from ..results import status_for_result_code
from .transitions import payment_transition

logger = logging.getLogger("payments")
S = Payment.Status
O = CallbackRecord.Outcome  # noqa: E741
NOT_PAID = [s for s in S.values if s != S.PAID]
# Answers that carry a receipt and an amount (money moved): an STK callback, a C2B
# confirmation. A query carries neither (§4.2).
VERIFIED_SOURCES = (Payment.Source.CALLBACK, Payment.Source.C2B)


@dataclass(frozen=True)
class Applied:
    outcome: str  # a CallbackRecord.Outcome value
    detail: str
    payment: Payment


def _success_problems(payment: Payment, result: StkResult, shortcode: str | None) -> list[str]:
    """Why a success callback cannot be trusted as-is (§6.2; catalogue B4, B7)."""
    problems = list(result.problems)
    if not result.has_metadata:
        problems.append("success without CallbackMetadata")
    if not result.receipt_number:
        problems.append("success without MpesaReceiptNumber")
    if result.amount is None:
        problems.append("success without Amount")
    elif result.amount != payment.amount:
        problems.append(f"amount mismatch: callback {result.amount}, expected {payment.amount}")
    if shortcode and shortcode.strip() != str(settings.DARAJA_SHORTCODE):
        problems.append(f"shortcode mismatch: callback {shortcode.strip()[:12]!r}")
    return problems


def payment_flag(payment: Payment, reason: str, source: str) -> None:
    """Record a contradiction on a payment without changing its status (reasons accumulate)."""
    current = Payment.objects.filter(pk=payment.pk).values_list("review_reason", flat=True).get()
    combined = "; ".join(r for r in (current, reason) if r)[:255]
    Payment.objects.filter(pk=payment.pk).update(
        flagged=True, review_reason=combined, updated_at=timezone.now()
    )
    event_add(payment.pk, PaymentEvent.Kind.NOTE, source=source, detail={"flag": reason})
    logger.warning(
        "payment flagged: %s",
        reason,
        extra={"event": "payment.flagged", "payment": str(payment.public_id), "source": source},
    )


def _payable_changed(payment: Payment, payable) -> str | None:
    """Why the payable can no longer take this payment as charged: gone, or (for a fixed
    amount) its amount changed since the prompt."""
    if payable is None:
        return "its payable no longer exists"
    if not payable.payable_open_amount and payable.payable_amount() != payment.amount:
        return f"the payable's amount changed since the prompt (KES {payment.amount} charged)"
    return None


def _release(payment: Payment, payable, source: str) -> None:
    """The paid payment's effect, in the winner's transaction: the payable's ``payable_paid``
    (a ledger credit, an order marked paid, a fee held in escrow). A refusal keeps the payment
    paid (money moved) and flags it for a person."""
    if payable is None:
        payment_flag(payment, "its payable no longer exists: refund or reconcile", source)
        return
    try:
        with transaction.atomic():  # a savepoint: a refused effect leaves the settlement whole
            payable.payable_paid(payment)
    except PayableRefused as exc:
        payment_flag(payment, str(exc), source)


def _paid_phone(payment: Payment, result: StkResult, source: str) -> str:
    """The number that paid: the callback's when it is a number; else (§13.1: masked, hashed
    or absent) the prompted one for an STK payment, and nobody's for a menu payment."""
    if result.phone:
        return result.phone
    return "" if source == Payment.Source.C2B else payment.phone


def _apply_success(payment: Payment, result: StkResult, source: str, shortcode: str | None) -> Applied:
    # The payable, locked for the settlement (lock order: payment, then payable); read once.
    payable = payable_for_update(payment) if payment.status != S.PAID else None
    changed = _payable_changed(payment, payable) if payment.status != S.PAID else None
    if changed and source not in VERIFIED_SOURCES and payment.status in Payment.OPEN_STATUSES:
        won = payment_transition(
            payment,
            allowed_from=Payment.OPEN_STATUSES,
            to=S.NEEDS_REVIEW,
            source=source,
            detail={"reason": changed},
            result_code=result.result_code,
            result_desc=result.result_desc,
            review_reason=changed[:255],
            settled_by=source,
            settled_at=timezone.now(),
        )
        return Applied(O.REVIEW if won else O.DUPLICATE, changed, payment)
    if source in VERIFIED_SOURCES:
        problems = _success_problems(payment, result, shortcode) + ([changed] if changed else [])
        if problems:
            reason = "; ".join(problems)
            if payment.status == S.PAID:
                payment_flag(payment, f"unverifiable success after paid: {reason}", source)
                return Applied(O.CONTRADICTION, reason, payment)
            won = payment_transition(
                payment,
                allowed_from=[s for s in NOT_PAID if s != S.NEEDS_REVIEW],
                to=S.NEEDS_REVIEW,
                source=source,
                detail={"reason": reason},
                result_code=result.result_code,
                result_desc=result.result_desc,
                review_reason=reason[:255],
                settled_by=source,
                settled_at=timezone.now(),
            )
            return Applied(O.REVIEW if won else O.DUPLICATE, reason, payment)
        allowed = NOT_PAID
    else:
        # A query carries no receipt or amount: it may settle an open payment only.
        allowed = list(Payment.OPEN_STATUSES)

    fields = {
        "result_code": result.result_code,
        "result_desc": result.result_desc,
        "settled_by": source,
        "settled_at": timezone.now(),
    }
    if result.receipt_number:
        fields.update(
            receipt_number=result.receipt_number,
            transaction_date=result.transaction_date,
            paid_phone=_paid_phone(payment, result, source),
        )
    previous = payment_transition(payment, allowed_from=allowed, to=S.PAID, source=source, **fields)
    if previous:
        _release(payment, payable, source)
        if source == Payment.Source.CALLBACK and settings.PAYMENTS_PAYBILL:
            # An STK payment may also produce a C2B confirmation (§14.10.4), perhaps first.
            rows_update(
                C2BPayment,
                where={"trans_id": result.receipt_number, "state": C2BPayment.State.REVIEW, "payment": None},
                values={
                    "state": C2BPayment.State.STK_RECEIPT,
                    "payment": payment,
                    "resolved_at": timezone.now(),
                },
            )
        if previous not in Payment.OPEN_STATUSES and source != Payment.Source.C2B:
            # (from the menu after a timed-out prompt is the Pay Bill fallback working)
            payment_flag(payment, f"success arrived after {previous}: money moved, success wins", source)
        if result.phone and result.phone != payment.phone:
            logger.warning(
                "paid from a different phone",
                extra={
                    "event": "payment.phone_mismatch",
                    "payment": str(payment.public_id),
                    "phone": mask_phone(result.phone),
                },
            )
        return Applied(O.APPLIED, f"{previous} -> paid", payment)

    payment.refresh_from_db()
    if payment.status != S.PAID:  # a query success contradicting a stored failure
        won = payment_transition(
            payment,
            allowed_from=[S.CANCELLED, S.TIMED_OUT, S.FAILED, S.REJECTED],
            to=S.NEEDS_REVIEW,
            source=source,
            review_reason=f"{source} says paid after {payment.status}",
        )
        return Applied(
            O.CONTRADICTION if won else O.DUPLICATE, f"{source} success vs {payment.status}", payment
        )
    if not result.receipt_number or result.receipt_number == payment.receipt_number:
        return Applied(O.DUPLICATE, "already paid", payment)
    if payment.receipt_number is None:
        # Settled by query earlier (no receipt): the late callback completes it (issue: never-lose).
        done = Payment.objects.filter(pk=payment.pk, receipt_number__isnull=True).update(
            receipt_number=result.receipt_number,
            transaction_date=result.transaction_date,
            paid_phone=_paid_phone(payment, result, source),
            version=F("version") + 1,
            updated_at=timezone.now(),
        )
        if done:
            event_add(
                payment.pk,
                PaymentEvent.Kind.NOTE,
                source=source,
                detail={"completed": "receipt added to a query-settled payment"},
            )
            broadcast_after_commit(payment.pk)
            return Applied(O.COMPLETED, "receipt added", payment)
        return Applied(O.DUPLICATE, "already completed", payment)
    payment_flag(payment, f"second receipt {result.receipt_number} for a paid payment", source)
    return Applied(O.CONTRADICTION, "different receipt", payment)


def _apply_failure(payment: Payment, result: StkResult, source: str) -> Applied:
    target = status_for_result_code(result.result_code)
    previous = payment_transition(
        payment,
        allowed_from=Payment.OPEN_STATUSES,
        to=target,
        source=source,
        detail={"result_code": result.result_code},
        result_code=result.result_code,
        result_desc=result.result_desc,
        settled_by=source,
        settled_at=timezone.now(),
    )
    if previous:
        return Applied(O.APPLIED, f"{previous} -> {target}", payment)
    payment.refresh_from_db()
    if payment.status == target and payment.result_code == result.result_code:
        return Applied(O.DUPLICATE, "same final answer again", payment)
    if payment.status == S.PAID and payment.settled_by == Payment.Source.C2B:
        # The customer paid from the menu and then the prompt timed out or was cancelled.
        return Applied(O.DUPLICATE, f"{result.result_code} after a Pay Bill payment (ignored)", payment)
    if payment.status == S.PAID:
        payment_flag(payment, f"{source} reported {result.result_code} after paid (ignored)", source)
    return Applied(O.CONTRADICTION, f"{result.result_code} after {payment.status}", payment)


def payment_apply_result(
    *, payment: Payment, result: StkResult, source: str, shortcode: str | None = None, fresh: bool = False
) -> Applied:
    """Settle ``payment`` from a callback or query result. Idempotent and race-safe: one
    winner per transition, one credit per payment (DB-enforced). Pending answers change
    nothing. ``shortcode`` is the callback's BusinessShortCode header, when present.
    ``fresh``: the caller read ``payment`` inside its own open transaction (not re-read)."""
    if result.pending:
        return Applied(O.DUPLICATE, "still processing", payment)
    try:
        with transaction.atomic():
            if not fresh:
                payment = Payment.objects.get(pk=payment.pk)  # fresh, inside the transaction
            if payment.checkout_request_id is None and result.checkout_request_id:
                # The callback beat the push response (§9.10): adopt its id now.
                Payment.objects.filter(pk=payment.pk, checkout_request_id__isnull=True).update(
                    checkout_request_id=result.checkout_request_id
                )
                payment.checkout_request_id = result.checkout_request_id
            if result.is_success:
                return _apply_success(payment, result, source, shortcode)
            return _apply_failure(payment, result, source)
    except IntegrityError as exc:
        # Unique receipt / ledger / CheckoutRequestID: a concurrent winner or a reused
        # receipt. Nothing was written (the transaction rolled back).
        logger.warning(
            "settlement refused by a constraint: %s",
            exc.__class__.__name__,
            extra={"event": "payment.integrity", "payment": str(payment.public_id)},
        )
        payment.refresh_from_db()
        if payment.status == S.PAID and payment.receipt_number == result.receipt_number:
            return Applied(O.DUPLICATE, "concurrent duplicate", payment)
        reason = "receipt number already used by another payment"
        with transaction.atomic():
            won = payment_transition(
                payment,
                allowed_from=[s for s in NOT_PAID if s != S.NEEDS_REVIEW],
                to=S.NEEDS_REVIEW,
                source=source,
                review_reason=reason,
            )
        return Applied(O.REVIEW if won else O.CONTRADICTION, reason, payment)


def payment_mark_reviewed(*, payment: Payment, note: str = "") -> None:
    """An operator looked at a flagged/needs-review payment (admin action)."""
    Payment.objects.filter(pk=payment.pk).update(
        reviewed_at=timezone.now(), flagged=False, updated_at=timezone.now()
    )
    event_add(
        payment.pk,
        PaymentEvent.Kind.NOTE,
        source=Payment.Source.ADMIN,
        detail={"reviewed": note[:200]},
    )
