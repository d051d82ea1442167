"""Callbacks: store the raw evidence first (own transaction), then parse and settle.

``callback_process`` is also how an operator replays a stored callback: it is idempotent.
The status push happens after the settlement commits (``transitions``), never here.
"""

import functools
import logging
import uuid
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import DataError, transaction
from django.utils import timezone

from ..daraja.payloads import MalformedCallback, StkResult, parse_stk_callback
from ..models import CallbackRecord, Payment, PaymentEvent
from ..prepared import callback_record_add, event_add, row_by_pk, row_update
from .confirm import success_confirmed_by_query
from .settle import Applied, payment_apply_result

logger = logging.getLogger("payments")
O = CallbackRecord.Outcome  # noqa: E741
OUTCOME_FIELDS = ("outcome", "detail", "processed_at", "checkout_request_id", "result_code")
KEPT_HEADERS = ("content-type", "content-length", "user-agent", "businessshortcode", "x-forwarded-for")


def callback_store(
    *,
    public_id: uuid.UUID | None,
    body: bytes,
    headers: dict[str, str],
    remote_ip: str | None,
    ip_allowed: bool | None,
    kind: str = CallbackRecord.Kind.STK,
) -> CallbackRecord:
    """Persist what arrived, before it is trusted or parsed (committed on return). An STK
    callback's URL names its payment (``public_id``); a C2B notice's does not (None)."""
    cap = settings.PAYMENTS_MAX_BODY_BYTES
    # As stored: undecodable bytes and NUL (which PostgreSQL's text and JSON columns refuse)
    # become U+FFFD, so whatever arrived is kept rather than refused by the database.
    text = body[:cap].decode("utf-8", errors="replace").replace("\x00", "\ufffd")
    record = CallbackRecord(
        kind=kind,
        remote_ip=remote_ip,
        ip_allowed=ip_allowed,
        headers={
            k: v[:200].replace("\x00", "\ufffd") for k, v in headers.items() if k.lower() in KEPT_HEADERS
        },
        body=text,
        body_truncated=len(body) > cap,
    )
    # One INSERT that also finds the payment by the URL's id (only its id: callback_process
    # reads the row inside its transaction).
    return callback_record_add(record, public_id=public_id)


def _finish(record: CallbackRecord, outcome: str, detail: str, result: StkResult | None = None) -> None:
    record.outcome = outcome
    record.detail = detail[:2000]
    record.processed_at = timezone.now()
    if result is not None:
        record.checkout_request_id = result.checkout_request_id[:64]
        record.result_code = result.result_code[:32]
    row_update(record, OUTCOME_FIELDS)
    if record.payment_id:
        event_add(
            record.payment_id,
            PaymentEvent.Kind.CALLBACK,
            source=Payment.Source.CALLBACK,
            detail={
                "record": record.pk,
                "outcome": outcome,
                "result_code": record.result_code,
                "detail": detail[:200],
            },
        )


def _matches(payment: Payment, result: StkResult) -> bool:
    """A callback for this URL must carry this payment's CheckoutRequestID (when known)."""
    if payment.checkout_request_id and payment.checkout_request_id != result.checkout_request_id:
        logger.warning(
            "callback CheckoutRequestID does not match the payment",
            extra={
                "event": "callback.orphan",
                "payment": str(payment.public_id),
                "checkout_request_id": result.checkout_request_id[:64],
            },
        )
        return False
    return True


def recorded_when_refused(fallback: Callable[[], Any] = lambda: None) -> Callable:
    """For a function whose first argument is a stored record: a value the database refuses
    (``DataError``) rolls its work back and leaves the record malformed
    (``callback_refused_by_database``); the function then returns ``fallback()``."""

    def decorate(process: Callable) -> Callable:
        @functools.wraps(process)
        def guarded(record: CallbackRecord, *args: Any, **kwargs: Any) -> Any:
            try:
                return process(record, *args, **kwargs)
            except DataError as exc:
                callback_refused_by_database(record, exc)
                return fallback()

        return guarded

    return decorate


