"""The same application under uvicorn (README "Another ASGI server"; the bench's uvicorn row):
a real uvicorn process on loopback with the simulator as Daraja, SQLite and the embedded
layer. A deposit's prompt, the simulator's real callback through the one door, and the live
frames on the customer's socket; the door's refusals and a cross-origin socket as under
Daphne."""

import json
import time

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.helpers.procs import WebClient, free_port, manage, server_env
from tests.helpers.uvicorn import Uvicorn

pytestmark = pytest.mark.slow
CUSTOMER = ("uvicorn-customer", "uvicorn-pass-1")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("uvicorn")
    port = free_port()
    env = server_env(
        port=port,
        db_path=tmp / "db.sqlite3",
        DARAJA_BASE_URL=f"http://127.0.0.1:{port}/simulator",
        DARAJA_CALLBACK_BASE_URL=f"http://127.0.0.1:{port}",
        SIMULATOR_CALLBACK_DELAY_SECONDS="0.3",
        SIMULATOR_PIN_WINDOW_SECONDS="1.5",
        PAYMENTS_JOB_POLL_SECONDS="0.2",
    )
    manage("migrate", "--noinput", "-v", "0", env=env)
    manage("seed_demo", "--username", CUSTOMER[0], "--password", CUSTOMER[1], env=env)
    web = Uvicorn(env=env, port=port, log_path=tmp / "uvicorn.log").start()
    yield web
    web.stop()


def socket(server, customer: WebClient, path: str, origin: str | None = None):
    cookie = "; ".join(f"{k}={v}" for k, v in customer.http.cookies.items())
    return connect(
        f"ws://127.0.0.1:{server.port}{path}",
        additional_headers={"Cookie": cookie, "Origin": origin or server.url},
        open_timeout=10,
    )


def statuses_until(ws, final: str, *, timeout: float = 20) -> list[dict]:
    deadline, seen = time.monotonic() + timeout, []
    while not seen or seen[-1]["status"] != final:
        frame = json.loads(ws.recv(timeout=max(0.1, deadline - time.monotonic())))
        if frame.get("type") == "payment.status":
            seen.append(frame["payment"])
    return seen


def test_a_deposit_turns_paid_live_on_the_customers_socket(server):
    customer = WebClient(server.url).login(*CUSTOMER)
    response = customer.deposit(25, "254708374149")
    assert response.status_code == 201, response.text
    body = response.json()
    with socket(server, customer, body["ws_url"]) as ws:
        frames = statuses_until(ws, "paid")
    paid = frames[-1]
    assert paid["receipt"] and paid["amount"] == 25 and paid["title"]
    versions = [frame["version"] for frame in frames]
    assert versions == sorted(versions)
    status = customer.get(body["status_url"]).json()["payment"]
    assert (status["status"], status["receipt"]) == ("paid", paid["receipt"])
    assert "Traceback" not in server.log()


def test_the_door_refuses_as_under_daphne(server):
    bad_token = httpx.post(f"{server.url}/payments/callbacks/{'0' * 32}/not-a-token/", content=b"{}")
    assert bad_token.status_code == 404 and bad_token.json()["error"]
    not_post = httpx.get(f"{server.url}/payments/callbacks/{'0' * 32}/not-a-token/")
    assert not_post.status_code == 405 and not_post.headers["allow"] == "POST"


def test_a_socket_from_another_origin_is_refused(server):
    customer = WebClient(server.url).login(*CUSTOMER)
    body = customer.deposit(10, "254708374150").json()
    with pytest.raises(InvalidStatus) as refused:
        with socket(server, customer, body["ws_url"], origin="https://evil.example"):
            pass
    assert refused.value.response.status_code == 403
