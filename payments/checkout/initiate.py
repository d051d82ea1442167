"""Starting a payment: save it first, push second, record what Daraja said third."""

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from mpesa_plumbing.db import in_db
from mpesa_plumbing.logs import mask_phone

from ..daraja.client import PATH_STK_PUSH, DarajaClient
from ..daraja.errors import DarajaError
from ..daraja.payloads import StkPushAccepted
from ..models import Payment, PaymentEvent
from ..payables import kind_of
from ..paybill import new_paybill_account
from ..prepared import event_add
from .callback_url import callback_url, redact_callback_tokens
from .inputs import sanitize_account_reference, sanitize_transaction_desc
from .transitions import payment_transition, payments_expire_overdue

logger = logging.getLogger("payments")
S = Payment.Status
LOCK_MESSAGE = "unable to lock subscriber"
ACCOUNT_ATTEMPTS = 3  # Pay Bill account numbers are random: a (rare) clash draws again


class InitiationRefused(Exception):
    """Refused before anything was sent. ``status`` is the HTTP status to answer with."""

    status = 409
    field = ""

    def __init__(self, message: str, *, payment: Payment | None = None, retry_after: int = 0):
        super().__init__(message)
        self.message = message
        self.payment = payment
        self.retry_after = retry_after


class IdempotencyConflict(InitiationRefused):
    field = "idempotency_key"


class PromptInProgress(InitiationRefused):
    field = "phone"


class PayableSettled(InitiationRefused):
    """The payable is already paid (``payable_is_settled``)."""

    field = "id"


class SubscriberLocked(InitiationRefused):
    field = "phone"


@dataclass(frozen=True)
class InitiateResult:
    payment: Payment
    created: bool
    error: DarajaError | None = None


def _fingerprint(**fields) -> str:
    return hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()


def _replay(user, idempotency_key: str, fingerprint: str) -> Payment | None:
    existing = Payment.objects.filter(user=user, idempotency_key=idempotency_key).first()
    if existing and existing.request_fingerprint != fingerprint:
        raise IdempotencyConflict(
            "This Idempotency-Key was already used for a different request.", payment=existing
        )
    return existing


def payment_create(
    *,
    user,
    phone: str,
    payable,
    amount: int | None = None,
    idempotency_key: str | None = None,
) -> tuple[Payment, bool]:
    """Save the payment of ``payable`` (status ``initiating``) and commit, before any call to
    Daraja. The amount is always the payable's (``payable_amount``; ``amount`` only for a
    payable whose customer chooses it).

    Returns (payment, created). The same Idempotency-Key with the same request returns the
    first payment; with a different request it raises IdempotencyConflict. One live prompt
    per phone and per payable is enforced by the database (PromptInProgress).
    """
    charge = payable.payable_amount(amount)  # PayableError: the caller answers a field error
    kind, payable_type = kind_of(payable), ContentType.objects.get_for_model(payable)
    fingerprint = _fingerprint(payable=kind, id=payable.pk, phone=phone, amount=charge)
    if idempotency_key and (existing := _replay(user, idempotency_key, fingerprint)):
        return existing, False
    if payable.payable_is_settled():
        raise PayableSettled(_("This is already paid."))
    payments_expire_overdue(phone=phone)
    lock_window = timezone.now() - timedelta(seconds=settings.PAYMENTS_SUBSCRIBER_LOCK_SECONDS)
    if Payment.objects.filter(
        phone=phone, status=S.REJECTED, error_message__icontains=LOCK_MESSAGE, created_at__gte=lock_window
    ).exists():
        # §3.3 "Unable to lock subscriber": Daraja says wait at least a minute.
        raise SubscriberLocked(
            _("An M-Pesa prompt is already open on this phone. Wait a minute and try again."),
            retry_after=settings.PAYMENTS_SUBSCRIBER_LOCK_SECONDS,
        )
    for attempt in range(ACCOUNT_ATTEMPTS):
        try:
            return _insert(
                user=user,
                phone=phone,
                payable=payable,
                kind=kind,
                payable_type=payable_type,
                charge=charge,
                idempotency_key=idempotency_key,
                fingerprint=fingerprint,
            ), True
        except IntegrityError:
            if idempotency_key and (existing := _replay(user, idempotency_key, fingerprint)):
                return existing, False
            live = Payment.objects.filter(status__in=Payment.LIVE_STATUSES)
            if live.filter(phone=phone).exists():
                raise PromptInProgress(
                    _("A payment prompt is already in progress on this phone. Complete or cancel it first."),
                    payment=live.filter(phone=phone).first(),
                ) from None
            same = live.filter(payable_type=payable_type, payable_id=str(payable.pk))
            if same.exists():
                raise PromptInProgress(
                    _("A payment for this is already in progress."), payment=same.first()
                ) from None
            if attempt + 1 == ACCOUNT_ATTEMPTS:
                raise
            # Otherwise two payments drew the same Pay Bill account number (unique): draw again.
    raise AssertionError("unreachable")


def _insert(*, user, phone, payable, kind, payable_type, charge, idempotency_key, fingerprint) -> Payment:
    with transaction.atomic():
        payment = Payment.objects.create(
            user=user,
            payable_type=payable_type,
            payable_id=str(payable.pk),
            payable_kind=kind,
            payable_exclusive=payable.payable_one_prompt_at_a_time,
            phone=phone,
            amount=charge,
            account_reference=sanitize_account_reference(payable.payable_reference()),
            paybill_account=new_paybill_account(),
            transaction_desc=sanitize_transaction_desc(payable.payable_description()),
            idempotency_key=idempotency_key or None,
            request_fingerprint=fingerprint,
            expires_at=timezone.now() + timedelta(seconds=settings.PAYMENTS_EXPIRE_AFTER_SECONDS),
        )
        event_add(payment.pk, PaymentEvent.Kind.STATE, source="customer", to_status=S.INITIATING)
    return payment


