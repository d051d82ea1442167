"""Reads. The consumer, the status endpoint, pages and commands all read through here."""

import uuid

from django.contrib.contenttypes.models import ContentType
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet

from .models import Payment


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


def payments_page_for_user(*, user, status: str | None, page, per_page: int) -> Page:
    qs = Payment.objects.filter(user=user).prefetch_related("payable")
    if status:
        qs = qs.filter(status=status)
    return Paginator(qs.order_by("-created_at", "-pk"), per_page).get_page(page)


def payments_for_payable(payable) -> QuerySet[Payment]:
    """Every payment of one payable, newest first (a checkout page shows the latest)."""
    return Payment.objects.filter(
        payable_type=ContentType.objects.get_for_model(payable), payable_id=str(payable.pk)
    ).order_by("-created_at", "-pk")
