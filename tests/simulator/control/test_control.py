"""The JSON control API under /simulator/control/."""

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve

import simulator.urls
from simulator.models import SimApiCall, SimDelivery, SimPush, SimScript, SimToken


def post(client, path, data=None):
    return client.post(path, data or {}, content_type="application/json")


def test_counters(daraja, client, clock, run_deliveries):
    checkout_id = daraja.accepted()
    daraja.push("254700990011")  # refused: still a push request
    daraja.query(checkout_id)
    clock.advance(3)
    run_deliveries()
    assert client.get("/simulator/control/counters/").json() == {
        "token_requests": 1,
        "tokens_issued": 1,
        "push_requests": 2,
        "pushes": 1,
        "queries": 1,
        "deliveries": 1,
        "deliveries_failed": 0,
        "deliveries_scheduled": 0,
        "c2b_register_requests": 0,
        "c2b_simulate_requests": 0,
        "c2b_registrations": 0,
        "c2b_payments": 0,
        "c2b_callbacks": 0,
        "handsets_open": 0,
    }


def test_reset_forgets_everything(daraja, client):
    daraja.accepted()
    post(client, "/simulator/control/scripts/", {"phone": "254712000009", "result_code": 1})
    response = post(client, "/simulator/control/reset/")
    assert response.status_code == 200
    assert response.json()["deleted"]["pushes"] == 1
    for model in (SimPush, SimDelivery, SimScript, SimToken, SimApiCall):
        assert not model.objects.exists()
    assert client.get("/simulator/control/counters/").json()["token_requests"] == 0


def test_pushes_listing(daraja, client, clock, run_deliveries):
    first = daraja.accepted("254711000001")
    second = daraja.accepted("254711000002")
    clock.advance(3)
    run_deliveries()
    pushes = client.get("/simulator/control/pushes/").json()["pushes"]
    assert [p["checkout_request_id"] for p in pushes] == [second, first]
    assert pushes[0]["deliveries"][0]["status"] == "sent"
    assert pushes[0]["deliveries"][0]["response_status"] == 200
    assert pushes[0]["result_code"] == "0"
    only = client.get("/simulator/control/pushes/?phone=254711000001").json()["pushes"]
    assert [p["checkout_request_id"] for p in only] == [first]
    after = client.get(f"/simulator/control/pushes/?after={pushes[1]['id']}").json()["pushes"]
    assert [p["checkout_request_id"] for p in after] == [second]
    assert client.get("/simulator/control/pushes/?limit=x").status_code == 400
    assert client.get(f"/simulator/control/pushes/{first}/").json()["checkout_request_id"] == first
    assert client.get("/simulator/control/pushes/ws_CO_nope/").status_code == 404


@pytest.mark.parametrize(
    ("script", "words"),
    [
        ({"phone": "0712345678"}, "phone"),
        ({"phone": "254712345678", "colour": "red"}, "unknown key"),
        ({"phone": "254712345678", "result_code": "1 0"}, "result_code"),
        ({"phone": "254712345678", "result_code": True}, "result_code"),
        ({"phone": "254712345678", "duplicates": 0}, "duplicates"),
        ({"phone": "254712345678", "duplicates": 21}, "duplicates"),
        ({"phone": "254712345678", "lost": "yes"}, "lost"),
        ({"phone": "254712345678", "push_error": "boom"}, "push_error"),
        ({"phone": "254712345678", "delay": -1}, "delay"),
        ({"phone": "254712345678", "late_seconds": -1}, "late_seconds"),
        ({"phone": "254712345678", "times": 0}, "times"),
        ({"api": "b2c", "fault": "error"}, "api"),
        ({"api": [], "fault": "error"}, "api"),
        ({"api": {"oauth": 1}, "fault": "error"}, "api"),
        ({"api": "oauth", "fault": []}, "fault"),
        ({"phone": ["254712345678"]}, "phone"),
        ({"phone": "254712345678", "push_error": []}, "push_error"),
        ({"api": "oauth", "fault": "explode"}, "fault"),
        ({"api": "oauth", "fault": "slow", "seconds": 9999}, "seconds"),
        ({"checkout_request_id": "ws_CO_x", "push_timeout": True}, "push time"),
    ],
)
def test_script_validation(client, db, script, words):
    response = post(client, "/simulator/control/scripts/", script)
    assert response.status_code == 400
    assert words in response.json()["error"]
    assert not SimScript.objects.exists()


