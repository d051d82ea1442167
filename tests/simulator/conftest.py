"""Fixtures for the simulator suite: a Daraja-speaking test client written from the
reference (not from simulator code), a threaded loopback receiver for callbacks, and a
frozen clock that tests move on explicitly (no sleeping to hope)."""

import base64
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.test import Client
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from simulator.c2b_delivery import c2b_deliver_due
from simulator.delivery import deliver_due
from tests.simulator.c2b_receiver import C2BReceiver

NAIROBI = ZoneInfo("Africa/Nairobi")
START = datetime(2025, 4, 2, 17, 0, 8, tzinfo=NAIROBI)


def nairobi_timestamp(moment: datetime | None = None) -> str:
    return (moment or datetime.now(NAIROBI)).astimezone(NAIROBI).strftime("%Y%m%d%H%M%S")


def stk_password(shortcode: str, passkey: str, timestamp: str) -> str:
    return base64.b64encode(f"{shortcode}{passkey}{timestamp}".encode()).decode()


class Daraja:
    """Speaks Daraja to /simulator/ through Django's test client."""

    def __init__(self, client: Client, callback_url: str = "http://127.0.0.1:9/cb/"):
        self.client = client
        self.callback_url = callback_url
        self._token = ""

    def oauth(self, *, key=None, secret=None, query="?grant_type=client_credentials", authorization=None):
        key = settings.DARAJA_CONSUMER_KEY if key is None else key
        secret = settings.DARAJA_CONSUMER_SECRET if secret is None else secret
        if authorization is None:
            authorization = "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode()
        headers = {"Authorization": authorization} if authorization else {}
        return self.client.get("/simulator/oauth/v1/generate" + query, headers=headers)

    def token(self, *, fresh: bool = False) -> str:
        if fresh or not self._token:
            response = self.oauth()
            assert response.status_code == 200, response.content
            self._token = response.json()["access_token"]
        return self._token

    def push_body(self, **overrides) -> dict:
        timestamp = overrides.pop("_timestamp", None) or nairobi_timestamp()
        shortcode = str(settings.DARAJA_SHORTCODE)
        phone = overrides.pop("_phone", "254708374149")
        body = {
            "BusinessShortCode": shortcode,
            "Password": stk_password(shortcode, settings.DARAJA_PASSKEY, timestamp),
            "Timestamp": timestamp,
            "TransactionType": "CustomerPayBillOnline",
            "Amount": 10,
            "PartyA": phone,
            "PartyB": shortcode,
            "PhoneNumber": phone,
            "CallBackURL": self.callback_url,
            "AccountReference": "ORD1001",
            "TransactionDesc": "Order ORD1001",
        }
        body.update(overrides)
        return {k: v for k, v in body.items() if v is not _DROP}

    def post(self, path: str, body, *, token=None, content_type="application/json", raw: bytes | None = None):
        token = self.token() if token is None else token
        data = raw if raw is not None else json.dumps(body)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return self.client.post(path, data=data, content_type=content_type, headers=headers)

    def push(self, phone: str = "254708374149", *, token=None, **overrides):
        return self.post(
            "/simulator/mpesa/stkpush/v1/processrequest",
            self.push_body(_phone=phone, **overrides),
            token=token,
        )

    def accepted(self, phone: str = "254708374149", **overrides) -> str:
        response = self.push(phone, **overrides)
        assert response.status_code == 200, response.content
        return response.json()["CheckoutRequestID"]

    def query_body(self, checkout_request_id: str, **overrides) -> dict:
        timestamp = overrides.pop("_timestamp", None) or nairobi_timestamp()
        shortcode = str(settings.DARAJA_SHORTCODE)
        body = {
            "BusinessShortCode": shortcode,
            "Password": stk_password(shortcode, settings.DARAJA_PASSKEY, timestamp),
            "Timestamp": timestamp,
            "CheckoutRequestID": checkout_request_id,
        }
        body.update(overrides)
        return {k: v for k, v in body.items() if v is not _DROP}

    def query(self, checkout_request_id: str, *, token=None, **overrides):
        return self.post(
            "/simulator/mpesa/stkpushquery/v1/query",
            self.query_body(checkout_request_id, **overrides),
            token=token,
        )

    # --- C2B (daraja-reference.md §14) -----------------------------------------------------
    def register(self, body: dict | None = None, *, version="v1", token=None, **fields):
        """``POST mpesa/c2b/<version>/registerurl`` (§14.2)."""
        body = (
            body
            if body is not None
            else {
                "ShortCode": "600984",
                "ResponseType": "Completed",
                "ConfirmationURL": "http://127.0.0.1:9/c2b/confirm/",
                "ValidationURL": "http://127.0.0.1:9/c2b/validate/",
            }
        )
        body = {**body, **fields}
        body = {k: v for k, v in body.items() if v is not _DROP}
        return self.post(f"/simulator/mpesa/c2b/{version}/registerurl", body, token=token)

    def simulate(self, *, version="v1", token=None, **fields):
        """``POST mpesa/c2b/<version>/simulate`` (§14.5), the documented sample by default."""
        body = {
            "ShortCode": 600984,
            "CommandID": "CustomerPayBillOnline",
            "Amount": 10,
            "Msisdn": 254708374149,
            "BillRefNumber": "INV-1001",
            **fields,
        }
        body = {k: v for k, v in body.items() if v is not _DROP}
        return self.post(f"/simulator/mpesa/c2b/{version}/simulate", body, token=token)


