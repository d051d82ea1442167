"""What the simulator says on C2B (§14.3, §14.5, §14.6, §14.8) and how it reads the answer to
its Validation POST (§14.9). Pure.

The Validation and Confirmation bodies are built once, stored on their row and sent byte for
byte. Every value is a JSON string, as in every raw capture (§14.6).
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from mpesa_plumbing.jsonbody import JsonError, loads

from ..conf import PAYBILL_KIND
from .ids import daraja_timestamp

REGISTERED = "Success"  # §14.3: current responses (older ones: "success")
SIMULATE_ACCEPTED = "Accept the service request successfully."  # §14.5
TRANSACTION_TYPES = {PAYBILL_KIND: "Pay Bill", "till": "Customer Merchant Payment"}  # §14.6
# §14.10 item 7: the sandbox's canned payer (mpesakit #103, 2025-11).
PAYER = ("NICHOLAS", "JOHN", "SONGOK")


def register_success_body(originator_conversation_id: str) -> dict[str, str]:
    """§14.3: the typo key ``OriginatorCoversationID``, ``ResponseCode`` the string "0", no
    ``ConversationID``."""
    return {
        "OriginatorCoversationID": originator_conversation_id,
        "ResponseCode": "0",
        "ResponseDescription": REGISTERED,
    }


def simulate_success_body(originator_conversation_id: str) -> dict[str, str]:
    """§14.5: the documented v2 answer (also what v1 gives in post-2022 captures)."""
    return {
        "OriginatorCoversationID": originator_conversation_id,
        "ResponseCode": "0",
        "ResponseDescription": SIMULATE_ACCEPTED,
    }


def render_msisdn(msisdn: str, mode: str, version: str) -> str:
    """§14.8: ``full`` 254708374149; ``masked`` "2547 ***** 149" (first 4, 5 asterisks, last
    3); ``hashed`` the lowercase hex SHA-256 of the 12-digit string [Med]; ``masked_hash``
    the 2024 hybrid (34 hex + " ***** " + 25 hex); ``by_version`` the documented rule: v1
    registrations get the hash, v2 the mask."""
    if mode == "by_version":
        mode = "masked" if version == "v2" else "hashed"
    if mode == "masked":
        return f"{msisdn[:4]} ***** {msisdn[-3:]}"
    digest = hashlib.sha256(msisdn.encode("ascii")).hexdigest()
    if mode == "hashed":
        return digest
    if mode == "masked_hash":
        return f"{digest[:34]} ***** {digest[-25:]}"
    return msisdn


def money(amount: Decimal | int) -> str:
    """§14.6: "1.00", "10000.00": two decimals, always a string."""
    return f"{Decimal(amount):.2f}"


@dataclass(frozen=True)
class Notification:
    """The fields of one Validation / Confirmation (§14.6), already rendered."""

    transaction_type: str
    trans_id: str
    trans_time: datetime
    amount: int
    shortcode: str
    bill_ref_number: str
    msisdn: str  # rendered (render_msisdn)
    org_balance: str  # "" for validation (§14.6), the new balance for a confirmation
    third_party_trans_id: str = ""
    invoice_number: str = ""  # §14.6: usually ""
    names: str = "first"  # first: FirstName only, the other keys absent; full: all three


def notification_body(n: Notification) -> str:
    """§14.6/§14.7: keys in the captured order, every value a string."""
    body = {
        "TransactionType": n.transaction_type,
        "TransID": n.trans_id,
        "TransTime": daraja_timestamp(n.trans_time),
        "TransAmount": money(n.amount),
        "BusinessShortCode": n.shortcode,
        "BillRefNumber": n.bill_ref_number,
        "InvoiceNumber": n.invoice_number,
        "OrgAccountBalance": n.org_balance,
        "ThirdPartyTransID": n.third_party_trans_id,
        "MSISDN": n.msisdn,
        "FirstName": PAYER[0],
    }
    if n.names == "full":
        body |= {"MiddleName": PAYER[1], "LastName": PAYER[2]}
    return json.dumps(body, separators=(",", ":"))


ACCEPTED, REJECTED, NO_ANSWER = "accepted", "rejected", "no answer"


@dataclass(frozen=True)
class Verdict:
    """How M-Pesa reads the answer to its Validation POST."""

    outcome: str  # ACCEPTED, REJECTED or NO_ANSWER (then ResponseType decides)
    reason: str  # for people: "ResultCode C2B00012", "HTTP 500", "timed out after 8 s", …
    result_code: str = ""
    result_desc: str = ""
    third_party_trans_id: str = ""


def read_validation_answer(status: int | None, text: str, *, error: str = "") -> Verdict:
    """§14.9: HTTP 200 with ``ResultCode`` "0" (or the 2017 integer 0) accepts; any other
    ResultCode rejects (C2B00011…C2B00016, or anything not 0). No answer, a non-200, a body
    that is not a JSON object with a ResultCode: not documented, read as no answer [Low]."""
    if status is None:
        return Verdict(NO_ANSWER, error or "no HTTP answer")
    if status != 200:
        return Verdict(NO_ANSWER, f"HTTP {status}")
    try:
        data = loads(text.encode("utf-8"), max_depth=4)
    except JsonError:
        data = None
    code = data.get("ResultCode") if isinstance(data, dict) else None
    if isinstance(code, bool) or not isinstance(code, (str, int)) or str(code).strip() == "":
        return Verdict(NO_ANSWER, "HTTP 200 without a ResultCode")
    desc = data.get("ResultDesc")
    desc = desc[:255] if isinstance(desc, str) else ""
    third = data.get("ThirdPartyTransID")
    third = third[:64] if isinstance(third, str) else ""
    text_code = str(code).strip()[:32]
    if text_code == "0":
        return Verdict(ACCEPTED, "ResultCode 0", "0", desc, third)
    return Verdict(REJECTED, f"ResultCode {text_code}", text_code, desc, third)


def mistyped(account: str) -> str:
    """A plausible slip of the thumb on the account number, the same every time: the last two
    characters swapped, or (when they are equal) the last one changed."""
    if len(account) >= 2 and account[-1] != account[-2]:
        return account[:-2] + account[-1] + account[-2]
    if not account:
        return "1"
    last = account[-1]
    if last.isdigit():
        return account[:-1] + str((int(last) + 1) % 10)
    return account[:-1] + ("A" if last.upper() != "A" else "B")
