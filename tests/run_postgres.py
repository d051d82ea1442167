"""Run the ``postgres``-marked tests on a real PostgreSQL started for the occasion.

    python -m tests.run_postgres [extra pytest args]

The concurrency rows (L1-L6, F5, two reconcilers) then meet row locks, SKIP LOCKED and
READ COMMITTED instead of SQLite's single writer. The cluster is stopped (by pg_ctl) and its
data directory deleted afterwards, whatever the outcome.
"""

import os
import subprocess
import sys

from tests.helpers.topology import ROOT, PostgresServer


def main() -> int:
    postgres = PostgresServer().start()
    try:
        env = {**os.environ, "DATABASE_URL": postgres.url, "DATABASE_POOL": "false"}
        command = [sys.executable, "-m", "pytest", "-m", "postgres", "-p", "no:cacheprovider", *sys.argv[1:]]
        return subprocess.run(command, cwd=ROOT, env=env, timeout=1800).returncode
    finally:
        postgres.stop()


if __name__ == "__main__":
    sys.exit(main())
