"""Every fault of the 25470099FFFF block (and the same faults through scripts)."""

import json
import threading
import time

import pytest
from werkzeug import Response

from simulator.models import SimApiCall, SimDelivery, SimPush
from tests.simulator.api.test_push import assert_error

LOCK_MESSAGE = "Unable to lock subscriber, a transaction is already in process for the current subscriber"


def test_lost_callback_is_never_sent_but_the_query_answers(daraja, receiver, clock, run_deliveries):
    checkout_id = daraja.accepted("254700990001")
    clock.advance(600)
    run_deliveries()
    assert receiver.seen == []
    assert not SimDelivery.objects.exists()
    assert daraja.query(checkout_id).json()["ResultCode"] == "0"


def test_sequential_duplicates(daraja, receiver, clock, run_deliveries):
    daraja.accepted("254700990002")
    clock.advance(3)
    run_deliveries()
    assert len(receiver.seen) == 1  # one per second (SIMULATOR_DUPLICATE_GAP_SECONDS)
    clock.advance(1)
    run_deliveries()
    clock.advance(1)
    run_deliveries()
    assert len(receiver.seen) == 3
    assert len({item["body"] for item in receiver.seen}) == 1  # the very same callback
    assert receiver.codes() == [0, 0, 0]
    assert list(SimDelivery.objects.values_list("kind", flat=True)) == ["callback", "duplicate", "duplicate"]


def test_concurrent_duplicates_arrive_together(daraja, receiver, clock, run_deliveries):
    """The receiver holds every request until three are in flight: sequential sends would
    break the barrier and get 500s."""
    barrier = threading.Barrier(3, timeout=3)

    def together(request):
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            return Response("not concurrent", status=500)
        return Response('{"ResultCode":0}', status=200, content_type="application/json")

    receiver.handler = together
    daraja.accepted("254700990003")
    clock.advance(3)
    assert run_deliveries() == 3
    rows = list(SimDelivery.objects.all())
    assert [r.response_status for r in rows] == [200, 200, 200]
    assert len({r.burst for r in rows}) == 1
    assert rows[0].burst
    assert len(receiver.seen) == 3


def test_callback_arrives_before_the_push_response(daraja, receiver):
    """§9.10: the push view POSTs the callback, then answers. No job run needed."""
    response = daraja.push("254700990004")
    assert response.status_code == 200
    assert len(receiver.seen) == 1
    callback = receiver.callbacks()[0]
    assert callback["CheckoutRequestID"] == response.json()["CheckoutRequestID"]
    assert callback["ResultCode"] == 0
    assert SimDelivery.objects.get().status == "sent"
    assert daraja.query(callback["CheckoutRequestID"]).json()["ResultCode"] == "0"


def test_late_callback_comes_after_the_query_answered(daraja, receiver, clock, run_deliveries, settings):
    settings.SIMULATOR_LATE_CALLBACK_SECONDS = 30
    checkout_id = daraja.accepted("254700990005")
    clock.advance(3)
    run_deliveries()
    assert daraja.query(checkout_id).json()["ResultCode"] == "0"
    assert receiver.seen == []
    clock.advance(29.9)
    run_deliveries()
    assert receiver.seen == []
    clock.advance(0.1)
    run_deliveries()
    assert receiver.codes() == [0]


def test_conflicting_callbacks_then_the_truth(daraja, receiver, clock, run_deliveries):
    checkout_id = daraja.accepted("254700990006")
    clock.advance(3)
    run_deliveries()
    clock.advance(1)
    run_deliveries()
    assert receiver.codes() == [1032, 0]
    assert "CallbackMetadata" not in receiver.callbacks()[0]
    assert daraja.query(checkout_id).json()["ResultCode"] == "0"  # the query says the truth


def test_success_with_a_different_amount(daraja, receiver, clock, run_deliveries):
    daraja.accepted("254700990007", Amount=10)
    clock.advance(3)
    run_deliveries()
    assert '{"Name":"Amount","Value":11.00}' in receiver.seen[0]["body"]


def test_success_without_metadata(daraja, receiver, clock, run_deliveries):
    daraja.accepted("254700990008")
    clock.advance(3)
    run_deliveries()
    [callback] = receiver.callbacks()
    assert callback["ResultCode"] == 0
    assert "CallbackMetadata" not in callback


def test_result_code_as_a_string(daraja, receiver, clock, run_deliveries):
    daraja.accepted("254700990009")
    clock.advance(3)
    run_deliveries()
    assert '"ResultCode":"0"' in receiver.seen[0]["body"]


