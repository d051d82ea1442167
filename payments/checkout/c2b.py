"""Payments from the M-Pesa menu (Pay Bill, C2B): validate, store raw, match, settle, review.

A customer whose prompt never came pays with Lipa na M-Pesa → Pay Bill → our business number
→ the payment's own account number (``paybill_account``) → the amount. Daraja then POSTs a
Validation (only if Safaricom enabled it on the shortcode) and a Confirmation (the money has
moved) to the URLs ``manage.py mpesa register-urls`` registered (daraja-reference.md §14).

- Validation answers within Daraja's ~8 s budget, reading only: unknown or closed account
  numbers and wrong amounts are rejected with the documented ``C2B000xx`` codes (§14.9).
- Confirmation: the raw body is committed first (``CallbackRecord``), then one
  ``C2BPayment`` per receipt (``TransID``, unique in the database), then it is matched by
  account number and amount and settled through the same settlement as an STK success
  (``payment_apply_result``, source ``c2b``): one winner, one credit, the same live frames.
- Anything that does not fit exactly (an unknown account, under- or over-payment, a payment
  already paid, an account past its window, pennies) waits in the review queue
  (``C2BPayment.state = review``, the admin's "Pay Bill payments"), where staff attach it to
  a payment or mark it refunded. The MSISDN is stored as sent and never used to find anything.
"""

import logging
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from ..daraja import c2b as wire
from ..daraja.payloads import StkResult
from ..models import C2BPayment, CallbackRecord, Payment, PaymentEvent
from ..paybill import paybill_open, read_paybill_account
from ..prepared import event_add
from .callbacks import callback_store, recorded_when_refused
from .settle import payment_apply_result, payment_flag

logger = logging.getLogger("payments.c2b")
S = Payment.Status
ST = C2BPayment.State
O = CallbackRecord.Outcome  # noqa: E741
K = CallbackRecord.Kind


@dataclass(frozen=True)
class Verdict:
    """What a Validation is answered: ``wire.ACCEPT`` or a ``wire.reject(code)``, and why."""

    answer: dict
    reason: str


def _payment_for(typed: str) -> Payment | None:
    account = read_paybill_account(typed)
    return Payment.objects.filter(paybill_account=account).first() if account else None


def c2b_verdict(notice: wire.C2BNotice, shortcode: str) -> Verdict:
    """Read-only decision for a Validation (§14.9 codes)."""
    if notice.business_short_code and notice.business_short_code != shortcode:
        return Verdict(wire.reject(wire.INVALID_SHORTCODE), "sent to another shortcode")
    payment = _payment_for(notice.bill_ref_number)
    if payment is None:
        return Verdict(wire.reject(wire.INVALID_ACCOUNT), "unknown account number")
    if not paybill_open(payment):
        return Verdict(wire.reject(wire.INVALID_ACCOUNT), f"account closed ({payment.status})")
    payable = payment.payable
    if payable is None or payable.payable_is_settled():
        return Verdict(wire.reject(wire.INVALID_ACCOUNT), "already paid for")
    if notice.amount != payment.amount:
        return Verdict(
            wire.reject(wire.INVALID_AMOUNT), f"amount {notice.amount_text!r}, due {payment.amount}"
        )
    return Verdict(wire.ACCEPT, f"accepted for payment {payment.public_id}")


def c2b_validate(
    *, shortcode: str, body: bytes, headers: dict[str, str], remote_ip: str | None, ip_allowed: bool | None
) -> dict:
    """Store a Validation raw, decide, record the decision; returns the answer body."""
    record = callback_store(
        public_id=None,
        kind=K.C2B_VALIDATION,
        body=body,
        headers=headers,
        remote_ip=remote_ip,
        ip_allowed=ip_allowed,
    )
    return _decide(record, shortcode)


