"""``/metrics`` in Prometheus text format (prometheus-client), computed from the database at
scrape time so every process reports the whole deployment the same way."""

import hmac

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily

from .delivery_stats import delivery_health


class DeliveryHealthCollector:
    def collect(self):
        health = delivery_health()
        window = f"{int(health.window.total_seconds())}s"
        labelled = [
            ("mpesa_payments", "Payments created in the window, by status", "status", health.by_status),
            (
                "mpesa_result_codes",
                "Final ResultCodes in the window (raw code)",
                "code",
                health.by_result_code,
            ),
            ("mpesa_settled", "Payments settled in the window, by source", "source", health.settled_by),
            ("mpesa_callbacks", "Callbacks received in the window, by outcome", "outcome", health.callbacks),
        ]
        for name, documentation, label, counts in labelled:
            family = GaugeMetricFamily(name, documentation, labels=[label, "window"])
            for value, n in counts.items():
                family.add_metric([value, window], n)
            yield family
        lost = GaugeMetricFamily(
            "mpesa_lost_callback_ratio",
            "Share of settled payments whose answer came only by STK query",
            labels=["window"],
        )
        lost.add_metric([window], health.lost_callback_rate or 0.0)
        yield lost
        histogram = HistogramMetricFamily(
            "mpesa_callback_latency_seconds",
            "From push accepted to the first callback, payments created in the window",
            labels=["window"],
        )
        buckets = [(("+Inf" if b == float("inf") else f"{b:g}"), n) for b, n in health.latency_histogram()]
        histogram.add_metric([window], buckets, sum_value=sum(health.latencies))
        yield histogram


def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus scrape endpoint. With METRICS_TOKEN set, a bearer token is required."""
    token = settings.METRICS_TOKEN
    if token:
        sent = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(sent.encode(), token.encode()):
            return HttpResponse("Unauthorized\n", status=401, content_type="text/plain")
    registry = CollectorRegistry()
    registry.register(DeliveryHealthCollector())
    return HttpResponse(generate_latest(registry), content_type="text/plain; version=0.0.4; charset=utf-8")
