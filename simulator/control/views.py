"""The JSON control API under ``/simulator/control/`` (curl examples in README.md, "The control API").

Answers ``{"error": <sentence>}`` with 400 (bad input), 404 (unknown id), 405 or 409
(the push is already final / a callback is on the wire). CSRF-exempt: it is a dev tool for
scripts and test suites, mounted only when SIMULATOR_ENABLED.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.views.decorators.csrf import csrf_exempt

from mpesa_plumbing.jsonbody import JsonError, loads

from ..api import behaviour, tokens
from ..c2b_delivery import c2b_deliver_due
from ..conf import sim_config
from ..delivery import deliver_due, send_delivery
from ..models import SimC2BCallback, SimC2BPayment, SimC2BRegistration, SimDelivery, SimPush, SimScript
from ..outcomes import rules, scheduler, scripts
from ..selectors import delivery_as_json, push_as_json, pushes_recent
from ..wire.errors import WireError
from . import state


class BadRequest(Exception):
    pass


def _error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


def control_view(*methods: str) -> Callable:
    """CSRF-exempt JSON view for ``methods``; maps the usual failures to 4xx."""

    def decorate(view: Callable) -> Callable:
        @csrf_exempt
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
            if request.method not in methods:
                return _error(405, f"Use {' or '.join(methods)}.")
            try:
                return view(request, *args, **kwargs)
            except (BadRequest, rules.ScriptError) as exc:
                return _error(400, str(exc))
            except WireError as exc:
                return JsonResponse({"error": exc.message, "errorCode": exc.error_code}, status=409)
            except (
                SimPush.DoesNotExist,
                SimDelivery.DoesNotExist,
                SimScript.DoesNotExist,
                SimC2BPayment.DoesNotExist,
                SimC2BCallback.DoesNotExist,
                SimC2BRegistration.DoesNotExist,
            ):
                return _error(404, "Not found.")
            except scheduler.ScheduleConflict as exc:
                return _error(409, str(exc))

        return wrapped

    return decorate


def _body(request: HttpRequest) -> dict[str, Any]:
    """The JSON object sent, or {} for an empty POST (``curl -X POST``, a bare form)."""
    if request.content_type != "application/json":
        try:
            posted = bool(request.POST)
        except MultiPartParserError:  # a multipart body without a boundary, say
            posted = True
        if posted:
            raise BadRequest("Send JSON (Content-Type: application/json).")
        return {}
    if not request.body.strip():
        return {}
    try:
        data = loads(request.body)
    except JsonError as exc:
        raise BadRequest(str(exc)) from None
    if not isinstance(data, dict):
        raise BadRequest("The body must be a JSON object.")
    return data


@control_view("GET")
def counters(request: HttpRequest) -> JsonResponse:
    """GET control/counters/: requests per API, pushes, deliveries."""
    return JsonResponse(state.counters())


@control_view("GET")
def scenarios(request: HttpRequest) -> JsonResponse:
    """GET control/scenarios/: the named scenarios (``manage.py mpesa trigger <name>``), each
    the phone whose pushes play it out."""
    rows = [
        {"name": name, "phone": phone, "meaning": meaning}
        for name, (phone, meaning) in rules.SCENARIOS.items()
    ]
    return JsonResponse({"scenarios": rows})


@control_view("POST")
def reset(request: HttpRequest) -> JsonResponse:
    """POST control/reset/: forget everything (pushes, deliveries, scripts, tokens, counters)."""
    return JsonResponse({"deleted": state.reset_state()})


@control_view("GET")
def pushes(request: HttpRequest) -> JsonResponse:
    """GET control/pushes/?limit=20&phone=2547…&after=<id>: newest first, with deliveries."""
    try:
        limit = int(request.GET.get("limit", 20))
        after = int(request.GET["after"]) if request.GET.get("after") else None
    except ValueError:
        raise BadRequest("limit and after must be whole numbers.") from None
    rows = pushes_recent(limit=limit, phone=request.GET.get("phone", ""), after_id=after)
    return JsonResponse({"pushes": [push_as_json(p) for p in rows]})


@control_view("GET")
def push_detail(request: HttpRequest, checkout_request_id: str) -> JsonResponse:
    """GET control/pushes/<CheckoutRequestID>/: one push with its deliveries."""
    push = SimPush.objects.prefetch_related("deliveries").get(checkout_request_id=checkout_request_id)
    return JsonResponse(push_as_json(push))


@control_view("POST")
def push_fire(request: HttpRequest, checkout_request_id: str) -> JsonResponse:
    """POST control/pushes/<id>/fire/ {"result_code"?}: make the pending outcome happen now."""
    data = _body(request)
    code = rules.parse_result_code(data["result_code"]) if data.get("result_code") is not None else None
    decision = scheduler.push_fire(checkout_request_id, result_code=code, config=sim_config())
    return JsonResponse({"push": checkout_request_id, "due_now": [d.pk for d in decision.deliveries]})


@control_view("GET", "POST")
def script_list(request: HttpRequest) -> JsonResponse:
    """GET: scripts with uses left. POST: a phone script, an API fault, or (with
    ``checkout_request_id``) a new outcome for an existing push."""
    if request.method == "GET":
        live = SimScript.objects.filter(remaining__gt=0)
        return JsonResponse({"scripts": [scripts.script_as_json(s) for s in live]})
    data = _body(request)
    if "checkout_request_id" in data:
        return _script_checkout(data)
    return JsonResponse(scripts.script_as_json(scripts.script_create(data)), status=201)


def _script_checkout(data: dict[str, Any]) -> JsonResponse:
    script, decision = scripts.script_for_checkout(
        str(data["checkout_request_id"]), data, config=sim_config()
    )
    return JsonResponse({**scripts.script_as_json(script), "push": push_as_json(decision.push)}, status=201)


@control_view("DELETE", "POST")
def script_delete(request: HttpRequest, script_id: int) -> JsonResponse:
    """DELETE (or POST) control/scripts/<id>/delete/: drop a script's remaining uses."""
    deleted, _ = SimScript.objects.filter(pk=script_id).delete()
    if not deleted:
        raise SimScript.DoesNotExist(script_id)
    return JsonResponse({"deleted": script_id})


