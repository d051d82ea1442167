"""Reads of C2B payments for people and machines: JSON primitives (control API, ``manage.py
simulator c2b-list``) and the index's rows."""

from typing import Any

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from mpesa_plumbing.logs import mask_phone

from .models import SimC2BCallback, SimC2BPayment, SimC2BRegistration
from .selectors import _iso

C2B_PER_PAGE = 20


def with_callbacks() -> QuerySet:
    return SimC2BPayment.objects.prefetch_related(
        Prefetch("callbacks", queryset=SimC2BCallback.objects.order_by("pk"))
    )


def c2b_recent(*, limit: int = 20, phone: str = "", after_id: int | None = None) -> QuerySet:
    qs = with_callbacks()
    if phone:
        qs = qs.filter(msisdn=phone)
    if after_id is not None:
        qs = qs.filter(pk__gt=after_id)
    return qs.order_by("-pk")[: max(1, min(limit, 500))]


def callback_as_json(row: SimC2BCallback) -> dict[str, Any]:
    """One Validation/Confirmation attempt: what was sent where, what came back, how it counted."""
    return {
        "id": row.pk,
        "kind": row.kind,
        "status": row.status,
        "due_at": _iso(row.due_at),
        "attempted_at": _iso(row.attempted_at),
        "response_status": row.response_status,
        "response_excerpt": row.response_excerpt,
        "duration_ms": row.duration_ms,
        "error": row.error,
        "verdict": row.verdict,
        "url": row.url,
        "body": row.body,
        "resend_of": row.resend_of_id,
    }


def c2b_payment_as_json(payment: SimC2BPayment, *, mask: bool = False) -> dict[str, Any]:
    return {
        "id": payment.pk,
        "trans_id": payment.trans_id,
        "shortcode": payment.shortcode,
        "command_id": payment.command_id,
        "phone": mask_phone(payment.msisdn) if mask else payment.msisdn,
        "amount": int(payment.amount),
        "bill_ref_number": payment.bill_ref_number,
        "source": payment.source,
        "registration": {
            "version": payment.version or None,
            "response_type": payment.response_type or None,
            "confirmation_url": payment.confirmation_url or None,
            "validation_url": payment.validation_url or None,
        },
        "faults": payment.faults,
        "plan_source": payment.plan_source,
        "status": payment.status,
        "decided_by": payment.decided_by,
        "result_code": payment.result_code or None,
        "result_desc": payment.result_desc,
        "third_party_trans_id": payment.third_party_trans_id,
        "org_balance": payment.org_balance or None,
        "created_at": _iso(payment.created_at),
        "decided_at": _iso(payment.decided_at),
        "callbacks": [callback_as_json(c) for c in payment.callbacks.all()],
    }


def registration_as_json(row: SimC2BRegistration) -> dict[str, Any]:
    return {
        "shortcode": row.shortcode,
        "version": row.version,
        "response_type": row.response_type,
        "confirmation_url": row.confirmation_url,
        "validation_url": row.validation_url or None,
        "org_balance": f"{row.org_balance:.2f}",
        "times_registered": row.times_registered,
        "registered_at": _iso(row.registered_at),
    }


def c2b_row(payment: SimC2BPayment) -> dict[str, Any]:
    """One line of the index's C2B table (the template and the live index share it)."""
    result = {"validating": "waiting for the validation answer"}.get(payment.status, payment.status)
    if payment.decided_by:
        result = f"{result}: {payment.decided_by}"
    return {
        "id": payment.pk,
        "time": timezone.localtime(payment.created_at).strftime("%H:%M:%S"),
        "trans_id": payment.trans_id,
        "to": f"{payment.shortcode} · {payment.bill_ref_number}"
        if payment.bill_ref_number
        else payment.shortcode,
        "amount": f"KES {int(payment.amount):,}",
        "result": result,
        "callbacks": [
            {
                "status": c.status,
                "label": " ".join(str(x) for x in (c.kind, c.status, c.response_status) if x is not None),
            }
            for c in payment.callbacks.all()
        ],
    }


def c2b_by_id(ids: set[int]) -> list[SimC2BPayment]:
    return list(with_callbacks().filter(pk__in=ids).order_by("-pk"))
