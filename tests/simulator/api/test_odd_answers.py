"""API faults whose answer is not what its status says (§13.5): ``html`` (an HTML gateway page
under HTTP 200), ``html_502`` and ``error_200`` (a Daraja error envelope under HTTP 200), for
OAuth, STK Push and STK Query, scripted through the control API and ``manage.py simulator``."""

import json
from io import StringIO

import pytest
from django.core.management import call_command

from simulator.models import SimApiCall, SimPush

ENVELOPES = {
    "oauth": ("400.008.02", "Invalid grant type passed"),
    "stkpush": ("400.002.02", "Bad Request - Invalid PhoneNumber"),
    "query": ("400.002.02", "Bad Request - Invalid CheckoutRequestID"),
}


def calls(daraja):
    token = daraja.token()
    checkout_id = daraja.accepted("254712000201")
    return {
        "oauth": daraja.oauth,
        "stkpush": lambda: daraja.push("254712000202", token=token),
        "query": lambda: daraja.query(checkout_id, token=token),
    }


def script(client, api: str, fault: str, times: int = 1) -> None:
    created = client.post(
        "/simulator/control/scripts/",
        {"api": api, "fault": fault, "times": times},
        content_type="application/json",
    )
    assert created.status_code == 201, created.content


def is_page(response, status: int) -> None:
    assert response.status_code == status
    assert response["Content-Type"] == "text/html; charset=UTF-8"
    assert response.content.startswith(b"<!DOCTYPE html>\n<html>")
    with pytest.raises(ValueError):
        json.loads(response.content)


@pytest.mark.parametrize("api", ["oauth", "stkpush", "query"])
@pytest.mark.parametrize(("fault", "status"), [("html", 200), ("html_502", 502)])
def test_gateway_pages(daraja, client, api, fault, status):
    call = calls(daraja)[api]
    script(client, api, fault)
    is_page(call(), status)
    assert call().status_code == 200  # the next call is answered normally
    row = SimApiCall.objects.filter(api=api, fault=fault).get()
    assert row.http_status == status


@pytest.mark.parametrize("api", ["oauth", "stkpush", "query"])
def test_error_envelope_under_http_200(daraja, client, api):
    call = calls(daraja)[api]
    script(client, api, "error_200")
    answer = call()
    assert answer.status_code == 200
    body = answer.json()
    assert list(body) == ["requestId", "errorCode", "errorMessage"]
    assert (body["errorCode"], body["errorMessage"]) == ENVELOPES[api]
    row = SimApiCall.objects.filter(api=api, fault="error_200").get()
    assert (row.http_status, row.error_code) == (200, ENVELOPES[api][0])
    assert call().status_code == 200


def test_a_push_answered_by_a_fault_reaches_no_phone(daraja, client):
    call = calls(daraja)["stkpush"]
    script(client, "stkpush", "html")
    is_page(call(), 200)
    assert not SimPush.objects.filter(phone="254712000202").exists()


@pytest.mark.parametrize("fault", ["html", "html_502", "error_200"])
def test_scripted_from_the_command_line(daraja, fault):
    out = StringIO()
    call_command(
        "simulator", "--json", "script", "--api", "query", "--fault", fault, "--times", "2", stdout=out
    )
    assert json.loads(out.getvalue())["spec"]["fault"] == fault
    checkout_id = daraja.accepted()
    answers = [daraja.query(checkout_id) for _ in range(3)]
    assert [a.status_code for a in answers] == [502 if fault == "html_502" else 200] * 2 + [200]
    assert answers[-1].json()["ResultCode"] == "4999"
    assert SimApiCall.objects.filter(api="query", fault=fault).count() == 2


def test_the_control_api_names_the_new_faults(client, db):
    refused = client.post(
        "/simulator/control/scripts/", {"api": "query", "fault": "xml"}, content_type="application/json"
    )
    assert refused.status_code == 400
    assert "html, html_502, error_200" in refused.json()["error"]
