"""Input rules for what customers type and what we send to Daraja. Pure functions."""

import re
import unicodedata
from typing import Any

import phonenumbers
from django.conf import settings
from django.utils.translation import gettext as _

_PHONE_CHARS = re.compile(r"^\+?[0-9 ().\-]{6,20}$")
_CANONICAL = re.compile(r"^254[17]\d{8}$")


class InvalidInput(ValueError):
    """A field-level error: ``field`` names the input, the message is for people."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def normalize_phone(raw: Any) -> str:
    """Any common Kenyan mobile form → ``2547XXXXXXXX`` / ``2541XXXXXXXX`` (§3.7).

    Accepts ``07…``, ``01…``, ``7…``, ``+254…``, ``254…`` with spaces, dashes, dots or
    brackets; ASCII digits only. Raises InvalidInput otherwise.
    """
    message = _("Enter a Kenyan M-Pesa number, e.g. 0712 345 678 or +254 712 345 678.")
    if not isinstance(raw, str) or not _PHONE_CHARS.match(raw.strip()):
        raise InvalidInput("phone", message)
    text = raw.strip()
    if text.startswith("254"):
        text = "+" + text
    try:
        number = phonenumbers.parse(text, "KE")
    except phonenumbers.NumberParseException:
        raise InvalidInput("phone", message) from None
    national = str(number.national_number)
    if (
        number.country_code != 254
        or not phonenumbers.is_valid_number(number)
        or phonenumbers.number_type(number)
        not in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)
    ):
        raise InvalidInput("phone", message)
    canonical = "254" + national
    if not _CANONICAL.match(canonical):
        raise InvalidInput("phone", message)
    return canonical


def parse_amount(raw: Any) -> int:
    """A whole number of shillings, given as a JSON integer, in [MIN, MAX] (settings).

    Floats (``1.0``, ``1e3``), strings, booleans and null are refused: money is never guessed.
    """
    low, high = settings.PAYMENTS_MIN_AMOUNT, settings.PAYMENTS_MAX_AMOUNT
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise InvalidInput("amount", amount_range_error(low, high))
    if not low <= raw <= high:
        raise InvalidInput("amount", amount_range_error(low, high))
    return raw


def amount_range_error(low: int, high: int) -> str:
    """The sentence for an amount out of range (or not a whole number), in the active language."""
    return _("Enter a whole number of shillings from %(low)s to %(high)s.") % {
        "low": low,
        "high": f"{high:,}",
    }


def sanitize_account_reference(raw: Any, *, fallback: str = "PAY") -> str:
    """§3.1: shown on the customer's prompt; at most 12 ASCII letters/digits. Never raises."""
    text = unicodedata.normalize("NFKD", str(raw or ""))
    cleaned = re.sub(r"[^A-Za-z0-9]", "", text.encode("ascii", "ignore").decode())[:12]
    return cleaned or re.sub(r"[^A-Za-z0-9]", "", fallback)[:12] or "PAY"


def sanitize_transaction_desc(raw: Any, *, fallback: str = "Payment") -> str:
    """§3.1: non-empty (else "Invalid Remarks"), at most 13 characters of a safe charset."""
    text = unicodedata.normalize("NFKD", str(raw or ""))
    cleaned = re.sub(r"[^A-Za-z0-9 \-]", "", text.encode("ascii", "ignore").decode())
    cleaned = re.sub(r"\s+", " ", cleaned).strip()[:13].strip()
    return cleaned or fallback[:13]
