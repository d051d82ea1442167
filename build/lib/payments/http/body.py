"""Request bodies and error answers of the JSON views.

Errors are ``{"error": <sentence>, "fields": {<field>: <sentence>}}`` (README, HTTP API).
"""

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, JsonResponse

from mpesa_plumbing.jsonbody import JsonError, loads


def json_error(status: int, error: str, fields: dict | None = None, **extra) -> JsonResponse:
    response = JsonResponse({"error": error, "fields": fields or {}, **extra}, status=status)
    if extra.get("retry_after"):
        response["Retry-After"] = str(extra["retry_after"])
    return response


def capped_body(request: HttpRequest) -> bytes | JsonResponse:
    """The raw body, or a 413 past PAYMENTS_MAX_BODY_BYTES (the ASGI guard refuses first;
    this covers the test client and other servers)."""
    try:
        raw = request.body
    except RequestDataTooBig:
        return json_error(413, "Request body too large.")
    if len(raw) > settings.PAYMENTS_MAX_BODY_BYTES:
        return json_error(413, "Request body too large.")
    return raw


def read_json(request: HttpRequest) -> dict | JsonResponse:
    """The JSON object sent, or the 4xx answer to give instead."""
    if request.content_type != "application/json":
        return json_error(415, "Send JSON (Content-Type: application/json).")
    raw = capped_body(request)
    if isinstance(raw, JsonResponse):
        return raw
    try:
        data = loads(raw)
    except JsonError as exc:
        return json_error(400, str(exc), {"body": str(exc)})
    if not isinstance(data, dict):
        return json_error(400, "The body must be a JSON object.")
    return data
