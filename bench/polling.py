"""The polling baseline, as the copy-pasted integrations do it: every waiting customer GETs
its payment's status every 5 s. ``measure_polling`` runs in ``bench.run`` (starts the server,
hands the driver a spec); ``run_poll`` runs in the load generator (``bench.loadgen``)."""

import asyncio
import json
import math
import random
import time

import aiohttp

from tests.helpers.topology import free_port

from .config import CPU_DRIVER, CPU_SERVER, N_POLL_REFERENCE, N_SMALL, QUICK, log
from .procstat import CpuMeter, summary_ms
from .servers import STACK_RESET_SQL, pin, stack_env


def measure_polling(run) -> None:
    """The polling baseline at N_POLL_REFERENCE and N_SMALL customers: one Daphne on one core."""
    db = run.fresh_db("polling")
    # N_LARGE is not run: at N_SMALL polling already saturates the server's core (the
    # report shows served < offered), so 5x the customers would only measure a queue.
    for n in (N_POLL_REFERENCE, N_SMALL):
        name = f"polling-{n}"
        # 4 s of polling only (CPU, served rate) once every customer has started, then
        # callbacks over 3 s, then two more polling periods (+1 s) so that, on a server
        # that keeps up, every customer sees its payment paid before the window closes.
        window = {
            "interval_s": 5.0,
            "t_quiet0": 5.5,
            "t_quiet1": 9.5,
            "t_cb0": 9.5,
            "t_cb1": 12.5,
            "t_end": 23.5,
        }
        if QUICK:
            window.update(t_quiet0=5.0, t_quiet1=8.0, t_cb0=8.0, t_cb1=10.0, t_end=21.0)
        if not run.fits(name, window["t_end"] + 8):
            continue
        port = free_port()
        env = stack_env(
            port=port,
            db=db,
            redis_url=run.redis.url if run.redis else "",
            layer="redis" if run.redis else "memory",
            PAYMENTS_RUN_JOBS_IN_PROCESS="false",
        )
        web = run.web_server(name, env=env, port=port, cpus=CPU_SERVER)
        if run.redis:
            pin(run.redis.process.pid, CPU_DRIVER)
        spec = run.push_spec(
            label="polling",
            stages=[],
            fixtures=run.fixtures,
            session=run.session_key,
            ws_port=port,
            cb_port=port,
            db=db,
            reset_sql=STACK_RESET_SQL,
            rss_pid=web.pid,
            cpu_pids={"server": web.pid},
            gc_logs=[web.gc_log],
            phases=["poll"],
            ladder=[],
            budget=window["t_end"] + 25,
        )
        spec["n"] = n
        spec["poll"] = {**window, "callbacks": min(200, n // 5), "connections": 200}
        result = run.driver(spec, name)
        run.stop(web)
        run.results["polling"].append({"config": "redis-1p", **result})
        log(f"{name}: {json.dumps(result.get('poll', result))[:400]}")


async def run_poll(bench) -> dict:
    """N customers each GET their payment's status every ``interval`` s (first poll at a
    random phase). [t_quiet0, t_quiet1): polling only — server CPU per waiting customer
    and the served rate. [t_cb0, t_cb1): ``poll_callbacks`` callbacks at random times for
    random customers; notification latency = the first poll answer showing ``paid``
    minus the callback's send time. A customer stops polling once it has seen ``paid``;
    everyone stops at ``t_end`` (the seeds' 60 s give-up is longer than the window)."""
    spec = bench.spec["poll"]
    interval = spec["interval_s"]
    n = bench.n
    status_base = bench.spec["status_base"]
    headers = {"Cookie": bench.cookie}
    rng = random.Random(7)
    chosen = rng.sample(range(n), min(spec["callbacks"], n))
    cb_times = sorted(rng.uniform(spec["t_cb0"], spec["t_cb1"]) for _ in chosen)
    bench.sent = [None] * n
    seen: list[float | None] = [None] * n
    answers: list[tuple[float, float]] = []  # (time since start, seconds)
    errors = [0]
    connector = aiohttp.TCPConnector(limit=spec.get("connections", 200))
    async with (
        aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar()) as poll,
        aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=64),
            cookie_jar=aiohttp.DummyCookieJar(),
            headers={"Content-Type": "application/json"},
        ) as cbs,
    ):
        t0 = time.perf_counter()
        t_end = t0 + spec["t_end"]

        async def customer(i: int) -> None:
            url = f"{status_base}/payments/{bench.payments[i]['public_id']}/"
            tick = t0 + rng.uniform(0, interval)
            while tick < t_end:
                await asyncio.sleep(max(0.0, tick - time.perf_counter()))
                start = time.perf_counter()
                try:
                    async with poll.get(url, headers=headers) as r:
                        body = await r.json(content_type=None)
                    done = time.perf_counter()
                    answers.append((start - t0, done - start))
                    if body["payment"]["status"] == "paid" and bench.sent[i] is not None:
                        seen[i] = done
                        return
                except Exception:  # noqa: BLE001
                    errors[0] += 1
                tick = max(tick + interval, time.perf_counter())

        async def post(i: int) -> None:
            async with cbs.post(bench.callback_url(i), data=bench.payments[i]["body"]) as r:
                await r.read()

        async def callbacks() -> None:  # open loop, like Daraja: never waits for answers
            posts = []
            for i, at in zip(chosen, cb_times, strict=True):
                await asyncio.sleep(max(0.0, t0 + at - time.perf_counter()))
                bench.sent[i] = time.perf_counter()
                posts.append(asyncio.create_task(post(i)))
            await asyncio.wait(posts)

        async def quiet_meter() -> dict:
            await asyncio.sleep(max(0.0, t0 + spec["t_quiet0"] - time.perf_counter()))
            meter = CpuMeter({"server": bench.rss_pid}).start()
            await asyncio.sleep(max(0.0, t0 + spec["t_quiet1"] - time.perf_counter()))
            return meter.stop()

        tasks = [asyncio.create_task(customer(i)) for i in range(n)]
        cb_task = asyncio.create_task(callbacks())
        cpu = await quiet_meter()
        await asyncio.wait([cb_task, *tasks], timeout=max(0.0, t_end + 1 - time.perf_counter()))
        end_abs = time.perf_counter()
        for task in [cb_task, *tasks]:
            task.cancel()
        await asyncio.wait([cb_task, *tasks], timeout=5)
    # answers completed inside the polling-only window
    quiet = [a for s, a in answers if spec["t_quiet0"] <= s + a < spec["t_quiet1"]]
    served = len(quiet) / (spec["t_quiet1"] - spec["t_quiet0"])
    cpu_s = cpu["cpu_s"]["server"]
    latencies = [seen[i] - bench.sent[i] for i in chosen if seen[i] is not None and bench.sent[i]]
    # Customers that never saw "paid" before the window closed: right-censored at
    # (window end - callback sent); percentiles that fall on them are reported as ">x".
    censored = sorted(end_abs - bench.sent[i] for i in chosen if seen[i] is None and bench.sent[i])
    everyone = sorted(latencies) + [float("inf")] * len(censored)

    def pct(q: float):
        if not everyone:
            return None
        v = everyone[min(len(everyone), max(1, math.ceil(q / 100 * len(everyone)))) - 1]
        return f">{censored[0]:.1f}" if v == float("inf") else round(v, 3)

    bench.reset_db()
    return {
        "customers": n,
        "interval_s": interval,
        "offered_req_per_s": n / interval,
        "served_req_per_s": served,
        "errors": errors[0],
        "server_cpu_cores": cpu_s / cpu["wall_s"],
        "cpu_ms_per_request": cpu_s * 1000 / max(1, len(quiet)),
        "cpu_ms_per_customer_s": cpu_s * 1000 / cpu["wall_s"] / n,
        "answer": summary_ms(quiet),
        "callbacks": len(chosen),
        "notified": len(latencies),
        "notification": summary_ms(latencies),
        "notification_all_s": {"p50": pct(50), "p95": pct(95), "p99": pct(99), "censored": len(censored)},
        "callbacks_sent": sum(1 for i in chosen if bench.sent[i]),
        "window": {k: spec[k] for k in ("t_quiet0", "t_quiet1", "t_cb0", "t_cb1", "t_end")},
    }
