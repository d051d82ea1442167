"""What the simulator says: the bodies of its successful answers and of the callback.

Pure. A callback's text is built once, stored on the delivery row and sent byte for byte, so
a resend replays exactly what was sent.
"""

import hashlib
import json
from datetime import datetime

from .ids import daraja_timestamp

PUSH_ACCEPTED = "Success. Request accepted for processing"  # §3.2
QUERY_ACCEPTED = "The service request has been accepted successsfully"  # §4.2: the real typo
PENDING_CODE, PENDING_DESC = "4999", "The transaction is still under processing"  # §4.3 shape A

_AMOUNT_SLOT = "__simulator_amount__"


def callback_phone(phone: str, mode: str = "full") -> int | str | None:
    """How the callback writes the paying phone (§13.1): ``full`` the number as a JSON number
    (§6.2), ``masked`` a string like ``254708***430`` (first 6 digits, three asterisks, last 3),
    ``hashed`` the lowercase hex SHA-256 of the 12-digit number, ``absent`` None (no item)."""
    if mode == "masked":
        return f"{phone[:6]}***{phone[-3:]}"
    if mode == "hashed":
        return hashlib.sha256(phone.encode("ascii")).hexdigest()
    if mode == "absent":
        return None
    return int(phone)


def stk_callback_body(
    *,
    merchant_request_id: str,
    checkout_request_id: str,
    result_code: str,
    result_desc: str,
    amount: int,
    receipt_number: str,
    transaction_date: datetime,
    phone: str,
    include_balance: bool = True,
    with_metadata: bool = True,
    code_as_string: bool = False,
    phone_mode: str = "full",
) -> str:
    """§6.2/§6.3: ResultCode is a JSON number (a string for codes like ``SFC_IC0003``, or
    when ``code_as_string``); CallbackMetadata only on success, items in the captured order,
    Amount written like ``10.00``, Balance without Value, TransactionDate as a number (Nairobi
    time) and PhoneNumber as ``phone_mode`` says (``callback_phone``, §13.1)."""
    code: int | str = int(result_code) if result_code.isdigit() and not code_as_string else result_code
    callback: dict = {
        "MerchantRequestID": merchant_request_id,
        "CheckoutRequestID": checkout_request_id,
        "ResultCode": code,
        "ResultDesc": result_desc,
    }
    if result_code == "0" and with_metadata:
        items: list[dict] = [
            {"Name": "Amount", "Value": _AMOUNT_SLOT},
            {"Name": "MpesaReceiptNumber", "Value": receipt_number},
        ]
        if include_balance:
            items.append({"Name": "Balance"})  # §6.2: present, with no Value
        items.append({"Name": "TransactionDate", "Value": int(daraja_timestamp(transaction_date))})
        rendered = callback_phone(phone, phone_mode)
        if rendered is not None:
            items.append({"Name": "PhoneNumber", "Value": rendered})
        callback["CallbackMetadata"] = {"Item": items}
    text = json.dumps({"Body": {"stkCallback": callback}}, separators=(",", ":"))
    # json cannot write 1.00; real payloads do (§6.2), so the literal goes in by hand.
    return text.replace(f'"{_AMOUNT_SLOT}"', f"{int(amount)}.00")


def push_accepted_body(*, merchant_request_id: str, checkout_request_id: str) -> dict[str, str]:
    """§3.2, field order and texts as captured."""
    return {
        "MerchantRequestID": merchant_request_id,
        "CheckoutRequestID": checkout_request_id,
        "ResponseCode": "0",
        "ResponseDescription": PUSH_ACCEPTED,
        "CustomerMessage": PUSH_ACCEPTED,
    }


def query_result_body(
    *, merchant_request_id: str, checkout_request_id: str, result_code: str, result_desc: str
) -> dict[str, str]:
    """§4.2/§4.3 shape A: every code is a string; no receipt, no amount."""
    return {
        "ResponseCode": "0",
        "ResponseDescription": QUERY_ACCEPTED,
        "MerchantRequestID": merchant_request_id,
        "CheckoutRequestID": checkout_request_id,
        "ResultCode": result_code,
        "ResultDesc": result_desc,
    }
