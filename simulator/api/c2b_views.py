"""Daraja's C2B endpoints at their exact paths (§14.1): ``mpesa/c2b/<v1|v2>/registerurl`` and
``mpesa/c2b/<v1|v2>/simulate``, Bearer token as for STK. The token is checked first, then
the path's version against the simulated app's API products (SIMULATOR_C2B_URL_VERSIONS,
§13.6), then the body. CSRF-exempt: Daraja clients send no CSRF token."""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from mpesa_plumbing.db import in_db

from ..conf import sim_config
from ..models import SimApiCall
from ..wire.c2b_bodies import register_success_body, simulate_success_body
from ..wire.c2b_errors import (
    C2B_INVALID_TOKEN,
    NO_API_PRODUCT,
    NOT_ON_PRODUCTION,
    no_proxy_fault,
    not_a_c2b_shortcode,
)
from ..wire.c2b_requests import C2BShortcodeError, parse_c2b_json, validate_pay, validate_register
from ..wire.errors import JSON_CONTENT_TYPE, WireError, error_body
from ..wire.ids import request_id
from . import behaviour, c2b, tokens
from .views import _method_guard, daraja_json

API = SimApiCall.Api


async def _refused(api: str, error: WireError | tuple[str, str]) -> JsonResponse:
    err = error if isinstance(error, WireError) else WireError(*error)
    await in_db(behaviour.record_call, api, err.http_status, error_code=err.error_code)
    return daraja_json(error_body(err, request_id()), status=err.http_status)


async def _gate(request: HttpRequest, api: str, version: str) -> JsonResponse | None:
    """Method, token (§14.4: ``400.003.01``), then the app's products (``401.003.01``)."""
    if refused := _method_guard(request, "POST"):
        return refused
    token = tokens.bearer_token(request.headers.get("Authorization", ""))
    if not await in_db(tokens.token_valid, token):
        return await _refused(api, C2B_INVALID_TOKEN)
    if version not in sim_config().c2b.url_versions:
        return await _refused(api, NO_API_PRODUCT)
    return None


@csrf_exempt
async def register_url(request: HttpRequest, version: str) -> HttpResponse:
    """§14.2/§14.3/§14.4: ``POST mpesa/c2b/<version>/registerurl``."""
    if refused := await _gate(request, API.C2B_REGISTER, version):
        return refused
    config = sim_config()
    try:
        data = parse_c2b_json(request.META.get("CONTENT_TYPE", ""), request.body)
        wanted = validate_register(
            data,
            allowed_hosts=config.allowed_callback_hosts,
            production=config.c2b.environment == "production",
        )
        registration = await in_db(c2b.register, wanted, version=version, config=config)
    except WireError as exc:
        return await _refused(API.C2B_REGISTER, exc)
    except C2BShortcodeError:
        await in_db(behaviour.record_call, API.C2B_REGISTER, 500, error_code="not-c2b")
        return JsonResponse(not_a_c2b_shortcode(), status=500, content_type=JSON_CONTENT_TYPE)
    await in_db(behaviour.record_call, API.C2B_REGISTER, 200)
    return daraja_json(register_success_body(registration.originator_conversation_id))


@csrf_exempt
async def simulate(request: HttpRequest, version: str) -> HttpResponse:
    """§14.5: ``POST mpesa/c2b/<version>/simulate`` (sandbox only)."""
    if refused := await _gate(request, API.C2B_SIMULATE, version):
        return refused
    config = sim_config()
    try:
        if config.c2b.environment == "production":
            raise WireError(*NOT_ON_PRODUCTION)
        data = parse_c2b_json(request.META.get("CONTENT_TYPE", ""), request.body)
        wanted = validate_pay(data, config=config.c2b, max_amount=config.max_amount)
        payment = await in_db(c2b.pay, wanted, source="api", config=config)
    except WireError as exc:
        return await _refused(API.C2B_SIMULATE, exc)
    await in_db(behaviour.record_call, API.C2B_SIMULATE, 200, checkout=payment.trans_id)
    return daraja_json(simulate_success_body(payment.originator_conversation_id))


@csrf_exempt
def no_proxy(request: HttpRequest, rest: str = "") -> JsonResponse:
    """§14.1: ``/c2b/…`` without the ``/mpesa`` prefix is no API proxy at all (Apigee fault)."""
    return JsonResponse(no_proxy_fault("/" + rest), status=404, content_type=JSON_CONTENT_TYPE)
