"""The floor rows, started on the server's core and driven by the same load generator, in the
same run as our stack: ``floor`` (``bench.floor``: raw websockets + aiohttp, no Django), and
``floor-daphne`` (``bench.floor_asgi``: the same job as a bare ASGI application under Daphne,
1,000 sockets and the ladder), which splits our distance from the floor into Daphne's share
and the application's."""

import json
import os

from tests.helpers.topology import PYTHON, Process, free_port, wait_until

from .config import CPU_SERVER, FLOOR_LADDER, N_LARGE, N_SMALL, SERVER_FLOOR_LADDER, SPARE, log
from .floor import RESET_SQL as FLOOR_RESET_SQL
from .floor import seed as floor_seed
from .servers import healthz, taskset


def measure_floor(run) -> None:
    """Both floor rows, on one floor database (reset between them)."""
    db = run.work / "floor.sqlite3"
    fixtures = run.work / "floor-fixtures.json"
    fixtures.write_text(json.dumps(floor_seed(str(db), N_LARGE + SPARE)))
    http_port, ws_port = free_port(), free_port()
    command = ["-m", "bench.floor", "--db", str(db), "--http-port", str(http_port), "--ws-port", str(ws_port)]
    _floor_row(run, "floor", command, {}, db, fixtures, http_port, ws_port, stages=2, ladder=FLOOR_LADDER)
    port = free_port()
    endpoint = f"tcp:port={port}:interface=127.0.0.1:backlog=1024"  # as topology's Daphne
    command = ["-m", "daphne", "-v", "0", "-e", endpoint, "bench.floor_asgi:application"]
    env = {"FLOOR_DB": str(db)}
    _floor_row(
        run, "floor-daphne", command, env, db, fixtures, port, port, stages=1, ladder=SERVER_FLOOR_LADDER
    )


def _floor_row(run, name, command, env, db, fixtures, http_port, ws_port, *, stages, ladder) -> None:
    if not run.fits(name, 30):
        return
    proc = run.start(
        Process(
            [*taskset(CPU_SERVER), PYTHON, *command],
            env={**os.environ, **env} if env else None,
            log_path=run.work / f"{name}.log",
        )
    )
    wait_until(lambda: healthz(f"http://127.0.0.1:{http_port}"), timeout=20, message=f"{name} /healthz")
    log(f"{name}: pid {proc.pid}")
    spec = run.push_spec(
        label=name,
        stages=[(N_SMALL, True, 15, 30), (N_LARGE, False, 20, 40)][:stages],
        fixtures=fixtures,
        session=json.loads(fixtures.read_text())["session_key"],
        ws_port=ws_port,
        cb_port=http_port,
        db=db,
        reset_sql=[FLOOR_RESET_SQL],
        rss_pid=proc.pid,
        cpu_pids={"server": proc.pid},
        gc_logs=[],
        ladder=ladder,
        budget=90,
    )
    run.record(name, {"processes": 1}, run.driver(spec, name))
    run.stop(proc)
