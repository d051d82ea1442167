"""The JSON API: parse, call one service, answer JSON. Session (same-origin pages) or API token
(front ends on other origins, mobile apps) — see auth.py; CORS for configured origins only.

Errors are ``{"error": <sentence>, "fields": {<field>: <sentence>}}`` with the right 4xx.
"""

import logging
import uuid

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from mpesa_plumbing.db import in_db

from .. import checkout, selectors
from ..checkout.inputs import InvalidInput, normalize_phone, parse_amount
from ..live.broadcast import payment_status_payload
from ..live.tickets import ticket_issue
from ..models import Payment
from ..payables import PayableError, lookup
from .auth import request_user
from .body import json_error, read_json
from .ratelimits import initiation_retry_after

logger = logging.getLogger("payments")


def csrf_failure(request: HttpRequest, reason: str = "") -> JsonResponse:
    """CSRF_FAILURE_VIEW: JSON for API clients, same 403."""
    return json_error(403, _("CSRF check failed. Reload the page and try again."), {"csrf": reason})


@csrf_exempt  # as every API view: a token client's POST to a wrong path is a 404, not a CSRF 403
def api_not_found(request: HttpRequest) -> JsonResponse:
    return json_error(404, _("Not found."))


def payment_links(payment) -> dict[str, str]:
    return {
        "ws_url": f"/ws/payments/{payment.public_id}/",
        "status_url": reverse("payments:status", kwargs={"public_id": payment.public_id}),
        "ticket_url": reverse("payments:ticket", kwargs={"public_id": payment.public_id}),
        "stop_url": reverse("payments:stop", kwargs={"public_id": payment.public_id}),
    }


def _validate_initiate(data: dict, user) -> tuple[dict, dict]:
    """Returns (clean, field_errors): the phone, the payable this user may pay, the amount."""
    errors: dict[str, str] = {}
    clean: dict = {}
    try:
        clean["phone"] = normalize_phone(data.get("phone"))
    except InvalidInput as exc:
        errors[exc.field] = exc.message
    requested = None
    if data.get("amount") is not None:
        try:
            requested = parse_amount(data.get("amount"))
        except InvalidInput as exc:
            errors[exc.field] = exc.message
    try:
        payable = lookup(data.get("payable"), data.get("id"), user=user)
        payable.payable_amount(requested)  # the payable decides what may be charged
        clean.update(payable=payable, amount=requested)
    except PayableError as exc:
        errors.setdefault(exc.field, exc.message)
        if exc.status == 404:
            clean["not_found"] = True
    return clean, errors


async def _caller(request: HttpRequest):
    user, refused = await in_db(request_user, request)
    if refused is None and not user.is_authenticated:
        refused = json_error(401, _("Log in first."))
    return user, refused


@csrf_exempt  # token requests carry no cookie; session requests are CSRF-checked in request_user
async def initiate(request: HttpRequest) -> JsonResponse:
    """POST /payments/initiate/ {"payable": <kind>, "id": <its public id>, "phone": …,
    "amount"?: <only for a payable whose customer chooses the amount>}."""
    if request.method != "POST":
        return json_error(405, "Use POST.")
    user, refused = await _caller(request)
    if refused is not None:
        return refused
    data = read_json(request)
    if isinstance(data, JsonResponse):
        return data
    key = request.headers.get("Idempotency-Key") or None
    if key is not None and not (1 <= len(key) <= 64 and key.isascii() and key.isprintable()):
        return json_error(
            400, "Invalid Idempotency-Key.", {"idempotency_key": "1-64 printable ASCII characters."}
        )
    clean, errors = await in_db(_validate_initiate, data, user)
    if errors:
        status = 404 if clean.pop("not_found", False) and set(errors) <= {"id", "payable"} else 400
        return json_error(status, _("Please correct the highlighted fields."), errors)
    retry_after = await in_db(
        initiation_retry_after, request=request, user=user, phone=clean["phone"], key=key
    )
    if retry_after:
        return json_error(
            429, _("Too many payment attempts. Please wait and try again."), retry_after=retry_after
        )
    try:
        result = await checkout.payment_initiate(user=user, idempotency_key=key, **clean)
    except checkout.InitiationRefused as exc:
        extra = {"retry_after": exc.retry_after} if exc.retry_after else {}
        if exc.payment is not None and exc.payment.user_id == user.pk:
            extra["payment"] = await in_db(payment_status_payload, exc.payment)
        return json_error(exc.status, exc.message, {exc.field: exc.message} if exc.field else {}, **extra)
    payment = result.payment
    body = {"payment": await in_db(payment_status_payload, payment), **payment_links(payment)}
    if not result.created:
        response = JsonResponse(body, status=200)
        response["Idempotent-Replayed"] = "true"
        return response
    if payment.status == Payment.Status.REJECTED:
        # Daraja busy or unreachable: try later (503); a definite refusal of this request: 502.
        busy = payment.error_code.startswith(("500.003", "http.5", "unavailable"))
        response = json_error(503 if busy else 502, body["payment"]["message"], {}, **body)
        if busy:
            response["Retry-After"] = "60"
        return response
    return JsonResponse(body, status=202 if payment.status == Payment.Status.UNKNOWN else 201)


