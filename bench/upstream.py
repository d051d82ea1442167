"""Upstream calls: how many OAuth token requests Daraja sees for 500 payments started
through two processes sharing a Redis cache (the seeds fetch a token per payment)."""

import asyncio
import json
import secrets
import time

import aiohttp

from tests.helpers.topology import free_port

from .config import OAUTH_CAP_S, OAUTH_PAYMENTS, log
from .procstat import cpu_seconds
from .servers import errors_in, pin, stack_env


def measure_oauth(run) -> None:
    """Two Daphne processes + Redis (shared cache), the simulator as Daraja: start
    OAUTH_PAYMENTS payments through POST /payments/initiate/ alternating between the two
    processes, 16 in flight, then read the simulator's token_requests counter."""
    if not run.fits("oauth", 45):
        return
    db = run.fresh_db("oauth")
    run.redis.flush()
    pin(run.redis.process.pid, "0,1")
    ports = [free_port(), free_port()]
    webs = []
    for port in ports:
        env = stack_env(
            port=port,
            db=db,
            redis_url=run.redis.url,
            layer="redis",
            DARAJA_BASE_URL=f"http://127.0.0.1:{ports[0]}/simulator",
            SIMULATOR_ENABLED="true",
            PAYMENTS_RUN_JOBS_IN_PROCESS="false",
        )
        webs.append(run.web_server(f"oauth-{port}", env=env, port=port, cpus=None))
    cap_s = min(OAUTH_CAP_S, run.left() - 20)
    result = asyncio.run(
        initiate_many([w.url for w in webs], run.session_key, run.wallet_id, OAUTH_PAYMENTS, cap_s)
    )
    result["server_cpu_s"] = {str(w.port): cpu_seconds(w.pid) for w in webs}
    result["server_log_tail"] = {str(w.port): errors_in(w.log()) for w in webs}
    run.stop(*webs)
    run.results["oauth"] = result
    log(f"oauth: {json.dumps({k: v for k, v in result.items() if k != 'server_log_tail'})[:400]}")


async def initiate_many(urls: list[str], session_key: str, wallet: str, count: int, cap_s: float) -> dict:
    csrf = secrets.token_hex(16)  # a 32-character CSRF secret: cookie and header must match
    headers = {"Cookie": f"sessionid={session_key}; csrftoken={csrf}", "X-CSRFToken": csrf}
    statuses: dict[str, int] = {}
    jar = aiohttp.DummyCookieJar()
    async with aiohttp.ClientSession(cookie_jar=jar, timeout=aiohttp.ClientTimeout(total=30)) as http:
        async with http.post(f"{urls[0]}/simulator/control/reset/") as r:
            r.raise_for_status()
        sem = asyncio.Semaphore(16)
        started = time.perf_counter()

        async def one(k: int) -> None:
            async with sem:
                if time.perf_counter() - started > cap_s:
                    statuses["not sent (time cap)"] = statuses.get("not sent (time cap)", 0) + 1
                    return
                url = urls[k % len(urls)] + "/payments/initiate/"
                try:
                    async with http.post(
                        url,
                        json={
                            "payable": "wallet",
                            "id": wallet,
                            "amount": 10,
                            "phone": f"2547{90_000_000 + k:08d}",
                        },
                        headers=headers,
                    ) as r:
                        await r.read()
                        key = str(r.status)
                except Exception as exc:  # noqa: BLE001
                    key = exc.__class__.__name__
                statuses[key] = statuses.get(key, 0) + 1

        await asyncio.gather(*(one(k) for k in range(count)))
        wall = time.perf_counter() - started
        async with http.get(f"{urls[0]}/simulator/control/counters/") as r:
            counters = await r.json()
    created = statuses.get("201", 0) + statuses.get("202", 0)
    tokens = counters.get("token_requests")
    return {
        "processes": len(urls),
        "attempted": count,
        "statuses": statuses,
        "payments_started": created,
        "wall_s": wall,
        "initiations_per_s": created / wall if wall else None,
        "token_requests": tokens,
        "token_requests_per_1000_payments": (tokens * 1000 / created)
        if created and tokens is not None
        else None,
        "simulator_counters": counters,
    }