@recorded_when_refused()
def callback_process(record: CallbackRecord) -> Applied | None:
    """Parse and apply one stored callback (the door, a replay, a confirmed success). Returns
    None when it changed nothing because it was malformed or an orphan (the record says which).
    A value the database refuses rolls the settlement back and leaves the record malformed."""
    try:
        result = parse_stk_callback(record.body.encode("utf-8"))
    except MalformedCallback as exc:
        _finish(record, O.MALFORMED, str(exc))
        return None
    if record.payment_id is None:
        _finish(record, O.ORPHAN, "no payment for this callback URL", result)
        return None
    if result.is_success and settings.DARAJA_CONFIRM_SUCCESS_WITH_QUERY:
        payment = Payment.objects.get(pk=record.payment_id)
        if not _matches(payment, result):
            _finish(record, O.ORPHAN, "CheckoutRequestID differs from the payment's", result)
            return None
        why_not = (
            success_confirmed_by_query(payment, result) if payment.status != Payment.Status.PAID else None
        )
        if why_not:
            # Nothing released; an open payment is queried again by the reconciler.
            Payment.objects.filter(pk=payment.pk, status__in=Payment.OPEN_STATUSES).update(
                next_check_at=timezone.now()
            )
            _finish(record, O.UNCONFIRMED, why_not, result)
            return None
    shortcode = next((v for k, v in record.headers.items() if k.lower() == "businessshortcode"), None)
    with transaction.atomic():  # the outcome is recorded in the settlement's own commit
        payment = row_by_pk(Payment, record.payment_id)  # read once, inside the transaction
        if not _matches(payment, result):
            _finish(record, O.ORPHAN, "CheckoutRequestID differs from the payment's", result)
            return None
        applied = payment_apply_result(
            payment=payment, result=result, source=Payment.Source.CALLBACK, shortcode=shortcode, fresh=True
        )
        _finish(record, applied.outcome, applied.detail, result)
    logger.info(
        "callback %s",
        applied.outcome,
        extra={
            "event": "callback." + applied.outcome,
            "payment": str(payment.public_id),
            "checkout_request_id": result.checkout_request_id[:64],
            "result_code": result.result_code,
        },
    )
    return applied


def callback_receive(
    *,
    public_id: uuid.UUID,
    body: bytes,
    headers: dict[str, str],
    remote_ip: str | None,
    ip_allowed: bool | None,
) -> CallbackRecord:
    """Store, then process, one callback (the callback door calls this through the database
    bridge). The record is committed before processing starts, whatever happens next."""
    record = callback_store(
        public_id=public_id, body=body, headers=headers, remote_ip=remote_ip, ip_allowed=ip_allowed
    )
    callback_process(record)
    return record


def callback_refused_by_database(record: CallbackRecord, exc: DataError) -> None:
    """The database refused a value from this callback (text longer than its column, a byte
    PostgreSQL cannot store): the callback's fault, not the database's. Its processing rolled
    back; the stored record now says malformed, so the door answers 400, not "unavailable"."""
    logger.error(
        "callback refused by the database (%s): recorded as malformed",
        exc.__class__.__name__,
        extra={"event": "callback.data_error", "record": record.pk},
    )
    record.outcome = O.MALFORMED
    record.detail = f"holds a value the database cannot store ({exc.__class__.__name__})"
    record.processed_at = timezone.now()
    row_update(record, ("outcome", "detail", "processed_at"))


def callback_replay(record: CallbackRecord) -> CallbackRecord:
    """Re-run a stored raw callback through the handler as a new record (the original keeps
    its outcome). Idempotent: a replay of an applied callback is a duplicate."""
    copy = CallbackRecord.objects.create(
        payment_id=record.payment_id,
        remote_ip=record.remote_ip,
        ip_allowed=record.ip_allowed,
        headers=record.headers,
        body=record.body,
        body_truncated=record.body_truncated,
        replay_of=record,
    )
    callback_process(copy)
    return copy


def callbacks_complete_unconfirmed(payment: Payment) -> None:
    """A success callback held back for confirmation carries the receipt: once a query has
    confirmed the success, apply those callbacks (idempotent)."""
    for record in payment.callbacks.filter(outcome=CallbackRecord.Outcome.UNCONFIRMED):
        callback_process(record)
