"""``make bench``: the floor, our stack in three (plus one extra) configurations, polling and
upstream OAuth calls, on loopback, in one run. A benchmark, not a test: it prints figures
and ratios, writes ``bench/results/<timestamp>.json`` and ``bench/results/latest.json``, and
exits 0 whatever the times (non-zero only if the bench itself could not run).

    python -m bench.run                 # the full run (budget: BENCH_BUDGET_S, default 510 s)
    BENCH_QUICK=1 python -m bench.run   # small N, short windows: a smoke run of the harness

Method, caps and caveats: bench/README.md.
"""

import asyncio
import contextlib
import json
import os
import platform
import resource
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import aiohttp

from project.topology import (
    PYTHON,
    ROOT,
    Daphne,
    Process,
    RedisServer,
    app_env,
    free_port,
    manage,
    wait_until,
)

from . import report
from .floor import RESET_SQL as FLOOR_RESET_SQL
from .floor import seed as floor_seed
from .procstat import cpu_seconds

QUICK = os.environ.get("BENCH_QUICK") == "1"
BUDGET_S = float(os.environ.get("BENCH_BUDGET_S", "510"))
N_SMALL, N_LARGE = (200, 500) if QUICK else (1000, 5000)
N_POLL_REFERENCE = 100 if QUICK else 500  # polling below one core's capacity: the clean distribution
SPARE = 40  # extra payments for the warm-up (never measured)
FIXED_RATE = 25  # callbacks/s: "a fixed moderate rate" (performance-notes reference rate)
FIXED_SECONDS = 4 if QUICK else 8
RUNG_SECONDS = 2 if QUICK else 4
STACK_LADDER = [50, 75, 100, 150, 200, 300, 400]
FLOOR_LADDER = [200, 400, 800, 1600, 3200]
OAUTH_PAYMENTS = 100 if QUICK else 1000
OAUTH_CAP_S = 60
CPU_SERVER, CPU_DRIVER = "0", "1"  # taskset cores on the 2-core box
RESULTS = ROOT / "bench" / "results"
# Seconds each configuration's stages may take (N small incl. the ladder, N large); a stage
# that does not fit in what is left of the budget is skipped and reported.
STACK_STAGE_ESTIMATES = {  # connect + idle + fixed window (the ladder has its own)
    "memory-1p": (30, 95),
    "redis-1p": (30, 75),
    "redis-2p": (30, 75),
    "redis-2p-spread": (30, 75),
    "pubsub-1p": (30, 75),
}
LADDER_ESTIMATE_S = 35

STACK_RESET_SQL = [
    # Settled payments back to pending (as bench.seed created them), while the server idles.
    "UPDATE payments_payment SET status='pending', version=2, settled_by='', result_code='', "
    "result_desc='', receipt_number=NULL, transaction_date=NULL, paid_phone='', settled_at=NULL, "
    "flagged=0, review_reason='' WHERE status != 'pending'",
    "DELETE FROM payments_ledgerentry",
    "DELETE FROM payments_paymentevent",
    "DELETE FROM payments_callbackrecord",
    "UPDATE payments_wallet SET balance = 0",
]
SANDBOX_PASSKEY = "bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919"


def log(message: str) -> None:
    sys.stderr.write(f"[bench {time.strftime('%H:%M:%S')}] {message}\n")
    sys.stderr.flush()


def raise_nofile() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else 65536
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def pin(pid: int, cpus: str) -> None:
    """Set the CPU affinity of every thread of ``pid`` (best effort)."""
    if shutil.which("taskset") and os.cpu_count() and os.cpu_count() >= 2:
        subprocess.run(["taskset", "-a", "-p", "-c", cpus, str(pid)], capture_output=True, check=False)


def taskset(cpus: str | None) -> list[str]:
    if cpus and shutil.which("taskset") and (os.cpu_count() or 1) >= 2:
        return ["taskset", "-c", cpus]
    return []


