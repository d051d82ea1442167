"""What ``manage.py mpesa`` prints: one line per event of a payment's timeline, for people
(masked, aligned) or machines (one JSON object per line). Reads only."""

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any, TextIO

from mpesa_plumbing.logs import mask_phone

from ..daraja.payloads import NAIROBI
from ..models import Payment, PaymentEvent
from ..results import customer_message

ARROWS = {
    PaymentEvent.Kind.PUSH: "→",
    PaymentEvent.Kind.CALLBACK: "←",
    PaymentEvent.Kind.QUERY: "?",
    PaymentEvent.Kind.STATE: "■",
    PaymentEvent.Kind.BROADCAST: "⇢",
    PaymentEvent.Kind.NOTE: "!",
}


def _clock(moment: datetime) -> str:
    return moment.astimezone(NAIROBI).strftime("%H:%M:%S.%f")[:-3]


def _iso(moment: datetime | None) -> str | None:
    """ISO 8601 with the offset, in Nairobi time as the text lines (``…T14:03:07.120+03:00``)."""
    return moment.astimezone(NAIROBI).isoformat(timespec="milliseconds") if moment else None


def short_id(payment: Payment) -> str:
    """The first 10 hex digits of the public id: what ``tail`` and the admin show, and what
    ``mpesa status`` accepts."""
    return payment.public_id.hex[:10]


def describe(event: PaymentEvent) -> str:
    """One event in words."""
    d = event.detail or {}
    if event.kind == PaymentEvent.Kind.PUSH:
        if d.get("accepted"):
            return f"STK push accepted  {d.get('checkout_request_id', '')}"
        if d.get("accepted") is None:
            return f"STK push outcome unknown ({d.get('error', '')})"
        return f"STK push refused  {d.get('error_code', '')} {d.get('error', '')}"
    if event.kind == PaymentEvent.Kind.CALLBACK:
        return (
            f"callback  ResultCode {d.get('result_code') or '?'}  ({d.get('outcome')}: {d.get('detail', '')})"
        )
    if event.kind == PaymentEvent.Kind.QUERY:
        if "error_code" in d:
            return f"STK query failed  {d['error_code']} {d.get('error', '')}"
        return f'STK query  ResultCode {d.get("result_code")}  "{d.get("result_desc", "")}"'
    if event.kind == PaymentEvent.Kind.STATE:
        return f"{event.from_status or 'new'} → {event.to_status}  ({event.source})"
    if event.kind == PaymentEvent.Kind.BROADCAST:
        return f"status pushed to open pages (version {d.get('version')})"
    return ", ".join(f"{k}: {v}" for k, v in d.items())


def event_record(event: PaymentEvent) -> dict[str, Any]:
    return {
        "time": _iso(event.created_at),
        "payment": str(event.payment.public_id),
        "short_id": short_id(event.payment),
        "kind": event.kind,
        "source": event.source,
        "from_status": event.from_status or None,
        "to_status": event.to_status or None,
        "detail": event.detail,
        "text": describe(event),
    }


def write_events(
    out: TextIO, events: Iterable[PaymentEvent], *, as_json: bool, with_payment: bool = False
) -> None:
    for event in events:
        if as_json:
            out.write(json.dumps(event_record(event)) + "\n")
            continue
        who = f"{short_id(event.payment)}  " if with_payment else ""
        out.write(f"{_clock(event.created_at)}  {who}{ARROWS.get(event.kind, ' ')} {describe(event)}\n")
    out.flush()


def payment_summary(payment: Payment) -> dict[str, Any]:
    message = customer_message(payment)
    return {
        "payment": str(payment.public_id),
        "short_id": short_id(payment),
        "status": payment.status,
        "amount": payment.amount,
        "phone": mask_phone(payment.phone),
        "payable": payment.payable_kind,
        "checkout_request_id": payment.checkout_request_id,
        "result_code": payment.result_code or None,
        "receipt": payment.receipt_number,
        "created_at": _iso(payment.created_at),
        "settled_at": _iso(payment.settled_at),
        "transaction_date": _iso(payment.transaction_date),
        "settled_by": payment.settled_by or None,
        "flagged": payment.flagged,
        "review_reason": payment.review_reason or None,
        "customer_sees": f"{message.title}: {message.detail}",
    }


def write_summary(out: TextIO, payment: Payment, *, as_json: bool) -> None:
    summary = payment_summary(payment)
    if as_json:
        out.write(json.dumps({"final": summary}) + "\n")
        return
    out.write(
        f"Final: {summary['status']}  (receipt {summary['receipt'] or '—'}, settled by "
        f"{summary['settled_by'] or '—'})\n  customer sees: {summary['customer_sees']}\n"
    )
    if payment.flagged:
        out.write(f"  flagged: {payment.review_reason}\n")
