"""L8: a bounded soak — initiate → callback → live frame at a fixed rate for 60 s against a
Daphne process on the Redis channel layer. No error, bounded memory, no leftover Redis keys."""

import asyncio
import json
import time

import httpx
import pytest
import websockets

from tests.helpers.live import App
from tests.helpers.procs import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.redis]
DURATION = 60.0  # seconds of load (hard cap)
RATE = 3.0  # payments started per second
MAX_PAYMENTS = int(DURATION * RATE)
RSS_GROWTH_LIMIT_MB = 40


def rss_mb(pid: int) -> float:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


async def one_payment(base: str, cookies: httpx.Cookies, csrf: str, index: int, wallet: str) -> float:
    """Start a deposit, watch it over the socket until paid; returns seconds it took."""
    started = time.monotonic()
    async with httpx.AsyncClient(base_url=base, cookies=cookies, timeout=20) as http:
        response = await http.post(
            "/payments/initiate/",
            json={"payable": "wallet", "id": wallet, "amount": 10, "phone": f"25472{index:07d}"},
            headers={"X-CSRFToken": csrf},
        )
        assert response.status_code == 201, response.text
        body = response.json()
    cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
    ws_url = base.replace("http", "ws") + body["ws_url"]
    async with websockets.connect(ws_url, additional_headers={"Cookie": cookie, "Origin": base}) as ws:
        async with asyncio.timeout(20):
            async for raw in ws:
                frame = json.loads(raw)
                if frame["payment"]["status"] == "paid":
                    break
    return time.monotonic() - started


def test_l8_bounded_soak(tmp_path, redis):
    app = App(
        tmp_path, REDIS_URL=redis.url, SIMULATOR_CALLBACK_DELAY_SECONDS="0.3", PAYMENTS_WS_MAX_PER_USER="50"
    )
    app.server.start()
    try:
        web = app.web(*app.customer())
        base, cookies, csrf = app.url, web.http.cookies, web.csrf
        web.deposit(10, "not-a-phone")  # a 400 that only looks the wallet up
        wallet = web.wallet_id

        async def load() -> list[float]:
            # warm up, then measure memory over the steady state
            await asyncio.gather(*(one_payment(base, cookies, csrf, i, wallet) for i in range(10)))
            rss_start = rss_mb(app.server.proc.pid)
            tasks, t0 = [], time.monotonic()
            for i in range(MAX_PAYMENTS):
                due = t0 + i / RATE
                await asyncio.sleep(max(0.0, due - time.monotonic()))
                if time.monotonic() - t0 > DURATION:
                    break
                tasks.append(asyncio.create_task(one_payment(base, cookies, csrf, 100 + i, wallet)))
            durations = await asyncio.wait_for(asyncio.gather(*tasks), timeout=DURATION)
            return rss_start, durations

        rss_start, durations = asyncio.run(load())
        rss_end = rss_mb(app.server.proc.pid)
        assert len(durations) >= MAX_PAYMENTS * 0.95
        paid = app.sql("SELECT count(*) FROM payments_payment WHERE status = 'paid'")[0][0]
        assert paid == len(durations) + 10
        balance = app.sql("SELECT balance FROM frontend_wallet")[0][0]
        assert balance == paid * 10
        assert rss_end - rss_start < RSS_GROWTH_LIMIT_MB, (rss_start, rss_end)
        # every socket left its group (the server handles the last closes a moment later)
        wait_until(lambda: redis.keys("asgi:group:*") == 0, timeout=10, message="groups to empty")
        print(
            f"soak: {len(durations)} payments, p50 {sorted(durations)[len(durations) // 2]:.2f}s, "
            f"RSS {rss_start:.0f}→{rss_end:.0f} MB"
        )
    finally:
        app.server.stop()
