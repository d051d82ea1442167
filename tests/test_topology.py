"""The scaled-out topology for real: PostgreSQL (initdb/pg_ctl), redis-server, two Daphne
processes A and B (jobs off) and one worker — the docker-compose picture without Docker.

The simulator lives on A; callbacks are addressed to B; the customer's socket is on A.
"""

import asyncio
import json
import statistics
import time

import httpx
import psycopg
import pytest
from websockets.sync.client import connect

from tests.helpers.procs import WebClient, wait_until
from tests.helpers.topology import Topology, manage

pytestmark = [pytest.mark.topology, pytest.mark.slow, pytest.mark.redis]  # starts its own PostgreSQL
CUSTOMER = ("scaled", "scaled-pass-1")


@pytest.fixture(scope="module")
def topo(tmp_path_factory):
    topo = Topology(
        tmp_path_factory.mktemp("topology"),
        web=2,
        SIMULATOR_CALLBACK_DELAY_SECONDS="0.5",
        PAYMENTS_RATE_LIMIT_PER_PHONE="",
        PAYMENTS_RATE_LIMIT_PER_USER="",
        PAYMENTS_WS_MAX_PER_USER="20",
    )
    topo.start()
    manage("seed_demo", "--username", CUSTOMER[0], "--password", CUSTOMER[1], env=topo.env(topo.web_ports[0]))
    yield topo
    topo.stop()


def sql(topo, query: str, *params):
    with psycopg.connect(topo.postgres.url) as db:
        return db.execute(query, params).fetchall()


def socket_on(web_url: str, client: WebClient, ws_path: str):
    cookie = "; ".join(f"{k}={v}" for k, v in client.http.cookies.items())
    return connect(
        web_url.replace("http", "ws") + ws_path,
        additional_headers={"Cookie": cookie, "Origin": web_url},
        open_timeout=10,
    )


def frames_until(ws, status: str, *, timeout: float = 20) -> tuple[dict, float]:
    deadline = time.monotonic() + timeout
    while True:
        frame = json.loads(ws.recv(timeout=max(0.1, deadline - time.monotonic())))
        if frame.get("type") == "payment.status" and frame["payment"]["status"] == status:
            return frame, time.time()


def test_socket_on_a_hears_the_callback_that_landed_on_b(topo):
    a, b = topo.webs
    customer = WebClient(a.url).login(*CUSTOMER)
    latencies = []
    for i in range(5):
        response = customer.deposit(10, f"2547300000{i:02d}")
        assert response.status_code == 201, response.text
        body = response.json()
        with socket_on(a.url, customer, body["ws_url"]) as ws:
            frames_until(ws, "pending")
            frame, seen = frames_until(ws, "paid")
        public_id = body["payment"]["public_id"]
        [(received,)] = sql(
            topo,
            "SELECT c.received_at FROM payments_callbackrecord c "
            "JOIN payments_payment p ON p.id = c.payment_id WHERE p.public_id = %s",
            public_id,
        )
        latencies.append((seen - received.timestamp()) * 1000)
        assert frame["payment"]["receipt"]
    print(
        f"cross-process callback(B)→frame(A) ms: {[round(x, 1) for x in latencies]}, "
        f"median {statistics.median(latencies):.1f}"
    )
    assert all(latency < 2000 for latency in latencies)


def test_two_hundred_concurrent_payments_settle_once_with_one_token(topo):
    a, b = topo.webs
    httpx.post(f"{a.url}/simulator/control/reset/").raise_for_status()
    sql_before = sql(topo, "SELECT coalesce(sum(amount), 0) FROM frontend_ledgerentry")[0][0]
    customer = WebClient(a.url).login(*CUSTOMER)
    cookies, csrf = customer.http.cookies, customer.csrf
    customer.deposit(10, "not-a-phone")  # a 400 that only looks the wallet up
    wallet = customer.wallet_id

    async def start(i: int, gate: asyncio.Semaphore) -> str:
        base = (a, b)[i % 2].url  # spread over both processes
        async with gate, httpx.AsyncClient(base_url=base, cookies=cookies, timeout=60) as http:
            response = await http.post(
                "/payments/initiate/",
                json={"payable": "wallet", "id": wallet, "amount": 10, "phone": f"254731{i:06d}"},
                headers={"X-CSRFToken": csrf},
            )
            assert response.status_code == 201, response.text
            return response.json()["payment"]["public_id"]

    async def start_all():
        gate = asyncio.Semaphore(50)
        return await asyncio.gather(*(start(i, gate) for i in range(200)))

    ids = asyncio.run(start_all())
    assert len(set(ids)) == 200

    def settled():
        [(paid,)] = sql(
            topo, "SELECT count(*) FROM payments_payment WHERE status = 'paid' AND phone LIKE '254731%%'"
        )
        return paid == 200

    wait_until(settled, timeout=120, interval=0.5, message="200 payments to settle")
    [(credits, total, payments)] = sql(
        topo,
        "SELECT count(*), sum(l.amount), count(DISTINCT l.payment_id) FROM frontend_ledgerentry l "
        "JOIN payments_payment p ON p.id = l.payment_id WHERE p.phone LIKE '254731%%'",
    )
    assert (credits, total, payments) == (200, 2000, 200)
    [(balance,)] = sql(
        topo,
        "SELECT w.balance FROM frontend_wallet w JOIN auth_user u ON u.id = w.user_id WHERE u.username = %s",
        CUSTOMER[0],
    )
    assert balance == sql_before + 2000
    counters = httpx.get(f"{a.url}/simulator/control/counters/").json()
    print(f"simulator counters after 200 payments over 2 processes: {counters}")
    # reset() revoked the token both processes had cached: the pushes already in flight got
    # 404.001.03 and were retried once with the ONE new token (never twice, never re-pushed)
    assert counters["pushes"] == 200
    assert counters["push_requests"] - counters["pushes"] <= 50  # at most the in-flight ones
    assert counters["token_requests"] == 1  # one shared OAuth token, not one per process/payment


def test_killed_process_socket_reconnects_to_the_other_and_gets_the_snapshot(topo):
    a, b = topo.webs
    customer = WebClient(a.url).login(*CUSTOMER)
    script = {"phone": "254732000001", "result_code": 0, "delay": 60}
    httpx.post(f"{a.url}/simulator/control/scripts/", json=script).raise_for_status()
    response = customer.deposit(10, "0732000001")
    body = response.json()
    with socket_on(a.url, customer, body["ws_url"]) as ws:
        frames_until(ws, "pending")
        # the simulator (on A) has recorded the push; fire it from B's copy of the simulator
        [(checkout_id,)] = sql(
            topo,
            "SELECT checkout_request_id FROM payments_payment WHERE public_id = %s",
            body["payment"]["public_id"].replace("-", ""),
        )
        a.kill()
        with pytest.raises(Exception):  # noqa: B017, PT011 - the socket dies with its process
            ws.recv(timeout=10)
    httpx.post(f"{b.url}/simulator/control/pushes/{checkout_id}/fire/", json={}).raise_for_status()
    customer_on_b = WebClient(b.url).login(*CUSTOMER)
    with socket_on(b.url, customer_on_b, body["ws_url"]) as again:
        first = json.loads(again.recv(timeout=10))
        if first["payment"]["status"] != "paid":  # the fired callback may still be on its way
            first, _ = frames_until(again, "paid")
    assert first["payment"]["status"] == "paid"
    a.start()  # back for whoever runs next
