"""Daraja's three endpoints at their exact paths (§1.1). Async: the push-timeout fault and the
callback-before-response fault wait or POST (possibly to this very process) before answering,
and must not block the event loop; database work goes through the database bridge (``in_db``).

Every view is CSRF-exempt: Daraja clients send no CSRF token (and never a session).
"""

import asyncio
import logging
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from mpesa_plumbing.db import in_db

from ..conf import SimConfig, sim_config
from ..delivery import send_delivery
from ..handset import presence
from ..models import SimApiCall
from ..outcomes import scripts
from ..wire.bodies import push_accepted_body
from ..wire.errors import (
    AUTH_TYPE,
    ENVELOPE_UNDER_200,
    GRANT_TYPE,
    INVALID_TOKEN,
    JSON_CONTENT_TYPE,
    METHOD_NOT_ALLOWED,
    NAMED_ERRORS,
    NOT_FOUND,
    WireError,
    error_body,
)
from ..wire.gateway import GATEWAY_PAGES, HTML_CONTENT_TYPE, spike_arrest_body
from ..wire.ids import request_id
from ..wire.requests import parse_json_object, validate_push, validate_query
from . import behaviour, gateway, tokens

logger = logging.getLogger("simulator")
API = SimApiCall.Api


def daraja_json(data: dict[str, Any], status: int = 200) -> JsonResponse:
    """JSON with Daraja's ``application/json;charset=UTF-8`` (and ``no-store`` on errors, §1.2)."""
    response = JsonResponse(data, status=status, content_type=JSON_CONTENT_TYPE)
    if status >= 400:
        response["Cache-Control"] = "no-store"  # §1.2: as on captured error responses
    return response


async def _error(
    api: str,
    error: WireError | tuple[str, str],
    *,
    fault: str = "",
    checkout: str = "",
    call: int | None = None,
    status: int | None = None,
) -> JsonResponse:
    """Daraja's envelope; the HTTP status is the code's first part unless ``status`` says."""
    err = error if isinstance(error, WireError) else WireError(*error)
    status = err.http_status if status is None else status
    await in_db(
        behaviour.record_call,
        api,
        status,
        error_code=err.error_code,
        fault=fault,
        checkout=checkout,
        call=call,
    )
    return daraja_json(error_body(err, request_id()), status=status)


def gateway_page(kind: str) -> HttpResponse:
    """A gateway's HTML page instead of JSON (§13.5): ``html`` (HTTP 200) or ``html_502``."""
    status, page = GATEWAY_PAGES[kind]
    return HttpResponse(page.encode(), status=status, content_type=HTML_CONTENT_TYPE)


async def _api_fault(api: str, *, call: int | None = None) -> HttpResponse | None:
    """A scripted fault for this API: an odd answer now, or a slow answer (None after the wait)."""
    fault = await in_db(scripts.take_api_fault, api)
    if fault is None:
        return None
    kind = fault["fault"]
    if kind == "slow":
        await asyncio.sleep(
            fault.get("seconds") if fault.get("seconds") is not None else sim_config().slow_seconds
        )
        return None
    if kind == "malformed":  # a gateway hiccup: 200 with a truncated body
        await in_db(behaviour.record_call, api, 200, fault=kind, call=call)
        return HttpResponse(b'{"requestId":"', status=200, content_type=JSON_CONTENT_TYPE)
    if kind in GATEWAY_PAGES:  # html, html_502: not JSON at all
        await in_db(behaviour.record_call, api, GATEWAY_PAGES[kind][0], fault=kind, call=call)
        return gateway_page(kind)
    if kind == "error_200":  # §13.5: an error envelope under HTTP 200
        return await _error(api, ENVELOPE_UNDER_200[api], fault=kind, call=call, status=200)
    return await _error(api, NAMED_ERRORS[kind], fault=kind, call=call)


def _method_guard(request: HttpRequest, method: str) -> JsonResponse | None:
    if request.method != method:
        code, message = METHOD_NOT_ALLOWED
        return daraja_json(
            error_body(WireError(code, f"{request.method} {message}"), request_id()), status=405
        )
    return None


@csrf_exempt
async def oauth_generate(request: HttpRequest) -> HttpResponse:
    """§2: ``GET oauth/v1/generate?grant_type=client_credentials`` with Basic auth."""
    if refused := _method_guard(request, "GET"):
        return refused
    if faulty := await _api_fault(API.OAUTH):
        return faulty
    config = sim_config()
    if request.GET.get("grant_type") != "client_credentials":
        return await _error(API.OAUTH, GRANT_TYPE)
    credentials = tokens.basic_credentials(request.headers.get("Authorization", ""))
    if credentials is None:
        return await _error(API.OAUTH, AUTH_TYPE)
    if not tokens.credentials_valid(*credentials, config):
        # §2.3: wrong key/secret → HTTP 400 with an EMPTY body.
        await in_db(behaviour.record_call, API.OAUTH, 400, error_code="credentials")
        return HttpResponse(b"", status=400, content_type="text/plain")
    token = await in_db(tokens.token_issue, consumer_key=credentials[0], config=config)
    await in_db(behaviour.record_call, API.OAUTH, 200)
    # §2.2: expires_in is the STRING "3599".
    return daraja_json({"access_token": token, "expires_in": str(config.token_lifetime)})


