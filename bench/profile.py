"""Where our stack's CPU goes per callback: ``py-spy`` samples one server process (Daphne) while the
load generator sends callbacks at a fixed rate to N open sockets (not part of ``make bench``;
it takes ~1 minute).

    python -m bench.profile                          # redis-1p, N=1000, 40/s for 15 s
    python -m bench.profile --layer memory --rate 25 --n 1000 --seconds 15
    python -m bench.profile --server uvicorn         # the same application under uvicorn

Prints the top functions by own samples and by inclusive samples, inclusive shares by
component (asgiref bridge, Django request, ORM, sqlite3, channels, redis, logging, payments),
and writes the raw collapsed stacks (flamegraph input) next to the results.
"""

import argparse
import collections
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from tests.helpers.topology import RedisServer, free_port

from .config import CPU_SERVER, RESULTS, log
from .run import Run
from .servers import STACK_RESET_SQL, pin, stack_env

# Non-blocking sampling: blocking mode stalls Daphne for seconds (p99 23 s in a trial run).
# py-spy's idle detection does not work in this container, so samples whose innermost frame
# is a wait are dropped here (IDLE_LEAVES) and the rest are the busy samples.
PYSPY_MODE = ["--nonblocking"]
IDLE_LEAVES = re.compile(
    r"^(EpollSelector\.select|Condition\.wait|Event\.wait|Thread\._wait_for_tstate_lock|"
    r"_worker \(concurrent/futures/thread\.py:81\)|SimpleQueue\.get|Queue\.get|select |"
    r"_PollLikeSelector\.select)"
)
COMPONENTS = [  # (name, regex on "function (file:line)"), first match wins for "own" time
    ("sqlite3 (C calls from the ORM)", r"\(.*django/db/backends/sqlite3/"),
    ("Django ORM (query building, models)", r"\(.*django/db/"),
    ("asgiref sync<->async bridge", r"\(.*asgiref/"),
    ("channels_redis", r"\(.*channels_redis/"),
    ("redis-py", r"\(.*/redis/"),
    ("channels (consumers, layers, auth)", r"\(.*/channels/"),
    (
        "Django request/response + middleware",
        r"\(.*django/(core|middleware|contrib|http|utils|urls|views|dispatch)/",
    ),
    (
        "logging (stdlib, python-json-logger, mpesa_plumbing.logs)",
        r"\(.*(/logging/__init__|pythonjsonlogger|mpesa_plumbing/logs)",
    ),
    ("json", r"\(.*/json/"),
    ("Daphne / Twisted / autobahn", r"\(.*(/daphne/|/twisted/|/autobahn/|/txaio/)"),
    ("uvicorn / httptools / websockets", r"\(.*(/uvicorn/|/httptools/|/websockets/)"),
    ("msgpack", r"msgpack"),
    ("payments + mpesa_plumbing (product code)", r"\(.*/(payments|mpesa_plumbing)/"),
    ("asyncio event loop", r"\(.*/asyncio/"),
    ("threading / concurrent.futures", r"\(.*(/threading|/concurrent/)"),
]


