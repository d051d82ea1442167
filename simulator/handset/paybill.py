"""The handset's M-PESA menu, Lipa na M-PESA → Pay Bill: the person types the business
number, the account number and the amount, enters a PIN and sends. It becomes a C2B payment
from this phone by the simulate API's own path (wire.c2b_requests.validate_pay, api.c2b.pay),
so the business gets the same Validation and Confirmation."""

import re
from typing import Any

from ..api import c2b
from ..conf import PAYBILL, SimConfig
from ..models import SimC2BPayment
from ..wire.c2b_requests import validate_pay
from ..wire.errors import WireError

_PIN_RE = re.compile(r"^\d{4}$")
FIELDS = ("business_number", "account_number", "amount", "pin")


def _words(error: WireError, config: SimConfig) -> str:
    """What the phone says instead of Daraja's error (modelled: the menu's texts are unknown)."""
    if "ShortCode" in error.message or "CommandID" in error.message:
        return "Invalid business number."
    if "BillRefNumber" in error.message:
        return "Enter the account number (up to 20 characters)."
    if "Amount" in error.message:
        return f"Enter an amount from KES 1 to KES {config.max_amount:,}."
    return error.message


def handset_paybill(
    msisdn: str, frame: dict[str, Any], *, config: SimConfig
) -> tuple[SimC2BPayment | None, str]:
    """The payment, or None and the sentence the phone shows."""
    values = {key: frame.get(key) for key in FIELDS}
    if not all(isinstance(values[key], str) for key in FIELDS):
        return None, "Fill in the business number, account number, amount and PIN."
    if not _PIN_RE.match(values["pin"]):
        return None, "Enter a 4-digit M-PESA PIN."
    business = values["business_number"].strip()
    request = {
        "ShortCode": business if business.isascii() and business.isdigit() else "x",
        "CommandID": PAYBILL,
        "Amount": values["amount"].strip() or "x",
        "Msisdn": msisdn,
        "BillRefNumber": values["account_number"],  # exactly as typed, spaces and all
    }
    try:
        wanted = validate_pay(request, config=config.c2b, max_amount=config.max_amount)
    except WireError as exc:
        return None, _words(exc, config)
    return c2b.pay(wanted, source="handset", config=config), ""