async def _authorized(
    request: HttpRequest, api: str, *, call: int | None = None
) -> tuple[str, HttpResponse | None]:
    token = tokens.bearer_token(request.headers.get("Authorization", ""))
    if not await in_db(tokens.token_valid, token):
        return token, await _error(api, INVALID_TOKEN, call=call)  # §3.3: HTTP 404 404.001.03
    return token, await _api_fault(api, call=call)


def _freshness(config) -> float | None:
    return config.timestamp_max_skew if config.check_timestamp_freshness else None


@csrf_exempt
async def stk_push(request: HttpRequest) -> HttpResponse:
    """§3: ``POST mpesa/stkpush/v1/processrequest``."""
    if refused := _method_guard(request, "POST"):
        return refused
    token, refused = await _authorized(request, API.STKPUSH)
    if refused:
        return refused
    config = sim_config()
    try:
        data = parse_json_object(request.META.get("CONTENT_TYPE", ""), request.body)
        push_request = validate_push(
            data,
            merchant=config.merchant,
            allowed_hosts=config.allowed_callback_hosts,
            now=timezone.now(),
            max_skew=_freshness(config),
        )
        outcome = await in_db(behaviour.push_accept, push_request, token=token, config=config)
    except WireError as exc:
        return await _error(API.STKPUSH, exc)
    push = outcome.push
    if outcome.early is not None:  # fault before_response: the callback lands first (§9.10)
        await in_db(send_delivery, outcome.early.pk, config=config)
    if outcome.prompt is not None:
        await presence.notify_prompt(push.phone, outcome.prompt)
    faults = outcome.plan.faults
    await in_db(
        behaviour.record_call,
        API.STKPUSH,
        200,
        checkout=push.checkout_request_id,
        fault="push_timeout" if faults.push_timeout else "",
    )
    if faults.push_timeout:  # accepted and scheduled; the answer arrives after the client gave up
        await asyncio.sleep(config.push_timeout_delay)
    return daraja_json(
        push_accepted_body(
            merchant_request_id=push.merchant_request_id, checkout_request_id=push.checkout_request_id
        )
    )


def _answered_by_the_gateway(door: gateway.Door, config: SimConfig) -> HttpResponse:
    if door.refusal == gateway.HICCUP:
        return gateway_page("html")
    limit = config.query_rate_limit
    assert limit is not None and door.retry_after is not None
    response = HttpResponse(
        spike_arrest_body(limit.count, limit.period).encode(), status=429, content_type="application/json"
    )
    response["Retry-After"] = str(door.retry_after)
    return response


@csrf_exempt
async def stk_query(request: HttpRequest) -> HttpResponse:
    """§4: ``POST mpesa/stkpushquery/v1/query``. The gateway sees it first (§13.4, §13.5)."""
    if refused := _method_guard(request, "POST"):
        return refused
    config = sim_config()
    try:
        data, unreadable = parse_json_object(request.META.get("CONTENT_TYPE", ""), request.body), None
    except WireError as exc:  # answered after the token check, as before the gateway existed
        data, unreadable = {}, exc
    shortcode, checkout = gateway.query_keys(data)
    door = await in_db(gateway.query_door, shortcode=shortcode, checkout=checkout, config=config)
    if door.refusal:
        return _answered_by_the_gateway(door, config)
    call = door.call_id
    _, refused = await _authorized(request, API.QUERY, call=call)
    if refused:
        return refused
    try:
        if unreadable is not None:
            raise unreadable
        query = validate_query(
            data, merchant=config.merchant, now=timezone.now(), max_skew=_freshness(config)
        )
        body = await in_db(behaviour.query_answer, query, config=config)
    except WireError as exc:
        return await _error(API.QUERY, exc, call=call)
    await in_db(behaviour.record_call, API.QUERY, 200, call=call)
    return daraja_json(body)


@csrf_exempt
def not_found(request: HttpRequest, rest: str = "") -> JsonResponse:
    """Any other path under Daraja's prefixes: §3.3 ``404.001.01 Resource not found``."""
    return daraja_json(error_body(NOT_FOUND, request_id()), status=404)
