"""Pure build/parse of Daraja's C2B payloads (a customer paying from the M-Pesa menu): the
register-URL body, the Validation/Confirmation notice and our answers. No I/O, no database,
no settings. Sections cited are of ../shared/daraja-reference.md, §14.
"""

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from mpesa_plumbing.jsonbody import JsonError, loads

from .payloads import NAIROBI, normalize_receipt

REGISTER_VERSIONS = ("v1", "v2")
RESPONSE_TYPES = ("Completed", "Cancelled")  # sentence case, well spelled (§14.2)

# §14.9: accept is the *string* "0" with "Accepted"; a reject is one of these, with "Rejected".
ACCEPT = {"ResultCode": "0", "ResultDesc": "Accepted"}
INVALID_MSISDN = "C2B00011"
INVALID_ACCOUNT = "C2B00012"
INVALID_AMOUNT = "C2B00013"
INVALID_SHORTCODE = "C2B00015"
OTHER_ERROR = "C2B00016"
# §14.9 confirmation acknowledgement: "Always 0", a Number; the answer cannot undo the payment.
CONFIRMATION_ACK = {"ResultCode": 0, "ResultDesc": "Success"}


def reject(code: str) -> dict[str, str]:
    return {"ResultCode": code, "ResultDesc": "Rejected"}


class MalformedNotice(ValueError):
    """Not a C2B Validation/Confirmation body we can read (stored raw all the same)."""


def build_register_body(
    *, shortcode: str, response_type: str, confirmation_url: str, validation_url: str
) -> dict[str, Any]:
    """§14.2: the same four fields for v1 and v2; ShortCode as the docs' string."""
    if response_type not in RESPONSE_TYPES:
        raise ValueError(f"ResponseType must be one of {', '.join(RESPONSE_TYPES)} (§14.2)")
    return {
        "ShortCode": str(shortcode),
        "ResponseType": response_type,
        "ConfirmationURL": confirmation_url,
        "ValidationURL": validation_url,
    }


@dataclass(frozen=True)
class RegisterAccepted:
    originator_conversation_id: str
    response_description: str


def parse_register_response(data: Any) -> RegisterAccepted:
    """§14.3: ``ResponseCode`` "0" (absent in the 2017-19 shape); the id key is spelled
    ``OriginatorCoversationID`` (sic) in every capture; the description's case varies."""
    if not isinstance(data, dict):
        raise ValueError("register answer is not a JSON object")
    code = data.get("ResponseCode", "0")
    if str(code).strip() != "0":
        raise ValueError(f"register answer code {code!r} is not success")
    description = str(data.get("ResponseDescription") or "")
    if "already registered" in description.lower():  # §14.4, the 2019 shape on HTTP 200
        raise ValueError(description[:200])
    return RegisterAccepted(
        originator_conversation_id=str(
            data.get("OriginatorCoversationID") or data.get("OriginatorConversationID") or ""
        )[:64],
        response_description=description[:200],
    )


@dataclass(frozen=True)
class C2BNotice:
    """One Validation or Confirmation (§14.6). Every value arrives as a string; keys may be
    missing. ``msisdn`` is kept as sent (full, masked or a hash, §14.8): never a key."""

    trans_id: str
    trans_time: datetime | None
    amount_text: str
    amount: int | None  # whole shillings; None when the text is not a whole number
    business_short_code: str
    bill_ref_number: str  # as the customer typed it (case and spaces kept, §14.10.3)
    transaction_type: str
    msisdn: str
    first_name: str
    invoice_number: str
    third_party_trans_id: str
    org_account_balance: str


def _text(data: dict, key: str, limit: int) -> str:
    value = data.get(key)
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        raise MalformedNotice(f"{key} must be a string")
    return str(value)[:limit]


def whole_shillings(text: str) -> int | None:
    """§14.6: ``TransAmount`` is a string with two decimals ("10.00"); only whole numbers
    are supported. "10", "10.0", "10.00" are 10; "10.50", "", "1e3", "-5" are None."""
    if not re.fullmatch(r"[0-9]{1,9}(\.[0-9]{1,2})?", text.strip()):
        return None
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        return None
    return int(value) if value == value.to_integral_value() and value > 0 else None


def _trans_time(text: str) -> datetime | None:
    """§14.10.1: YYYYMMDDHHmmss in Nairobi time."""
    if not re.fullmatch(r"[0-9]{14}", text):
        return None
    try:
        return datetime.strptime(text, "%Y%m%d%H%M%S").replace(tzinfo=NAIROBI)
    except ValueError:
        return None


def parse_c2b_notice(body: bytes | str) -> C2BNotice:
    """Parse a Validation or Confirmation body. Raises MalformedNotice. Only ``TransID`` is
    required (the receipt: the idempotency key, §14.10.2); everything else defaults to "",
    because keys go missing in production (§14.6)."""
    try:
        data = loads(body, decimals=True, nul="replace")  # bounded: depth, digits, no NaN, no NUL
    except JsonError as exc:
        raise MalformedNotice(f"not JSON we accept: {exc}") from None
    if not isinstance(data, dict):
        raise MalformedNotice("the body is not a JSON object")
    receipt = normalize_receipt(data.get("TransID"))
    if not receipt:
        raise MalformedNotice("TransID must be 6-20 letters and digits")
    amount_text = _text(data, "TransAmount", 32)
    return C2BNotice(
        trans_id=receipt,
        trans_time=_trans_time(_text(data, "TransTime", 32).strip()),
        amount_text=amount_text,
        amount=whole_shillings(amount_text),
        business_short_code=_text(data, "BusinessShortCode", 16).strip(),
        bill_ref_number=_text(data, "BillRefNumber", 64),
        transaction_type=_text(data, "TransactionType", 64),
        msisdn=_text(data, "MSISDN", 128),
        first_name=_text(data, "FirstName", 64),
        invoice_number=_text(data, "InvoiceNumber", 64),
        third_party_trans_id=_text(data, "ThirdPartyTransID", 64),
        org_account_balance=_text(data, "OrgAccountBalance", 32),
    )


def full_msisdn(msisdn: str) -> str:
    """The payer's number when the notice carries it in full (≤ 2021, §14.8); "" for a
    masked number or a hash, which identify nobody."""
    text = msisdn.strip()
    return text if re.fullmatch(r"254[17][0-9]{8}", text) else ""
