"""Live status: the group name, THE payload serializer, and the after-commit broadcast.

The snapshot a consumer sends on connect, the status JSON endpoint and every pushed frame use
``payment_status_payload``: one serializer, JSON primitives only (channels-redis speaks
msgpack, which rejects Decimal/UUID/datetime).

One broadcast path: a transition schedules ``broadcast_after_commit``; after the commit the
committed state is sent to the payment's group. From the database bridge's threads the send
runs on the server's event loop (asgiref), so nothing else sends status frames.
"""

import json
import logging
import uuid
from datetime import timedelta
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction
from django.utils import translation

from mpesa_plumbing.logs import mask_phone

from ..models import Payment, PaymentEvent
from ..money import format_kes
from ..payables import payable_of
from ..paybill import paybill_instructions
from ..prepared import event_add, row_by_pk
from ..results import customer_message, phone_shown
from ..signals import signal_send

logger = logging.getLogger(__name__)

EVENT_TYPE = "payment.status"


def payment_group_name(public_id: uuid.UUID) -> str:
    """``payment.<32 hex>``: valid for every channel layer, unguessable, no PII."""
    return f"payment.{public_id.hex}"


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def _payable(payment: Payment) -> dict[str, Any]:
    """What is paid for: its kind, the reference shown on the phone, and what the payable says
    of itself (``payable_summary``: a balance, an escrow state…), JSON primitives only."""
    payable = payment.payable
    summary = payable.payable_summary() if payable is not None else {}
    return {"kind": payment.payable_kind, "reference": payment.account_reference, **summary}


def payment_status_payload(payment: Payment) -> dict[str, Any]:
    """Everything a checkout page needs, as JSON primitives, its words in the active language.
    ``version`` orders frames."""
    return {**_payload_facts(payment), **_payload_words(payment)}


def _payload_words(payment: Payment) -> dict[str, Any]:
    """What the customer reads (the only part that differs between languages)."""
    msg = customer_message(payment)
    return {"title": msg.title, "message": msg.detail}


def _payload_facts(payment: Payment) -> dict[str, Any]:
    pin_deadline = (
        payment.pushed_at + timedelta(seconds=settings.PAYMENTS_PIN_WINDOW_SECONDS)
        if payment.pushed_at
        else None
    )
    msg = customer_message(payment)
    payload: dict[str, Any] = {
        "public_id": str(payment.public_id),
        "status": payment.status,
        "status_label": Payment.Status(payment.status).label,
        "terminal": payment.is_terminal,
        "result_code": payment.result_code or None,
        "retry": msg.retry,
        "receipt": payment.receipt_number or None,
        "amount": int(payment.amount),
        "amount_display": format_kes(payment.amount),
        "phone_masked": mask_phone(payment.phone),
        "phone_display": phone_shown(payment.phone),  # "0708 ••• 149": where the prompt went
        "pin_seconds": settings.PAYMENTS_PIN_WINDOW_SECONDS,
        "cancellable": payment.status in Payment.LIVE_STATUSES,
        "payable": _payable(payment),
        "created_at": _iso(payment.created_at),
        "updated_at": _iso(payment.updated_at),
        "pin_deadline": _iso(pin_deadline),
        # Paid from the M-Pesa menu (Pay Bill) rather than the prompt.
        "paid_from_menu": payment.status == Payment.Status.PAID and payment.settled_by == Payment.Source.C2B,
        "paybill": paybill_instructions(payment),
        "version": int(payment.version),
    }
    return payload


def language_codes() -> list[str]:
    return [code for code, _name in settings.LANGUAGES]


def status_event(payment: Payment) -> dict[str, Any]:
    """The group event: the browser's frame once per language, already serialised (``frames``:
    {"en": "…", "sw": "…"}), so each socket forwards the one in its customer's language as it
    is (consumers.py) and nothing is encoded per socket. The facts are read once; only the
    words are rendered per language."""
    facts = _payload_facts(payment)
    frames = {}
    for code in language_codes():
        with translation.override(code):
            frames[code] = json.dumps({"type": EVENT_TYPE, "payment": {**facts, **_payload_words(payment)}})
    return {"type": EVENT_TYPE, "frames": frames}


def broadcast_payment_status(*, payment_id: int | None = None, payment: Payment | None = None) -> bool:
    """Send the committed state to the payment's group and note it on the timeline. Never
    raises: the database is the truth and a missed frame is repaired by the next
    connect/resync (snapshot). ``payment``: the committed row, already read (after commit)."""
    try:
        if payment is None:
            payment = Payment.objects.get(pk=payment_id)
        layer = get_channel_layer()
        async_to_sync(layer.group_send)(payment_group_name(payment.public_id), status_event(payment))
    except Exception as exc:  # Redis (or the database) may be down: the payment is settled anyway
        logger.warning(
            "status push failed; clients will resync",
            extra={"event": "push.failed", "payment_id": payment_id or payment.pk, "error": repr(exc)},
        )
        return False
    event_add(
        payment.pk,
        PaymentEvent.Kind.BROADCAST,
        to_status=payment.status,
        detail={"version": payment.version},
    )
    return True


def broadcast_after_commit(payment_id: int, *, signal: str | None = None) -> None:
    """Schedule the broadcast for after the surrounding transaction commits (never before),
    then, for a transition to ``signal``, that status's signal (payments/signals.py): one hook
    that reads the committed row and its payable once for both."""

    def push_status() -> None:  # a named function: Django's robust on_commit logs __qualname__
        try:
            payment = row_by_pk(Payment, payment_id)  # the committed state
            if payment is not None:
                payable_of(payment)  # kept on the payment for the payload and the signal
        except Exception as exc:  # the database went away after the commit
            logger.warning(
                "status push failed; clients will resync",
                extra={"event": "push.failed", "payment_id": payment_id, "error": repr(exc)},
            )
            return
        if payment is None:
            return
        broadcast_payment_status(payment=payment)
        if signal:
            signal_send(payment, signal)

    transaction.on_commit(push_status, robust=True)
