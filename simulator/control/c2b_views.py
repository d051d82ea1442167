"""The control API's C2B part under ``/simulator/control/c2b/`` (README, "The control API")."""

from django.http import HttpRequest, JsonResponse

from ..c2b_delivery import deliver_payment_now, send_c2b
from ..c2b_selectors import (
    c2b_payment_as_json,
    c2b_recent,
    callback_as_json,
    registration_as_json,
    with_callbacks,
)
from ..conf import sim_config
from ..models import SimC2BCallback, SimC2BRegistration
from . import c2b_actions
from .views import BadRequest, _body, control_view


@control_view("POST")
def pay(request: HttpRequest) -> JsonResponse:
    """POST control/c2b/pay/ {"phone"?, "account", "amount"?, "shortcode"?, "mistype"?,
    "overpay"?, "lost_confirmation"?, "duplicates"?, "slow_validation"?, "no_validation"?}."""
    payment = c2b_actions.c2b_pay(_body(request), config=sim_config())
    return JsonResponse(c2b_payment_as_json(with_callbacks().get(pk=payment.pk)), status=201)


@control_view("GET")
def payments(request: HttpRequest) -> JsonResponse:
    """GET control/c2b/payments/?limit=20&phone=2547…&after=<id>: newest first, with every
    Validation/Confirmation attempt."""
    try:
        limit = int(request.GET.get("limit", 20))
        after = int(request.GET["after"]) if request.GET.get("after") else None
    except ValueError:
        raise BadRequest("limit and after must be whole numbers.") from None
    rows = c2b_recent(limit=limit, phone=request.GET.get("phone", ""), after_id=after)
    return JsonResponse({"payments": [c2b_payment_as_json(p) for p in rows]})


@control_view("GET")
def payment_detail(request: HttpRequest, trans_id: str) -> JsonResponse:
    """GET control/c2b/payments/<TransID>/."""
    return JsonResponse(c2b_payment_as_json(with_callbacks().get(trans_id=trans_id)))


@control_view("POST")
def payment_deliver(request: HttpRequest, trans_id: str) -> JsonResponse:
    """POST control/c2b/payments/<TransID>/deliver/: send its scheduled POSTs now (and the
    Confirmation an accepted Validation leads to), from this process."""
    with_callbacks().get(trans_id=trans_id)  # 404 for an unknown TransID
    sent = deliver_payment_now(trans_id)
    return JsonResponse(
        {"sent": sent, "payment": c2b_payment_as_json(with_callbacks().get(trans_id=trans_id))}
    )


@control_view("POST")
def callback_resend(request: HttpRequest, callback_id: int) -> JsonResponse:
    """POST control/c2b/callbacks/<id>/resend/: replay that exact body now (a Confirmation
    resent does not decide anything again)."""
    config = sim_config()
    replay = c2b_actions.callback_resend(callback_id, config=config)
    SimC2BCallback.objects.filter(pk=replay.pk).update(lease_until=None)
    sent = send_c2b(replay.pk, config=config) or SimC2BCallback.objects.get(pk=replay.pk)
    return JsonResponse(callback_as_json(sent), status=201)


@control_view("GET")
def registrations(request: HttpRequest) -> JsonResponse:
    """GET control/c2b/registrations/: the registered URLs per shortcode."""
    return JsonResponse(
        {"registrations": [registration_as_json(r) for r in SimC2BRegistration.objects.all()]}
    )


@control_view("DELETE", "POST")
def registration_delete(request: HttpRequest, shortcode: str) -> JsonResponse:
    """DELETE (or POST) control/c2b/registrations/<shortcode>/delete/: URL management."""
    c2b_actions.registration_delete(shortcode)
    return JsonResponse({"deleted": shortcode})
