"""Delivery statistics from the database: is Daraja calling back, how fast, and with what?

One computation feeds the admin dashboard and ``/metrics`` (every process reads the same
database, so any process can answer for the whole deployment).
"""

from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta

from django.db.models import Count, Min
from django.utils import timezone

from ..models import CallbackRecord, Payment

LATENCY_BUCKETS = (1, 2, 5, 10, 20, 30, 60, 120, 300)  # seconds: PIN entry dominates (§6.5)


@dataclass
class DeliveryHealth:
    window: timedelta
    payments: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    by_result_code: dict[str, int] = field(default_factory=dict)
    settled_by: dict[str, int] = field(default_factory=dict)
    callbacks: dict[str, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)  # push accepted → first callback, s

    @property
    def settled(self) -> int:
        return sum(n for source, n in self.settled_by.items() if source in ("callback", "query"))

    @property
    def lost_callback_rate(self) -> float | None:
        """Share of Daraja-settled payments whose answer came only by query."""
        return self.settled_by.get("query", 0) / self.settled if self.settled else None

    def latency_quantile(self, q: float) -> float | None:
        if not self.latencies:
            return None
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    def latency_histogram(self) -> list[tuple[float, int]]:
        """Cumulative counts per upper bound (Prometheus style), +Inf last."""
        return [
            (bound, sum(1 for x in self.latencies if x <= bound))
            for bound in (*LATENCY_BUCKETS, float("inf"))
        ]


def delivery_health(*, window: timedelta = timedelta(hours=24)) -> DeliveryHealth:
    """Payments created in the last ``window``: outcomes, who settled them, callback latency."""
    since = timezone.now() - window
    health = DeliveryHealth(window=window)
    payments = Payment.objects.filter(created_at__gte=since)
    health.by_status = dict(payments.values_list("status").annotate(n=Count("pk")))
    health.payments = sum(health.by_status.values())
    health.by_result_code = dict(
        payments.exclude(result_code="").values_list("result_code").annotate(n=Count("pk")).order_by()
    )
    health.settled_by = dict(
        payments.exclude(settled_by="").values_list("settled_by").annotate(n=Count("pk"))
    )
    health.callbacks = dict(
        CallbackRecord.objects.filter(received_at__gte=since).values_list("outcome").annotate(n=Count("pk"))
    )
    firsts = (
        payments.filter(pushed_at__isnull=False, callbacks__isnull=False)
        .annotate(first=Min("callbacks__received_at"))
        .values_list("pushed_at", "first")
    )
    health.latencies = [max(0.0, (first - pushed).total_seconds()) for pushed, first in firsts]
    return health


def top_codes(health: DeliveryHealth, limit: int = 8) -> list[tuple[str, int]]:
    return Counter(health.by_result_code).most_common(limit)
