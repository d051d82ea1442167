"""Customer pages: orders, checkout, wallet (deposit), payment history. Reads only; payments
are started by the page's script through the JSON API (payments/views.py)."""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.csrf import ensure_csrf_cookie

from payments import selectors
from payments.live.broadcast import payment_status_payload
from payments.models import Payment


def _page_config(**extra) -> dict:
    return {
        "initiate_url": "/payments/initiate/",
        "pin_window": settings.PAYMENTS_PIN_WINDOW_SECONDS,
        "min_amount": settings.PAYMENTS_MIN_AMOUNT,
        "max_amount": settings.PAYMENTS_MAX_AMOUNT,
        **extra,
    }


@login_required
def orders(request):
    return render(request, "frontend/orders.html", {"orders": selectors.orders_for_user(user=request.user)})


@login_required
@ensure_csrf_cookie
def checkout(request, public_id):
    order = selectors.order_get_for_user(user=request.user, public_id=public_id)
    if order is None:
        raise Http404("No such order")
    latest = selectors.payment_latest_for_order(order=order)
    config = _page_config(
        order=str(order.public_id), latest=payment_status_payload(latest) if latest else None
    )
    return render(request, "frontend/checkout.html", {"order": order, "config": config})


@login_required
@ensure_csrf_cookie
def wallet(request):
    wallet = selectors.wallet_for_user(user=request.user)
    entries = wallet.entries.select_related("payment")[:10] if wallet else []
    config = _page_config(balance=wallet.balance if wallet else 0)
    return render(request, "frontend/wallet.html", {"wallet": wallet, "entries": entries, "config": config})


@login_required
def history(request):
    status = request.GET.get("status") or None
    if status not in Payment.Status.values:
        status = None
    page = selectors.payments_page_for_user(
        user=request.user,
        status=status,
        page=request.GET.get("page", 1),
        per_page=settings.PAYMENTS_HISTORY_PAGE_SIZE,
    )
    return render(
        request,
        "frontend/history.html",
        {"page": page, "status": status or "", "statuses": Payment.Status.choices},
    )
