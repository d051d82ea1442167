"""A programmable Daraja on a real loopback HTTP server (pytest-httpserver): the network
edge of unit and view tests. End-to-end tests use the bundled simulator instead."""

import json
import threading
import time

import pytest
from werkzeug import Response

PUSH_OK = {
    "MerchantRequestID": "5220-40e9-bb16-c78ea820338d11816350",
    "CheckoutRequestID": "ws_CO_02042024170008357715990366",
    "ResponseCode": "0",
    "ResponseDescription": "Success. Request accepted for processing",
    "CustomerMessage": "Success. Request accepted for processing",
}
PUSH_ARGS = dict(
    phone="254708374149",
    amount=10,
    account_reference="ORD1",
    transaction_desc="Order ORD1",
    callback_url="http://127.0.0.1/payments/callbacks/ab/cd/",
)


def envelope(code: str, message: str) -> dict:
    return {"requestId": "6e86-45dd-91ac-fd5d4178ab523792718", "errorCode": code, "errorMessage": message}


class FakeDaraja:
    """Programs the loopback server and counts what reached it."""

    def __init__(self, server):
        self.server = server
        self.tokens_issued = 0
        self.lock = threading.Lock()

    def oauth(self, *, expires_in="3599", delay=0.0):
        def handler(request):
            time.sleep(delay)
            with self.lock:
                self.tokens_issued += 1
                n = self.tokens_issued
            return Response(
                json.dumps({"access_token": f"token{n:023d}", "expires_in": expires_in}),
                content_type="application/json",
            )

        self.server.expect_request("/oauth/v1/generate", method="GET").respond_with_handler(handler)

    def requests(self, path: str) -> list:
        return [req for req, _ in self.server.log if req.path == path]


@pytest.fixture
def daraja(httpserver, settings):
    """Point the app at the fake Daraja (1 s timeouts keep timeout tests quick)."""
    settings.DARAJA_BASE_URL = httpserver.url_for("").rstrip("/")
    settings.DARAJA_READ_TIMEOUT = 1.0
    settings.DARAJA_CONNECT_TIMEOUT = 1.0
    return FakeDaraja(httpserver)


def accept_pushes(daraja: FakeDaraja) -> list:
    """OAuth + push answered like Daraja (§3.2), each push with a fresh CheckoutRequestID."""
    daraja.oauth()
    seen: list = []

    def handler(request):
        seen.append(request.get_json())
        body = {
            **PUSH_OK,
            "CheckoutRequestID": f"ws_CO_2311202612000{len(seen):04d}{request.get_json()['PhoneNumber'][3:]}",
        }
        return Response(json.dumps(body), content_type="application/json")

    daraja.server.expect_request("/mpesa/stkpush/v1/processrequest", method="POST").respond_with_handler(
        handler
    )
    return seen