@recorded_when_refused(lambda: wire.reject(wire.OTHER_ERROR))
def _decide(record: CallbackRecord, shortcode: str) -> dict:
    """The Validation's answer (and its record's outcome); a value the database refuses is
    recorded malformed and rejected (C2B00016): the money does not move."""
    try:
        notice = wire.parse_c2b_notice(record.body.encode("utf-8"))
    except wire.MalformedNotice as exc:
        verdict = Verdict(wire.reject(wire.OTHER_ERROR), str(exc))
    else:
        verdict = c2b_verdict(notice, shortcode)
    accepted = verdict.answer["ResultCode"] == "0"
    CallbackRecord.objects.filter(pk=record.pk).update(
        outcome=O.APPLIED if accepted else O.REVIEW,
        result_code=verdict.answer["ResultCode"],
        detail=verdict.reason[:2000],
        processed_at=timezone.now(),
    )
    logger.info(
        "pay bill validation %s",
        "accepted" if accepted else "rejected",
        extra={
            "event": "c2b.validation",
            "result_code": verdict.answer["ResultCode"],
            "reason": verdict.reason,
        },
    )
    return verdict.answer


def _menu_result(payment: Payment, notice: wire.C2BNotice) -> StkResult:
    """A Confirmation as the settlement reads results: a success with the receipt, our own
    amount (the credit is always ours, never the message's) and the payer only if in full."""
    return StkResult(
        checkout_request_id="",
        result_code="0",
        result_desc="Paid from the M-Pesa menu (Pay Bill)",
        amount=Decimal(payment.amount),
        receipt_number=notice.trans_id,
        transaction_date=notice.trans_time,
        phone=wire.full_msisdn(notice.msisdn) or None,
        has_metadata=True,
    )


@dataclass(frozen=True)
class Settled:
    paid: bool  # this confirmation paid the payment
    excess: int  # shillings above the payment's amount (to refund)
    reason: str  # why it needs a person, "" when it does not


def _settle(row: C2BPayment, payment: Payment, notice: wire.C2BNotice) -> Settled:
    """Pay ``payment`` with this confirmation through the one settlement path (source
    ``c2b``); inside the caller's transaction."""
    applied = payment_apply_result(
        payment=payment, result=_menu_result(payment, notice), source=Payment.Source.C2B
    )
    payment.refresh_from_db()
    if payment.status != S.PAID or payment.receipt_number != notice.trans_id:
        if payment.status == S.PAID:
            earlier = payment.receipt_number or "by query"
            reason = f"paid twice: the payment was already paid ({earlier}); refund this"
        else:
            reason = f"payment {payment.public_id.hex[:10]} is {payment.status}: {applied.detail}"
        return Settled(False, 0, reason[:255])
    excess = max(0, (row.amount or 0) - payment.amount)
    if excess:
        reason = f"overpaid by KES {excess}: credited KES {payment.amount}, refund the difference"
        C2BPayment.objects.filter(pk=row.pk).update(excess=excess)
        payment_flag(payment, reason, Payment.Source.C2B)
        return Settled(True, excess, reason)
    return Settled(True, 0, "")


def _match(row: C2BPayment, notice: wire.C2BNotice, shortcode: str) -> tuple[str, str, Payment | None]:
    """Decide a new confirmation: (state, reason, payment)."""
    stk = Payment.objects.filter(receipt_number=notice.trans_id).first()
    if stk is not None:  # an STK payment's own confirmation (§14.10.4): nothing more to do
        return ST.STK_RECEIPT, "", stk
    if notice.business_short_code and notice.business_short_code != shortcode:
        return ST.REVIEW, f"sent to shortcode {notice.business_short_code}, registered for {shortcode}", None
    if notice.amount is None:
        return ST.REVIEW, f"amount {notice.amount_text!r} is not whole shillings", None
    typed = notice.bill_ref_number.strip()[:20]
    if read_paybill_account(notice.bill_ref_number) is None:
        return ST.REVIEW, f"account {typed!r} is not one of ours (mistyped?)", None
    payment = _payment_for(notice.bill_ref_number)
    if payment is None:
        return ST.REVIEW, f"no payment has account {typed!r}", None
    if payment.status != S.PAID:
        if payment.status == S.NEEDS_REVIEW:
            return ST.REVIEW, "the payment is already under review", payment
        if not paybill_open(payment):
            return ST.REVIEW, "the account number has closed", payment
        payable = payment.payable
        if payable is None or payable.payable_is_settled():
            return ST.REVIEW, "already paid for by another payment: refund this", payment
        if notice.amount < payment.amount:
            event_add(
                payment.pk,
                PaymentEvent.Kind.NOTE,
                source=Payment.Source.C2B,
                detail={"under_paid": notice.amount, "receipt": notice.trans_id},
            )
            return ST.REVIEW, f"under-paid: KES {notice.amount} of KES {payment.amount}", payment
    settled = _settle(row, payment, notice)
    return (ST.REVIEW if settled.reason else ST.MATCHED), settled.reason, payment


