"""Reads for people and machines: recent pushes with their deliveries, as JSON primitives."""

from datetime import datetime
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from mpesa_plumbing.logs import mask_phone

from .models import SimDelivery, SimPush

PER_PAGE = 20


def _with_deliveries() -> QuerySet:
    deliveries = Prefetch("deliveries", queryset=SimDelivery.objects.order_by("pk"))
    return SimPush.objects.prefetch_related(deliveries)


def pushes_recent(*, limit: int = 20, phone: str = "", after_id: int | None = None) -> QuerySet:
    """Newest first; ``after_id`` returns only pushes created after that one (for --follow)."""
    qs = _with_deliveries()
    if phone:
        qs = qs.filter(phone=phone)
    if after_id is not None:
        qs = qs.filter(pk__gt=after_id)
    return qs.order_by("-pk")[: max(1, min(limit, 500))]


def _iso(moment: datetime | None) -> str | None:
    """Local time (TIME_ZONE, Nairobi by default) with its offset, like Daraja's own ids."""
    return timezone.localtime(moment).isoformat() if moment else None


def delivery_as_json(delivery: SimDelivery) -> dict[str, Any]:
    """One delivery attempt: what was sent where, and what came back."""
    return {
        "id": delivery.pk,
        "kind": delivery.kind,
        "status": delivery.status,
        "due_at": _iso(delivery.due_at),
        "attempted_at": _iso(delivery.attempted_at),
        "response_status": delivery.response_status,
        "response_excerpt": delivery.response_excerpt,
        "duration_ms": delivery.duration_ms,
        "error": delivery.error,
        "url": delivery.url,
        "body": delivery.body,
        "resend_of": delivery.resend_of_id,
    }


def push_as_json(push: SimPush, *, mask: bool = False) -> dict[str, Any]:
    """One push and its deliveries. ``mask`` hides the phone (pages, logs)."""
    return {
        "id": push.pk,
        "checkout_request_id": push.checkout_request_id,
        "merchant_request_id": push.merchant_request_id,
        "phone": mask_phone(push.phone) if mask else push.phone,
        "amount": int(push.amount),
        "account_reference": push.account_reference,
        "created_at": _iso(push.created_at),
        "plan_source": push.plan_source,
        "faults": push.faults,
        "result_code": push.result_code or None,
        "result_desc": push.result_desc,
        "receipt_number": push.receipt_number or None,
        "answer_by": _iso(push.answer_by),
        "completes_at": _iso(push.completes_at),
        "deliveries": [delivery_as_json(d) for d in push.deliveries.all()],
    }


def pushes_page(raw_page: str | None, *, per_page: int = PER_PAGE) -> Page:
    """The index's ``?page=N`` of pushes, newest first. Anything that is not a page that
    exists (missing, 0, -1, "abc", 10**40, past the last page) is page 1."""
    paginator = Paginator(_with_deliveries().order_by("-pk"), per_page)
    text = (raw_page or "").strip()
    number = int(text) if text.isascii() and text.isdigit() and len(text) <= 9 else 1
    return paginator.page(number if 1 <= number <= paginator.num_pages else 1)


def pushes_by_id(ids: set[int]) -> list[SimPush]:
    """These pushes as they are now (the live index re-renders whole rows), newest first."""
    return list(_with_deliveries().filter(pk__in=ids).order_by("-pk"))


def push_row(push: SimPush) -> dict[str, Any]:
    """One line of the index, in people's words (the template and the live index share it)."""
    code = push.result_code
    return {
        "id": push.pk,
        "time": timezone.localtime(push.created_at).strftime("%H:%M:%S"),
        "checkout_request_id": push.checkout_request_id,
        "amount": f"KES {int(push.amount):,}",
        "result": f"{code}: {push.result_desc}" if code else "waiting",
        "plan_source": push.plan_source,
        "deliveries": [
            {
                "status": d.status,
                "label": " ".join(str(x) for x in (d.kind, d.status, d.response_status) if x is not None),
            }
            for d in push.deliveries.all()
        ],
    }
