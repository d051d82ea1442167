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
    assert 'data-ws-path="/ws/simulator/pushes/"' in page and "simulator/index.js" in page


def test_handset_links_say_what_they_do_and_name_the_phone(daraja, client):
    """The visible words are the start of the accessible name (axe label-content-name-mismatch
    runs on the real page in test_index_browser.py)."""
    page = client.get("/simulator/").content.decode()
    hidden = '<span class="visually-hidden"> 254700001032</span>'
    assert f'<a href="/simulator/phone/254700001032/">Open handset{hidden}</a>' in page
    assert 'aria-label="Open' not in page


def _rows(page: str) -> list[str]:
    return re.findall(
        r'<tr id="push-\d+" data-push-id="\d+">\s*<td[^>]*>[^<]*</td>\s*<td><code>(ws_CO_\w+)', page
    )


def test_index_shows_twenty_pushes_a_page_newest_first(daraja, client):
    ids = [daraja.accepted(f"2547110000{n:02d}") for n in range(45)]
    first = client.get("/simulator/").content.decode()
    assert _rows(first) == ids[::-1][:20]
    assert "Page 1 of 3" in first and "45</span> pushes" in first
    assert '<a rel="next" id="pushes-older" href="?page=2" >Older pushes</a>' in first
    assert 'rel="prev"' not in first
    last = client.get("/simulator/?page=3").content.decode()
    assert _rows(last) == ids[4::-1]
    assert '<a rel="prev" href="?page=2">Newer pushes</a>' in last
    assert 'href="?page=4" hidden' in last


@pytest.mark.parametrize("page", ["abc", "0", "-1", "4", "1.5", "", "99999999999999999999", "٣", "2; DROP"])
def test_a_page_that_does_not_exist_is_the_first_page(daraja, client, page):
    ids = [daraja.accepted(f"2547110001{n:02d}") for n in range(45)]
    response = client.get("/simulator/", {"page": page})
    assert response.status_code == 200
    assert _rows(response.content.decode()) == ids[::-1][:20]


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
