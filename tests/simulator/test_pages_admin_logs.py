"""Pages for people, the admin, and what the simulator writes to logs."""

import logging
import re

import pytest
from django.contrib.auth import get_user_model

from simulator.models import SimApiCall, SimDelivery, SimPush, SimScript, SimToken


def test_index_lists_test_numbers_and_recent_pushes(daraja, client):
    checkout_id = daraja.accepted("254700001032")
    page = client.get("/simulator/").content.decode()
    for phone in ("254708374149", "254700001032", "254700001037", "254700002001", "254700990001"):
        assert f'href="/simulator/phone/{phone}/"' in page
    assert checkout_id in page
    assert "no callback ever" in page


def test_handset_page(client, db):
    page = client.get("/simulator/phone/254712345678/").content.decode()
    assert 'data-ws-path="/ws/simulator/phone/254712345678/"' in page
    assert 'type="module"' in page
    assert "simulator/handset.js" in page
    assert client.get("/simulator/phone/0712345678/").status_code == 404
    assert client.get("/simulator/phone/2547123456789/").status_code == 404


@pytest.mark.parametrize("model", [SimPush, SimDelivery, SimScript, SimToken, SimApiCall])
def test_admin_is_read_mostly(daraja, client, clock, run_deliveries, model):
    daraja.accepted()
    client.post("/simulator/control/scripts/", {"phone": "254712345678"}, content_type="application/json")
    clock.advance(3)
    run_deliveries()
    admin = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(admin)
    name = model._meta.model_name
    assert client.get(f"/admin/simulator/{name}/").status_code == 200
    assert client.get(f"/admin/simulator/{name}/add/").status_code == 403
    obj = model.objects.first()
    assert client.get(f"/admin/simulator/{name}/{obj.pk}/change/").status_code == 200
    if model is SimToken:
        page = client.get(f"/admin/simulator/{name}/{obj.pk}/change/").content.decode()
        assert obj.token_hash not in page


def test_logs_hold_no_phone_numbers_or_secrets(daraja, receiver, clock, run_deliveries, caplog, settings):
    caplog.set_level(logging.DEBUG)
    token = daraja.token()
    body = daraja.push_body(_phone="254712987654")
    daraja.post("/simulator/mpesa/stkpush/v1/processrequest", body)
    clock.advance(3)
    run_deliveries()
    text = caplog.text
    assert "simulated push accepted" in text
    assert "simulated callback" in text
    for secret in (
        token,
        body["Password"],
        settings.DARAJA_PASSKEY,
        settings.DARAJA_CONSUMER_SECRET,
        "712987654",
    ):
        assert secret not in text
    assert re.search(r"ws_CO_\d+\*{5}7654", text)
