"""The demo shop's pages: a landing page, orders, wallet deposits, a booking fee, payment
history and receipts. Reads only; payments are started by the drop-in checkout element
(payments/static/payments/mpesa-checkout.js) through the engine's JSON API, exactly as any
adopting project would."""

import json
from datetime import date

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils import dateformat
from django.views.decorators.csrf import ensure_csrf_cookie

from payments import selectors
from payments.live.broadcast import payment_status_payload
from payments.models import Payment

from . import history as history_rows
from .models import Booking, Order, Wallet
from .receipts import receipt_for, receipt_pdf

WALLET_RECENT = 10  # deposits on the wallet page (the live list keeps the same number)


def _resume(payable) -> str:
    """The payable's latest payment as JSON, for the checkout element to keep watching."""
    latest = selectors.payments_for_payable(payable).first()
    return json.dumps(payment_status_payload(latest)) if latest else ""


def orders(request):
    """``/``: the customer's orders, or for a visitor the shop's welcome (and the way in)."""
    if not request.user.is_authenticated:
        return render(request, "frontend/landing.html")
    mine = {"user": request.user}
    context = {
        "orders": Order.objects.filter(**mine).select_related("paid_by").order_by("status", "-created_at"),
        "bookings": Booking.objects.filter(**mine).select_related("paid_by").order_by("-created_at"),
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
        "entries": wallet.entries.select_related("payment")[:WALLET_RECENT],
        "recent": WALLET_RECENT,
        "min_amount": settings.PAYMENTS_MIN_AMOUNT,
        "max_amount": settings.PAYMENTS_MAX_AMOUNT,
        # For the live rows (wallet.js): Django's "M" in the active language.
        "months": " ".join(dateformat.format(date(2000, month, 1), "M") for month in range(1, 13)),
    }
    return render(request, "frontend/wallet.html", context)


@login_required
def history(request):
    chosen, statuses = history_rows.filter_for(request.GET.get("status"))
    page = selectors.payments_page_for_user(
        user=request.user,
        status=statuses,
        page=request.GET.get("page", 1),
        per_page=settings.PAYMENTS_HISTORY_PAGE_SIZE,
    )
    context = {
        "page": page,
        "rows": history_rows.rows(page.object_list),
        "status": chosen,
        "filters": history_rows.FILTERS,
    }
    return render(request, "frontend/history.html", context)


def _paid_payment_of(request, public_id) -> Payment:
    """The customer's own paid payment; 404 for anyone else's (staff included: a receipt is
    the customer's), for an unpaid one and for an id that does not exist."""
    payment = (
        Payment.objects.filter(user=request.user, public_id=public_id, status=Payment.Status.PAID)
        .prefetch_related("payable")
        .first()
    )
    if payment is None:
        raise Http404("No such receipt")
    return payment


@login_required
def receipt(request, public_id):
    found = receipt_for(_paid_payment_of(request, public_id))
    return render(request, "frontend/receipt.html", {"receipt": found})


@login_required
def receipt_download(request, public_id):
    found = receipt_for(_paid_payment_of(request, public_id))
    response = HttpResponse(receipt_pdf(found), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{found.file_name}"'
    response["Cache-Control"] = "private, no-store"
    return response
