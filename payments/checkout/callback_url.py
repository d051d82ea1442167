"""The callback URLs: built in one place, authenticated by capability. One per payment for
STK results; one pair per shortcode for C2B (Validation and Confirmation of payments made
from the M-Pesa menu, daraja-reference.md §14).

Daraja signs nothing (daraja-reference.md §6.1), so the URL carries an HMAC of the payment's
public id under a server secret. Both path parts are lowercase hex, so none of Daraja's
forbidden words (mpesa, safaricom, exe, cmd, sql, query; §9.6) can ever appear in them.
"""

import hashlib
import hmac
import re
import uuid

from django.conf import settings

# The callback door (payments/http/callback.py) serves exactly this prefix, ahead of Django.
CALLBACK_PATH_PREFIX = "/payments/callbacks/"
C2B_PATH_PREFIX = CALLBACK_PATH_PREFIX + "c2b/"
C2B_KINDS = ("validation", "confirmation")
TOKEN_HEX_LENGTH = 32
FORBIDDEN_WORDS = ("m-pesa", "mpesa", "safaricom", "exec", "exe", "cmd", "sql", "query")


def callback_token(public_id: uuid.UUID) -> str:
    key = settings.PAYMENTS_CALLBACK_SECRET.encode()
    digest = hmac.new(key, b"stk-callback:" + public_id.hex.encode(), hashlib.sha256)
    return digest.hexdigest()[:TOKEN_HEX_LENGTH]


def verify_callback_token(public_id: uuid.UUID, token: str) -> bool:
    """Constant-time comparison; case matters (the token we issue is lowercase hex)."""
    if not token.isascii():
        return False
    return hmac.compare_digest(callback_token(public_id).encode(), token.encode())


def c2b_token(shortcode: str) -> str:
    key = settings.PAYMENTS_CALLBACK_SECRET.encode()
    digest = hmac.new(key, b"c2b:" + str(shortcode).encode(), hashlib.sha256)
    return digest.hexdigest()[:TOKEN_HEX_LENGTH]


def verify_c2b_token(shortcode: str, token: str) -> bool:
    if not token.isascii() or not shortcode.isascii():
        return False
    return hmac.compare_digest(c2b_token(shortcode).encode(), token.encode())


def c2b_path(shortcode: str, kind: str) -> str:
    """``/payments/callbacks/c2b/<shortcode>/<token>/<validation|confirmation>/``: digits, hex
    and two plain words, so none of Daraja's forbidden URL words can appear (§14.2)."""
    if kind not in C2B_KINDS:
        raise ValueError(f"kind must be one of {C2B_KINDS}")
    return f"{C2B_PATH_PREFIX}{shortcode}/{c2b_token(shortcode)}/{kind}/"


def c2b_url(shortcode: str, kind: str) -> str:
    return settings.DARAJA_CALLBACK_BASE_URL.rstrip("/") + c2b_path(shortcode, kind)


def callback_path(public_id: uuid.UUID) -> str:
    """``/payments/callbacks/<public id hex>/<token>/``: hex only, so none of Daraja's
    forbidden URL words can appear (§9.6)."""
    return f"{CALLBACK_PATH_PREFIX}{public_id.hex}/{callback_token(public_id)}/"


def callback_url(public_id: uuid.UUID) -> str:
    return settings.DARAJA_CALLBACK_BASE_URL.rstrip("/") + callback_path(public_id)


def forbidden_words_in(url: str) -> list[str]:
    lowered = url.lower()
    return [word for word in FORBIDDEN_WORDS if word in lowered]


_TOKEN_IN_PATH = re.compile(
    rf"({re.escape(C2B_PATH_PREFIX)}[^/\s]*/|{re.escape(CALLBACK_PATH_PREFIX)}(?!c2b/)[^/\s]*/)[^/\s]+"
)


def redact_callback_tokens(text: str) -> str:
    """Hide capability tokens in paths before they reach any log."""
    return _TOKEN_IN_PATH.sub(r"\1****", text)
