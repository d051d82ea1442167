"""One callback's CPU with no server: the whole ASGI application (``project.asgi``: access log,
body limit, the callback door, the database bridge, settlement, the after-commit push to the
embedded layer) driven in-process, one callback after another, in the production profile
(JSON logs at INFO, to a file). Not part of ``make bench``; a quicker, quieter figure for one
step of work than a server run (about 30 s):

    .venv/bin/python -m bench.inprocess              # 1,500 callbacks, pinned to one core
    .venv/bin/python -m bench.inprocess --n 500 --no-pin

Prints CPU per callback for the process and the share spent inside ``callback_receive`` on
the database thread (the rest: the door, the hops, the event loop, the push).

    .venv/bin/python -m bench.inprocess --sockets 500   # the application's memory per socket
    .venv/bin/python -m bench.inprocess --sockets 500 --where 12   # and where it is held

``--sockets N`` opens N checkout sockets through the same application instead (handshake,
session user, owner check, snapshot frame) and prints what they hold, by ``tracemalloc``,
less what the same harness holds for an application that only accepts and waits (its scope,
closures and task stand in for Daphne's, whose own per-connection objects are not in it).
``--where K`` adds the K largest allocation sites of the application's pass, in bytes held
per socket, each with five of its callers (one site per call chain, so a line reached by
several chains is listed for each; the harness's own scope, closures and task are among them,
not subtracted as they are from the total).

    .venv/bin/python -m bench.inprocess --instructions    # machine instructions per callback
    .venv/bin/python -m bench.inprocess --n 300 --cprofile /tmp/cb.prof   # where they go

``--instructions`` runs the child twice under valgrind's callgrind (60 and 260 callbacks after
the same warm-up) and prints the difference in instructions executed per callback: a count,
not a time, so it moves little with the machine's load (runs of one tree differ by up to
about 2 %: the threads' interleaving still varies; about 4 minutes; needs ``apt-get install
valgrind``, which ``make test`` does not install).
``--cprofile FILE`` profiles ``callback_receive`` on the database thread (what the door's
thread runs for each callback) and prints its top functions.
"""

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.helpers.topology import PYTHON, ROOT, manage

from .servers import stack_env, taskset

WARMUP = 50
INSTRUCTION_RUNS = (60, 260)  # callbacks measured in the two callgrind runs


def _setup(fixtures_path: str):
    """Django set up in this child: the application, the scope builder and the fixtures."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    import django

    django.setup()
    from project.asgi import application
    from tests.helpers.asgi import asgi_scope

    return application, asgi_scope, json.loads(Path(fixtures_path).read_text())


def _sockets_child(fixtures_path: str, n: int, where: int = 0) -> None:
    """Open ``n`` sockets after a warm-up and measure what they hold; ``where``: also return
    the largest allocation sites per socket of the application's pass (in the result)."""
    import gc
    import tracemalloc

    application, asgi_scope, fixtures = _setup(fixtures_path)
    cookie = f"sessionid={fixtures['session_key']}".encode()
    held, sites = [], []

    async def parked(scope, receive, send) -> None:  # the baseline: accept, one frame, wait
        await receive()
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.send", "text": "{}"})
        await receive()

    async def open_socket(payment: dict, app=application) -> None:
        loop = asyncio.get_running_loop()
        snapshot, never = loop.create_future(), loop.create_future()
        path = f"/ws/payments/{payment['public_id']}/"
        scope = asgi_scope(
            "websocket",
            path,
            host=b"127.0.0.1:8999",
            headers=[(b"origin", b"http://127.0.0.1:8999"), (b"cookie", cookie)],
            client=("127.0.0.1", 40000),
            server=("127.0.0.1", 8999),
        )
        messages = iter([{"type": "websocket.connect"}])

        async def receive():
            return next(messages, None) or await never

        async def send(message):
            if not snapshot.done() and message["type"] in ("websocket.send", "websocket.close"):
                snapshot.set_result(message["type"])

        held.append(asyncio.ensure_future(app(scope, receive, send)))
        if await snapshot != "websocket.send":
            raise RuntimeError("socket refused")

    async def held_per_socket(app, payments: list[dict]) -> float:
        gc.collect()
        before = tracemalloc.take_snapshot()
        for payment in payments:
            await open_socket(payment, app)
        await asyncio.sleep(0.2)
        gc.collect()
        stats = tracemalloc.take_snapshot().compare_to(before, "traceback")
        if app is application:
            sites.extend(_sites(stats, len(payments), where))
        return sum(stat.size_diff for stat in stats) / len(payments)

    async def main() -> dict:
        payments = fixtures["payments"]
        for payment in payments[:WARMUP]:
            await open_socket(payment)
        tracemalloc.start(6 if where else 1)
        harness = await held_per_socket(parked, payments[WARMUP : WARMUP + n])
        total = await held_per_socket(application, payments[WARMUP : WARMUP + n])
        return {"sockets": n, "kb_per_socket": round((total - harness) / 1024, 2), "sites": sites}

    sys.stdout.write(json.dumps(asyncio.run(main())) + "\n")


