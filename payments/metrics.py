"""``/metrics`` in Prometheus text format (prometheus-client), computed from the database at
scrape time so every process reports the whole deployment the same way."""

import hmac

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily

from .health import delivery_health


class DeliveryHealthCollector:
    def collect(self):
        health = delivery_health()
        window = f"{int(health.window.total_seconds())}s"
        statuses = GaugeMetricFamily(
            "mpesa_payments", "Payments created in the window, by status", labels=["status", "window"]
        )
        for status, n in health.by_status.items():
            statuses.add_metric([status, window], n)
        yield statuses
        codes = GaugeMetricFamily(
            "mpesa_result_codes", "Final ResultCodes in the window (raw code)", labels=["code", "window"]
        )
        for code, n in health.by_result_code.items():
            codes.add_metric([code, window], n)
        yield codes
        settled = GaugeMetricFamily(
            "mpesa_settled", "Payments settled in the window, by source", labels=["source", "window"]
        )
        for source, n in health.settled_by.items():
            settled.add_metric([source, window], n)
        yield settled
        callbacks = GaugeMetricFamily(
            "mpesa_callbacks", "Callbacks received in the window, by outcome", labels=["outcome", "window"]
        )
        for outcome, n in health.callbacks.items():
            callbacks.add_metric([outcome, window], n)
        yield callbacks
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
