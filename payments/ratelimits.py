"""Initiation rate limits per phone and per user, in the shared cache (django-ratelimit).

With Redis configured (REDIS_URL) the counters are shared by every process; an idempotent
replay (same Idempotency-Key) is not a new attempt and is not counted.
"""

from django.conf import settings
from django.http import HttpRequest
from django_ratelimit.core import get_usage

from .models import Payment


def initiation_retry_after(*, request: HttpRequest, user, phone: str, key: str | None) -> int:
    """0 when allowed (and counted); otherwise the seconds until the window resets."""
    if key and Payment.objects.filter(user=user, idempotency_key=key).exists():
        return 0
    limits = (
        ("initiate-phone", settings.PAYMENTS_RATE_LIMIT_PER_PHONE, phone),
        ("initiate-user", settings.PAYMENTS_RATE_LIMIT_PER_USER, f"user:{user.pk}"),
    )
    wait = 0
    for group, rate, value in limits:
        if not rate:
            continue
        usage = get_usage(request, group=group, key=lambda _g, _r, v=value: v, rate=rate, increment=True)
        if usage and usage["should_limit"]:
            wait = max(wait, int(usage["time_left"]) or 1)
    return wait