def payment_mark_pushed(
    payment: Payment, accepted: StkPushAccepted, *, request: dict | None = None
) -> Payment:
    """Daraja accepted the push: store its ids, initiating → pending (unless a callback
    already settled it — the compare-and-swap lets the callback win, §9.10)."""
    now = timezone.now()
    with transaction.atomic():
        Payment.objects.filter(pk=payment.pk, checkout_request_id__isnull=True).update(
            checkout_request_id=accepted.checkout_request_id
        )
        Payment.objects.filter(pk=payment.pk).update(
            merchant_request_id=accepted.merchant_request_id[:64],
            pushed_at=now,
            next_check_at=now + timedelta(seconds=settings.PAYMENTS_RECONCILE_AFTER_SECONDS),
        )
        event_add(
            payment.pk,
            PaymentEvent.Kind.PUSH,
            source=Payment.Source.PUSH,
            detail={
                "accepted": True,
                "checkout_request_id": accepted.checkout_request_id,
                "request": request or {},
            },
        )
        payment.pushed_at = now
        payment_transition(payment, allowed_from=[S.INITIATING], to=S.PENDING, source=Payment.Source.PUSH)
    payment.refresh_from_db()
    return payment


def payment_mark_rejected(payment: Payment, error: DarajaError, *, request: dict | None = None) -> Payment:
    """Daraja refused, or was never reached: nothing is on the phone (terminal)."""
    with transaction.atomic():
        event_add(
            payment.pk,
            PaymentEvent.Kind.PUSH,
            source=Payment.Source.PUSH,
            detail={
                "accepted": False,
                "error_code": error.error_code,
                "error": error.error_message[:200],
                "request": request or {},
            },
        )
        payment_transition(
            payment,
            allowed_from=[S.INITIATING],
            to=S.REJECTED,
            source=Payment.Source.PUSH,
            error_code=error.error_code[:32],
            error_message=error.error_message[:255],
            settled_by=Payment.Source.PUSH,
            settled_at=timezone.now(),
        )
    payment.refresh_from_db()
    return payment


def payment_mark_unknown(payment: Payment, error: DarajaError, *, request: dict | None = None) -> Payment:
    """The push may have reached the phone (timeout, broken answer): never re-push; the
    callback (via the payment's own URL) or the reconciler will tell."""
    now = timezone.now()
    with transaction.atomic():
        event_add(
            payment.pk,
            PaymentEvent.Kind.PUSH,
            source=Payment.Source.PUSH,
            detail={"accepted": None, "error": error.error_message[:200], "request": request or {}},
        )
        payment_transition(
            payment,
            allowed_from=[S.INITIATING],
            to=S.UNKNOWN,
            source=Payment.Source.PUSH,
            error_code=error.error_code[:32],
            error_message=error.error_message[:255],
            pushed_at=now,
            next_check_at=now + timedelta(seconds=settings.PAYMENTS_RECONCILE_AFTER_SECONDS),
        )
    payment.refresh_from_db()
    return payment


async def payment_initiate(
    *,
    user,
    phone: str,
    payable,
    amount: int | None = None,
    idempotency_key: str | None = None,
) -> InitiateResult:
    """Create (committed), push, record. Never pushes twice for one payment; a replayed
    Idempotency-Key returns the first payment without touching Daraja."""
    payment, created = await in_db(
        payment_create,
        user=user,
        phone=phone,
        payable=payable,
        amount=amount,
        idempotency_key=idempotency_key,
    )
    if not created:
        return InitiateResult(payment=payment, created=False)
    log_extra = {"payment": str(payment.public_id), "phone": mask_phone(phone)}
    client = DarajaClient()
    url = callback_url(payment.public_id)
    request = {  # what we asked Daraja, for the timeline: no Password, token or full phone
        "endpoint": client.config.base_url + PATH_STK_PUSH,
        "amount": payment.amount,
        "phone": mask_phone(phone),
        "account_reference": payment.account_reference,
        "transaction_desc": payment.transaction_desc,
        "callback_url": redact_callback_tokens(url),
    }
    try:
        accepted = await client.stk_push(
            phone=phone,
            amount=payment.amount,
            account_reference=payment.account_reference,
            transaction_desc=payment.transaction_desc,
            callback_url=url,
        )
    except DarajaError as exc:
        if exc.definite:
            logger.warning(
                "push refused: %s %s",
                exc.error_code,
                exc.error_message,
                extra={"event": "push.rejected", **log_extra},
            )
            payment = await in_db(payment_mark_rejected, payment, exc, request=request)
        else:
            logger.warning(
                "push outcome unknown: %s", exc.error_message, extra={"event": "push.unknown", **log_extra}
            )
            payment = await in_db(payment_mark_unknown, payment, exc, request=request)
        return InitiateResult(payment=payment, created=True, error=exc)
    logger.info(
        "push accepted",
        extra={"event": "push.accepted", "checkout_request_id": accepted.checkout_request_id, **log_extra},
    )
    payment = await in_db(payment_mark_pushed, payment, accepted, request=request)
    return InitiateResult(payment=payment, created=True)
