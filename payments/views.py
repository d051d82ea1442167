"""Thin HTTP views: parse, call one service, answer JSON.

Errors are ``{"error": <sentence>, "fields": {<field>: <sentence>}}`` with the right 4xx.
The callback view is the only CSRF-exempt view in the project.
"""

import json
import logging
import uuid

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import transaction
from django.http import HttpRequest, JsonResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET

from . import selectors, services
from .callback_http import answer_callback
from .inputs import InvalidInput, normalize_phone, parse_amount
from .models import Payment
from .netaddr import client_ip
from .ratelimits import initiation_retry_after
from .realtime import payment_status_payload

logger = logging.getLogger("payments")


def json_error(status: int, error: str, fields: dict | None = None, **extra) -> JsonResponse:
    response = JsonResponse({"error": error, "fields": fields or {}, **extra}, status=status)
    if extra.get("retry_after"):
        response["Retry-After"] = str(extra["retry_after"])
    return response


def csrf_failure(request: HttpRequest, reason: str = "") -> JsonResponse:
    """CSRF_FAILURE_VIEW: JSON for API clients, same 403."""
    return json_error(403, "CSRF check failed. Reload the page and try again.", {"csrf": reason})


def payment_links(payment) -> dict[str, str]:
    return {
        "ws_url": f"/ws/payments/{payment.public_id}/",
        "status_url": reverse("payments:status", kwargs={"public_id": payment.public_id}),
    }


def _capped_body(request: HttpRequest) -> bytes | JsonResponse:
    """The raw body, or a 413 past PAYMENTS_MAX_BODY_BYTES (the ASGI guard refuses first; this
    covers other servers and the test client)."""
    try:
        raw = request.body
    except RequestDataTooBig:
        return json_error(413, "Request body too large.")
    if len(raw) > settings.PAYMENTS_MAX_BODY_BYTES:
        return json_error(413, "Request body too large.")
    return raw


def _read_json(request: HttpRequest) -> dict | JsonResponse:
    if request.content_type != "application/json":
        return json_error(415, "Send JSON (Content-Type: application/json).")
    raw = _capped_body(request)
    if isinstance(raw, JsonResponse):
        return raw
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return json_error(400, "The body is not valid JSON.")
    if not isinstance(data, dict):
        return json_error(400, "The body must be a JSON object.")
    return data


def _validate_initiate(data: dict, user) -> tuple[dict, dict]:
    """Returns (clean, field_errors)."""
    errors: dict[str, str] = {}
    clean: dict = {}
    try:
        clean["phone"] = normalize_phone(data.get("phone"))
    except InvalidInput as exc:
        errors[exc.field] = exc.message
    if data.get("order") is not None:
        if "amount" in data:
            errors["amount"] = "Do not send an amount with an order: the order decides it."
        order = selectors.order_get_for_user(user=user, public_id=str(data["order"]))
        if order is None:
            errors["order"] = "Unknown order."
        clean["order"] = order
    else:
        try:
            clean["amount"] = parse_amount(data.get("amount"))
        except InvalidInput as exc:
            errors[exc.field] = exc.message
    return clean, errors


async def initiate(request: HttpRequest) -> JsonResponse:
    """POST /payments/initiate/ {"order": <id>} or {"amount": <int>}, plus "phone"."""
    if request.method != "POST":
        return json_error(405, "Use POST.")
    user = await request.auser()
    if not user.is_authenticated:
        return json_error(401, "Log in first.")
    data = _read_json(request)
    if isinstance(data, JsonResponse):
        return data
    key = request.headers.get("Idempotency-Key") or None
    if key is not None and not (1 <= len(key) <= 64 and key.isascii() and key.isprintable()):
        return json_error(
            400, "Invalid Idempotency-Key.", {"idempotency_key": "1-64 printable ASCII characters."}
        )
    clean, errors = await sync_to_async(_validate_initiate)(data, user)
    if errors:
        status = 404 if set(errors) == {"order"} else 400
        return json_error(status, "Please correct the highlighted fields.", errors)
    retry_after = await sync_to_async(initiation_retry_after)(
        request=request, user=user, phone=clean["phone"], key=key
    )
    if retry_after:
        return json_error(
            429, "Too many payment attempts. Please wait and try again.", retry_after=retry_after
        )
    try:
        result = await services.payment_initiate(user=user, idempotency_key=key, **clean)
    except services.InitiationRefused as exc:
        extra = {"retry_after": exc.retry_after} if exc.retry_after else {}
        if exc.payment is not None and exc.payment.user_id == user.pk:
            extra["payment"] = await sync_to_async(payment_status_payload)(exc.payment)
        return json_error(exc.status, exc.message, {exc.field: exc.message} if exc.field else {}, **extra)
    payment = result.payment
    body = {"payment": await sync_to_async(payment_status_payload)(payment), **payment_links(payment)}
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


@require_GET
def payment_status(request: HttpRequest, public_id: uuid.UUID) -> JsonResponse:
    """GET /payments/<id>/: the owner's (or staff's) view; 404 for everyone else."""
    payment = selectors.payment_get_for_user(user=request.user, public_id=public_id)
    if payment is None:
        return json_error(404, "Payment not found.")
    return JsonResponse({"payment": payment_status_payload(payment), **payment_links(payment)})


@require_GET
def payment_history(request: HttpRequest) -> JsonResponse:
    """GET /payments/?status=<status>&page=<n>: the user's payments, newest first."""
    if not request.user.is_authenticated:
        return json_error(401, "Log in first.")
    status = request.GET.get("status") or None
    if status and status not in Payment.Status.values:
        return json_error(400, "Unknown status filter.", {"status": "Unknown status."})
    page = selectors.payments_page_for_user(
        user=request.user,
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


@csrf_exempt  # Daraja cannot send a CSRF token (daraja-reference.md §9.7); the URL is the capability.
@transaction.non_atomic_requests  # the raw record must survive any later error (STYLE pitfall 2)
async def stk_callback(request: HttpRequest, public_id_hex: str, token: str) -> JsonResponse:
    """Daraja's result for one payment: the Django door to ``answer_callback`` (under Daphne
    ``CallbackEndpoint`` answers first; payments/callback_http.py)."""
    body = _capped_body(request)
    answer = await answer_callback(
        method=request.method,
        path=request.path,
        public_id_hex=public_id_hex,
        token=token,
        ip=client_ip(request),
        body=None if isinstance(body, JsonResponse) else body,
        headers=dict(request.headers),
    )
    response = JsonResponse(answer.body, status=answer.status)
    for name, value in answer.headers.items():
        response[name] = value
    response._has_been_logged = True  # logged by answer_callback with the token redacted
    return response