class BenchDaphne(Daphne):
    """Daphne exactly as topology starts it, through ``bench.serve`` (adds a GC pause log),
    optionally pinned to a core (``taskset`` execs, so the PID is Daphne's)."""

    def __init__(self, *, env: dict, port: int, log_path: Path, cpus: str | None, gc_log: Path):
        super().__init__(env={**env, "BENCH_GC_LOG": str(gc_log)}, port=port, log_path=log_path)
        assert self.args[1:3] == ["-m", "daphne"]
        self.args = [*taskset(cpus), PYTHON, "-m", "bench.serve", *self.args[3:]]
        self.gc_log = gc_log


def stack_env(*, port: int, db: Path, redis_url: str = "", layer: str = "memory", **extra) -> dict:
    """The production profile (DJANGO_DEBUG=false, JSON logs at INFO) on plain-HTTP loopback."""
    settings = dict(
        DJANGO_DEBUG="false",
        DJANGO_LOG_LEVEL="INFO",
        DJANGO_SECRET_KEY="bench-secret-" + "k" * 50,
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        DJANGO_SECURE_SSL_REDIRECT="false",
        DJANGO_SESSION_COOKIE_SECURE="false",
        DJANGO_CSRF_COOKIE_SECURE="false",
        DJANGO_SECURE_HSTS_SECONDS="0",
        DARAJA_BASE_URL=f"http://127.0.0.1:{port}/simulator",
        DARAJA_CONSUMER_KEY="bench-consumer-key",
        DARAJA_CONSUMER_SECRET="bench-consumer-secret",
        DARAJA_SHORTCODE="174379",
        DARAJA_PASSKEY=SANDBOX_PASSKEY,
        DARAJA_CALLBACK_BASE_URL=f"http://127.0.0.1:{port}",
        PAYMENTS_CALLBACK_SECRET="bench-callback-secret",
        # Production's "log" mode with loopback on the allowlist: the same check as with
        # Safaricom's addresses, without a warning line per callback.
        DARAJA_CALLBACK_IP_MODE="log",
        DARAJA_CALLBACK_IPS="127.0.0.1",
        SIMULATOR_ENABLED="false",
        CHANNEL_LAYER=layer,
        PAYMENTS_WS_MAX_PER_USER=str(N_LARGE + SPARE + 100),
        PAYMENTS_RATE_LIMIT_PER_PHONE="",
        PAYMENTS_RATE_LIMIT_PER_USER="",
    )
    # BENCH_SERVER_ENV="NAME=value;NAME=value": experiments with server settings (applied last)
    trial = dict(kv.split("=", 1) for kv in os.environ.get("BENCH_SERVER_ENV", "").split(";") if "=" in kv)
    env = {**settings, **extra, **trial}
    return app_env(port=port, database_url=f"sqlite:///{db}", redis_url=redis_url, **env)


