"""Reads. The consumer, the status endpoint, pages and commands all read through here."""

import re
import uuid
from collections.abc import Iterable

from django.contrib.contenttypes.models import ContentType
from django.core.paginator import Page, Paginator
from django.db.models import Q, QuerySet

from .daraja.payloads import normalize_receipt
from .models import Payment

SHORT_ID_MIN = 6  # hex digits; `mpesa tail` and the admin show 10


def _visible_to(user) -> QuerySet[Payment]:
    qs = Payment.objects.all()
    return qs if user.is_staff else qs.filter(user=user)


def payment_get_for_user(*, user, public_id: uuid.UUID | str) -> Payment | None:
    """The payment if ``user`` owns it (or is staff); None otherwise — callers answer 404,
    never 403, so a stranger cannot learn that an id exists."""
    if not getattr(user, "is_authenticated", False):
        return None
    try:
        public_id = public_id if isinstance(public_id, uuid.UUID) else uuid.UUID(str(public_id))
    except ValueError:
        return None
    return _visible_to(user).filter(public_id=public_id).first()


def payments_page_for_user(*, user, status: str | Iterable[str] | None, page, per_page: int) -> Page:
    """``status``: one status, several (a customer's "Not paid" is four), or None for all."""
    qs = Payment.objects.filter(user=user).prefetch_related("payable")
    if isinstance(status, str):
        qs = qs.filter(status=status)
    elif status:
        qs = qs.filter(status__in=list(status))
    return Paginator(qs.order_by("-created_at", "-pk"), per_page).get_page(page)


def payments_for_payable(payable) -> QuerySet[Payment]:
    """Every payment of one payable, newest first (a checkout page shows the latest)."""
    return Payment.objects.filter(
        payable_type=ContentType.objects.get_for_model(payable), payable_id=str(payable.pk)
    ).order_by("-created_at", "-pk")


def payments_matching(reference: str, *, limit: int = 5) -> list[Payment]:
    """The payments an operator may mean by ``reference`` (``manage.py mpesa status``): the
    full public id (with or without dashes), its first hex digits (at least 6: the short id
    ``mpesa tail`` and the admin show is 10), the CheckoutRequestID or the M-Pesa receipt
    number (any case). Newest first, at most ``limit``: more than one means "say more"."""
    text = reference.strip()
    if not text:
        return []
    compact = text.lower().replace("-", "")
    query = Q(checkout_request_id=text)
    receipt = normalize_receipt(text)
    if receipt:
        query |= Q(receipt_number=receipt)
    if re.fullmatch(r"[0-9a-f]{32}", compact):
        query |= Q(public_id=uuid.UUID(compact))
    elif re.fullmatch(rf"[0-9a-f]{{{SHORT_ID_MIN},31}}", compact):
        # A prefix as a range of ids: the same on SQLite (hex text) and PostgreSQL (uuid).
        low, high = uuid.UUID(compact.ljust(32, "0")), uuid.UUID(compact.ljust(32, "f"))
        query |= Q(public_id__gte=low, public_id__lte=high)
    return list(Payment.objects.filter(query).order_by("-created_at", "-pk")[:limit])