@recorded_when_refused()
def c2b_process(record: CallbackRecord, *, shortcode: str) -> C2BPayment | None:
    """Parse and apply one stored Confirmation. Idempotent: the receipt is unique, so a
    duplicate (or a replay) finds the first row and changes nothing. A value the database
    refuses rolls it back and leaves the record malformed."""
    try:
        notice = wire.parse_c2b_notice(record.body.encode("utf-8"))
    except wire.MalformedNotice as exc:
        _finish(record, O.MALFORMED, str(exc))
        return None
    try:
        with transaction.atomic():
            row = C2BPayment.objects.create(
                trans_id=notice.trans_id,
                trans_time=notice.trans_time,
                amount_text=notice.amount_text,
                amount=notice.amount,
                business_short_code=notice.business_short_code,
                bill_ref_number=notice.bill_ref_number,
                transaction_type=notice.transaction_type,
                msisdn=notice.msisdn,
                first_name=notice.first_name,
            )
            state, reason, payment = _match(row, notice, shortcode)
            C2BPayment.objects.filter(pk=row.pk).update(
                state=state,
                review_reason=reason[:255],
                payment=payment,
                resolved_at=None if state == ST.REVIEW else timezone.now(),
            )
            row.refresh_from_db()
            outcome = {ST.MATCHED: O.APPLIED, ST.STK_RECEIPT: O.DUPLICATE}.get(state, O.REVIEW)
            _finish(record, outcome, reason or state, row)
    except IntegrityError:
        # The same receipt again (a duplicate delivery, a replay, or a concurrent twin): the
        # first row stands; this delivery is recorded against it.
        row = C2BPayment.objects.filter(trans_id=notice.trans_id).first()
        _finish(record, O.DUPLICATE, "receipt already received", row)
        return row
    logger.log(
        logging.WARNING if row.state == ST.REVIEW else logging.INFO,
        "pay bill confirmation %s",
        row.state,
        extra={"event": "c2b." + row.state, "receipt": row.trans_id, "reason": row.review_reason},
    )
    return row


def _finish(record: CallbackRecord, outcome: str, detail: str, row: C2BPayment | None = None) -> None:
    CallbackRecord.objects.filter(pk=record.pk).update(
        outcome=outcome,
        detail=detail[:2000],
        processed_at=timezone.now(),
        c2b=row,
        payment_id=row.payment_id if row else None,
    )


def c2b_receive(
    *, shortcode: str, body: bytes, headers: dict[str, str], remote_ip: str | None, ip_allowed: bool | None
) -> CallbackRecord:
    """Store, then process, one Confirmation (the callback door calls this through the
    database bridge). The record is committed before processing starts."""
    record = callback_store(
        public_id=None,
        kind=K.C2B_CONFIRMATION,
        body=body,
        headers=headers,
        remote_ip=remote_ip,
        ip_allowed=ip_allowed,
    )
    c2b_process(record, shortcode=shortcode)
    record.refresh_from_db()
    return record


