"""OAuth tokens (§2) in the database: issue, check, invalidate. Tokens are hashed at rest."""

import base64
import binascii
import hashlib
import hmac
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from ..conf import SimConfig
from ..models import SimToken
from ..wire import ids


def token_hash(token: str) -> str:
    """What is stored instead of the token."""
    return hashlib.sha256(token.encode()).hexdigest()


def basic_credentials(header: str) -> tuple[str, str] | None:
    """``Basic base64(key:secret)`` → (key, secret); None when it is not Basic at all."""
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        key, sep, secret = base64.b64decode(value.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return ("", "")
    return (key, secret) if sep else ("", "")


def credentials_valid(key: str, secret: str, config: SimConfig) -> bool:
    """Constant-time comparison with DARAJA_CONSUMER_KEY / DARAJA_CONSUMER_SECRET."""
    ok_key = hmac.compare_digest(key.encode(), config.consumer_key.encode())
    ok_secret = hmac.compare_digest(secret.encode(), config.consumer_secret.encode())
    return bool(config.consumer_key) and ok_key and ok_secret


def token_issue(*, consumer_key: str, config: SimConfig) -> str:
    """A new 28-character token. With SIMULATOR_TOKEN_INVALIDATES_PREVIOUS (default, §2.4:
    "each request invalidates the previous token") earlier tokens of this key stop working."""
    now = timezone.now()
    token = ids.access_token()
    key_hash = token_hash("consumer:" + consumer_key)
    with transaction.atomic():
        if config.token_invalidates_previous:
            SimToken.objects.filter(consumer_key_hash=key_hash, revoked_at__isnull=True).update(
                revoked_at=now, revoked_reason="superseded"
            )
        SimToken.objects.create(
            token_hash=token_hash(token),
            hint=token[:4],
            consumer_key_hash=key_hash,
            issued_at=now,
            expires_at=now + timedelta(seconds=config.token_lifetime),
        )
    return token


def bearer_token(header: str) -> str:
    """``Bearer <token>`` → the token ("" for anything else)."""
    scheme, _, value = header.strip().partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


def token_valid(token: str) -> bool:
    """Issued here, not revoked, not expired. Anything else is §3.3 ``404.001.03``."""
    if not token:
        return False
    return SimToken.objects.filter(
        token_hash=token_hash(token), revoked_at__isnull=True, expires_at__gt=timezone.now()
    ).exists()


def token_revoke(token: str, *, reason: str) -> int:
    """This token stops working now; returns 1 if it was live."""
    return SimToken.objects.filter(token_hash=token_hash(token), revoked_at__isnull=True).update(
        revoked_at=timezone.now(), revoked_reason=reason
    )


def tokens_expire_all(*, reason: str = "expired-by-control") -> int:
    """Every live token stops working now (the next business call gets 404.001.03)."""
    return SimToken.objects.filter(revoked_at__isnull=True).update(
        revoked_at=timezone.now(), revoked_reason=reason
    )
