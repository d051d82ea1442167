"""Pure build/parse of Daraja payloads: no I/O, no database, no settings.

Every quirk encoded here cites its section of ../shared/daraja-reference.md.
"""

import base64
import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from mpesa_plumbing.jsonbody import JsonError, loads

NAIROBI = ZoneInfo("Africa/Nairobi")
PENDING_RESULT_CODE = "4999"  # §4.3 shape A: "The transaction is still under processing"
RESULT_CODE_MAX = 32  # Payment.result_code and CallbackRecord.result_code
_RESULT_CODE_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]{0,31}$")


class MalformedCallback(ValueError):
    """The body is not a well-formed STK callback (answer 400, change nothing)."""


def nairobi_now() -> datetime:
    return datetime.now(tz=NAIROBI)


def daraja_timestamp(moment: datetime) -> str:
    """YYYYMMDDHHmmss in Nairobi time (§3.6); generate ONCE per request (§9.1)."""
    return moment.astimezone(NAIROBI).strftime("%Y%m%d%H%M%S")


def stk_password(*, shortcode: str, passkey: str, timestamp: str) -> str:
    """base64(BusinessShortCode + Passkey + Timestamp), plain concatenation (§3.1)."""
    return base64.b64encode(f"{shortcode}{passkey}{timestamp}".encode()).decode("ascii")


def build_stk_push_body(
    *,
    shortcode: str,
    passkey: str,
    transaction_type: str,
    party_b: str,
    phone: str,
    amount: int,
    account_reference: str,
    transaction_desc: str,
    callback_url: str,
    timestamp: str,
) -> dict[str, Any]:
    if not isinstance(amount, int) or isinstance(amount, bool):
        raise TypeError("Amount must be an int (§9.19: never a float)")
    return {
        "BusinessShortCode": shortcode,
        "Password": stk_password(shortcode=shortcode, passkey=passkey, timestamp=timestamp),
        "Timestamp": timestamp,
        "TransactionType": transaction_type,
        "Amount": amount,
        "PartyA": phone,
        "PartyB": party_b,
        "PhoneNumber": phone,
        "CallBackURL": callback_url,
        "AccountReference": account_reference,
        # §3.1: documented optional, but omitting it fails with "Invalid Remarks".
        "TransactionDesc": transaction_desc,
    }


def build_stk_query_body(
    *, shortcode: str, passkey: str, checkout_request_id: str, timestamp: str
) -> dict[str, Any]:
    return {
        "BusinessShortCode": shortcode,
        "Password": stk_password(shortcode=shortcode, passkey=passkey, timestamp=timestamp),
        "Timestamp": timestamp,
        "CheckoutRequestID": checkout_request_id,
    }


def parse_result_code(value: Any) -> str:
    """ResultCode as text: numbers and numeric strings agree ("0" == 0); codes such as
    "SFC_IC0003" or "E3008" are kept verbatim (§6.3, §9.14). Raises ValueError otherwise."""
    if isinstance(value, bool) or value is None:
        raise ValueError("ResultCode must be a number or a string")
    if isinstance(value, int):
        return _code_sized(str(value))
    if isinstance(value, (float, Decimal)):
        if value != value or value != int(value):  # NaN or fractional
            raise ValueError("ResultCode must be a whole number")
        return _code_sized(str(int(value)))
    if isinstance(value, str):
        text = value.strip()
        if text.lstrip("-").isdigit() and text.isascii():
            return _code_sized(str(int(text)))
        if _RESULT_CODE_RE.match(text):
            return text
    raise ValueError("ResultCode is not a recognisable code")


def _code_sized(code: str) -> str:
    """A numeric code no longer than any column that keeps it (32 characters)."""
    if len(code) > RESULT_CODE_MAX:
        raise ValueError(f"ResultCode has more than {RESULT_CODE_MAX} digits")
    return code


@dataclass(frozen=True)
class StkPushAccepted:
    merchant_request_id: str
    checkout_request_id: str
    response_code: str
    response_description: str
    customer_message: str


@dataclass(frozen=True)
class StkResult:
    """A final or pending answer about one STK push, from a callback or a query."""

    checkout_request_id: str
    result_code: str
    result_desc: str
    merchant_request_id: str = ""
    amount: Decimal | None = None
    receipt_number: str | None = None
    transaction_date: datetime | None = None
    phone: str | None = None
    has_metadata: bool = False
    problems: tuple[str, ...] = field(default=())
    retry_after: float | None = None  # a pending query answer: Daraja asked us to wait this long

    @property
    def pending(self) -> bool:
        return self.result_code == PENDING_RESULT_CODE

    @property
    def is_success(self) -> bool:
        return self.result_code == "0"


def parse_push_response(data: Any) -> StkPushAccepted:
    """§3.2: ResponseCode is the string "0" on acceptance."""
    if not isinstance(data, dict):
        raise ValueError("push response is not a JSON object")
    checkout_id = data.get("CheckoutRequestID")
    if not isinstance(checkout_id, str) or not checkout_id:
        raise ValueError("push response has no CheckoutRequestID")
    code = parse_result_code(data.get("ResponseCode"))
    if code != "0":
        raise ValueError(f"push response code {code!r} is not acceptance")
    return StkPushAccepted(
        merchant_request_id=str(data.get("MerchantRequestID") or ""),
        checkout_request_id=checkout_id,
        response_code=code,
        response_description=str(data.get("ResponseDescription") or ""),
        customer_message=str(data.get("CustomerMessage") or ""),
    )


