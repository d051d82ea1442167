"""End to end over real HTTP on loopback: Daphne subprocesses running the whole project with
the simulator as its Daraja (only DARAJA_BASE_URL points at it)."""

import base64
import sqlite3
from datetime import UTC, datetime

import httpx
import pytest

from tests.helpers.procs import DaphneServer, WebClient, free_port, manage, server_env, wait_until

pytestmark = pytest.mark.slow
CUSTOMER = ("e2e-customer", "e2e-pass-123")


def start_server(tmp, *, db_path=None, port=None, **overrides) -> DaphneServer:
    port = port or free_port()
    db_path = db_path or tmp / "db.sqlite3"
    settings = {
        "DARAJA_BASE_URL": f"http://127.0.0.1:{port}/simulator",
        "DARAJA_CALLBACK_BASE_URL": f"http://127.0.0.1:{port}",
        "SIMULATOR_CALLBACK_DELAY_SECONDS": "0.3",
        "SIMULATOR_PIN_WINDOW_SECONDS": "1.5",
        "PAYMENTS_JOB_POLL_SECONDS": "0.2",
    }
    env = server_env(port=port, db_path=db_path, **(settings | overrides))
    if not db_path.exists():
        manage("migrate", "--noinput", "-v", "0", env=env)
        manage("seed_demo", "--username", CUSTOMER[0], "--password", CUSTOMER[1], env=env)
    return DaphneServer(env=env, port=port, log_path=tmp / f"daphne-{port}.log").start()


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    server = start_server(tmp_path_factory.mktemp("sim-e2e"))
    yield server
    server.stop()


@pytest.fixture
def customer(live):
    web = WebClient(live.url).login(*CUSTOMER)
    yield web
    web.close()


def pay(customer: WebClient, phone: str) -> dict:
    """Initiate, then poll the status URL until the payment is final (bounded)."""
    response = customer.deposit(10, phone)
    assert response.status_code in (201, 202), response.text
    status_url = response.json()["status_url"]

    def final():
        payment = customer.get(status_url).json()["payment"]
        return payment if payment["terminal"] else None

    return wait_until(final, timeout=20, interval=0.1, message=f"payment to {phone} to finish")


@pytest.mark.parametrize(
    ("phone", "status", "code"),
    [
        ("254708374149", "paid", "0"),
        ("254700000001", "failed", "1"),
        ("254700001032", "cancelled", "1032"),
        ("254700001037", "timed_out", "1037"),
        ("254700002001", "failed", "2001"),
        ("254700990004", "paid", "0"),  # the callback reaches the app before the push response
    ],
)
def test_checkout_reaches_its_final_status(customer, phone, status, code):
    payment = pay(customer, phone)
    assert (payment["status"], payment["result_code"]) == (status, code)
    if status == "paid":
        assert payment["receipt"]
        assert len(payment["receipt"]) == 10


def test_token_expiring_mid_flow_is_refreshed_by_the_app(live, customer):
    before = httpx.get(live.url + "/simulator/control/counters/").json()["token_requests"]
    assert pay(customer, "254700990014")["status"] == "paid"  # that push's token is revoked
    assert pay(customer, "254711223344")["status"] == "paid"  # next call: 404.001.03 → refresh
    after = httpx.get(live.url + "/simulator/control/counters/").json()["token_requests"]
    assert after - before == 1


def test_third_party_client_with_numeric_strings_and_server_local_time(live, receiver):
    """A client that is not ours: plain httpx, every number a string, a UTC timestamp."""
    base = live.url + "/simulator"
    with httpx.Client(timeout=10) as http:
        oauth = http.get(
            base + "/oauth/v1/generate?grant_type=client_credentials",
            auth=("dev-consumer-key", "dev-consumer-secret"),
        )
        assert oauth.status_code == 200
        token = oauth.json()["access_token"]
        stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
        passkey = "bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919"
        password = base64.b64encode(f"174379{passkey}{stamp}".encode()).decode()
        headers = {"Authorization": f"Bearer {token}"}
        push = http.post(
            base + "/mpesa/stkpush/v1/processrequest",
            headers=headers,
            json={
                "BusinessShortCode": "174379",
                "Password": password,
                "Timestamp": stamp,
                "TransactionType": "CustomerPayBillOnline",
                "Amount": "1",
                "PartyA": "254700001032",
                "PartyB": "174379",
                "PhoneNumber": "254700001032",
                "CallBackURL": receiver.url,
                "AccountReference": "accountref",
                "TransactionDesc": "txndesc",
            },
        )
        assert push.status_code == 200, push.text
        checkout_id = push.json()["CheckoutRequestID"]
        wait_until(lambda: receiver.seen, timeout=10, message="the callback")
        query = http.post(
            base + "/mpesa/stkpushquery/v1/query",
            headers=headers,
            json={
                "BusinessShortCode": "174379",
                "Password": password,
                "Timestamp": stamp,
                "CheckoutRequestID": checkout_id,
            },
        )
    assert receiver.callbacks()[0]["ResultCode"] == 1032
    assert receiver.seen[0]["headers"]["Content-Type"] == "application/json;charset=UTF-8"
    assert (query.status_code, query.json()["ResultCode"]) == (200, "1032")


def test_push_answer_after_the_client_timeout(tmp_path):
    """Push timeout fault: the app gives up (DARAJA_READ_TIMEOUT), the push was recorded
    and its callback still settles the payment; the app never pushes twice. (The answer is
    held for DARAJA_READ_TIMEOUT + 5 s: SIMULATOR_PUSH_TIMEOUT_DELAY_SECONDS's default.)"""
    server = start_server(tmp_path, DARAJA_READ_TIMEOUT="1", SIMULATOR_CALLBACK_DELAY_SECONDS="1.5")
    web = WebClient(server.url).login(*CUSTOMER)
    try:
        response = web.deposit(10, "254700990013")
        assert response.status_code == 202, response.text
        assert response.json()["payment"]["status"] == "unknown"
        status_url = response.json()["status_url"]
        paid = wait_until(lambda: web.get(status_url).json()["payment"]["status"] == "paid", timeout=15)
        assert paid
        counters = httpx.get(server.url + "/simulator/control/counters/").json()
        assert (counters["push_requests"], counters["pushes"]) == (1, 1)
    finally:
        web.close()
        server.stop()


def test_a_due_callback_survives_a_killed_server(tmp_path, receiver):
    """Restart safety: schedule, SIGKILL, start another process on the same database: the
    callback arrives exactly once."""
    first = start_server(tmp_path, SIMULATOR_CALLBACK_DELAY_SECONDS="3")
    trigger = httpx.post(
        first.url + "/simulator/control/trigger/", json={"callback_url": receiver.url, "result_code": 0}
    )
    assert trigger.status_code == 201
    first.kill()
    assert receiver.seen == []
    second = start_server(tmp_path, SIMULATOR_CALLBACK_DELAY_SECONDS="3")
    try:
        wait_until(lambda: receiver.seen, timeout=15, message="the callback after the restart")

        def rows():
            with sqlite3.connect(tmp_path / "db.sqlite3") as db:
                return [s for (s,) in db.execute("SELECT status FROM simulator_simdelivery")]

        assert wait_until(lambda: rows() == ["sent"], timeout=5, message="the delivery row to be recorded")
        assert len(receiver.seen) == 1  # and nothing is left that could be sent again
    finally:
        second.stop()
