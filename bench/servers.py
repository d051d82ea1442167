"""The processes a bench run starts and how: server environment, core pinning, Daphne with a
collector log, the reset between windows, and what to read back from a server."""

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import httpx

from tests.helpers.topology import PYTHON, Daphne, Worker, app_env
from tests.helpers.uvicorn import Uvicorn

from .config import N_LARGE, SPARE

STACK_RESET_SQL = [
    # Settled payments back to pending (as bench.seed created them), while the server idles.
    "UPDATE payments_payment SET status='pending', version=2, settled_by='', result_code='', "
    "result_desc='', receipt_number=NULL, transaction_date=NULL, paid_phone='', settled_at=NULL, "
    "flagged=false, review_reason='' WHERE status != 'pending'",
    "DELETE FROM frontend_ledgerentry",
    "DELETE FROM payments_paymentevent",
    "DELETE FROM payments_callbackrecord",
    "UPDATE frontend_wallet SET balance = 0",
]
SANDBOX_PASSKEY = "bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919"


def pin(pid: int, cpus: str) -> None:
    """Set the CPU affinity of every thread of ``pid`` (best effort)."""
    if shutil.which("taskset") and os.cpu_count() and os.cpu_count() >= 2:
        subprocess.run(["taskset", "-a", "-p", "-c", cpus, str(pid)], capture_output=True, check=False)


def taskset(cpus: str | None) -> list[str]:
    if cpus and shutil.which("taskset") and (os.cpu_count() or 1) >= 2:
        return ["taskset", "-c", cpus]
    return []


class BenchWorker(Worker):
    """``manage.py payments_worker`` as the topology test starts it, without Django's system
    checks: the bench's production profile points Daraja at a loopback simulator over plain
    HTTP, which the deploy checks refuse (payments.E001, E005); Daphne runs none."""

    def __init__(self, *, env: dict, log_path: Path, poll: float):
        super().__init__(env=env, log_path=log_path, poll=poll)
        self.args.append("--skip-checks")


class BenchServer(Daphne):
    """The ASGI server exactly as topology starts it (Daphne, or uvicorn for the uvicorn rows),
    through ``bench.serve`` (adds a GC pause log), optionally pinned to a core (``taskset``
    execs, so the PID is the server's)."""

    def __init__(
        self, *, env: dict, port: int, log_path: Path, cpus: str | None, gc_log: Path, server: str = "daphne"
    ):
        kind = Uvicorn if server == "uvicorn" else Daphne
        plain = kind(env={**env, "BENCH_GC_LOG": str(gc_log)}, port=port, log_path=log_path)
        super().__init__(env=plain.env, port=port, log_path=log_path)
        assert plain.args[1] == "-m" and plain.args[2] == server
        self.name = server
        self.args = [*taskset(cpus), PYTHON, "-m", "bench.serve", *plain.args[2:]]
        self.gc_log = gc_log


def stack_env(
    *,
    port: int,
    db: Path | str,
    redis_url: str = "",
    layer: str = "memory",
    database_url: str | None = None,
    **extra,
) -> dict:
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
    database_url = database_url or f"sqlite:///{db}"
    return app_env(port=port, database_url=database_url, redis_url=redis_url, **env)


def healthz(url: str) -> bool:
    try:
        return httpx.get(url + "/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def errors_in(text: str) -> list[str]:
    lines = [
        line for line in text.splitlines() if "ERROR" in line or "Traceback" in line or "WARNING" in line
    ]
    return lines[-5:]


def redis_version() -> str:
    try:
        return subprocess.run(
            ["redis-server", "--version"], capture_output=True, text=True, timeout=5
        ).stdout.strip()
    except Exception:  # noqa: BLE001
        return "?"


def reset_database(db: str, statements: list[str]) -> None:
    """Put the bench database back between windows: ``db`` is a SQLite path or a PostgreSQL
    URL (the PostgreSQL rows)."""
    if db.startswith("postgres"):
        import psycopg  # only the PostgreSQL rows need it

        with psycopg.connect(db.replace("postgres://", "postgresql://", 1)) as connection:
            for statement in statements:
                connection.execute(statement)
        return
    connection = sqlite3.connect(db, timeout=30)
    try:
        for statement in statements:
            connection.execute(statement)
        connection.commit()
    finally:
        connection.close()
