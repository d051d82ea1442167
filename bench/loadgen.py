"""The load generator: a separate asyncio process (pinned to its own core by bench.run).

    python -m bench.loadgen spec.json result.json

It opens the checkout sockets, sends callbacks, watches frames and reads the servers'
/proc figures; everything it measures is on one clock (``time.perf_counter``). Every phase
is capped in count and in time.

Push runs (``spec["stages"]``, e.g. N = 1,000 then 5,000 in the SAME server process): a
warm-up, then per stage ``connect``, ``idle``, ``fixed`` and (first stage) the ``ladder``;
bench/README.md ("What is measured") says what each phase measures and when a rung passes.

Polling runs (``poll``): no sockets, N customers GET the status endpoint (bench/polling.py).

Between measurement windows the database is put back (``reset_sql``: settled payments →
pending, ledger/records/events deleted, wallet zeroed) while the server is idle.
"""

import asyncio
import gc
import json
import sys
import time
from pathlib import Path

import aiohttp

from .polling import run_poll
from .procstat import CLK_TCK, CpuMeter, gc_pauses, raise_nofile, rss_bytes, summary_ms, thread_cpu_ns
from .report import window_summary
from .servers import reset_database

FRAME_WAIT_S = 5.0  # after the last callback of a window: frames later than this are lost


