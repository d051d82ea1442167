"""The virtual handset: presence (DB rows with a heartbeat, so every process sees it), the
prompt payload, and channel-layer notifications. No outcome logic here (services.py)."""

import logging
from datetime import timedelta
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.utils import timezone

from ..conf import SimConfig
from ..models import SimHandsetSession, SimPush

logger = logging.getLogger("simulator.handset")

PIN_LENGTH = 4
ANSWERS = {"pay": "0", "wrong_pin": "2001", "cancel": "1032"}  # §7: 2001 is the wrong-PIN code


def handset_group(msisdn: str) -> str:
    """``sim.phone.<digits>``: valid for every channel layer (the msisdn is validated first)."""
    return f"sim.phone.{msisdn}"


def handset_open(msisdn: str, *, config: SimConfig) -> bool:
    """Is a handset page for this phone open (in any process)?"""
    fresh = timezone.now() - timedelta(seconds=config.handset_ttl)
    return SimHandsetSession.objects.filter(msisdn=msisdn, last_seen__gt=fresh).exists()


def presence_join(*, channel_name: str, msisdn: str) -> None:
    """A handset page opened (one row per socket)."""
    now = timezone.now()
    SimHandsetSession.objects.update_or_create(
        channel_name=channel_name, defaults={"msisdn": msisdn, "last_seen": now, "connected_at": now}
    )


def presence_heartbeat(*, channel_name: str) -> None:
    """The page is still there (it pings or resyncs every 10 s)."""
    SimHandsetSession.objects.filter(channel_name=channel_name).update(last_seen=timezone.now())


def presence_leave(*, channel_name: str) -> None:
    """The page closed; rows of pages that vanished without closing expire by TTL."""
    SimHandsetSession.objects.filter(channel_name=channel_name).delete()


def prompt_payload(push: SimPush, *, config: SimConfig) -> dict[str, Any]:
    """What the phone shows. JSON primitives only (channels-redis speaks msgpack)."""
    return {
        "checkout_request_id": push.checkout_request_id,
        "amount": int(push.amount),
        "account_reference": push.account_reference,
        "transaction_desc": push.transaction_desc,
        "shop": config.merchant.name,
        "shortcode": push.party_b,
        "answer_by": push.answer_by.isoformat() if push.answer_by else None,
    }


def open_prompts(msisdn: str, *, config: SimConfig) -> list[dict[str, Any]]:
    """Prompts still waiting for this phone's answer (the snapshot sent on connect)."""
    pushes = SimPush.objects.filter(phone=msisdn, result_code="", answer_by__gt=timezone.now()).order_by(
        "created_at"
    )
    return [prompt_payload(p, config=config) for p in pushes]


async def notify_prompt(msisdn: str, prompt: dict[str, Any]) -> None:
    """A new prompt for the open handset pages of ``msisdn`` (best effort: pages resync)."""
    try:
        await get_channel_layer().group_send(handset_group(msisdn), {"type": "prompt.new", "prompt": prompt})
    except Exception as exc:  # the layer is a notification path, not the source of truth
        logger.warning("handset notify failed: %r", exc, extra={"event": "simulator.handset.notify"})


def notify_closed_sync(msisdn: str, *, checkout_request_id: str, result_code: str, reason: str) -> None:
    """The prompt is gone (answered here or elsewhere, or timed out); from sync code."""
    event = {
        "type": "prompt.closed",
        "checkout_request_id": checkout_request_id,
        "result_code": result_code,
        "reason": reason,
    }
    try:
        async_to_sync(get_channel_layer().group_send)(handset_group(msisdn), event)
    except Exception as exc:
        logger.warning("handset notify failed: %r", exc, extra={"event": "simulator.handset.notify"})


def c2b_payload(payment) -> dict[str, Any]:
    """A C2B payment as the payer's handset shows it (JSON primitives; see c2b_message)."""
    return {
        "trans_id": payment.trans_id,
        "status": payment.status,
        "amount": int(payment.amount),
        "shortcode": payment.shortcode,
        "account": payment.bill_ref_number,
        "message": c2b_message(payment),
    }


def c2b_message(payment) -> str:
    """The handset's words for a C2B payment (modelled: §14.9 found no SMS texts)."""
    amount = f"KES {int(payment.amount):,}.00"
    account = f" for account {payment.bill_ref_number}" if payment.bill_ref_number else ""
    if payment.status == "completed":
        return f"{payment.trans_id} Confirmed. {amount} sent to {payment.shortcode}{account}."
    if payment.status == "cancelled":
        why = payment.result_desc or payment.result_code or "the business did not accept it"
        return f"{payment.trans_id} Failed. {amount} to {payment.shortcode}{account} was cancelled: {why}."
    return f"{payment.trans_id}: {amount} to {payment.shortcode}{account} is being processed."


def notify_c2b_sync(msisdn: str, payload: dict[str, Any]) -> None:
    """A C2B payment from this phone changed; from sync code (best effort: pages resync)."""
    try:
        async_to_sync(get_channel_layer().group_send)(
            handset_group(msisdn), {"type": "c2b.update", "payment": payload}
        )
    except Exception as exc:
        logger.warning("handset notify failed: %r", exc, extra={"event": "simulator.handset.notify"})


def recent_c2b(msisdn: str, *, limit: int = 5) -> list[dict[str, Any]]:
    """The latest C2B payments from this phone, oldest first (the snapshot's ``payments``)."""
    from ..models import SimC2BPayment

    rows = list(SimC2BPayment.objects.filter(msisdn=msisdn).order_by("-pk")[:limit])
    return [c2b_payload(p) for p in reversed(rows)]
