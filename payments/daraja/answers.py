"""How Daraja's answers are read: JSON (bounded), error envelopes, gateway pages, and the
many ways an STK Query says "not yet". Pure apart from one log line per unreadable answer.

Every quirk here cites daraja-reference.md.
"""

import logging
from typing import Any

import httpx

from mpesa_plumbing.jsonbody import JsonError, loads
from mpesa_plumbing.logs import mask_text

from .errors import GENERIC_500, DarajaAPIError, DarajaError, DarajaProtocolError

logger = logging.getLogger("payments.daraja")
EXCERPT_BYTES = 120
RATE_LIMITED_RETRY_SECONDS = 60.0  # §13.4: SpikeArrest at 5 queries per 60 s
RATE_LIMITED = "rate limited (HTTP 429)"


def read_json(response: httpx.Response) -> Any | None:
    """The answer's JSON, or None when it is not JSON (an empty body, a gateway's HTML)."""
    if not response.content.strip():
        return None
    try:
        return loads(response.content)
    except JsonError:
        return None


def is_error_envelope(data: Any) -> bool:
    """§1.2 ``{"requestId", "errorCode", "errorMessage"}``, also under HTTP 200 (§13.5)."""
    return isinstance(data, dict) and bool(data.get("errorCode"))


def soap_fault(data: Any) -> str:
    """The faultstring of Apigee's SOAP-in-JSON fault (§14.4: ``{"Envelope": {"Body": {"Fault":
    {"faultstring": …}}}}``, a refusal such as "ServiceCallout SCO-AddURLVault failed"), or ""."""
    try:
        return str(data["Envelope"]["Body"]["Fault"]["faultstring"])[:255]
    except (KeyError, TypeError):
        return ""


def error_code(response: httpx.Response) -> str:
    data = read_json(response)
    return str(data["errorCode"]) if is_error_envelope(data) else ""


def unreadable(response: httpx.Response, what: str) -> DarajaProtocolError:
    """An answer that is neither our success shape nor Daraja's envelope (a gateway page with
    HTTP 200 or 5xx, §13.5): transient, never a success. Its status and first bytes are
    logged (masked) so an operator can see what came back."""
    excerpt = mask_text(response.content[:EXCERPT_BYTES].decode("utf-8", errors="replace"))
    logger.warning(
        "unreadable Daraja %s: HTTP %s",
        what,
        response.status_code,
        extra={"event": "daraja.unreadable", "status": response.status_code, "excerpt": excerpt},
    )
    return DarajaProtocolError(
        f"unreadable {what}: HTTP {response.status_code}",
        error_code=f"http.{response.status_code}",
        http_status=response.status_code,
    )


def error_from(response: httpx.Response, data: Any, *, what: str) -> DarajaError:
    """Daraja's envelope as a typed error (§1.2); anything else is ``unreadable``."""
    if is_error_envelope(data):
        return DarajaAPIError(
            str(data.get("errorMessage") or "")[:255],
            error_code=str(data["errorCode"])[:32],
            http_status=response.status_code,
            request_id=str(data.get("requestId") or "")[:64],
        )
    return unreadable(response, what)


def query_not_yet(response: httpx.Response, data: Any) -> str | None:
    """Why this STK Query answer means "ask again later", or None when it is an error:

    - HTTP 500 ``500.001.1001`` "being processed" (§4.3 shape B) and "does not Exist" for an
      id Daraja itself just gave us (§4.4: seen before the transaction is queryable);
    - HTTP 400 ``400.002.02`` "Invalid CheckoutRequestID", answered to queries sent too early
      (§13.4);
    - HTTP 429 SpikeArrest (§13.4), whatever the body.
    """
    if response.status_code == 429:
        return RATE_LIMITED
    if not is_error_envelope(data):
        return None
    code, message = str(data["errorCode"]), str(data.get("errorMessage") or "")
    lowered = message.lower()
    if code == GENERIC_500 and ("being processed" in lowered or "transaction does not exist" in lowered):
        return message  # ("Merchant does not exist" is a refusal, not a "not yet")
    if code == "400.002.02" and "invalid checkoutrequestid" in lowered:
        return message
    return None


def retry_after(response: httpx.Response) -> float | None:
    """Seconds to wait before asking again: ``Retry-After`` when given, a minute after a 429."""
    header = response.headers.get("Retry-After", "")
    if header.strip().isdigit():
        return min(float(header.strip()), 3600.0)
    return RATE_LIMITED_RETRY_SECONDS if response.status_code == 429 else None