class Run:
    def __init__(self):
        self.t0 = time.time()
        self.deadline = self.t0 + BUDGET_S
        self.work = Path(tempfile.mkdtemp(prefix="mpx-bench-"))
        self.procs: list[Process] = []
        self.redis: RedisServer | None = None
        self.results: dict = {
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "quick": QUICK,
            "machine": {
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "platform": platform.platform(),
                "nofile": raise_nofile(),
            },
            "params": {
                "n": [N_SMALL, N_LARGE],
                "fixed_rate": FIXED_RATE,
                "fixed_seconds": FIXED_SECONDS,
                "rung_seconds": RUNG_SECONDS,
                "stack_ladder": STACK_LADDER,
                "floor_ladder": FLOOR_LADDER,
                "budget_s": BUDGET_S,
            },
            "push": [],
            "polling": [],
            "oauth": None,
            "skipped": [],
        }

    # --- budget -----------------------------------------------------------------------
    def left(self) -> float:
        return self.deadline - time.time()

    def fits(self, name: str, estimate: float) -> bool:
        if self.left() >= estimate:
            return True
        log(f"SKIP {name}: needs ~{estimate:.0f}s, {self.left():.0f}s left")
        self.results["skipped"].append(
            f"{name} (time budget: ~{estimate:.0f}s needed, {self.left():.0f}s left)"
        )
        return False

    # --- processes --------------------------------------------------------------------
    def start(self, proc: Process) -> Process:
        self.procs.append(proc)
        proc.start()
        return proc

    def stop(self, *procs: Process) -> None:
        for proc in procs:
            proc.stop(timeout=20)
            if proc in self.procs:
                self.procs.remove(proc)

    def stop_all(self) -> None:
        for proc in reversed(self.procs):
            with contextlib.suppress(Exception):
                proc.stop(timeout=10)
        self.procs.clear()
        if self.redis:
            with contextlib.suppress(Exception):
                self.redis.stop()

    def driver(self, spec: dict, name: str) -> dict:
        """Run bench.loadgen on its own core; returns its JSON (or an error record)."""
        spec_path = self.work / f"{name}.spec.json"
        out_path = self.work / f"{name}.result.json"
        spec_path.write_text(json.dumps(spec))
        cap = max(10.0, spec["deadline"] - time.time() + 30)
        cmd = [
            *taskset(spec.get("driver_cpus", CPU_DRIVER)),
            PYTHON,
            "-m",
            "bench.loadgen",
            str(spec_path),
            str(out_path),
        ]
        with open(self.work / f"{name}.driver.log", "wb") as logf:
            proc = subprocess.Popen(cmd, cwd=ROOT, stdout=logf, stderr=subprocess.STDOUT)
            try:
                proc.wait(timeout=cap)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
                return {"error": f"driver killed after {cap:.0f}s"}
        if proc.returncode != 0 or not out_path.exists():
            tail = (self.work / f"{name}.driver.log").read_text(errors="replace")[-1500:]
            return {"error": f"driver exited {proc.returncode}: {tail}"}
        return json.loads(out_path.read_text())

    # --- fixtures ---------------------------------------------------------------------
    def make_template(self) -> None:
        """One migrated + seeded SQLite file; every configuration gets a fresh copy."""
        self.template = self.work / "template.sqlite3"
        env = stack_env(port=8000, db=self.template, SIMULATOR_ENABLED="true")
        manage("migrate", "--noinput", "-v", "0", "--skip-checks", env=env)
        self.fixtures = self.work / "fixtures.json"
        done = subprocess.run(
            [PYTHON, "-m", "bench.seed", "--n", str(N_LARGE + SPARE), "--out", str(self.fixtures)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        if done.returncode != 0:
            raise RuntimeError(f"bench.seed failed:\n{done.stdout}\n{done.stderr}")
        self.session_key = json.loads(self.fixtures.read_text())["session_key"]

    def fresh_db(self, name: str) -> Path:
        db = self.work / f"{name}.sqlite3"
        shutil.copyfile(self.template, db)
        return db

    # --- push: floor ------------------------------------------------------------------
    def floor(self) -> None:
        db = self.work / "floor.sqlite3"
        fixtures = self.work / "floor-fixtures.json"
        fixtures.write_text(json.dumps(floor_seed(str(db), N_LARGE + SPARE)))
        session = json.loads(fixtures.read_text())["session_key"]
        name = "floor"
        if not self.fits(name, 30):
            return
        http_port, ws_port = free_port(), free_port()
        proc = self.start(
            Process(
                [
                    *taskset(CPU_SERVER),
                    PYTHON,
                    "-m",
                    "bench.floor",
                    "--db",
                    str(db),
                    "--http-port",
                    str(http_port),
                    "--ws-port",
                    str(ws_port),
                ],
                log_path=self.work / "floor.log",
            )
        )
        wait_until(lambda: _healthz(f"http://127.0.0.1:{http_port}"), timeout=20, message="floor /healthz")
        log(f"floor: pid {proc.pid}")
        spec = self.push_spec(
            label="floor",
            stages=[(N_SMALL, True, 15, 30), (N_LARGE, False, 20, 40)],
            fixtures=fixtures,
            session=session,
            ws_port=ws_port,
            cb_port=http_port,
            db=db,
            reset_sql=[FLOOR_RESET_SQL],
            rss_pid=proc.pid,
            cpu_pids={"server": proc.pid},
            gc_logs=[],
            ladder=FLOOR_LADDER,
            budget=90,
        )
        self.record("floor", {"processes": 1}, self.driver(spec, name))
        self.stop(proc)

    def record(self, config: str, extra: dict, result: dict) -> None:
        """One row per (config, N) stage of a driver run."""
        if "error" in result or not result.get("stages"):
            row = {
                "config": config,
                **extra,
                "n": None,
                "error": result.get("error", "no stage ran"),
                "notes": result.get("notes", []),
            }
            self.results["push"].append(row)
            log(f"{config}: {report.brief(row)}")
            return
        for stage in result["stages"]:
            row = {
                "config": config,
                **extra,
                **stage,
                "notes": result.get("notes", []),
                "warmup": result.get("warmup"),
                "close_s": result.get("close_s"),
            }
            self.results["push"].append(row)
            log(f"{config} N={stage['n']}: {report.brief(row)}")

    def push_spec(
        self,
        *,
        label,
        stages,
        fixtures,
        session,
        ws_port,
        cb_port,
        db,
        reset_sql,
        rss_pid,
        cpu_pids,
        gc_logs,
        ladder,
        budget,
        driver_cpus=CPU_DRIVER,
        phases=("warmup",),
    ) -> dict:
        """``stages``: (N, ladder?, estimate_s, connect_cap_s) in order; sockets accumulate."""
        return {
            "label": label,
            "n": max(n for n, *_ in stages) if stages else N_LARGE,
            "stages": [
                {"n": n, "ladder": lad, "estimate_s": est, "connect_cap_s": cap}
                for n, lad, est, cap in stages
            ],
            "fixtures": str(fixtures),
            "ws_base": f"ws://127.0.0.1:{ws_port}",
            "ws_path": "/ws/payments/{public_id}/",
            "origin": f"http://127.0.0.1:{ws_port}",
            "http_base": f"http://127.0.0.1:{cb_port}",
            "status_base": f"http://127.0.0.1:{ws_port}",
            "cookie": f"sessionid={session}",
            "db": str(db),
            "reset_sql": reset_sql,
            "rss_pid": rss_pid,
            "cpu_pids": cpu_pids,
            "gc_logs": [str(p) for p in gc_logs],
            "phases": list(phases),
            "fixed_rate": FIXED_RATE,
            "fixed_seconds": FIXED_SECONDS,
            "ladder": ladder,
            "rung_seconds": RUNG_SECONDS,
            "connect_concurrency": 100,
            # the ladder runs last, with the sockets of the first stage only (the others closed)
            "ladder_n": next((n for n, lad, *_ in stages if lad), None),
            "ladder_estimate_s": LADDER_ESTIMATE_S,
            "deadline": min(self.deadline, time.time() + budget),
            "driver_cpus": driver_cpus,
        }

    # --- push: our stack --------------------------------------------------------------
    def stack(self, config: str, layer: str, processes: int, spread: bool = False) -> None:
        """``processes`` = 1: one Daphne on core 0. 2: callbacks go to process A (core 0),
        sockets live on process B (core 1); the driver and Redis then float on both cores.
        ``spread``: both processes take sockets and callbacks, as behind nginx (socket i on
        process i % 2, its callback on (i // 2) % 2: half the frames cross processes)."""
        db = self.fresh_db(config)
        small, large = STACK_STAGE_ESTIMATES[config]
        if not self.fits(config, small + LADDER_ESTIMATE_S):
            return
        if self.redis:
            self.redis.flush()
        ports = [free_port() for _ in range(processes)]
        cpus = [CPU_SERVER] if processes == 1 else ["0", "1"]
        webs = []
        for port, cpu in zip(ports, cpus, strict=True):
            env = stack_env(
                port=port,
                db=db,
                redis_url=self.redis.url if layer != "memory" else "",
                layer=layer,
                # `make run` (memory layer) runs the job runner in the web process; the Redis
                # topologies run it in a separate worker, which the callback path does not need.
                PAYMENTS_RUN_JOBS_IN_PROCESS="true" if layer == "memory" else "false",
            )
            webs.append(
                self.start(
                    BenchDaphne(
                        env=env,
                        port=port,
                        log_path=self.work / f"{config}-{port}.log",
                        cpus=cpu,
                        gc_log=self.work / f"{config}-{port}.gc",
                    )
                )
            )
        cb_web, sock_web = webs[0], webs[-1]
        redis_pid = self.redis.process.pid if (self.redis and layer != "memory") else None
        if self.redis:
            pin(self.redis.process.pid, CPU_DRIVER if processes == 1 else "0,1")
        if processes == 1:
            cpu_pids = {"callbacks": cb_web.pid}
        elif spread:
            cpu_pids = {"web-a": webs[0].pid, "web-b": webs[1].pid}
        else:
            cpu_pids = {"callbacks": cb_web.pid, "sockets": sock_web.pid}
        if redis_pid:
            cpu_pids["redis"] = redis_pid
        log(f"{config}: daphne pids {[w.pid for w in webs]}")
        stages = [(N_SMALL, True, small, 40)]
        if large:
            stages.append((N_LARGE, False, large, large - 15))
        spec = self.push_spec(
            label=config,
            stages=stages,
            fixtures=self.fixtures,
            session=self.session_key,
            ws_port=sock_web.port,
            cb_port=cb_web.port,
            db=db,
            reset_sql=STACK_RESET_SQL,
            rss_pid=sock_web.pid,
            cpu_pids=cpu_pids,
            gc_logs=[w.gc_log for w in webs],
            ladder=STACK_LADDER,
            budget=(small + (large or 0) + LADDER_ESTIMATE_S) * 1.3,
            driver_cpus=CPU_DRIVER if processes == 1 else "0,1",
        )
        if spread:
            spec["ws_bases"] = [f"ws://127.0.0.1:{w.port}" for w in webs]
            spec["http_bases"] = [f"http://127.0.0.1:{w.port}" for w in webs]
            spec["rss_pid"] = [w.pid for w in webs]
        result = self.driver(spec, config)
        for stage in result.get("stages", []):
            stage["server_log_warnings"] = {str(w.port): _errors_in(w.log()) for w in webs}
        self.stop(*webs)
        if self.redis:
            self.redis.flush()
        self.record(config, {"processes": processes, "layer": layer, "spread": spread}, result)

    # --- polling ----------------------------------------------------------------------
    def polling(self) -> None:
        db = self.fresh_db("polling")
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
            if not self.fits(name, window["t_end"] + 8):
                continue
            port = free_port()
            env = stack_env(
                port=port,
                db=db,
                redis_url=self.redis.url if self.redis else "",
                layer="redis" if self.redis else "memory",
                PAYMENTS_RUN_JOBS_IN_PROCESS="false",
            )
            web = self.start(
                BenchDaphne(
                    env=env,
                    port=port,
                    log_path=self.work / f"{name}.log",
                    cpus=CPU_SERVER,
                    gc_log=self.work / f"{name}.gc",
                )
            )
            if self.redis:
                pin(self.redis.process.pid, CPU_DRIVER)
            spec = self.push_spec(
                label="polling",
                stages=[],
                fixtures=self.fixtures,
                session=self.session_key,
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
            result = self.driver(spec, name)
            self.stop(web)
            self.results["polling"].append({"config": "redis-1p", **result})
            log(f"{name}: {json.dumps(result.get('poll', result))[:400]}")

    # --- upstream OAuth ---------------------------------------------------------------
    def oauth(self) -> None:
        """Two Daphne processes + Redis (shared cache), the simulator as Daraja: start
        OAUTH_PAYMENTS payments through POST /payments/initiate/ alternating between the two
        processes, 16 in flight, then read the simulator's token_requests counter."""
        if not self.fits("oauth", 45):
            return
        db = self.fresh_db("oauth")
        self.redis.flush()
        pin(self.redis.process.pid, "0,1")
        ports = [free_port(), free_port()]
        webs = []
        for port in ports:
            env = stack_env(
                port=port,
                db=db,
                redis_url=self.redis.url,
                layer="redis",
                DARAJA_BASE_URL=f"http://127.0.0.1:{ports[0]}/simulator",
                SIMULATOR_ENABLED="true",
                PAYMENTS_RUN_JOBS_IN_PROCESS="false",
            )
            webs.append(
                self.start(
                    BenchDaphne(
                        env=env,
                        port=port,
                        log_path=self.work / f"oauth-{port}.log",
                        cpus=None,
                        gc_log=self.work / f"oauth-{port}.gc",
                    )
                )
            )
        result = asyncio.run(
            _initiate_many(
                [w.url for w in webs], self.session_key, OAUTH_PAYMENTS, min(OAUTH_CAP_S, self.left() - 20)
            )
        )
        result["server_cpu_s"] = {str(w.port): cpu_seconds(w.pid) for w in webs}
        result["server_log_tail"] = {str(w.port): _errors_in(w.log()) for w in webs}
        self.stop(*webs)
        self.results["oauth"] = result
        log(f"oauth: {json.dumps({k: v for k, v in result.items() if k != 'server_log_tail'})[:400]}")

    # --- the run ----------------------------------------------------------------------
    def main(self) -> int:
        log(
            f"workdir {self.work}; budget {BUDGET_S:.0f}s; "
            f"N = {N_SMALL}, {N_LARGE}{' (QUICK)' if QUICK else ''}"
        )
        try:
            self.make_template()
            log(
                f"template database ready ({N_LARGE + SPARE} pending payments) "
                f"in {time.time() - self.t0:.0f}s"
            )
            self.floor()
            self.redis = RedisServer(self.work).start()
            self.results["redis_version"] = _redis_version()
            self.stack("memory-1p", "memory", 1)
            self.stack("redis-1p", "redis", 1)
            self.stack("redis-2p", "redis", 2)
            self.stack("redis-2p-spread", "redis", 2, spread=True)
            self.oauth()
            self.polling()
            if os.environ.get("BENCH_PUBSUB") == "1":  # extra row (~65 s): RedisPubSubChannelLayer
                self.stack("pubsub-1p", "redis-pubsub", 1)
        finally:
            self.stop_all()
        self.results["wall_s"] = time.time() - self.t0
        text = report.render(self.results)
        self.results["table"] = text
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        RESULTS.mkdir(parents=True, exist_ok=True)
        for path in (RESULTS / f"{stamp}.json", RESULTS / "latest.json"):
            path.write_text(json.dumps(self.results, indent=1, default=str))
        sys.stdout.write(text + "\n")
        sys.stdout.write(
            f"\nJSON: bench/results/{stamp}.json (and latest.json); wall time {self.results['wall_s']:.0f}s\n"
        )
        shutil.rmtree(self.work, ignore_errors=True)
        return 0


async def _initiate_many(urls: list[str], session_key: str, count: int, cap_s: float) -> dict:
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
                        url, json={"amount": 10, "phone": f"2547{90_000_000 + k:08d}"}, headers=headers
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


def _healthz(url: str) -> bool:
    import httpx

    try:
        return httpx.get(url + "/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _errors_in(text: str) -> list[str]:
    lines = [
        line for line in text.splitlines() if "ERROR" in line or "Traceback" in line or "WARNING" in line
    ]
    return lines[-5:]


def _redis_version() -> str:
    try:
        return subprocess.run(
            ["redis-server", "--version"], capture_output=True, text=True, timeout=5
        ).stdout.strip()
    except Exception:  # noqa: BLE001
        return "?"


def main() -> None:
    sys.exit(Run().main())


if __name__ == "__main__":
    main()
