"""Security hardening: production headers and cookie flags, the simulator off in production
(S21), WebSocket access only through the owner's session (S3 as ARCHITECTURE.md has it)."""

import json

import pytest
from channels.testing import WebsocketCommunicator
from django.test import Client

from tests.factories import make_payment
from tests.test_settings_and_checks import PROD_ENV, run

PROBE = """
import json, django
django.setup()
from django.conf import settings as s
from django.test import Client
from django.test.utils import setup_test_environment
setup_test_environment()
c = Client()
r = c.get("/healthz", HTTP_HOST="shop.example.co.ke", secure=True)
sim = c.get("/simulator/oauth/v1/generate", HTTP_HOST="shop.example.co.ke", secure=True)
print(json.dumps({
    "SESSION_COOKIE_SECURE": s.SESSION_COOKIE_SECURE, "CSRF_COOKIE_SECURE": s.CSRF_COOKIE_SECURE,
    "SESSION_COOKIE_HTTPONLY": s.SESSION_COOKIE_HTTPONLY, "SECURE_SSL_REDIRECT": s.SECURE_SSL_REDIRECT,
    "SECURE_HSTS_SECONDS": s.SECURE_HSTS_SECONDS, "X_FRAME_OPTIONS": s.X_FRAME_OPTIONS,
    "headers": dict(r.headers), "simulator_status": sim.status_code,
    "simulator_installed": "simulator" in s.INSTALLED_APPS,
}))
"""


@pytest.fixture(scope="module")
def production():
    done = run(["-c", PROBE], {**PROD_ENV, "DJANGO_SETTINGS_MODULE": "project.settings"})
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_cookies_are_secure_in_production(production):
    assert production["SESSION_COOKIE_SECURE"] and production["CSRF_COOKIE_SECURE"]
    assert production["SESSION_COOKIE_HTTPONLY"]


def test_transport_security_in_production(production):
    assert production["SECURE_SSL_REDIRECT"] and production["SECURE_HSTS_SECONDS"] >= 31_536_000
    headers = {k.lower(): v for k, v in production["headers"].items()}
    assert headers["strict-transport-security"].startswith("max-age=31536000")
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"


def test_simulator_is_not_mounted_in_production(production):
    """S21: not installed, its URLs 404 (and check payments.E006 refuses enabling it)."""
    assert production["simulator_installed"] is False
    assert production["simulator_status"] == 404


@pytest.mark.django_db(transaction=True)
async def test_a_token_in_the_query_string_opens_nothing(user):
    """S3: the socket is authorised by the owner's session only (ARCHITECTURE.md); there are
    no signed tokens, so an anonymous client with a made-up ?token= is refused."""
    from channels.db import database_sync_to_async

    from project.asgi import application

    payment = await database_sync_to_async(make_payment)(user)
    path = f"/ws/payments/{payment.public_id}/?token=eyJwIjoiYWJjIn0:forged"
    ws = WebsocketCommunicator(
        application, path, headers=[(b"host", b"127.0.0.1"), (b"origin", b"http://127.0.0.1")]
    )
    connected, _ = await ws.connect()
    assert not connected


def test_pages_send_security_headers_in_development_too(db):
    response = Client().get("/accounts/login/")
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
