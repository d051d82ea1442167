"""STK Query in 2026 (§13.4, §13.5): answered too early, SpikeArrest per shortcode (HTTP 429
with Retry-After, counted in the database), and a gateway hiccup on every Nth query."""

import json
import threading

import pytest

from simulator.models import SimApiCall
from tests.simulator.api.test_push import assert_error

TOO_EARLY = (400, "400.002.02", "Invalid CheckoutRequestID")
SPIKE = (
    '{"fault":{"faultstring":"Spike arrest violation. Allowed rate : MessageRate{messagesPerPeriod=5, '
    'periodInMicroseconds=60000000, maxBurstMessageCount=1.0}","detail":'
    '{"errorcode":"policies.ratelimit.SpikeArrestViolation"}}}'
)


def result(response) -> str:
    assert response.status_code == 200, response.content
    return response.json()["ResultCode"]


# --- too early ---------------------------------------------------------------------------
def test_off_by_default(daraja):
    assert result(daraja.query(daraja.accepted())) == "4999"


def test_too_early_then_pending_then_final(daraja, clock, settings):
    """§13.4: one transaction walks 400 → 4999 → terminal as time passes."""
    settings.SIMULATOR_QUERY_TOO_EARLY_SECONDS = 5
    settings.SIMULATOR_CALLBACK_DELAY_SECONDS = 10
    checkout_id = daraja.accepted()
    assert_error(daraja.query(checkout_id), *TOO_EARLY)
    clock.advance(4.9)
    assert_error(daraja.query(checkout_id), *TOO_EARLY)
    clock.advance(0.1)
    assert result(daraja.query(checkout_id)) == "4999"
    clock.advance(5)
    assert result(daraja.query(checkout_id)) == "0"
    calls = list(
        SimApiCall.objects.filter(api="query").order_by("pk").values_list("http_status", "error_code")
    )
    assert calls == [(400, "400.002.02"), (400, "400.002.02"), (200, ""), (200, "")]


def test_too_early_beats_the_500_pending_shape(daraja, clock, settings):
    settings.SIMULATOR_QUERY_TOO_EARLY_SECONDS = 5
    settings.SIMULATOR_QUERY_PENDING_SHAPE = "500"
    settings.SIMULATOR_CALLBACK_DELAY_SECONDS = 10
    checkout_id = daraja.accepted()
    assert_error(daraja.query(checkout_id), *TOO_EARLY)
    clock.advance(5)
    assert_error(daraja.query(checkout_id), 500, "500.001.1001", "The transaction is being processed")


def test_the_window_is_per_push_and_unknown_ids_stay_unknown(daraja, clock, settings):
    settings.SIMULATOR_QUERY_TOO_EARLY_SECONDS = 5
    first = daraja.accepted("254712000101")
    clock.advance(5)
    second = daraja.accepted("254712000102")
    assert result(daraja.query(first)) == "0"
    assert_error(daraja.query(second), *TOO_EARLY)
    unknown = daraja.query("ws_CO_020420251700083708374149")
    assert_error(unknown, 500, "500.001.1001", "The transaction does not Exist")


# --- SpikeArrest -------------------------------------------------------------------------
def spike_arrested(response) -> int:
    """The Apigee refusal (§13.4); returns its Retry-After."""
    assert response.status_code == 429, response.content
    assert response.content.decode() == SPIKE
    assert response["Content-Type"].startswith("application/json")
    return int(response["Retry-After"])


def test_the_sixth_query_in_a_minute_is_refused(daraja, clock, settings):
    settings.SIMULATOR_QUERY_RATE_LIMIT = "5/60"
    checkout_id = daraja.accepted()
    assert [result(daraja.query(checkout_id)) for _ in range(5)] == ["4999"] * 5
    assert spike_arrested(daraja.query(checkout_id)) == 60
    refused = SimApiCall.objects.filter(api="query").order_by("-pk").first()
    assert (refused.http_status, refused.fault, refused.shortcode) == (429, "spike_arrest", "174379")
    clock.advance(59.9)
    assert spike_arrested(daraja.query(checkout_id)) == 1  # the refused ones count too
    clock.advance(0.1)  # every call of t=0 has left the window; only the one of t=59.9 is in it
    assert result(daraja.query(checkout_id)) == "0"