def _sites(stats, sockets: int, top: int) -> list[str]:
    """The ``top`` allocation sites by bytes held per socket, each with its callers."""
    lines = []
    for stat in sorted(stats, key=lambda stat: -stat.size_diff)[:top]:
        frames = " < ".join(
            f"{Path(frame.filename).name}:{frame.lineno}" for frame in reversed(stat.traceback)
        )
        lines.append(f"{stat.size_diff / sockets:6.0f} B {stat.count_diff / sockets:5.2f} blocks  {frames}")
    return lines


def _child(fixtures_path: str, measure: int, profile_path: str | None) -> None:
    application, asgi_scope, fixtures = _setup(fixtures_path)
    import cProfile

    import payments.http.callback as door

    inside = [0.0]
    receive_callback = door.callback_receive
    profile = cProfile.Profile() if profile_path else None

    def timed(**kwargs):
        started = time.thread_time()
        if profile is not None and measuring[0]:
            profile.enable()
        try:
            return receive_callback(**kwargs)
        finally:
            if profile is not None:
                profile.disable()
            inside[0] += time.thread_time() - started

    door.callback_receive = timed  # measured only: the same function runs

    async def call(path: str, body: bytes) -> None:
        scope = asgi_scope(
            "http",
            path,
            host=b"127.0.0.1:8999",
            headers=[(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
            client=("127.0.0.1", 40000),
            server=("127.0.0.1", 8999),
        )
        sent, answers = [False], []

        async def receive():
            if not sent[0]:
                sent[0] = True
                return {"type": "http.request", "body": body, "more_body": False}
            return {"type": "http.disconnect"}

        async def send(message):
            answers.append(message)

        await application(scope, receive, send)
        if answers[0]["status"] != 200:
            raise RuntimeError(f"callback answered {answers[0]['status']}: {answers}")

    measuring = [False]

    async def main() -> dict:
        payments = fixtures["payments"]
        for payment in payments[:WARMUP]:
            await call(payment["callback_path"], payment["body"].encode())
        measured = payments[WARMUP : WARMUP + measure] if measure else payments[WARMUP:]
        inside[0], measuring[0] = 0.0, True
        cpu, wall = time.process_time(), time.perf_counter()
        for payment in measured:
            await call(payment["callback_path"], payment["body"].encode())
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        if profile is not None:
            profile.dump_stats(profile_path)
        n = len(measured)
        return {
            "callbacks": n,
            "cpu_ms_per_callback": round(1000 * cpu / n, 2),
            "wall_ms_per_callback": round(1000 * wall / n, 2),
            "callback_receive_ms": round(1000 * inside[0] / n, 2),
        }

    sys.stdout.write(json.dumps(asyncio.run(main())) + "\n")


def _instructions(out_path: Path) -> int:
    """The total of instructions executed that a callgrind output file records."""
    for line in out_path.read_text().splitlines():
        if line.startswith(("summary:", "totals:")):
            return int(line.split()[1])
    raise RuntimeError(f"no instruction total in {out_path}")


def _database_files(source: Path, target: Path, names: list[str] | None = None) -> list[str]:
    """Copy an SQLite database (with its -wal and -shm files) from ``source`` to ``target``."""
    suffixes = (
        names if names is not None else [s for s in ("", "-wal", "-shm") if Path(f"{source}{s}").exists()]
    )
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    for suffix in suffixes:
        shutil.copyfile(f"{source}{suffix}", f"{target}{suffix}")
    return suffixes


def _print_profile(path: str, top: int = 25) -> None:
    import pstats

    stats = pstats.Stats(path, stream=sys.stdout)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1500)
    parser.add_argument("--no-pin", action="store_true", help="do not pin to one core")
    parser.add_argument("--sockets", type=int, default=0, help="measure memory per socket instead")
    parser.add_argument(
        "--where", type=int, default=0, metavar="K", help="with --sockets: the K largest sites"
    )
    parser.add_argument("--instructions", action="store_true", help="instructions per callback (valgrind)")
    parser.add_argument("--cprofile", metavar="FILE", help="profile callback_receive into FILE")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--measure", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.where and (args.where < 0 or not args.sockets):
        parser.error("--where K takes a positive K, with --sockets N")
    if args.child:
        if args.sockets:
            return _sockets_child(args.child, args.sockets, args.where)
        return _child(args.child, args.measure, args.cprofile)
    if args.sockets:
        args.n = args.sockets
    if args.instructions:
        if shutil.which("valgrind") is None:
            sys.exit("--instructions counts with valgrind's callgrind: apt-get install valgrind")
        args.n = INSTRUCTION_RUNS[-1]
    with tempfile.TemporaryDirectory(prefix="mpx-inprocess-") as work:
        work = Path(work)
        env = stack_env(port=8999, db=work / "db.sqlite3")
        manage("migrate", "--noinput", "-v", "0", "--skip-checks", env=env)
        fixtures = work / "fixtures.json"
        seed = [PYTHON, "-m", "bench.seed", "--n", str(args.n + WARMUP), "--out", str(fixtures)]
        subprocess.run(seed, cwd=ROOT, env=env, check=True, capture_output=True, timeout=300)
        child = [PYTHON, "-m", "bench.inprocess", "--child", str(fixtures)]
        if args.sockets:
            child += ["--sockets", str(args.sockets), "--where", str(args.where)]
        if args.cprofile:
            child += ["--cprofile", str(Path(args.cprofile).resolve())]
        pin = [] if args.no_pin else taskset("0")
        if args.instructions:
            counts, seeded = [], _database_files(work / "db.sqlite3", work / "seeded")
            for runs in INSTRUCTION_RUNS:
                _database_files(work / "seeded", work / "db.sqlite3", seeded)  # each run from the seed
                out = work / f"callgrind.{runs}"
                valgrind = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"]
                _run_child(work, [*valgrind, *child, "--measure", str(runs)], {**env, "PYTHONHASHSEED": "0"})
                counts.append(_instructions(out))
            per = (counts[1] - counts[0]) / (INSTRUCTION_RUNS[1] - INSTRUCTION_RUNS[0])
            sys.stdout.write(
                f"in-process, callgrind: {per / 1e6:.2f} M instructions per callback "
                f"({INSTRUCTION_RUNS[1]} callbacks less {INSTRUCTION_RUNS[0]}: "
                f"{counts[1]:,} - {counts[0]:,})\n"
            )
            return None
        result = _run_child(work, [*pin, *child], env)
        if args.sockets:
            sys.stdout.write(
                f"in-process, {result['sockets']} idle checkout sockets: "
                f"{result['kb_per_socket']} KB per socket held by the application\n"
            )
            if result["sites"]:
                sys.stdout.write("largest allocation sites held per socket (innermost first):\n")
                sys.stdout.write("".join(f"  {line}\n" for line in result["sites"]))
            return None
        sys.stdout.write(
            f"in-process, {result['callbacks']} callbacks one after another: "
            f"{result['cpu_ms_per_callback']} ms CPU per callback "
            f"({result['callback_receive_ms']} ms in callback_receive on the database thread), "
            f"{result['wall_ms_per_callback']} ms wall\n"
        )
        if args.cprofile:
            _print_profile(args.cprofile)


def _run_child(work: Path, command: list[str], env: dict) -> dict:
    with open(work / "server.log", "wb") as log:
        done = subprocess.run(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=log, timeout=900)
    if done.returncode != 0:
        sys.exit(f"in-process run failed:\n{(work / 'server.log').read_text()[-3000:]}")
    return json.loads(done.stdout)


if __name__ == "__main__":
    main()