def _status(request: HttpRequest, public_id: uuid.UUID) -> JsonResponse:
    user, refused = request_user(request)
    payment = None if refused else selectors.payment_get_for_user(user=user, public_id=public_id)
    if refused is not None:
        return refused
    if payment is None:
        return json_error(404, _("Payment not found."))
    return JsonResponse({"payment": payment_status_payload(payment), **payment_links(payment)})


@csrf_exempt
async def payment_status(request: HttpRequest, public_id: uuid.UUID) -> JsonResponse:
    """GET /payments/<id>/: the owner's (or staff's) view; 404 for everyone else."""
    if request.method not in ("GET", "HEAD"):
        return json_error(405, "Use GET.")
    return await in_db(_status, request, public_id)


def _stop(request: HttpRequest, public_id: uuid.UUID) -> JsonResponse:
    user, refused = request_user(request)
    if refused is not None:
        return refused
    payment = selectors.payment_get_for_user(user=user, public_id=public_id)
    if payment is None:
        return json_error(404, _("Payment not found."))
    if not checkout.payment_stop_by_customer(payment):
        payment.refresh_from_db()
        return JsonResponse(
            {
                "error": _("This payment can no longer be stopped."),
                "fields": {},
                "payment": payment_status_payload(payment),
            },
            status=409,
        )
    payment.refresh_from_db()
    return JsonResponse({"payment": payment_status_payload(payment), **payment_links(payment)})


@csrf_exempt
async def payment_stop(request: HttpRequest, public_id: uuid.UUID) -> JsonResponse:
    """POST /payments/<id>/stop/: "Wrong number?": stop this attempt so a new one can start
    (409 once it is settled)."""
    if request.method != "POST":
        return json_error(405, "Use POST.")
    return await in_db(_stop, request, public_id)


def _ticket(request: HttpRequest, public_id: uuid.UUID) -> JsonResponse:
    user, refused = request_user(request)
    if refused is not None:
        return refused
    payment = selectors.payment_get_for_user(user=user, public_id=public_id)
    if payment is None:
        return json_error(404, _("Payment not found."))
    return JsonResponse(
        {
            "ticket": ticket_issue(payment=payment, user=user),
            "expires_in": settings.PAYMENTS_WS_TICKET_SECONDS,
        },
        status=201,
    )


@csrf_exempt
async def payment_ticket(request: HttpRequest, public_id: uuid.UUID) -> JsonResponse:
    """POST /payments/<id>/ticket/: a single-use, short-lived ticket for this payment's socket
    (``<ws_url>?ticket=…``), for callers without a session cookie."""
    if request.method != "POST":
        return json_error(405, "Use POST.")
    return await in_db(_ticket, request, public_id)


def _history(request: HttpRequest) -> JsonResponse:
    user, refused = request_user(request)
    if refused is not None:
        return refused
    if not user.is_authenticated:
        return json_error(401, _("Log in first."))
    status = request.GET.get("status") or None
    if status and status not in Payment.Status.values:
        return json_error(400, "Unknown status filter.", {"status": "Unknown status."})
    page = selectors.payments_page_for_user(
        user=user,
        status=status,
        page=request.GET.get("page", 1),
        per_page=settings.PAYMENTS_HISTORY_PAGE_SIZE,
    )
    return JsonResponse(
        {
            "results": [payment_status_payload(p) for p in page.object_list],
            "page": page.number,
            "pages": page.paginator.num_pages,
            "count": page.paginator.count,
        }
    )


@csrf_exempt
async def payment_history(request: HttpRequest) -> JsonResponse:
    """GET /payments/?status=<status>&page=<n>: the user's payments, newest first."""
    if request.method not in ("GET", "HEAD"):
        return json_error(405, "Use GET.")
    return await in_db(_history, request)
