"""Realistic Daraja identifiers and Nairobi-time helpers (pure; daraja-reference.md §1.3)."""

import secrets
import string
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

NAIROBI = ZoneInfo("Africa/Nairobi")
_ALNUM = string.ascii_letters + string.digits
_UPPER_ALNUM = string.ascii_uppercase + string.digits
_DAYS = "123456789ABCDEFGHIJKLMNOPQRSTUV"  # §1.3: day 1–9, then A=10 … V=31


def nairobi(moment: datetime) -> datetime:
    """The same instant in Africa/Nairobi (EAT): everything Daraja emits is EAT (§3.6)."""
    return moment.astimezone(NAIROBI)


def daraja_timestamp(moment: datetime) -> str:
    """``YYYYMMDDHHmmss`` in Nairobi time (§3.6, §6.2 TransactionDate)."""
    return nairobi(moment).strftime("%Y%m%d%H%M%S")


def access_token() -> str:
    """28 alphanumerics, like ``c9SQxWWhmdVRlyh0zh8gZDTkubVF`` (§1.3, §2.2)."""
    return "".join(secrets.choice(_ALNUM) for _ in range(28))


def checkout_request_id(*, phone: str, moment: datetime, counter: int | None = None) -> str:
    """``ws_CO_`` + DDMMYYYYHHmmss (Nairobi) + 1–3 digit sub-second counter + the 9
    subscriber digits (§1.3), e.g. ``ws_CO_13102022154520280706803305``."""
    local = nairobi(moment)
    if counter is None:
        counter = local.microsecond // 1000
    return f"ws_CO_{local.strftime('%d%m%Y%H%M%S')}{counter % 1000}{phone[-9:]}"


def merchant_request_id() -> str:
    """4hex-4hex-4hex-12hex followed by a 5–8 digit counter (§1.3), e.g.
    ``5220-40e9-bb16-c78ea820338d11816350``."""
    h = uuid.uuid4().hex
    width = secrets.choice((5, 6, 7, 8))
    digits = str(10 ** (width - 1) + secrets.randbelow(9 * 10 ** (width - 1)))
    return f"{h[:4]}-{h[4:8]}-{h[8:12]}-{h[12:24]}{digits}"


def request_id() -> str:
    """The error envelope's ``requestId``: same style as the MerchantRequestID (§1.2)."""
    return merchant_request_id()


def receipt_number(moment: datetime) -> str:
    """10 uppercase alphanumerics: year letter (L=2017 … S=2024, T=2025), month A–L, day
    1–9/A–V, then 7 random (§1.3, inferred pattern [Med]); e.g. ``SD25WSR9W7``."""
    local = nairobi(moment)
    year = string.ascii_uppercase[(local.year - 2006) % 26]
    month = string.ascii_uppercase[local.month - 1]
    day = _DAYS[local.day - 1]
    return year + month + day + "".join(secrets.choice(_UPPER_ALNUM) for _ in range(7))


def mask_checkout_request_id(checkout_request_id: str) -> str:
    """For logs: the id ends with the subscriber's 9 digits (§1.3), so hide all but 4."""
    head, tail = checkout_request_id[:-9], checkout_request_id[-9:]
    return head + "*****" + tail[-4:] if tail.isdigit() and head.startswith("ws_CO_") else checkout_request_id