def parse_query_response(data: Any) -> StkResult:
    """§4.2/§4.3: codes are strings; 4999 means "still under processing"; no metadata."""
    if not isinstance(data, dict):
        raise ValueError("query response is not a JSON object")
    code = parse_result_code(data.get("ResultCode"))
    return StkResult(
        checkout_request_id=str(data.get("CheckoutRequestID") or ""),
        merchant_request_id=str(data.get("MerchantRequestID") or ""),
        result_code=code,
        result_desc=str(data.get("ResultDesc") or "")[:255],
    )


def normalize_receipt(value: Any) -> str | None:
    """An M-Pesa receipt (``QJD4T7ZOT0``, §1.3) in its one spelling: trimmed, upper case.
    Receipts are compared for uniqueness in this form only (one payment per receipt), so the
    same receipt sent again in another case is the same receipt. None when absent; "" when
    present but not 6-20 letters and digits."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    text = value.strip().upper() if isinstance(value, str) else ""
    return text if re.fullmatch(r"[A-Z0-9]{6,20}", text) else ""


def _parse_amount(value: Any) -> Decimal | None:
    """§6.2: a JSON number (``1.00``, ``100``). Anything else is not an amount we trust."""
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        return None
    amount = Decimal(value)
    return amount if amount.is_finite() else None


def _parse_transaction_date(value: Any) -> datetime | None:
    """§6.2: a 14-digit number YYYYMMDDHHmmss in Nairobi time (sometimes a string)."""
    text = str(value).strip() if isinstance(value, (int, str)) and not isinstance(value, bool) else ""
    if not re.fullmatch(r"\d{14}", text):
        return None
    try:
        return datetime.strptime(text, "%Y%m%d%H%M%S").replace(tzinfo=NAIROBI)
    except ValueError:
        return None


def _parse_phone(value: Any) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, Decimal):
        value = int(value) if value == int(value) else value
    text = str(value).strip()
    return text if re.fullmatch(r"\d{9,15}", text) else None


def parse_stk_callback(body: bytes | str) -> StkResult:
    """Parse ``{"Body": {"stkCallback": {...}}}`` (§6). Raises MalformedCallback.

    Metadata items are read by Name, never by position (§9.8); Balance has no Value (§6.2);
    unknown keys are ignored (forward compatible). Amount is exact (parsed as Decimal).
    """
    try:
        data = loads(body, decimals=True, nul="replace")  # bounded: depth, digits, no NaN (jsonbody)
    except JsonError as exc:
        raise MalformedCallback(f"not JSON we accept: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("Body"), dict):
        raise MalformedCallback("missing Body object")
    cb = data["Body"].get("stkCallback")
    if not isinstance(cb, dict):
        raise MalformedCallback("missing Body.stkCallback object")
    checkout_id = cb.get("CheckoutRequestID")
    if not isinstance(checkout_id, str) or not checkout_id.strip() or len(checkout_id) > 64:
        raise MalformedCallback("CheckoutRequestID must be a non-empty string")
    if "ResultCode" not in cb:
        raise MalformedCallback("missing ResultCode")
    try:
        code = parse_result_code(cb["ResultCode"])
    except ValueError as exc:
        raise MalformedCallback(str(exc)) from None
    desc = cb.get("ResultDesc", "")
    merchant_id = cb.get("MerchantRequestID", "")
    if not isinstance(desc, str) or not isinstance(merchant_id, (str, int)):
        raise MalformedCallback("ResultDesc/MerchantRequestID have the wrong type")

    items: dict[str, Any] = {}
    meta = cb.get("CallbackMetadata")
    if meta is not None:
        if not isinstance(meta, dict) or not isinstance(meta.get("Item"), list):
            raise MalformedCallback("CallbackMetadata.Item must be a list")
        for item in meta["Item"]:
            if not isinstance(item, dict) or not isinstance(item.get("Name"), str):
                raise MalformedCallback("CallbackMetadata items need a Name")
            items.setdefault(item["Name"], item.get("Value"))

    problems: list[str] = []
    amount = _parse_amount(items.get("Amount"))
    receipt = normalize_receipt(items.get("MpesaReceiptNumber"))
    if receipt == "":
        problems.append("receipt number has an unexpected shape")
        receipt = None
    tx_date = _parse_transaction_date(items.get("TransactionDate"))
    if "TransactionDate" in items and tx_date is None:
        problems.append("TransactionDate is not YYYYMMDDHHmmss")
    return StkResult(
        checkout_request_id=checkout_id.strip(),
        merchant_request_id=str(merchant_id),
        result_code=code,
        result_desc=desc[:255],
        amount=amount,
        receipt_number=receipt,
        transaction_date=tx_date,
        phone=_parse_phone(items.get("PhoneNumber")),
        has_metadata=meta is not None,
        problems=tuple(problems),
    )