@control_view("POST")
def delivery_resend(request: HttpRequest, delivery_id: int) -> JsonResponse:
    """POST control/deliveries/<id>/resend/: replay that exact body now; answers the attempt."""
    config = sim_config()
    replay = state.delivery_resend(delivery_id, config=config)
    sent = send_delivery(replay.pk, config=config) or SimDelivery.objects.get(pk=replay.pk)
    return JsonResponse(delivery_as_json(sent), status=201)


@control_view("POST")
def tokens_expire(request: HttpRequest) -> JsonResponse:
    """POST control/tokens/expire/: every live token now gets 404.001.03."""
    return JsonResponse({"expired": tokens.tokens_expire_all()})


@control_view("POST")
def trigger(request: HttpRequest) -> JsonResponse:
    """POST control/trigger/ {"callback_url", "phone"?, "amount"?, "result_code"?, faults…}."""
    config = sim_config()
    outcome = behaviour.push_trigger(_body(request), config=config)
    if outcome.early is not None:
        send_delivery(outcome.early.pk, config=config)
    push = SimPush.objects.prefetch_related("deliveries").get(pk=outcome.push.pk)
    return JsonResponse(push_as_json(push), status=201)


@control_view("POST")
def deliver(request: HttpRequest) -> JsonResponse:
    """POST control/deliver/: run the delivery jobs (STK and C2B) once (when no job runner is
    running)."""
    return JsonResponse({"handled": deliver_due() + c2b_deliver_due()})


@control_view("GET", "POST", "DELETE", "PUT", "PATCH")
def not_found(request: HttpRequest, rest: str = "") -> JsonResponse:
    """Any other path under ``control/``: the control API's JSON 404."""
    return _error(404, "Not found.")
