"""The PostgreSQL rows: the scaled-out deployment's database, started by the bench like the
topology test starts it (``initdb``/``pg_ctl`` on loopback, ``fsync=off`` as there: the rows
compare CPU and latency, not disk flushes).

One migrated and seeded template database; each row gets ``CREATE DATABASE … TEMPLATE`` (a
file copy inside the server, a second or two) and runs 1,000 sockets, the fixed window and the
rate ladder, with the Redis layer: one process, and two behind a balancer.
"""

import json
import subprocess

import psycopg

from tests.helpers.topology import PYTHON, ROOT, PostgresServer, manage

from .config import N_LARGE, SPARE, log
from .servers import stack_env
from .stack_rows import measure_stack

ROWS = (("pg-redis-1p", 1, False), ("pg-redis-2p-spread", 2, True))
SETUP_ESTIMATE_S = 25  # initdb, start, migrate, seed 5,040 payments


def _admin(server: PostgresServer) -> psycopg.Connection:
    return psycopg.connect(server.url.replace("postgres://", "postgresql://", 1), autocommit=True)


def postgres_rows(run) -> None:
    if not run.fits("postgres", SETUP_ESTIMATE_S + 2 * (30 + 35)):
        return
    server = run.postgres = PostgresServer().start()
    base = server.url.rsplit("/", 1)[0]
    with _admin(server) as admin:
        admin.execute('CREATE DATABASE "bench_template"')
    template_url = f"{base}/bench_template"
    env = stack_env(port=8000, db="", database_url=template_url, SIMULATOR_ENABLED="true")
    manage("migrate", "--noinput", "-v", "0", "--skip-checks", env=env)
    fixtures = run.work / "pg-fixtures.json"
    subprocess.run(
        [PYTHON, "-m", "bench.seed", "--n", str(N_LARGE + SPARE), "--out", str(fixtures)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=True,
    )
    session = json.loads(fixtures.read_text())["session_key"]
    log(f"postgres: template database ready on port {server.port}")
    for config, processes, spread in ROWS:
        name = config.replace("-", "_")
        with _admin(server) as admin:
            admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "bench_template"')
        database = {"url": f"{base}/{name}", "fixtures": fixtures, "session": session}
        measure_stack(run, config, "redis", processes, spread=spread, database=database)
