"""``manage.py simulator …``: every action, human and --json output."""

import json
import threading
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from simulator.api import behaviour
from simulator.conf import sim_config
from simulator.models import SimDelivery, SimPush, SimScript, SimToken


def run(*args: str) -> str:
    out = StringIO()
    call_command("simulator", *args, stdout=out)
    return out.getvalue()


def run_json(*args: str):
    return json.loads(run("--json", *args))


def test_script_phone_then_push(daraja, receiver, clock, run_deliveries):
    text = run("script", "--phone", "254712000010", "--code", "1032", "--delay", "1", "--duplicates", "2")
    assert text.startswith("Script #")
    script = SimScript.objects.get()
    assert script.spec == {"result_code": "1032", "delay": 1.0, "duplicates": 2}
    daraja.accepted("254712000010")
    clock.advance(2)
    run_deliveries()
    assert receiver.codes() == [1032, 1032]


def test_script_checkout_and_api(daraja, clock):
    checkout_id = daraja.accepted()
    data = run_json("script", "--checkout", checkout_id, "--code", "2001", "--delay", "0")
    assert data["target"] == "checkout"
    assert daraja.query(checkout_id).json()["ResultCode"] == "2001"
    run("script", "--api", "oauth", "--fault", "error", "--times", "2")
    assert daraja.oauth().status_code == 500
    assert daraja.oauth().status_code == 500
    assert daraja.oauth().status_code == 200
    with pytest.raises(CommandError, match="--api needs --fault"):
        run("script", "--api", "query")
    with pytest.raises(CommandError, match="phone"):
        run("script", "--phone", "0712")


def test_scripts_listing(db):
    assert run("scripts").strip() == "No scripts."
    run("script", "--phone", "254712000011", "--lost")
    assert "254712000011" in run("scripts")
    assert run_json("scripts")["scripts"][0]["spec"] == {"lost": True}


def test_trigger_fire_resend_tail(db, receiver):
    push = run_json("trigger", "--callback-url", receiver.url, "--code", "1", "--delay", "300")
    checkout_id = push["checkout_request_id"]
    assert push["deliveries"][0]["status"] == "scheduled"
    fired = run_json("fire", checkout_id)
    assert fired["deliveries"][0]["status"] == "sent"
    assert receiver.codes() == [1]
    delivery_id = fired["deliveries"][0]["id"]
    resent = run("resend", str(delivery_id))
    assert resent.startswith(f"Resent #{delivery_id} as #")
    assert "HTTP 200" in resent
    assert receiver.codes() == [1, 1]
    tail = run("tail")
    assert checkout_id in tail
    assert "2547****4149" in tail  # phones are masked for people
    assert "callback sent HTTP 200" in tail
    assert "resend sent HTTP 200" in tail
    assert run_json("tail")["phone"] == "254708374149"
    with pytest.raises(CommandError, match="not found"):
        run("fire", "ws_CO_nope")
    with pytest.raises(CommandError, match="not found"):
        run("resend", "999999")


def test_tail_follow_is_bounded(db):
    out = run("tail", "--follow", "--interval", "0.1", "--max-seconds", "0.3")
    assert "No pushes yet." in out
    assert "Following (up to 0 s" in out


@pytest.mark.django_db(transaction=True)
def test_tail_follow_shows_new_pushes_and_deliveries(receiver):
    def push_later():
        try:
            behaviour.push_trigger(
                {"callback_url": receiver.url, "phone": "254712000012", "delay": 0}, config=sim_config()
            )
        finally:
            connection.close()

    timer = threading.Timer(0.3, push_later)
    timer.start()
    try:
        out = run("tail", "--follow", "--interval", "0.1", "--max-seconds", "1.5")
    finally:
        timer.join()
    assert "2547****0012" in out
    assert "callback scheduled" in out


def test_reset_counters_expire_deliver(daraja, clock):
    daraja.accepted()
    counters = run_json("counters")
    assert counters["pushes"] == 1
    assert "pushes" in run("counters")
    assert "Expired 1 token(s)" in run("expire-tokens")
    assert SimToken.objects.filter(revoked_at__isnull=True).count() == 0
    clock.advance(3)
    assert run_json("deliver") == {"handled": 1}
    assert SimDelivery.objects.get().status in ("sent", "failed")
    assert "1 pushes" in run("reset")
    assert not SimPush.objects.exists()