_DROP = object()


@pytest.fixture
def drop():
    """Use as a field value to leave the field out of the request body."""
    return _DROP


@dataclass
class Receiver:
    """A threaded HTTP server on 127.0.0.1 that records every callback it gets."""

    server: HTTPServer
    path: str = "/payments/callbacks/abc/def/"
    status: int = 200
    handler: object = None
    seen: list = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}{self.path}"

    def __call__(self, request: Request) -> Response:
        self.seen.append({"headers": dict(request.headers), "body": request.get_data(as_text=True)})
        if self.handler is not None:
            return self.handler(request)
        return Response(
            '{"ResultCode":0,"ResultDesc":"Accepted"}', status=self.status, content_type="application/json"
        )

    def callbacks(self) -> list[dict]:
        return [json.loads(item["body"])["Body"]["stkCallback"] for item in self.seen]

    def codes(self) -> list:
        return [cb["ResultCode"] for cb in self.callbacks()]


@pytest.fixture(scope="session")
def _receiver_server():
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    yield server
    server.clear()
    if server.is_running():
        server.stop()


@pytest.fixture
def receiver(_receiver_server):
    """Fresh per test (one server for the session: stopping werkzeug costs half a second)."""
    _receiver_server.clear()
    recv = Receiver(_receiver_server)
    _receiver_server.expect_request(recv.path).respond_with_handler(recv)
    return recv


@pytest.fixture
def c2b_receiver(receiver, _receiver_server) -> C2BReceiver:
    recv = C2BReceiver(_receiver_server)
    _receiver_server.expect_request("/c2b/validate/").respond_with_handler(recv.on_validation)
    _receiver_server.expect_request("/c2b/confirm/").respond_with_handler(recv.on_confirmation)
    return recv


@pytest.fixture
def registered(daraja, c2b_receiver):
    """Paybill 600984 registered (v1, Completed) to the loopback receiver's two URLs."""
    response = daraja.register(
        ConfirmationURL=c2b_receiver.confirmation_url, ValidationURL=c2b_receiver.validation_url
    )
    assert response.status_code == 200, response.content
    return c2b_receiver


@pytest.fixture
def daraja(db, client, receiver) -> Daraja:
    return Daraja(client, callback_url=receiver.url)


class Clock:
    """The wall clock, frozen; tests move it on explicitly."""

    def __init__(self, traveller):
        self.traveller = traveller
        self.now = START

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        self.traveller.move_to(self.now, tick=False)
        return self.now


@pytest.fixture
def clock(time_machine) -> Clock:
    time_machine.move_to(START, tick=False)
    return Clock(time_machine)


@pytest.fixture
def run_deliveries():
    """Run the simulator's job source once (what the job runner does every poll)."""
    return deliver_due


@pytest.fixture
def run_c2b():
    """Run the C2B job source once (what the job runner does every poll)."""
    return c2b_deliver_due


@pytest.fixture(autouse=True)
def _simulator_settings(settings):
    settings.SIMULATOR_CALLBACK_DELAY_SECONDS = 3.0
    settings.SIMULATOR_PIN_WINDOW_SECONDS = 60.0
    settings.SIMULATOR_CALLBACK_TIMEOUT_SECONDS = 2.0
    settings.SIMULATOR_ALLOWED_CALLBACK_HOSTS = ["127.0.0.1", "localhost"]
    settings.SIMULATOR_QUERY_PENDING_SHAPE = "4999"
    settings.SIMULATOR_TOKEN_INVALIDATES_PREVIOUS = True
    settings.SIMULATOR_CHECK_TIMESTAMP_FRESHNESS = False
    settings.SIMULATOR_INCLUDE_BALANCE_ITEM = True
    # Daraja 2026 switches unset (empty: the default, or the profile's value), whatever the
    # environment says; tests turn them on one by one.
    for name in (
        "SIMULATOR_PROFILE",
        "SIMULATOR_CALLBACK_PHONE",
        "SIMULATOR_QUERY_TOO_EARLY_SECONDS",
        "SIMULATOR_QUERY_RATE_LIMIT",
        "SIMULATOR_GATEWAY_HICCUP_EVERY",
    ):
        setattr(settings, name, "")
    settings.SIMULATOR_C2B_SHORTCODES = "600984,600000:till"
    settings.SIMULATOR_C2B_URL_VERSIONS = "v1,v2"
    settings.SIMULATOR_C2B_ENVIRONMENT = "sandbox"
    settings.SIMULATOR_C2B_VALIDATION = "on"
    settings.SIMULATOR_C2B_VALIDATION_TIMEOUT_SECONDS = 8.0
    settings.SIMULATOR_C2B_DELAY_SECONDS = 1.0
    settings.SIMULATOR_C2B_MSISDN = "hashed"
    settings.SIMULATOR_C2B_NAMES = "first"
    settings.SIMULATOR_C2B_ECHO_THIRD_PARTY_TRANS_ID = True
    return settings