def c2b_replay(record: CallbackRecord) -> CallbackRecord:
    """Re-run a stored Confirmation as a new record (idempotent: the receipt is unique, so a
    replay of a processed one is a duplicate). A Validation is decided again, read-only."""
    copy = callback_store(
        public_id=None,
        kind=record.kind,
        body=record.body.encode("utf-8"),
        headers=record.headers,
        remote_ip=record.remote_ip,
        ip_allowed=record.ip_allowed,
    )
    CallbackRecord.objects.filter(pk=copy.pk).update(replay_of=record)
    if record.kind == K.C2B_CONFIRMATION:
        c2b_process(copy, shortcode=settings.DARAJA_C2B_SHORTCODE)
    else:
        _decide(copy, settings.DARAJA_C2B_SHORTCODE)
    copy.refresh_from_db()
    return copy


class C2BActionRefused(Exception):
    """A review action that cannot apply (the message is for the operator)."""


def c2b_attach(row: C2BPayment, payment: Payment, *, user, note: str = "") -> C2BPayment:
    """Staff attach a menu payment from the review queue to ``payment`` (e.g. the customer
    mistyped the account): settled through the one path, exactly once. An amount above the
    payment's stays in review as excess to refund; less than due is refused (refund it)."""
    with transaction.atomic():
        locked = C2BPayment.objects.select_for_update().get(pk=row.pk)
        if locked.state != ST.REVIEW:
            raise C2BActionRefused(f"{locked.trans_id} is {locked.get_state_display().lower()}, not open")
        if Payment.objects.filter(receipt_number=locked.trans_id).exists():
            raise C2BActionRefused(f"{locked.trans_id} has already paid a payment")
        if locked.amount is None or locked.amount < payment.amount:
            raise C2BActionRefused(
                f"{locked.trans_id} brought KES {locked.amount_text}, less than the KES {payment.amount} "
                "due: refund it instead"
            )
        settled = _settle(locked, payment, _notice_of(locked))
        if not settled.paid:
            raise C2BActionRefused(settled.reason)  # rolls back: nothing changed
        label = f"attached by {user} to payment {payment.public_id.hex[:10]}"
        event_add(
            payment.pk,
            PaymentEvent.Kind.NOTE,
            source=Payment.Source.ADMIN,
            detail={"attached": locked.trans_id, "note": note[:200]},
        )
        C2BPayment.objects.filter(pk=locked.pk).update(
            state=ST.REVIEW if settled.excess else ST.ATTACHED,
            payment=payment,
            review_reason=settled.reason,
            resolved_at=None if settled.excess else timezone.now(),
            resolved_by=user,
            resolution_note=(note or label)[:255],
        )
    locked.refresh_from_db()
    return locked


def _notice_of(row: C2BPayment) -> wire.C2BNotice:
    return wire.C2BNotice(
        trans_id=row.trans_id,
        trans_time=row.trans_time,
        amount_text=row.amount_text,
        amount=row.amount,
        business_short_code=row.business_short_code,
        bill_ref_number=row.bill_ref_number,
        transaction_type=row.transaction_type,
        msisdn=row.msisdn,
        first_name=row.first_name,
        invoice_number="",
        third_party_trans_id="",
        org_account_balance="",
    )


def c2b_mark_refunded(row: C2BPayment, *, user, note: str) -> bool:
    """Staff refunded this money (or its excess) outside the product, e.g. an M-Pesa reversal.
    Only from review; returns whether this call recorded it."""
    done = C2BPayment.objects.filter(pk=row.pk, state=ST.REVIEW).update(
        state=ST.REFUNDED, resolved_at=timezone.now(), resolved_by=user, resolution_note=note[:255]
    )
    if done and row.payment_id:
        event_add(
            row.payment_id,
            PaymentEvent.Kind.NOTE,
            source=Payment.Source.ADMIN,
            detail={"refunded": row.trans_id, "note": note[:200]},
        )
    return bool(done)
