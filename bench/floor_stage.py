"""The floor row: ``bench.floor`` (raw websockets + aiohttp, no Django) started on the server's
core and driven by the same load generator, in the same run as our stack."""

import json

from tests.helpers.topology import PYTHON, Process, free_port, wait_until

from .config import CPU_SERVER, FLOOR_LADDER, N_LARGE, N_SMALL, SPARE, log
from .floor import RESET_SQL as FLOOR_RESET_SQL
from .floor import seed as floor_seed
from .servers import healthz, taskset


def measure_floor(run) -> None:
    """The floor row, measured by the same load generator as our stack."""
    db = run.work / "floor.sqlite3"
    fixtures = run.work / "floor-fixtures.json"
    fixtures.write_text(json.dumps(floor_seed(str(db), N_LARGE + SPARE)))
    session = json.loads(fixtures.read_text())["session_key"]
    name = "floor"
    if not run.fits(name, 30):
        return
    http_port, ws_port = free_port(), free_port()
    proc = run.start(
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
            log_path=run.work / "floor.log",
        )
    )
    wait_until(lambda: healthz(f"http://127.0.0.1:{http_port}"), timeout=20, message="floor /healthz")
    log(f"floor: pid {proc.pid}")
    spec = run.push_spec(
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
    run.record("floor", {"processes": 1}, run.driver(spec, name))
    run.stop(proc)
