"""What the simulator accepts on C2B: Register URL and Simulate bodies (§14.2, §14.5), written
from daraja-reference.md alone. Pure; raises WireError (or C2BShortcodeError) like Daraja.

Type leniency as for STK (§14.2, §14.5: "number or string"): ShortCode, Amount and Msisdn
may be JSON numbers or numeric strings.
"""

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from mpesa_plumbing.jsonbody import JsonError, loads

from ..conf import BUY_GOODS, PAYBILL, PAYBILL_KIND, TILL_KIND, C2BConfig
from .c2b_errors import ACCOUNT_REFERENCE, BAD_PAYLOAD, bad_field, forbidden_word, url_error
from .errors import WireError
from .requests import PHONE_RE, callback_url_allowed, numeric_text, parse_amount

RESPONSE_TYPES = ("Completed", "Cancelled")  # §14.2: sentence case, well spelled
COMMAND_KIND = {PAYBILL: PAYBILL_KIND, BUY_GOODS: TILL_KIND}
BILL_REF_MAX = 20  # §14.6: "up to 20 characters" (documented; the menu's own limit is unknown)
_BUY_GOODS_REF_OK = (None, "0", 0)  # §14.5: omit the key, or "0"; "" and other values are refused


class C2BShortcodeError(Exception):
    """Register URL on a shortcode that is not set up for C2B (§14.4: a SOAP fault body)."""


@dataclass(frozen=True)
class RegisterRequest:
    shortcode: str
    response_type: str
    confirmation_url: str
    validation_url: str  # "" when none was sent


@dataclass(frozen=True)
class PayRequest:
    """A customer's payment: from the simulate API, the handset menu or the control API."""

    shortcode: str
    command_id: str
    amount: int
    msisdn: str
    bill_ref_number: str  # exactly as typed (§14.10 item 3); "" for tills

    def __repr__(self) -> str:  # no full phone in reprs/logs
        return f"PayRequest(shortcode={self.shortcode!r}, amount={self.amount})"


def parse_c2b_json(content_type: str, body: bytes) -> dict[str, Any]:
    """§14.4: a body Daraja cannot read is ``400.002.05 "Invalid Request Payload"``."""
    if content_type.split(";")[0].strip().lower() != "application/json":
        raise WireError(*BAD_PAYLOAD)
    try:
        data = loads(body)
    except JsonError:
        raise WireError(*BAD_PAYLOAD) from None
    if not isinstance(data, dict):
        raise WireError(*BAD_PAYLOAD)
    return data


def _shortcode(value: Any) -> str:
    text = numeric_text(value)
    if text is None or not 5 <= len(text) <= 7:
        raise bad_field("ShortCode")
    return text


def _url(value: Any, field: str, *, allowed_hosts: tuple[str, ...], production: bool) -> str:
    """Forbidden words first (the captured error), then the URL itself: http(s), no spaces or
    placeholders, a host in SIMULATOR_ALLOWED_CALLBACK_HOSTS (SSRF guard, as for STK), and
    HTTPS in production mode (§14.2 "All Production URLs must be HTTPS"; modelled error)."""
    if isinstance(value, str) and (word := forbidden_word(value)):
        raise url_error(field, word)
    if not callback_url_allowed(value, allowed_hosts):
        raise url_error(field)
    if production and urlsplit(value).scheme != "https":
        raise url_error(field)
    return value


def validate_register(
    data: dict[str, Any], *, allowed_hosts: tuple[str, ...], production: bool
) -> RegisterRequest:
    """§14.2. ValidationURL may be left out (not documented either way): no validation then."""
    shortcode = _shortcode(data.get("ShortCode"))
    response_type = data.get("ResponseType")
    if response_type not in RESPONSE_TYPES:
        raise bad_field("ResponseType")  # §14.4 [Low]: what simulators answer; not captured
    validation_url = data.get("ValidationURL")
    if validation_url in (None, ""):
        validation_url = ""
    else:
        validation_url = _url(
            validation_url, "ValidationURL", allowed_hosts=allowed_hosts, production=production
        )
    confirmation_url = _url(
        data.get("ConfirmationURL"), "ConfirmationURL", allowed_hosts=allowed_hosts, production=production
    )
    return RegisterRequest(shortcode, response_type, confirmation_url, validation_url)


def check_c2b_shortcode(shortcode: str, config: C2BConfig) -> str:
    """The shortcode's kind (paybill / till); C2BShortcodeError when it is not a C2B one."""
    kind = config.shortcodes.get(shortcode)
    if kind is None:
        raise C2BShortcodeError(shortcode)
    return kind


def validate_pay(data: dict[str, Any], *, config: C2BConfig, max_amount: int) -> PayRequest:
    """§14.5, field by field (every error body here is modelled except AccountReference)."""
    shortcode = _shortcode(data.get("ShortCode"))
    command_id = data.get("CommandID")
    if not isinstance(command_id, str) or command_id not in COMMAND_KIND:  # a list is not hashable
        raise bad_field("CommandID")
    amount = parse_amount(data.get("Amount"))
    if amount is None or amount > max_amount:
        raise bad_field("Amount")
    msisdn = numeric_text(data.get("Msisdn"))
    if msisdn is None or not PHONE_RE.match(msisdn):
        raise bad_field("Msisdn")
    kind = config.shortcodes.get(shortcode)
    if kind is None:
        raise bad_field("ShortCode")
    if COMMAND_KIND[command_id] != kind:
        raise bad_field("CommandID")  # "must match the shortcode type" (§14.5); error modelled
    reference = data.get("BillRefNumber")
    if isinstance(reference, int) and not isinstance(reference, bool) and command_id == PAYBILL:
        reference = str(reference)  # a number where a string is documented: read as its digits
    if command_id == BUY_GOODS:
        if isinstance(reference, bool) or reference not in _BUY_GOODS_REF_OK:
            raise WireError(*ACCOUNT_REFERENCE)
        reference = ""
    elif not isinstance(reference, str) or not reference or len(reference) > BILL_REF_MAX:
        raise bad_field("BillRefNumber")
    return PayRequest(shortcode, command_id, amount, msisdn, reference)
