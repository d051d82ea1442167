"""Initiation rate limits per phone and per user, in the shared cache (django-ratelimit).

With Redis configured (REDIS_URL) the counters are shared by every process. An attempt is
counted once per Idempotency-Key: a double-clicked Pay button (the same key sent again, even
concurrently) is checked against the limit but not counted again.
"""

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from django_ratelimit.core import get_usage

SEEN_KEY_SECONDS = 24 * 3600


def initiation_retry_after(*, request: HttpRequest, user, phone: str, key: str | None) -> int:
    """0 when allowed; otherwise the seconds until the window resets."""
    count = key is None or cache.add(f"ratelimit:seen:{user.pk}:{key}", 1, timeout=SEEN_KEY_SECONDS)
    limits = (
        ("initiate-phone", settings.PAYMENTS_RATE_LIMIT_PER_PHONE, phone),
        ("initiate-user", settings.PAYMENTS_RATE_LIMIT_PER_USER, f"user:{user.pk}"),
    )
    wait = 0
    for group, rate, value in limits:
        if not rate:
            continue
        usage = get_usage(request, group=group, key=lambda _g, _r, v=value: v, rate=rate, increment=count)
        if usage and usage["should_limit"]:
            wait = max(wait, int(usage["time_left"]) or 1)
    return wait
