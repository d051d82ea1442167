"""The demo shop's pages: orders, wallet deposits, a booking fee, payment history. Reads only;
payments are started by the drop-in checkout element (payments/static/payments/
mpesa-checkout.js) through the engine's JSON API, exactly as any adopting project would."""

import json

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.csrf import ensure_csrf_cookie

from payments import selectors
from payments.live.broadcast import payment_status_payload
from payments.models import Payment

from .models import Booking, Order, Wallet


def _resume(payable) -> str:
    """The payable's latest payment as JSON, for the checkout element to keep watching."""
    latest = selectors.payments_for_payable(payable).first()
    return json.dumps(payment_status_payload(latest)) if latest else ""


@login_required
def orders(request):
    context = {
        "orders": Order.objects.filter(user=request.user).order_by("status", "-created_at"),
        "bookings": Booking.objects.filter(user=request.user).order_by("-created_at"),
    }
    return render(request, "frontend/orders.html", context)


@login_required
@ensure_csrf_cookie
def checkout(request, public_id):
    order = Order.objects.filter(user=request.user, public_id=public_id).first()
    if order is None:
        raise Http404("No such order")
    return render(request, "frontend/checkout.html", {"order": order, "resume": _resume(order)})


@login_required
@ensure_csrf_cookie
def booking(request, public_id):
    booking = Booking.objects.filter(user=request.user, public_id=public_id).first()
    if booking is None:
        raise Http404("No such booking")
    context = {"booking": booking, "events": booking.events.all(), "resume": _resume(booking)}
    return render(request, "frontend/booking.html", context)


@login_required
@ensure_csrf_cookie
def wallet(request):
    wallet = Wallet.objects.get_or_create(user=request.user)[0]
    context = {
        "wallet": wallet,
        "entries": wallet.entries.select_related("payment")[:10],
        "min_amount": settings.PAYMENTS_MIN_AMOUNT,
        "max_amount": settings.PAYMENTS_MAX_AMOUNT,
    }
    return render(request, "frontend/wallet.html", context)


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
