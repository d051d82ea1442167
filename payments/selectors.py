"""Reads. The consumer, the status endpoint, pages and commands all read through here."""

import uuid
from datetime import datetime

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet

from .models import Order, Payment, Wallet


def _visible_to(user) -> QuerySet[Payment]:
    qs = Payment.objects.select_related("order", "wallet")
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


def payment_get_by_public_id(*, public_id: uuid.UUID) -> Payment | None:
    return Payment.objects.select_related("order", "wallet").filter(public_id=public_id).first()


def payments_page_for_user(*, user, status: str | None, page: int, per_page: int) -> Page:
    qs = Payment.objects.select_related("order", "wallet").filter(user=user)
    if status:
        qs = qs.filter(status=status)
    return Paginator(qs.order_by("-created_at", "-pk"), per_page).get_page(page)


def order_get_for_user(*, user, public_id: uuid.UUID | str) -> Order | None:
    try:
        public_id = public_id if isinstance(public_id, uuid.UUID) else uuid.UUID(str(public_id))
    except ValueError:
        return None
    return Order.objects.filter(user=user, public_id=public_id).first()


def payments_due_for_check(*, now: datetime) -> QuerySet[Payment]:
    """Open payments whose reconciliation time has come (the reconciler's job rows)."""
    return Payment.objects.filter(status__in=Payment.OPEN_STATUSES, next_check_at__lte=now).order_by(
        "next_check_at"
    )


def orders_for_user(*, user) -> QuerySet[Order]:
    return Order.objects.filter(user=user).order_by("status", "-created_at")


def payment_latest_for_order(*, order: Order) -> Payment | None:
    return order.payments.select_related("order", "wallet").order_by("-created_at", "-pk").first()


def wallet_for_user(*, user) -> Wallet | None:
    return Wallet.objects.filter(user=user).first()
