"""Delivery statistics from the database: is Daraja calling back, how fast, and with what?

One computation feeds the admin dashboard and ``/metrics`` (every process reads the same
database, so any process can answer for the whole deployment). The dashboard's time ranges,
its bars and what each result code means (Daraja's own table) are here too.
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


# daraja-reference.md §7, its "Meaning" column: what each ResultCode says happened.
RESULT_MEANINGS: dict[str, str] = {
    "0": "Paid",
    "1": "Insufficient funds (incl. Fuliza)",
    "2": "Amount below minimum",
    "3": "Over per-transaction max",
    "4": "Daily limit",
    "8": "Receiver max balance",
    "17": "Same amount to same customer within 2 min",
    "26": "Overload",
    "1001": "Concurrent session for MSISDN",
    "1019": "Not processed in allowed time",
    "1025": "Push failed (prompt text > 182 chars: long AccountReference)",
    "9999": "Push failed",
    "1031": "Cancelled (variant)",
    "1032": "User cancelled / dismissed",
    "1036": "SIM/handset didn't ack",
    "1037": "Phone unreachable / no response in time",
    "2001": "Wrong PIN",
    "2028": "TransactionType/PartyB mismatch",
    "8006": "Customer PIN locked",
    "SFC_IC0003": "TransactionType/PartyB mismatch",
    "4999": "Not final",
    "E3008": "Sandbox rejection of non-test numbers",
}


def result_code_label(code: str) -> str:
    """``1032: User cancelled / dismissed``; a code Daraja's table lacks says so."""
    return f"{code}: {RESULT_MEANINGS.get(code, 'not in Daraja’s result-code table')}"


RANGES: tuple[tuple[int, str], ...] = (
    (1, "1 hour"),
    (24, "24 hours"),
    (24 * 7, "7 days"),
    (24 * 30, "30 days"),
)
MAX_HOURS = RANGES[-1][0]


def parse_hours(raw: str | None, default: int = 24) -> int:
    """The dashboard's window: whole hours from 1 to 30 days; anything else is the default."""
    text = (raw or "").strip()
    if not (text.isascii() and text.isdigit() and len(text) <= 4):
        return default
    return max(1, min(MAX_HOURS, int(text)))


def window_label(hours: int) -> str:
    """``24 hours``, ``7 days``; any other whole number of hours as hours."""
    return dict(RANGES).get(hours) or f"{hours} hour{'' if hours == 1 else 's'}"


def latency_per_bucket(health: DeliveryHealth) -> list[tuple[str, int]]:
    """Callbacks per latency bucket (not cumulative), labelled for people."""
    cumulative = health.latency_histogram()
    counts = [n - (cumulative[i - 1][1] if i else 0) for i, (_, n) in enumerate(cumulative)]
    labels = [f"≤ {bound:g} s" if bound != float("inf") else "slower" for bound, _ in cumulative]
    return list(zip(labels, counts, strict=True))


def bars(title: str, header: str, items: list[tuple[str, int]]) -> dict:
    """One chart of the dashboard: labelled counts, each with its share of the largest."""
    top = max((n for _, n in items), default=0)
    rows = [
        {"label": str(label), "value": n, "percent": round(100 * n / top) if top else 0} for label, n in items
    ]
    return {"title": title, "header": header, "bars": rows}
