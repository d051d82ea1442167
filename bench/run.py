"""``make bench``: the floor, our stack in three (plus one extra) configurations, polling and
upstream OAuth calls, on loopback, in one run. A benchmark, not a test: it prints figures
and ratios, writes ``bench/results/<timestamp>.json`` and ``bench/results/latest.json``, and
exits 0 whatever the times (non-zero only if the bench itself could not run).

    python -m bench.run                 # the full run (budget: BENCH_BUDGET_S, default 590 s)
    BENCH_QUICK=1 python -m bench.run   # small N, short windows: a smoke run of the harness

Method, caps and caveats: bench/README.md.
"""

import contextlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from tests.helpers.topology import PYTHON, ROOT, Process, RedisServer, manage

from . import report
from .config import (
    BUDGET_S,
    CPU_DRIVER,
    FIXED_RATE,
    FIXED_SECONDS,
    FLOOR_LADDER,
    LADDER_ESTIMATE_S,
    N_LARGE,
    N_SMALL,
    QUICK,
    RESULTS,
    RUNG_SECONDS,
    SPARE,
    STACK_LADDER,
    log,
)
from .floor_stage import measure_floor
from .polling import measure_polling
from .postgres import postgres_rows
from .procstat import raise_nofile
from .servers import BenchServer, redis_version, stack_env, taskset
from .stack_rows import measure_stack
from .upstream import measure_oauth


class Run:
    def __init__(self):
        self.t0 = time.time()
        self.deadline = self.t0 + BUDGET_S
        self.work = Path(tempfile.mkdtemp(prefix="mpx-bench-"))
        self.procs: list[Process] = []
        self.redis: RedisServer | None = None
        self.postgres = None  # a PostgresServer once bench/postgres.py started one
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

    def web_server(
        self, name: str, *, env: dict, port: int, cpus: str | None, server: str = "daphne"
    ) -> BenchServer:
        """Start one server process, Daphne unless ``server="uvicorn"`` (log and collector log
        named after ``name`` in the work dir)."""
        web = BenchServer(
            env=env,
            port=port,
            log_path=self.work / f"{name}.log",
            cpus=cpus,
            gc_log=self.work / f"{name}.gc",
            server=server,
        )
        self.start(web)
        return web

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
        if self.postgres:
            with contextlib.suppress(Exception):
                self.postgres.stop()

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
        fixtures = json.loads(self.fixtures.read_text())
        self.session_key, self.wallet_id = fixtures["session_key"], fixtures["wallet"]

    def fresh_db(self, name: str) -> Path:
        db = self.work / f"{name}.sqlite3"
        shutil.copyfile(self.template, db)
        return db

    # --- push: floor ------------------------------------------------------------------
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
            # the ladder runs right after the fixed window of the stage with this N
            "ladder_n": next((n for n, lad, *_ in stages if lad), None),
            "ladder_estimate_s": LADDER_ESTIMATE_S,
            "deadline": min(self.deadline, time.time() + budget),
            "driver_cpus": driver_cpus,
        }

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
            measure_floor(self)
            self.redis = RedisServer(self.work).start()
            self.results["redis_version"] = redis_version()
            measure_stack(self, "memory-1p", "memory", 1)
            measure_stack(self, "redis-1p", "redis", 1)
            measure_stack(self, "redis-2p", "redis", 2)
            measure_stack(self, "redis-2p-spread", "redis", 2, spread=True)
            measure_stack(self, "uvicorn-redis-1p", "redis", 1, server="uvicorn")
            postgres_rows(self)
            measure_oauth(self)
            measure_polling(self)
            if os.environ.get("BENCH_PUBSUB") == "1":  # extra row (~65 s): RedisPubSubChannelLayer
                measure_stack(self, "pubsub-1p", "redis-pubsub", 1)
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


def main() -> None:
    sys.exit(Run().main())


if __name__ == "__main__":
    main()
