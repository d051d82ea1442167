"""How callbacks are sent: headers, once, never retried, leases, restarts, resend, fire."""

import time

from werkzeug import Response

from mpesa_plumbing import jobs
from simulator.delivery import INTERRUPTED, send_delivery
from simulator.models import SimDelivery
from tests.helpers.procs import free_port


def test_callback_request_on_the_wire(daraja, receiver, clock, run_deliveries):
    daraja.accepted()
    clock.advance(3)
    assert run_deliveries() == 1
    [seen] = receiver.seen
    assert seen["headers"]["Content-Type"] == "application/json;charset=UTF-8"  # §6.1
    assert seen["headers"]["Businessshortcode"] == "174379"
    assert "Authorization" not in seen["headers"]  # Daraja signs nothing
    delivery = SimDelivery.objects.get()
    assert delivery.body == seen["body"]
    assert (delivery.status, delivery.response_status) == ("sent", 200)
    assert delivery.response_excerpt == '{"ResultCode":0,"ResultDesc":"Accepted"}'
    assert delivery.duration_ms is not None
    assert delivery.duration_ms >= 0
    assert delivery.attempted_at is not None
    assert delivery.error == ""


def test_delivered_once_even_if_the_runner_runs_again(daraja, receiver, clock, run_deliveries):
    daraja.accepted()
    clock.advance(3)
    run_deliveries()
    clock.advance(120)
    assert run_deliveries() == 0
    assert len(receiver.seen) == 1


def test_error_answer_is_not_retried(daraja, receiver, clock, run_deliveries):
    """§6.4: Daraja ignores a 500 from the receiver and never retries."""
    receiver.status = 500
    daraja.accepted()
    clock.advance(3)
    run_deliveries()
    clock.advance(3600)
    run_deliveries()
    assert len(receiver.seen) == 1
    delivery = SimDelivery.objects.get()
    assert (delivery.status, delivery.response_status) == ("sent", 500)


def test_unreachable_receiver_is_recorded_and_not_retried(daraja, clock, run_deliveries):
    daraja.callback_url = f"http://127.0.0.1:{free_port()}/cb/"
    daraja.accepted()
    clock.advance(3)
    run_deliveries()
    clock.advance(600)
    assert run_deliveries() == 0
    delivery = SimDelivery.objects.get()
    assert delivery.status == "failed"
    assert delivery.response_status is None
    assert "ConnectError" in delivery.error


def test_slow_receiver_times_out(daraja, receiver, clock, run_deliveries, settings):
    settings.SIMULATOR_CALLBACK_TIMEOUT_SECONDS = 0.3

    def slow(request):
        time.sleep(1.0)
        return Response("late", status=200)

    receiver.handler = slow
    daraja.accepted()
    clock.advance(3)
    started = time.monotonic()
    run_deliveries()
    assert time.monotonic() - started < 0.9
    delivery = SimDelivery.objects.get()
    assert delivery.status == "failed"
    assert "Timeout" in delivery.error


def test_a_claimed_row_whose_worker_died_is_sent_once_after_the_lease(
    daraja, receiver, clock, run_deliveries
):
    """Restart safety: a worker leased the row and died before sending. Nothing is lost."""
    daraja.accepted()
    clock.advance(3)
    leased = jobs.claim_due(
        SimDelivery.objects.filter(status="scheduled"),
        due_field="due_at",
        lease_field="lease_until",
        lease_seconds=32,
    )
    assert len(leased) == 1
    assert run_deliveries() == 0  # still leased by the "dead" worker
    assert receiver.seen == []
    clock.advance(32.1)
    assert run_deliveries() == 1
    assert run_deliveries() == 0
    assert len(receiver.seen) == 1


def test_a_row_interrupted_mid_post_is_failed_not_resent(daraja, receiver, clock, run_deliveries):
    """A worker died during the POST: at most once (§6.4), but visible, never silent."""
    daraja.accepted()
    clock.advance(3)
    SimDelivery.objects.update(status="sending", attempted_at=clock.now)
    run_deliveries()
    assert SimDelivery.objects.get().status == "sending"
    clock.advance(63)
    run_deliveries()
    delivery = SimDelivery.objects.get()
    assert (delivery.status, delivery.error) == ("failed", INTERRUPTED)
    assert receiver.seen == []


def test_resend_replays_the_exact_body(daraja, receiver, clock, run_deliveries, client):
    daraja.accepted()
    clock.advance(3)
    run_deliveries()
    original = SimDelivery.objects.get()
    response = client.post(f"/simulator/control/deliveries/{original.pk}/resend/")
    assert response.status_code == 201
    data = response.json()
    assert (data["kind"], data["status"], data["response_status"], data["resend_of"]) == (
        "resend",
        "sent",
        200,
        original.pk,
    )
    assert [s["body"] for s in receiver.seen] == [original.body, original.body]
    assert client.post("/simulator/control/deliveries/999999/resend/").status_code == 404


def test_fire_delivers_a_pending_outcome_now(daraja, receiver, clock, run_deliveries, client):
    checkout_id = daraja.accepted("254700001037")  # due after the 60 s PIN window
    assert daraja.query(checkout_id).json()["ResultCode"] == "4999"
    response = client.post(f"/simulator/control/pushes/{checkout_id}/fire/")
    assert response.status_code == 200
    assert daraja.query(checkout_id).json()["ResultCode"] == "1037"
    run_deliveries()
    assert receiver.codes() == [1037]
    again = client.post(f"/simulator/control/pushes/{checkout_id}/fire/")
    assert again.status_code == 409


def test_registered_with_the_shared_job_runner(daraja, receiver, clock):
    daraja.accepted()
    clock.advance(3)
    assert jobs.run_due_jobs()["simulator.deliver"] == 1
    assert len(receiver.seen) == 1


def test_wake_is_called_after_commit_when_something_is_due_now(
    daraja, settings, monkeypatch, django_capture_on_commit_callbacks
):
    woken = []
    monkeypatch.setattr(jobs, "wake", lambda: woken.append(True))
    with django_capture_on_commit_callbacks(execute=True):
        daraja.accepted("254711000001")  # due in 3 s: no wake
    assert woken == []
    settings.SIMULATOR_CALLBACK_DELAY_SECONDS = 0
    with django_capture_on_commit_callbacks(execute=True):
        daraja.accepted("254711000002")
    assert woken == [True]


def test_a_stalled_worker_does_not_send_a_row_someone_else_sent(daraja, receiver, clock, run_deliveries):
    """Worker A leased the row and stalled past its lease; worker B took it over and sent
    it; when A wakes up it must not send it again."""
    daraja.accepted()
    clock.advance(3)
    [pk] = jobs.claim_due(
        SimDelivery.objects.filter(status="scheduled"),
        due_field="due_at",
        lease_field="lease_until",
        lease_seconds=32,
    )
    clock.advance(33)
    assert run_deliveries() == 1  # worker B
    assert send_delivery(pk) is None  # worker A, late
    assert len(receiver.seen) == 1