def test_script_list_and_delete(client, db):
    created = post(
        client, "/simulator/control/scripts/", {"phone": "254712345678", "result_code": 1, "times": 2}
    )
    assert created.status_code == 201
    script = created.json()
    assert (script["target"], script["value"], script["remaining"]) == ("phone", "254712345678", 2)
    listed = client.get("/simulator/control/scripts/").json()["scripts"]
    assert [s["id"] for s in listed] == [script["id"]]
    assert client.delete(f"/simulator/control/scripts/{script['id']}/delete/").status_code == 200
    assert client.get("/simulator/control/scripts/").json()["scripts"] == []
    assert client.delete(f"/simulator/control/scripts/{script['id']}/delete/").status_code == 404


def test_checkout_script_for_an_unknown_push(client, db):
    response = post(
        client, "/simulator/control/scripts/", {"checkout_request_id": "ws_CO_nope", "result_code": 1}
    )
    assert response.status_code == 404


def test_expire_tokens(daraja, client):
    token = daraja.token()
    assert post(client, "/simulator/control/tokens/expire/").json() == {"expired": 1}
    assert daraja.push(token=token).json()["errorCode"] == "404.001.03"


def test_trigger_makes_a_push_without_a_client(client, db, receiver, run_deliveries):
    response = post(
        client,
        "/simulator/control/trigger/",
        {
            "callback_url": receiver.url,
            "phone": "254712000005",
            "amount": 99,
            "result_code": 1032,
            "delay": 0,
        },
    )
    assert response.status_code == 201, response.content
    push = response.json()
    assert (push["result_code"], push["amount"], push["phone"]) == ("1032", 99, "254712000005")
    assert post(client, "/simulator/control/deliver/").json() == {"handled": 1}
    assert receiver.codes() == [1032]


def test_trigger_before_response_is_delivered_on_return(client, db, receiver):
    response = post(
        client, "/simulator/control/trigger/", {"callback_url": receiver.url, "before_response": True}
    )
    assert response.json()["deliveries"][0]["status"] == "sent"
    assert receiver.codes() == [0]


def test_trigger_refuses_other_hosts(client, db):
    response = post(client, "/simulator/control/trigger/", {"callback_url": "http://169.254.169.254/"})
    assert response.status_code == 400


def test_wrong_methods(client, db):
    assert client.get("/simulator/control/reset/").status_code == 405
    assert client.post("/simulator/control/counters/").status_code == 405


def test_control_and_daraja_endpoints_need_no_csrf_token(db, daraja):
    strict = Client(enforce_csrf_checks=True)
    assert post(strict, "/simulator/control/reset/").status_code == 200
    daraja.client = strict
    assert daraja.push().status_code == 200


def _names(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _names(pattern.url_patterns, prefix)
        elif isinstance(pattern, URLPattern):
            yield pattern


def test_every_simulator_view_is_in_the_simulator_namespace():
    """The product's "one CSRF-exempt view" test excludes this namespace."""
    [include] = [p for p in get_resolver().url_patterns if getattr(p, "namespace", None) == "simulator"]
    assert str(include.pattern) == "simulator/"
    assert {p.name for p in _names(include.url_patterns)} == {p.name for p in simulator.urls.urlpatterns}
    for path in (
        "/simulator/",
        "/simulator/control/reset/",
        "/simulator/mpesa/stkpush/v1/processrequest",
        "/simulator/oauth/v1/generate",
        "/simulator/phone/254708374149/",
    ):
        assert resolve(path).namespace == "simulator"
    csrf_exempt = [p.name for p in simulator.urls.urlpatterns if getattr(p.callback, "csrf_exempt", False)]
    assert "stk-push" in csrf_exempt
    assert "control-reset" in csrf_exempt


def test_what_the_control_api_does_not_have_is_json_too(client, db):
    """A path it does not have, and a body it cannot read (a multipart body without its
    boundary), are JSON answers like every other; a Daraja path spelled in another case is
    Daraja's own 404, not Django's HTML page."""
    missing = client.get("/simulator/control/nope/")
    assert missing.status_code == 404 and missing.json() == {"error": "Not found."}
    unreadable = client.post(
        "/simulator/control/scripts/", "x", content_type="multipart/form-data"
    )  # no boundary
    assert unreadable.status_code == 400 and "Send JSON" in unreadable.json()["error"]
    upper = client.post("/simulator/MPESA/stkpush/v1/processrequest", "{}", content_type="application/json")
    assert upper.status_code == 404 and upper.json()["errorCode"] == "404.001.01"
