"""Operators' tools: health endpoints, /metrics, the delivery-health dashboard, the timeline."""

import json
import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from payments import checkout
from payments.models import CallbackRecord, Payment
from payments.reporting.delivery_stats import delivery_health, result_code_label
from tests.factories import callback_body, deposit_body, dumps, make_payment, query_result
from tests.helpers.asgi import CallbackDoor

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(db):
    client = Client()
    client.force_login(get_user_model().objects.create_superuser("ops", "ops@example.com", "pw"))
    return client


def settle_some(user) -> list[Payment]:
    """Three callbacks 3 s, 7 s and 30 s after the push; one payment settled only by query."""
    payments = [make_payment(user, amount=10 + i) for i in range(4)]
    for payment, delay, code in zip(payments[:3], (3, 7, 30), (0, 1032, 0), strict=True):
        Payment.objects.filter(pk=payment.pk).update(pushed_at=timezone.now() - timedelta(seconds=delay))
        CallbackDoor().callback(payment, dumps(callback_body(payment, code=code)))
    checkout.payment_apply_result(payment=payments[3], result=query_result(payments[3], "0"), source="query")
    return payments


def test_healthz_and_readyz(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert set(ready.json()["checks"]) == {"database", "channel_layer", "cache"}
    assert all(check["ok"] for check in ready.json()["checks"].values())


def test_readyz_is_503_when_the_channel_layer_is_down(client, settings):
    from project.layers import channel_layer_config
    from tests.helpers.procs import free_port

    settings.CHANNEL_LAYERS = channel_layer_config(f"redis://127.0.0.1:{free_port()}/0")
    response = client.get("/readyz")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["channel_layer"]["ok"] is False and checks["database"]["ok"] is True


def test_delivery_health_numbers(user):
    settle_some(user)
    health = delivery_health()
    assert health.payments == 4
    assert health.settled_by == {"callback": 3, "query": 1}
    assert health.lost_callback_rate == 0.25
    assert sorted(round(x) for x in health.latencies) == [3, 7, 30]
    assert health.latency_quantile(0.5) == pytest.approx(7, abs=1)
    assert health.by_result_code == {"0": 3, "1032": 1}
    assert dict(health.latency_histogram())[10] == 2


def test_metrics_in_prometheus_format(client, user, settings):
    settle_some(user)
    text = client.get("/metrics").content.decode()
    assert 'mpesa_payments{status="paid",window="86400s"} 3.0' in text
    assert 'mpesa_settled{source="query",window="86400s"} 1.0' in text
    assert 'mpesa_lost_callback_ratio{window="86400s"} 0.25' in text
    assert 'mpesa_callback_latency_seconds_bucket{le="10",window="86400s"} 2.0' in text
    assert 'mpesa_result_codes{code="1032",window="86400s"} 1.0' in text
    assert 'mpesa_callbacks{outcome="applied",window="86400s"} 3.0' in text
    settings.METRICS_TOKEN = "scrape-me"
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer scrape-me"}).status_code == 200


def test_dashboard_shows_latency_lost_rate_and_code_mix(staff_client, user):
    settle_some(user)
    page = staff_client.get("/admin/payments/payment/health/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "lost-callback rate <strong>25.0 %</strong>" in text
    codes = re.findall(r'<tr><th scope="row">([^<]+)</th><td class="mpesa-count">(\d+)</td>', text)
    assert ("0: Paid", "3") in codes and ("1032: User cancelled / dismissed", "1") in codes
    assert ("Callback", "3") in codes and ("STK query", "1") in codes  # settled by, in words
    assert staff_client.get("/admin/payments/payment/").content.decode().count("Delivery health") == 1


def test_result_codes_are_labelled_with_darajas_meaning():
    assert result_code_label("2001") == "2001: Wrong PIN"
    assert result_code_label("1037") == "1037: Phone unreachable / no response in time"
    assert result_code_label("SFC_IC0003") == "SFC_IC0003: TransactionType/PartyB mismatch"
    assert result_code_label("777") == "777: not in Daraja’s result-code table"


@pytest.mark.parametrize(
    ("hours", "title", "current"),
    [
        ("1", "1 hour", "1 hour"),
        ("24", "24 hours", "24 hours"),
        ("168", "7 days", "7 days"),
        ("720", "30 days", "30 days"),
        ("48", "48 hours", None),
        ("junk", "24 hours", "24 hours"),
    ],
)
def test_dashboard_time_range_picker(staff_client, hours, title, current):
    text = staff_client.get("/admin/payments/payment/health/", {"hours": hours}).content.decode()
    assert f"(payments created in the last {title})" in text
    links = re.findall(r'<a href="\?hours=(\d+)"( aria-current="page")?>Last ([^<]+)</a>', text)
    assert [(h, label) for h, _, label in links] == [
        ("1", "1 hour"),
        ("24", "24 hours"),
        ("168", "7 days"),
        ("720", "30 days"),
    ]
    assert [label for _, mark, label in links if mark] == ([current] if current else [])


def test_dashboard_needs_staff(client, user):
    client.force_login(user)
    assert client.get("/admin/payments/payment/health/").status_code == 302


@pytest.mark.django_db(transaction=True)
def test_timeline_shows_requests_callbacks_and_states_without_secrets(staff_client, user, daraja, settings):
    from tests.helpers.fake_daraja import accept_pushes

    accept_pushes(daraja)
    customer = Client()
    customer.force_login(user)
    response = customer.post(
        "/payments/initiate/",
        data=json.dumps(deposit_body(user, 12, "0712345678")),
        content_type="application/json",
    )
    payment = Payment.objects.get(public_id=response.json()["payment"]["public_id"])
    CallbackDoor().callback(payment, dumps(callback_body(payment)))
    page = staff_client.get(f"/admin/payments/payment/{payment.pk}/change/").content.decode()
    for expected in (
        "STK push request",
        "Raw callback",
        "initiating → pending",
        "pending → paid",
        "Status pushed to browsers",
        "2547****5678",
        "/payments/callbacks/",
    ):
        assert expected in page, expected
    # The request sent to Daraja, pretty-printed as JSON (one key a line), not a Python repr.
    assert '<dt>request</dt><dd><pre class="mpesa-pre">{\n  &quot;endpoint&quot;: ' in page
    assert "\n  &quot;amount&quot;: 12,\n" in page
    from payments.checkout.callback_url import callback_token

    assert callback_token(payment.public_id) not in page
    assert settings.DARAJA_PASSKEY not in page and "254712345678" not in page
    assert CallbackRecord.objects.get().outcome == "applied"


@pytest.mark.parametrize("hours", ["abc", "", "-5", "1e9", "99999999999999999999", "٣", "24; DROP", "0"])
def test_delivery_health_takes_any_hours_parameter(admin_client, hours):
    """A bad ?hours= is the default window (24 h) or the nearest bound, never a 500."""
    response = admin_client.get("/admin/payments/payment/health/", {"hours": hours})
    assert response.status_code == 200
    assert response.context["hours"] == (1 if hours == "0" else 24)
