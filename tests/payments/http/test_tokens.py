"""Front ends on other origins: API tokens (DRF authtoken), CORS for listed origins only, and
single-use, short-lived, payment-scoped WebSocket tickets (payments/http/auth.py,
payments/live/tickets.py)."""

import json
from datetime import timedelta

import pytest
import time_machine
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client
from django.utils import timezone
from rest_framework.authtoken.models import Token

from payments.models import Payment
from project.asgi import application
from tests.factories import deposit_body, make_payment
from tests.helpers.fake_daraja import accept_pushes

pytestmark = pytest.mark.django_db
FRONT = "https://shop.example"


@pytest.fixture
def token(user):
    return Token.objects.create(user=user).key


@pytest.fixture(autouse=True)
def _front_end(settings):
    settings.PAYMENTS_FRONTEND_ORIGINS = settings.CORS_ALLOWED_ORIGINS = [FRONT]
    settings.PAYMENTS_WS_ALLOWED_ORIGINS = [FRONT]


def api(token=None, origin=FRONT) -> Client:
    headers = {"Origin": origin}
    if token:
        headers["Authorization"] = f"Token {token}"
    return Client(enforce_csrf_checks=True, headers=headers)


def test_a_token_starts_a_payment_without_cookie_or_csrf(user, token, daraja):
    pushes = accept_pushes(daraja)
    response = api(token).post(
        "/payments/initiate/",
        data=json.dumps(deposit_body(user, 75, "0712345678")),
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    assert (
        response["Access-Control-Allow-Origin"] == FRONT
        and "Access-Control-Allow-Credentials" not in response
    )
    body = response.json()
    assert (
        body["ticket_url"] == f"/payments/{body['payment']['public_id']}/ticket/"
        and pushes[0]["Amount"] == 75
    )
    status = api(token).get(body["status_url"])
    assert status.status_code == 200 and status.json()["payment"]["status"] == "pending"


def test_a_bad_token_is_401_and_starts_nothing(user, daraja):
    response = api("0" * 40).post(
        "/payments/initiate/",
        data=json.dumps(deposit_body(user, 5, "0712345678")),
        content_type="application/json",
    )
    assert response.status_code == 401 and response.json()["fields"] == {"authorization": "Invalid token."}
    assert not Payment.objects.exists()


def test_a_cookie_request_still_needs_csrf(user, daraja):
    client = api()
    client.force_login(user)
    response = client.post(
        "/payments/initiate/",
        data=json.dumps(deposit_body(user, 5, "0712345678")),
        content_type="application/json",
    )
    assert response.status_code == 403 and "CSRF" in response.json()["error"]


def test_an_unlisted_origin_gets_no_cors_permission(user, token):
    """The browser refuses the answer without Access-Control-Allow-Origin; a preflight from an
    unlisted origin is not granted, a listed one is."""
    refused = api(token, origin="https://evil.example").options(
        "/payments/initiate/", headers={"Access-Control-Request-Method": "POST"}
    )
    assert "Access-Control-Allow-Origin" not in refused
    granted = api(token).options(
        "/payments/initiate/",
        headers={
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,idempotency-key",
        },
    )
    assert granted["Access-Control-Allow-Origin"] == FRONT
    assert {"authorization", "idempotency-key"} <= set(granted["Access-Control-Allow-Headers"].split(", "))
    assert "Access-Control-Allow-Origin" not in api(token).get("/wallet/")  # pages are never shared


def test_tickets_are_only_for_the_owner(user, other_user, token):
    payment = make_payment(user)
    theirs = Token.objects.create(user=other_user).key
    assert api(theirs).post(f"/payments/{payment.public_id}/ticket/").status_code == 404
    issued = api(token).post(f"/payments/{payment.public_id}/ticket/")
    assert issued.status_code == 201 and issued.json()["expires_in"] == 30


async def _open(payment, ticket, origin=FRONT):
    path = f"/ws/payments/{payment.public_id}/?ticket={ticket}"
    ws = WebsocketCommunicator(
        application, path, headers=[(b"host", b"api.example"), (b"origin", origin.encode())]
    )
    connected, _ = await ws.connect(timeout=5)
    return ws, connected


@pytest.mark.django_db(transaction=True)
async def test_a_ticket_opens_its_payments_socket_once(user, token, settings):
    settings.ALLOWED_HOSTS = ["api.example", "testserver"]
    payment = await database_sync_to_async(make_payment)(user)
    other = await database_sync_to_async(make_payment)(user)
    ticket = (await database_sync_to_async(api(token).post)(f"/payments/{payment.public_id}/ticket/")).json()[
        "ticket"
    ]

    wrong, connected = await _open(other, ticket)  # scoped: not another payment's socket
    assert not connected
    ws, connected = await _open(payment, ticket)
    assert connected and (await ws.receive_json_from(timeout=5))["payment"]["status"] == "pending"
    await ws.disconnect()
    again, connected = await _open(payment, ticket)  # single use
    assert not connected
    forged, connected = await _open(payment, ticket[:-2] + "xx")
    assert not connected
    other_origin, connected = await _open(payment, ticket, origin="https://evil.example")
    assert not connected


@pytest.mark.django_db(transaction=True)
async def test_an_expired_ticket_opens_nothing(user, token, settings):
    settings.ALLOWED_HOSTS = ["api.example", "testserver"]
    payment = await database_sync_to_async(make_payment)(user)
    ticket = (await database_sync_to_async(api(token).post)(f"/payments/{payment.public_id}/ticket/")).json()[
        "ticket"
    ]
    with time_machine.travel(timezone.now() + timedelta(seconds=31)):
        ws, connected = await _open(payment, ticket)
    assert not connected