def test_query_stays_pending_for_k_seconds(daraja, receiver, clock, run_deliveries, settings):
    settings.SIMULATOR_QUERY_PENDING_FAULT_SECONDS = 20
    checkout_id = daraja.accepted("254700990010")
    clock.advance(3)
    run_deliveries()
    assert receiver.codes() == [0]  # the callback came...
    clock.advance(16.9)
    assert daraja.query(checkout_id).json()["ResultCode"] == "4999"  # ...the query still says pending
    clock.advance(0.1)
    assert daraja.query(checkout_id).json()["ResultCode"] == "0"


@pytest.mark.parametrize(
    ("phone", "status", "code", "message"),
    [
        ("254700990011", 500, "500.003.02", "System is busy. Please try again in few minutes."),
        ("254700990012", 500, "500.003.02", "Error Occurred: Spike Arrest Violation"),
        ("254700990015", 500, "500.001.1001", LOCK_MESSAGE),
        ("254700990016", 500, "500.003.03", "Quota Violation"),
        ("254700990017", 500, "500.003.1001", "Internal Server Error"),
    ],
)
def test_synchronous_push_refusals(daraja, phone, status, code, message):
    assert_error(daraja.push(phone), status, code, message)
    assert not SimPush.objects.exists()  # nothing reached the phone


def test_push_timeout_after_acceptance(daraja, settings):
    """The push is recorded and its callback scheduled, then the answer is held back."""
    settings.SIMULATOR_PUSH_TIMEOUT_DELAY_SECONDS = 0.4
    started = time.monotonic()
    response = daraja.push("254700990013")
    assert time.monotonic() - started >= 0.4
    assert response.status_code == 200
    push = SimPush.objects.get()
    assert push.deliveries.get().status == "scheduled"
    assert SimApiCall.objects.get(api="stkpush").fault == "push_timeout"


def test_token_expires_mid_flow(daraja):
    token = daraja.token()
    checkout_id = daraja.accepted("254700990014")
    assert_error(daraja.query(checkout_id, token=token), 404, "404.001.03", "Invalid Access Token")
    assert daraja.query(checkout_id, token=daraja.token(fresh=True)).status_code == 200


def test_script_can_combine_faults(daraja, receiver, clock, run_deliveries, client):
    client.post(
        "/simulator/control/scripts/",
        json.dumps(
            {
                "phone": "254712000002",
                "result_code": 0,
                "delay": 2,
                "duplicates": 2,
                "string_code": True,
                "amount_delta": -4,
                "no_metadata": False,
            }
        ),
        content_type="application/json",
    )
    daraja.accepted("254712000002", Amount=10)
    clock.advance(2)
    run_deliveries()
    clock.advance(1)
    run_deliveries()
    assert len(receiver.seen) == 2
    assert all('"ResultCode":"0"' in s["body"] and '"Value":6.00' in s["body"] for s in receiver.seen)


@pytest.mark.parametrize(
    ("api", "fault", "status", "code"),
    [
        ("oauth", "error", 500, "500.003.1001"),
        ("oauth", "busy", 500, "500.003.02"),
        ("stkpush", "spike", 500, "500.003.02"),
        ("stkpush", "invalid_token", 404, "404.001.03"),
        ("query", "error", 500, "500.003.1001"),
        ("query", "quota", 500, "500.003.03"),
    ],
)
def test_api_fault_scripts_fail_the_next_call_only(daraja, client, api, fault, status, code):
    token = daraja.token()
    checkout_id = daraja.accepted("254712000003")
    created = client.post(
        "/simulator/control/scripts/", {"api": api, "fault": fault}, content_type="application/json"
    )
    assert created.status_code == 201
    call = {
        "oauth": daraja.oauth,
        "stkpush": lambda: daraja.push("254712000004", token=token),
        "query": lambda: daraja.query(checkout_id, token=token),
    }[api]
    failed = call()
    assert failed.status_code == status
    assert failed.json()["errorCode"] == code
    assert call().status_code == 200


def test_slow_oauth(daraja, client):
    client.post(
        "/simulator/control/scripts/",
        {"api": "oauth", "fault": "slow", "seconds": 0.3},
        content_type="application/json",
    )
    started = time.monotonic()
    response = daraja.oauth()
    assert time.monotonic() - started >= 0.3
    assert response.status_code == 200


def test_malformed_answer(daraja, client):
    client.post(
        "/simulator/control/scripts/", {"api": "oauth", "fault": "malformed"}, content_type="application/json"
    )
    response = daraja.oauth()
    assert response.status_code == 200
    with pytest.raises(ValueError):
        json.loads(response.content)
