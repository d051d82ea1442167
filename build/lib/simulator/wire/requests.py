"""What the simulator accepts: request parsing and validation for STK push and STK query,
written from daraja-reference.md alone (§3.1, §3.3, §4.1, §4.4, §9). Pure functions.

Deliberately independent of ``payments/daraja/``: a faithful double must not share our
client's bugs.
"""

import base64
import binascii
import hmac
import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from mpesa_plumbing.jsonbody import JsonError, loads

from ..conf import BUY_GOODS, PAYBILL, Merchant
from .errors import NO_MERCHANT, WRONG_CREDENTIALS, WireError, invalid
from .ids import NAIROBI

PHONE_RE = re.compile(r"^254[17]\d{8}$")  # §3.7: 2547XXXXXXXX and 2541XXXXXXXX
_SHORTCODE_RE = re.compile(r"^\d{5,7}$")
_TIMESTAMP_RE = re.compile(r"^\d{14}$")
_URL_BAD_CHARS = re.compile(r"[\s<>{}\"|\\^`]")  # §9.5: spaces and placeholders
AMOUNT_CEILING = 10**12  # no M-Pesa amount is this large; keeps the number storable


@dataclass(frozen=True)
class PushRequest:
    shortcode: str
    password: str
    timestamp: str
    transaction_type: str
    amount: int
    party_a: str
    party_b: str
    phone: str
    callback_url: str
    account_reference: str
    transaction_desc: str

    def __repr__(self) -> str:  # no Password, no full phone in reprs/logs
        return f"PushRequest(shortcode={self.shortcode!r}, amount={self.amount})"


@dataclass(frozen=True)
class QueryRequest:
    shortcode: str
    password: str
    timestamp: str
    checkout_request_id: str

    def __repr__(self) -> str:
        return f"QueryRequest(checkout_request_id={self.checkout_request_id!r})"


def parse_json_object(content_type: str, body: bytes) -> dict[str, Any]:
    """§9.3: without ``Content-Type: application/json`` Daraja can't read the body and says
    "Invalid BusinessShortCode" (the first field it looks for); same for non-JSON bodies."""
    if content_type.split(";")[0].strip().lower() != "application/json":
        raise invalid("BusinessShortCode")
    try:
        data = loads(body)  # bounded: depth, digits, no NaN (mpesa_plumbing.jsonbody)
    except JsonError:
        raise invalid("BusinessShortCode") from None
    if not isinstance(data, dict):
        raise invalid("BusinessShortCode")
    return data


def numeric_text(value: Any) -> str | None:
    """§3.1 type leniency: a JSON integer or a string of ASCII digits → the digits."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value) if value >= 0 else None
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return value
    return None


def parse_amount(value: Any) -> int | None:
    """§3.5: whole shillings ≥ 1, as a number or a numeric string. Fractions are refused
    (assumption: no capture settles it, §11); ``10.0`` / ``"10.00"`` count as whole."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        amount = Decimal(str(value).strip() if isinstance(value, str) else repr(value))
    except InvalidOperation:
        return None
    if not amount.is_finite() or amount != amount.to_integral_value() or not 1 <= amount < AMOUNT_CEILING:
        return None
    return int(amount)


def check_timestamp(value: Any, *, now: datetime, max_skew: float | None) -> str:
    """§3.6: ``YYYYMMDDHHmmss`` (a real date); freshness only when ``max_skew`` is given."""
    text = numeric_text(value)
    if text is None or not _TIMESTAMP_RE.match(text):
        raise invalid("Timestamp")
    try:
        moment = datetime.strptime(text, "%Y%m%d%H%M%S").replace(tzinfo=NAIROBI)
    except ValueError:
        raise invalid("Timestamp") from None
    if max_skew is not None and abs((now - moment).total_seconds()) > max_skew:
        raise invalid("Timestamp")
    return text


def callback_url_allowed(url: Any, allowed_hosts: tuple[str, ...]) -> bool:
    """SSRF defence + §9.5: http(s) only, no spaces/placeholders/userinfo, and the host must
    be listed in SIMULATOR_ALLOWED_CALLBACK_HOSTS (literal match, no DNS)."""
    if not isinstance(url, str) or not url or len(url) > 2048 or _URL_BAD_CHARS.search(url):
        return False
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError for a malformed port)
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or not parts.hostname or "@" in parts.netloc:
        return False
    return parts.hostname.lower() in allowed_hosts