class Bench:
    def __init__(self, spec: dict):
        self.spec = spec
        fixtures = json.load(open(spec["fixtures"]))
        self.payments = fixtures["payments"]
        self.n = spec["n"]  # the most sockets (or polling customers) this run may use
        self.cookie = spec["cookie"]
        self.rss_pid = spec["rss_pid"]  # the process holding the sockets (a list: summed)
        # Several Daphne processes (nginx-like spread): socket i on ws_bases[i % k], its
        # callback on http_bases[(i // 2) % k], so half the callbacks cross processes.
        self.ws_bases = spec.get("ws_bases") or [spec["ws_base"]]
        self.http_bases = spec.get("http_bases") or [spec["http_base"]]
        self.cpu_pids = spec["cpu_pids"]  # {name: pid}: every process whose CPU is charged
        self.deadline = spec["deadline"]  # time.time() by which we must be done
        self.sent: list[float | None] = []
        self.recv: list[float | None] = []
        self.expected = 0
        self.received = 0
        self.all_in = asyncio.Event()
        self.sockets: list[aiohttp.ClientWebSocketResponse] = []
        self.open_idx: list[int] = []  # payments whose socket is open
        self.readers: list[asyncio.Task] = []
        self.notes: list[str] = []

    # --- plumbing ---------------------------------------------------------------------
    def remaining(self) -> float:
        return self.deadline - time.time()

    def reset_db(self) -> None:
        # The driver's own collector runs only here, between windows (see main): a pause of
        # the load generator must never be measured as server latency.
        gc.collect()
        reset_database(self.spec["db"], self.spec["reset_sql"])

    def ws_url(self, i: int) -> str:
        return self.ws_bases[i % len(self.ws_bases)] + self.spec["ws_path"].format(
            public_id=self.payments[i]["public_id"]
        )

    def ws_origin(self, i: int) -> str:
        """The page's origin: the process that serves socket ``i`` (origins are compared by
        scheme, host and port)."""
        return self.ws_bases[i % len(self.ws_bases)].replace("ws://", "http://", 1)

    def callback_url(self, i: int) -> str:
        return self.http_bases[(i // 2) % len(self.http_bases)] + self.payments[i]["callback_path"]

    async def open_socket(self, session: aiohttp.ClientSession, i: int, timeout: float):  # noqa: ASYNC109
        ws = await session.ws_connect(
            self.ws_url(i),
            headers={"Cookie": self.cookie},
            origin=self.ws_origin(i),
            autoping=True,
            compress=0,
            timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=5),
        )
        msg = await asyncio.wait_for(ws.receive(), timeout)
        if msg.type != aiohttp.WSMsgType.TEXT or not json.loads(msg.data).get("snapshot"):
            await ws.close()
            raise RuntimeError(f"no snapshot frame: {msg.type} {str(msg.data)[:200]}")
        return ws

    async def reader(self, i: int, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for msg in ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                continue
            now = time.perf_counter()
            frame = json.loads(msg.data)
            if frame.get("snapshot") or frame.get("payment", {}).get("status") != "paid":
                continue
            if self.sent[i] is not None and self.recv[i] is None:
                self.recv[i] = now
                self.received += 1
                if self.received >= self.expected:
                    self.all_in.set()

    # --- phases -----------------------------------------------------------------------
    async def warmup(self, ws_session, cb_session) -> dict:
        spare = list(range(len(self.payments) - 20, len(self.payments)))
        sockets = [await self.open_socket(ws_session, i, 10) for i in spare]
        for i in spare:
            async with cb_session.post(self.callback_url(i), data=self.payments[i]["body"]) as r:
                await r.read()
        await asyncio.sleep(0.5)
        for ws in sockets:
            await ws.close()
        await asyncio.sleep(1.0)
        self.reset_db()
        return {"sockets": len(spare)}

    async def connect(self, ws_session, upto: int, estimate_cap: float) -> dict:
        """Open sockets for payments len(open)..upto-1 (``connect_concurrency`` handshakes in
        flight); the wall time ends when the last snapshot frame has arrived."""
        concurrency = self.spec.get("connect_concurrency", 100)
        cap = min(estimate_cap, max(5.0, self.remaining() - 20))
        first = len(self.sent)
        if len(self.sent) < upto:
            self.sent += [None] * (upto - len(self.sent))
            self.recv += [None] * (upto - len(self.recv))
        wanted = range(first, upto)
        sem = asyncio.Semaphore(concurrency)
        handshakes: list[float] = []
        errors: list[str] = []
        slots: dict[int, aiohttp.ClientWebSocketResponse] = {}

        async def one(i: int) -> None:
            async with sem:
                t = time.perf_counter()
                try:
                    slots[i] = await self.open_socket(ws_session, i, 30)
                    handshakes.append(time.perf_counter() - t)
                except Exception as exc:  # noqa: BLE001 - counted and reported
                    errors.append(repr(exc)[:200])

        started = time.perf_counter()
        tasks = [asyncio.create_task(one(i)) for i in wanted]
        _, pending = await asyncio.wait(tasks, timeout=cap)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=5)
        wall = time.perf_counter() - started
        for i in sorted(slots):
            self.open_idx.append(i)
            self.sockets.append(slots[i])
            self.readers.append(asyncio.create_task(self.reader(i, slots[i])))
        result = {
            "added": len(wanted),
            "opened": len(slots),
            "open_total": len(self.sockets),
            "errors": len(errors),
            "first_errors": errors[:3],
            "timed_out": bool(pending),
            "wall_s": wall,
            "per_socket_ms": wall * 1000 / max(1, len(slots)),
            "concurrency": concurrency,
            "handshake": summary_ms(handshakes),
        }
        if pending:
            self.notes.append(
                f"connect to {upto}: {len(pending)} handshakes not done within the {cap:.0f}s cap"
            )
        return result

    async def idle(self, rss_before: int, added: int, baseline_rss: int) -> dict:
        await asyncio.sleep(self.spec.get("settle_s", 2.0))
        rss_after = rss_bytes(self.rss_pid)
        window = self.spec.get("idle_window_s", 3.0)
        pids = self.rss_pid if isinstance(self.rss_pid, list) else [self.rss_pid]
        meter = CpuMeter({f"sockets{k}": pid for k, pid in enumerate(pids)}).start()
        ns0, t0 = thread_cpu_ns(self.rss_pid), time.perf_counter()
        await asyncio.sleep(window)
        ns1, t1 = thread_cpu_ns(self.rss_pid), time.perf_counter()
        cpu = meter.stop()
        opened = len(self.sockets)
        # schedstat has ns resolution (no request threads start or exit while idle);
        # fall back to clock ticks if it is unavailable.
        used = (ns1 - ns0) / 1e9 if ns0 is not None and ns1 is not None else sum(cpu["cpu_s"].values())
        cpu["wall_s"] = t1 - t0 if ns0 is not None else cpu["wall_s"]
        return {
            "rss_before_mb": rss_before / 2**20,
            "rss_after_mb": rss_after / 2**20,
            "sockets_added": added,
            "rss_baseline_mb": baseline_rss / 2**20,
            # RSS growth since before the first socket / all open sockets (the headline)
            "rss_per_socket_kb": (rss_after - baseline_rss) / max(1, opened) / 1024,
            # RSS growth over this stage's connect / sockets it added
            "rss_per_added_socket_kb": (rss_after - rss_before) / max(1, added) / 1024,
            "idle_window_s": cpu["wall_s"],
            "idle_cpu_ms_per_s": used * 1000 / cpu["wall_s"],
            "idle_cpu_us_per_socket_s": used * 1e6 / cpu["wall_s"] / max(1, opened),
            "idle_cpu_source": "schedstat" if ns0 is not None else "clock ticks",
            # one clock tick over the window: the resolution when read from clock ticks
            "idle_cpu_resolution_us_per_socket_s": (
                0.0 if ns0 is not None else 1e6 / CLK_TCK / cpu["wall_s"] / max(1, opened)
            ),
        }

    async def window(self, cb_session, rate: float, count: int) -> dict:
        """``count`` callbacks at ``rate``/s (open loop, payments 0..count-1), then wait for
        their frames. The caller resets the database before the next window."""
        targets = self.open_idx[:count]
        count = len(targets)
        self.sent = [None] * len(self.sent)
        self.recv = [None] * len(self.recv)
        self.expected, self.received = count, 0
        self.all_in = asyncio.Event()
        answers: list[float] = []
        bad: list[int] = []

        async def fire(i: int) -> None:
            t = time.perf_counter()
            self.sent[i] = t
            try:
                async with cb_session.post(self.callback_url(i), data=self.payments[i]["body"]) as r:
                    await r.read()
                    if r.status != 200:
                        bad.append(r.status)
            except Exception:  # noqa: BLE001
                bad.append(-1)
            answers.append(time.perf_counter() - t)

        meter = CpuMeter(self.cpu_pids).start()
        wall0 = time.time()
        t0 = time.perf_counter()
        tasks = []
        for k, i in enumerate(targets):
            due = t0 + k / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(fire(i)))
        last_send = time.perf_counter()
        try:
            await asyncio.wait_for(self.all_in.wait(), FRAME_WAIT_S)
        except TimeoutError:
            pass
        await asyncio.wait(tasks, timeout=FRAME_WAIT_S)
        cpu = meter.stop()
        latencies = [self.recv[i] - self.sent[i] for i in targets if self.recv[i] is not None]
        span = last_send - t0
        achieved = (count - 1) / span if count > 1 and span > 0 else float(rate)
        gc_seen = gc_pauses(self.spec.get("gc_logs", []), wall0, time.time())
        return window_summary(rate, count, achieved, latencies, answers, len(bad), cpu, gc_seen)

    async def fixed(self, cb_session) -> dict:
        rate, seconds = self.spec["fixed_rate"], self.spec["fixed_seconds"]
        if self.spec.get("marker_file"):  # bench.profile starts its sampler on this
            Path(self.spec["marker_file"]).touch()  # noqa: ASYNC240 (between windows, microseconds)
        result = await self.window(cb_session, rate, int(rate * seconds))
        await asyncio.sleep(0.3)
        self.reset_db()
        return result

    async def ladder(self, cb_session, fixed: dict | None) -> dict:
        """Increasing rates; the fixed-rate window is the first rung. A failed rung is retried
        once (``rung_seconds`` long) when it looks like a single pause (p99 < 250 ms, nothing
        lost), not when the server is plainly saturated; a rate passes if either try passed."""
        rungs, best = [], None
        rung_s = self.spec["rung_seconds"]
        plan = [(r, None) for r in self.spec["ladder"]]
        if fixed is not None:
            plan.insert(0, (fixed["rate"], {**fixed, "attempt": 1, "from_fixed_window": True}))
        for rate, first in plan:
            count = min(int(rate * rung_s), len(self.sockets))
            outcome = None
            for attempt in (1, 2):
                if attempt == 1 and first is not None:
                    outcome = first
                    rungs.append(outcome)
                else:
                    if self.remaining() < count / rate + FRAME_WAIT_S + 10:
                        self.notes.append(f"ladder stopped before {rate}/s: time budget")
                        outcome = None
                        break
                    outcome = await self.window(cb_session, rate, count)
                    outcome["attempt"] = attempt
                    rungs.append(outcome)
                    await asyncio.sleep(0.3)
                    self.reset_db()
                    await asyncio.sleep(0.5)
                p99 = outcome["latency"]["p99_ms"]
                if outcome["passed"] or outcome["lost"] or p99 is None or p99 >= 250:
                    break
            if outcome is None or not outcome["passed"]:
                break
            best = rate
        return {"rungs": rungs, "max_rate_p99_under_100ms": best, "top_rung": self.spec["ladder"][-1]}

    # --- polling ----------------------------------------------------------------------
    # --- driver -----------------------------------------------------------------------
    async def run(self) -> dict:
        phases = self.spec["phases"]
        out: dict = {"label": self.spec["label"], "n": self.n}
        if "poll" in phases:
            out["poll"] = await run_poll(self)
            out["notes"] = self.notes
            return out
        ws_session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0), cookie_jar=aiohttp.DummyCookieJar()
        )
        cb_session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=self.spec.get("callback_connections", 100)),
            cookie_jar=aiohttp.DummyCookieJar(),
            headers={"Content-Type": "application/json"},
        )
        out["stages"] = []
        try:
            if "warmup" in phases:
                out["warmup"] = await self.warmup(ws_session, cb_session)
            connected_s = 0.0
            baseline_rss = None
            ladder_n = self.spec.get("ladder_n")
            ladder_reserve = self.spec.get("ladder_estimate_s", 0) if ladder_n else 0
            for stage in self.spec["stages"]:
                reserve = ladder_reserve if stage.get("ladder") else 0
                if self.remaining() < stage["estimate_s"] + reserve:
                    self.notes.append(
                        f"N={stage['n']} skipped: ~{stage['estimate_s'] + reserve:.0f}s needed, "
                        f"{self.remaining():.0f}s left in the budget"
                    )
                    break
                row: dict = {"n": stage["n"]}
                rss_before = rss_bytes(self.rss_pid)
                baseline_rss = rss_before if baseline_rss is None else baseline_rss
                before = len(self.sockets)
                row["connect"] = await self.connect(ws_session, stage["n"], stage["connect_cap_s"])
                connected_s += row["connect"]["wall_s"]
                row["connect"]["cumulative_wall_s"] = connected_s
                row["connect"]["from_open"] = before
                gc.collect()
                row["idle"] = await self.idle(rss_before, len(self.sockets) - before, baseline_rss)
                if self.sockets and self.remaining() > self.spec["fixed_seconds"] + 10:
                    row["fixed"] = await self.fixed(cb_session)
                # The ladder runs in the steady state of its stage, before more sockets are
                # added (after a mass disconnect the server's collector would be measured).
                if stage.get("ladder") and row.get("fixed") and stage["n"] == ladder_n:
                    row["ladder"] = await self.ladder(cb_session, row["fixed"])
                out["stages"].append(row)
                if row["connect"]["opened"] < row["connect"]["added"]:
                    break
        finally:
            close_started = time.perf_counter()
            await asyncio.wait(
                [asyncio.create_task(ws.close()) for ws in self.sockets]
                or [asyncio.create_task(asyncio.sleep(0))],
                timeout=20,
            )
            for task in self.readers:
                task.cancel()
            await ws_session.close()
            await cb_session.close()
            out["close_s"] = time.perf_counter() - close_started
        out["notes"] = self.notes
        return out


def main() -> None:
    spec_path, result_path = sys.argv[1], sys.argv[2]
    raise_nofile()
    gc.disable()  # collected explicitly between measurement windows (Bench.reset_db)
    spec = json.load(open(spec_path))
    result = asyncio.run(Bench(spec).run())
    with open(result_path, "w") as out:
        json.dump(result, out, indent=1)


if __name__ == "__main__":
    main()