# Exclusive attribution: the first rule (in this order) that matches ANY frame of a busy
# stack names the sample's category, so the shares sum to 100% and product call sites win
# over the library frames they run (an ORM query inside callback_store counts there).
ATTRIBUTION = [
    (
        "SQLite connection open (per request: connect, PRAGMAs, register functions)",
        r"^DatabaseWrapper\.get_new_connection |^BaseDatabaseWrapper\.connect |"
        r"^BaseDatabaseWrapper\.ensure_connection ",
    ),
    ("SQLite connection close (per request)", r"^BaseDatabaseWrapper\._close |^BaseDatabaseWrapper\.close "),
    (
        "logging (records, JSON formatter, mask filter, write)",
        r"^Logger\._log |^Logger\.handle |^Logger\.info |^Logger\.warning ",
    ),
    ("channel layer (channels_redis / redis-py / in-memory)", r"channels_redis|\(redis/|channels/layers\.py"),
    (
        "broadcast (payload in each language, group_send from the DB thread, BROADCAST event INSERT)",
        r"^broadcast_payment_status ",
    ),
    (
        "after-commit hook, rest (read the committed payment and payable, signal)",
        r"push_status \(",
    ),
    ("callback_store (payment lookup + raw CallbackRecord INSERT)", r"^callback_store "),
    (
        "payment_apply_result (settle txn: CAS UPDATE, event, wallet UPDATE+SELECT, ledger INSERT)",
        r"^payment_apply_result ",
    ),
    ("_finish (CallbackRecord UPDATE + callback PaymentEvent INSERT)", r"^_finish "),
    ("parse_stk_callback (JSON + validation)", r"^parse_stk_callback "),
    ("callback_process, rest (payment read in the transaction, BEGIN/COMMIT)", r"^callback_process "),
    (
        "callback door (bounded JSON read, token HMAC, IP check, answer)",
        r"^answer_callback |^CallbackEndpoint|^_token_safe_logging",
    ),
    (
        "WebSocket consumer + server frame out",
        r"PaymentStatusConsumer|AsyncJsonWebsocketConsumer|WebsocketConsumer|\(daphne/ws_protocol|autobahn"
        r"|\(uvicorn/protocols/websockets|\(websockets/",
    ),
    (
        "WebSocket handshake / auth (not expected during the window)",
        r"AuthMiddleware|SessionMiddleware \(channels|OriginValidator",
    ),
    (
        "Django, no product caller in the sample (ORM row building, converters, SQLite execute)",
        r"\(django/",
    ),
    ("ASGI wrappers (access log, body limit; mpesa_plumbing/asgi.py)", r"\(mpesa_plumbing/asgi"),
    ("asgiref sync<->async hops (thread per request, futures)", r"\(asgiref/|\(concurrent/"),
    (
        "event-loop thread: server HTTP (Daphne/Twisted or uvicorn), asyncio scheduling, transport writes",
        r"\(daphne/|\(twisted/|\(uvicorn/|\(httptools/|\(asyncio/|selectors\.py",
    ),
]