def check_credentials(*, shortcode: str, password: str, timestamp: str, merchant: Merchant) -> None:
    """§3.1/§9.1: Password = base64(shortcode + passkey + Timestamp), with the body's own
    Timestamp. Unknown shortcode → "Merchant does not exist"; mismatch → "Wrong credentials"."""
    if shortcode != merchant.shortcode:
        raise WireError(*NO_MERCHANT)
    expected = f"{merchant.shortcode}{merchant.passkey}{timestamp}".encode()
    try:
        decoded = base64.b64decode(password.encode("ascii"), validate=True) if password.isascii() else b""
    except (binascii.Error, ValueError):
        decoded = b""
    if not hmac.compare_digest(decoded, expected):
        raise WireError(*WRONG_CREDENTIALS)


def _phone(value: Any, field: str) -> str:
    text = numeric_text(value)
    if text is None or not PHONE_RE.match(text):
        raise invalid(field)
    return text


def _shortcode(value: Any, field: str) -> str:
    text = numeric_text(value)
    if text is None or not _SHORTCODE_RE.match(text):
        raise invalid(field)
    return text


def validate_push(
    data: dict[str, Any],
    *,
    merchant: Merchant,
    allowed_hosts: tuple[str, ...],
    now: datetime,
    max_skew: float | None,
) -> PushRequest:
    """§3.1/§3.3: field by field, then credentials. Raises WireError."""
    shortcode = _shortcode(data.get("BusinessShortCode"), "BusinessShortCode")
    timestamp = check_timestamp(data.get("Timestamp"), now=now, max_skew=max_skew)
    transaction_type = data.get("TransactionType")
    if transaction_type not in (PAYBILL, BUY_GOODS):
        raise invalid("TransactionType")
    amount = parse_amount(data.get("Amount"))
    if amount is None:
        raise invalid("Amount")
    party_a = _phone(data.get("PartyA"), "PartyA")
    party_b = _shortcode(data.get("PartyB"), "PartyB")
    phone = _phone(data.get("PhoneNumber"), "PhoneNumber")
    if not callback_url_allowed(data.get("CallBackURL"), allowed_hosts):
        raise invalid("CallBackURL")
    desc = data.get("TransactionDesc")
    if not isinstance(desc, str) or not desc.strip():
        raise invalid("Remarks")  # §3.1/§9.4: documented optional, yet required
    reference = data.get("AccountReference")
    if reference is not None and not isinstance(reference, (str, int)):
        raise invalid("AccountReference")
    password = data.get("Password")
    check_credentials(
        shortcode=shortcode,
        password=password if isinstance(password, str) else "",
        timestamp=timestamp,
        merchant=merchant,
    )
    if merchant.transaction_type == PAYBILL and transaction_type == BUY_GOODS:
        raise invalid("TransactionType")  # §3.1: BuyGoods against a paybill [Med]
    return PushRequest(
        shortcode=shortcode,
        password=password,
        timestamp=timestamp,
        transaction_type=transaction_type,
        amount=amount,
        party_a=party_a,
        party_b=party_b,
        phone=phone,
        callback_url=data["CallBackURL"],
        account_reference=str(reference or "")[:255],
        transaction_desc=desc[:255],
    )


def product_mismatch(request: PushRequest, merchant: Merchant) -> bool:
    """§3.1: accepted synchronously, fails later with 2028 (PartyB/TransactionType wrong)."""
    return request.transaction_type != merchant.transaction_type or request.party_b != merchant.party_b


def validate_query(
    data: dict[str, Any], *, merchant: Merchant, now: datetime, max_skew: float | None
) -> QueryRequest:
    """§4.1/§4.4: same Password/Timestamp rules as the push. Raises WireError."""
    shortcode = _shortcode(data.get("BusinessShortCode"), "BusinessShortCode")
    timestamp = check_timestamp(data.get("Timestamp"), now=now, max_skew=max_skew)
    checkout_id = data.get("CheckoutRequestID")
    if not isinstance(checkout_id, str) or not checkout_id.strip() or len(checkout_id) > 64:
        raise invalid("CheckoutRequestID")  # §4.4 [Low]: follows the general pattern
    password = data.get("Password")
    check_credentials(
        shortcode=shortcode,
        password=password if isinstance(password, str) else "",
        timestamp=timestamp,
        merchant=merchant,
    )
    return QueryRequest(
        shortcode=shortcode, password=password, timestamp=timestamp, checkout_request_id=checkout_id
    )
