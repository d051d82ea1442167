"""WebSocket tickets: how a page on another origin (or a mobile app), which has an API token but
no session cookie, opens a payment's socket without putting its token in a URL.

A ticket is short-lived (``PAYMENTS_WS_TICKET_SECONDS``, 30 s), single-use and scoped to one
payment and one user: Django's ``signing`` (HMAC under SECRET_KEY, with a timestamp) carries
the ids and a random nonce; the nonce is burnt in the shared cache on first use (``cache.add``
succeeds once, in any process).
"""

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.core.cache import cache

SALT = "payments.ws-ticket"


def ticket_issue(*, payment, user) -> str:
    """A ticket for ``user`` to watch ``payment`` (who must be its owner or staff: the caller
    checked)."""
    return signing.dumps({"p": payment.public_id.hex, "u": user.pk, "n": secrets.token_hex(12)}, salt=SALT)


def ticket_redeem(ticket: str, *, public_id) -> object | None:
    """The user the ticket was issued to, if it is genuine, fresh, for this payment and used for
    the first time; None otherwise (the socket is then refused)."""
    seconds = settings.PAYMENTS_WS_TICKET_SECONDS
    try:
        data = signing.loads(ticket[:512], salt=SALT, max_age=seconds)
    except signing.BadSignature:  # includes SignatureExpired
        return None
    if not isinstance(data, dict) or data.get("p") != public_id.hex:
        return None
    if not cache.add(f"ws-ticket:used:{data.get('n')}", 1, timeout=seconds + 5):
        return None  # already used
    return get_user_model().objects.filter(pk=data.get("u"), is_active=True).first()