def analyse(raw: Path, callbacks: int, top: int = 25) -> dict:
    own: collections.Counter = collections.Counter()
    inclusive: collections.Counter = collections.Counter()
    comp_incl: collections.Counter = collections.Counter()
    comp_own: collections.Counter = collections.Counter()
    attribution: collections.Counter = collections.Counter()
    total = idle = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = stack.split(";")
        if frames and frames[0].startswith(("process ", "thread ")):
            frames = [f for f in frames if not f.startswith(("process ", "thread "))]
        if not frames:
            continue
        if IDLE_LEAVES.match(frames[-1]):
            idle += n
            continue
        total += n
        own[frames[-1]] += n
        for f in set(frames):
            inclusive[f] += n
        hit = set()
        for name, pattern in COMPONENTS:
            if any(re.search(pattern, f) for f in frames):
                hit.add(name)
        for name in hit:
            comp_incl[name] += n
        name = next(
            (name for name, pattern in ATTRIBUTION if any(re.search(pattern, f) for f in frames)), "other"
        )
        attribution[name] += n
        for name, pattern in COMPONENTS:
            if re.search(pattern, frames[-1]):
                comp_own[name] += n
                break
        else:
            comp_own["other (C builtins, stdlib)"] += n

    def pct(c):
        return round(100 * c / total, 1) if total else 0.0

    return {
        "samples": total,
        "idle_samples_dropped": idle,
        "callbacks": callbacks,
        "top_own": [(f, pct(c)) for f, c in own.most_common(top)],
        "top_inclusive": [(f, pct(c)) for f, c in inclusive.most_common(top * 2)],
        "components_inclusive": [(k, pct(v)) for k, v in comp_incl.most_common()],
        "components_own": [(k, pct(v)) for k, v in comp_own.most_common()],
        "attribution": [(k, pct(v)) for k, v in attribution.most_common()],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--layer", default="redis", choices=["memory", "redis", "redis-pubsub"])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=40)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--sample-rate", type=int, default=200)
    parser.add_argument("--server", default="daphne", choices=["daphne", "uvicorn"])
    args = parser.parse_args()
    pyspy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")

    run = Run()
    run.make_template()
    db = run.fresh_db("profile")
    redis = RedisServer(run.work).start() if args.layer != "memory" else None
    port = free_port()
    env = stack_env(
        port=port,
        db=db,
        redis_url=redis.url if redis else "",
        layer=args.layer,
        PAYMENTS_RUN_JOBS_IN_PROCESS="false",
    )
    web = run.web_server("profile", env=env, port=port, cpus=CPU_SERVER, server=args.server)
    if redis:
        pin(redis.process.pid, "1")
    marker = run.work / "fixed.started"
    raw = RESULTS / f"profile-{args.layer}.collapsed.txt"
    try:
        spec = run.push_spec(
            label="profile",
            stages=[(args.n, False, 30, 60)],
            fixtures=run.fixtures,
            session=run.session_key,
            ws_port=port,
            cb_port=port,
            db=db,
            reset_sql=STACK_RESET_SQL,
            rss_pid=web.pid,
            cpu_pids={"server": web.pid, **({"redis": redis.process.pid} if redis else {})},
            gc_logs=[web.gc_log],
            ladder=[],
            budget=args.seconds + 120,
        )
        spec["fixed_rate"], spec["fixed_seconds"], spec["marker_file"] = args.rate, args.seconds, str(marker)
        spec_path = run.work / "profile.spec.json"
        spec_path.write_text(json.dumps(spec))
        out_path = run.work / "profile.result.json"
        driver = subprocess.Popen(
            ["taskset", "-c", "1", sys.executable, "-m", "bench.loadgen", str(spec_path), str(out_path)]
        )
        deadline = time.time() + 120
        while not marker.exists() and driver.poll() is None and time.time() < deadline:
            time.sleep(0.05)
        log(f"sampling {args.server} {web.pid} for {args.seconds * 0.9:.0f}s")
        subprocess.run(
            [
                pyspy,
                "record",
                "-p",
                str(web.pid),
                "-r",
                str(args.sample_rate),
                "-d",
                str(int(args.seconds * 0.9)),
                "-f",
                "raw",
                "-o",
                str(raw),
                *PYSPY_MODE,
            ],
            capture_output=True,
            timeout=args.seconds + 60,
            check=False,
        )
        driver.wait(timeout=args.seconds + 120)
        result = json.loads(out_path.read_text())
    finally:
        run.stop_all()
        if redis:
            redis.stop()
    fixed = result["stages"][0]["fixed"]
    report = analyse(raw, int(fixed["count"] * 0.9))
    report.update(layer=args.layer, n=args.n, rate=args.rate, fixed=fixed)
    (RESULTS / f"profile-{args.layer}.json").write_text(json.dumps(report, indent=1))
    lat = fixed["latency"]
    print(
        f"profile: layer={args.layer} N={args.n} {args.rate}/s for {args.seconds}s; p50 {lat['p50_ms']:.1f} "
        f"p99 {lat['p99_ms']:.1f} ms; server CPU {fixed['server_cpu_ms_per_callback']:.2f} ms/callback; "
        f"{report['samples']} samples"
    )
    system = sum(v for k, v in fixed.get("system_cpu_s", {}).items() if k != "redis")
    total_cpu = sum(v for k, v in fixed["cpu_s"].items() if k != "redis")
    if total_cpu:
        print(f"kernel (system) share of the server's CPU: {100 * system / total_cpu:.0f}%")
    per_cb = total_cpu * 1000 / max(1, fixed["count"])
    print(f"\nWhere the CPU per callback goes ({per_cb:.2f} ms/callback; % of busy samples, exclusive):")
    for name, p in report["attribution"]:
        print(f"  {p:5.1f}%  ~{per_cb * p / 100:5.2f} ms  {name}")
    print("\nComponents, inclusive % of busy samples (overlapping):")
    for name, p in report["components_inclusive"]:
        print(f"  {p:5.1f}%  {name}")
    print("\nComponents, own % (where the CPU actually is; sums to 100):")
    for name, p in report["components_own"]:
        print(f"  {p:5.1f}%  {name}")
    print("\nTop functions by own samples:")
    for f, p in report["top_own"]:
        print(f"  {p:5.1f}%  {f}")
    print("\nTop functions by inclusive samples:")
    for f, p in report["top_inclusive"]:
        print(f"  {p:5.1f}%  {f}")


if __name__ == "__main__":
    main()