def test_refused_queries_count_and_retry_after_frees_a_slot(daraja, clock, settings):
    settings.SIMULATOR_QUERY_RATE_LIMIT = "5/60"
    checkout_id = daraja.accepted()
    for _ in range(5):  # t = 0, 10, 20, 30, 40
        result(daraja.query(checkout_id))
        clock.advance(10)
    assert spike_arrested(daraja.query(checkout_id)) == 20  # t=50: a slot frees at 70
    clock.advance(10)
    # t=60: t=0 has left, but the refused query of t=50 holds its place
    assert spike_arrested(daraja.query(checkout_id)) == 20
    clock.advance(20)
    assert result(daraja.query(checkout_id)) == "0"  # t=80: exactly Retry-After later
    assert SimApiCall.objects.filter(api="query", http_status=429).count() == 2


def test_the_limit_is_per_shortcode(daraja, settings):
    settings.SIMULATOR_QUERY_RATE_LIMIT = "1/60"
    checkout_id = daraja.accepted()
    assert result(daraja.query(checkout_id)) == "4999"
    other = daraja.query(checkout_id, BusinessShortCode="600000")  # not ours: Daraja refuses it
    assert_error(other, 500, "500.001.1001", "Merchant does not exist")
    assert daraja.query(checkout_id).status_code == 429
    assert daraja.query(checkout_id, BusinessShortCode="600000").status_code == 429


def test_calls_other_processes_recorded_count(daraja, settings):
    """The count is of rows in the shared database, whoever wrote them."""
    settings.SIMULATOR_QUERY_RATE_LIMIT = "3/60"
    checkout_id = daraja.accepted()
    SimApiCall.objects.bulk_create(
        [SimApiCall(api="query", http_status=200, shortcode="174379") for _ in range(3)]
    )
    assert daraja.query(checkout_id).status_code == 429
    SimApiCall.objects.update(shortcode="")
    assert daraja.query(checkout_id).status_code == 200


def test_the_rate_limit_comes_before_the_token_check(daraja, settings):
    settings.SIMULATOR_QUERY_RATE_LIMIT = "1/60"
    checkout_id = daraja.accepted()
    assert_error(daraja.query(checkout_id, token="nope"), 404, "404.001.03", "Invalid Access Token")
    assert daraja.query(checkout_id).status_code == 429


@pytest.mark.postgres  # also run on PostgreSQL by make test, where the advisory lock decides
@pytest.mark.django_db(transaction=True)
def test_concurrent_queries_take_exactly_the_free_slots(settings):
    """Eight queries at the same instant against 5/60: five pass, three are refused."""
    from django.db import connection

    from simulator.api.gateway import query_door
    from simulator.conf import sim_config

    settings.SIMULATOR_QUERY_RATE_LIMIT = "5/60"
    barrier, doors = threading.Barrier(8), []

    def query():
        try:
            barrier.wait(timeout=5)
            doors.append(query_door(shortcode="174379", checkout="", config=sim_config()))
        finally:
            connection.close()

    threads = [threading.Thread(target=query) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(door.refusal for door in doors) == [""] * 5 + ["spike_arrest"] * 3
    assert SimApiCall.objects.filter(api="query").count() == 8


# --- gateway hiccup ----------------------------------------------------------------------
def test_every_nth_query_gets_a_gateway_page(daraja, settings):
    settings.SIMULATOR_GATEWAY_HICCUP_EVERY = 3
    checkout_id = daraja.accepted()
    answers = [daraja.query(checkout_id) for _ in range(7)]
    pages = [n for n, a in enumerate(answers, 1) if a["Content-Type"].startswith("text/html")]
    assert pages == [3, 6]
    for n in pages:
        assert answers[n - 1].status_code == 200
        assert answers[n - 1].content.startswith(b"<!DOCTYPE html>")
        with pytest.raises(ValueError):
            json.loads(answers[n - 1].content)
    assert all(result(a) == "4999" for n, a in enumerate(answers, 1) if n not in pages)
    faults = list(SimApiCall.objects.filter(api="query").order_by("pk").values_list("fault", flat=True))
    assert faults == ["", "", "hiccup", "", "", "hiccup", ""]


def test_every_query_counts_towards_the_hiccup(daraja, settings):
    """Refused and failed queries are queries too; the page comes before the token check."""
    settings.SIMULATOR_GATEWAY_HICCUP_EVERY = 3
    checkout_id = daraja.accepted()
    assert daraja.query(checkout_id, token="nope").status_code == 404
    assert daraja.query("ws_CO_unknown").status_code == 500
    page = daraja.query(checkout_id, token="nope")
    assert (page.status_code, page["Content-Type"]) == (200, "text/html; charset=UTF-8")
