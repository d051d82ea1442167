"""The scaled-out topology without Docker: PostgreSQL, Redis, several Daphne processes and a
worker, all on loopback. Used by ``make run-scaled``, the topology test and the benchmark.

Every process is started here, remembered by PID and stopped by that PID; every wait is
bounded. PostgreSQL comes from the image's ``initdb``/``pg_ctl`` (run as the ``postgres``
user when we are root: initdb refuses root), Redis from Debian's ``redis-server``.

    python -m tests.helpers.topology --web 2        # serve until Ctrl-C, print the URLs
"""

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate, *, timeout: float, interval: float = 0.05, message: str = "condition"):
    """Poll ``predicate`` until it returns a truthy value; raise after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class Process:
    """A child process with a log file; stopped by its PID."""

    def __init__(
        self, args: list[str], *, env: dict[str, str] | None = None, log_path: Path, cwd: Path = ROOT
    ):
        self.args, self.env, self.log_path, self.cwd = args, env, log_path, cwd
        self.proc: subprocess.Popen | None = None

    def start(self) -> "Process":
        self._log = open(self.log_path, "ab")  # noqa: SIM115 (closed in stop)
        self.proc = subprocess.Popen(
            self.args, cwd=self.cwd, env=self.env, stdout=self._log, stderr=subprocess.STDOUT
        )
        return self

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig: int = signal.SIGTERM, *, timeout: float = 10) -> None:
        if self.alive():
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=timeout)
        if getattr(self, "_log", None):
            self._log.close()

    def kill(self) -> None:
        self.stop(signal.SIGKILL)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


class RedisServer:
    def __init__(self, workdir: Path, port: int | None = None):
        self.workdir, self.port = workdir, port or free_port()
        self.process: Process | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self, timeout: float = 2.0) -> redis.Redis:
        """A redis-py client for this server (a fresh one: the server may have restarted)."""
        return redis.Redis(
            host="127.0.0.1", port=self.port, socket_timeout=timeout, socket_connect_timeout=timeout
        )

    def ping(self) -> bool:
        try:
            with self.client(timeout=0.5) as client:
                return bool(client.ping())
        except redis.RedisError:
            return False

    def flush(self) -> None:
        with self.client() as client:
            client.flushall()

    def keys(self, pattern: str) -> int:
        """How many keys match ``pattern``."""
        with self.client() as client:
            return len(client.keys(pattern))

    def start(self) -> "RedisServer":
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError(
                "redis-server is not installed (make test installs it: apt-get install redis-server)"
            )
        self.process = Process(
            [
                binary,
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
                "--maxclients",
                "10000",
            ],
            log_path=self.workdir / f"redis-{self.port}.log",
        ).start()
        wait_until(self.ping, timeout=10, message=f"redis-server on {self.port}")
        return self

    def stop(self) -> None:
        if self.process:
            self.process.stop()
            wait_until(lambda: not self.ping(), timeout=5, message="redis-server to stop")

    def kill(self) -> None:
        if self.process:
            self.process.kill()


class PostgresServer:
    """A throwaway PostgreSQL cluster in a temp dir, listening on a free loopback port."""

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.datadir = Path(tempfile.mkdtemp(prefix="mpx-pg-"))
        self.as_postgres = os.geteuid() == 0

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/mpx"

    def _run(self, *args: str, timeout: float = 120) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if self.as_postgres else []
        done = subprocess.run([*prefix, *args], capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {done.stdout}\n{done.stderr}")

    def start(self) -> "PostgresServer":
        for tool in ("initdb", "pg_ctl"):
            if shutil.which(tool) is None:
                raise RuntimeError(f"{tool} not found (PostgreSQL 15 binaries)")
        if self.as_postgres:
            shutil.chown(self.datadir, "postgres", "postgres")
        pgdata = str(self.datadir / "data")
        self._run("initdb", "-D", pgdata, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        options = " ".join(
            [
                f"-p {self.port} -k {self.datadir}",
                "-c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off",
            ]
        )
        self._run(
            "pg_ctl", "-D", pgdata, "-o", options, "-l", str(self.datadir / "postgres.log"), "-w", "start"
        )
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "mpx")
        return self

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.datadir / "data"), "-m", "fast", "-w", "stop", timeout=60)
        finally:
            shutil.rmtree(self.datadir, ignore_errors=True)


def app_env(*, port: int, database_url: str, redis_url: str = "", **overrides: str) -> dict[str, str]:
    """The environment of one web/worker process (development profile, explicit URLs)."""
    keep = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "DARAJA_", "SIMULATOR_", "PAYMENTS_"))
    }
    env = {
        **keep,
        "DJANGO_SETTINGS_MODULE": "project.settings",
        "DJANGO_READ_DOT_ENV": "false",
        "DJANGO_DEBUG": "true",
        "DJANGO_LOG_LEVEL": "WARNING",
        "PORT": str(port),
        "DATABASE_URL": database_url,
        "DARAJA_QUERY_RATE": "",  # tests of the query rate limit set it themselves
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("REDIS_URL", None)
    if redis_url:
        env["REDIS_URL"] = redis_url
    env.update({k: str(v) for k, v in overrides.items()})
    return env


def manage(*args: str, env: dict[str, str], timeout: float = 180) -> str:
    done = subprocess.run(
        [PYTHON, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
    if done.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


class Daphne(Process):
    """One Daphne process serving project.asgi on 127.0.0.1:<port> (access log off: the app
    logs its own, with callback tokens redacted)."""

    def __init__(self, *, env: dict[str, str], port: int, log_path: Path):
        args = [
            PYTHON,
            "-m",
            "daphne",
            "-v",
            "0",
            "-e",
            f"tcp:port={port}:interface=127.0.0.1:backlog=1024",  # as make run and the Dockerfile
            "project.asgi:application",
        ]
        super().__init__(args, env=env, log_path=log_path)
        self.port = port
        self.name = "daphne"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, timeout: float = 30) -> "Daphne":
        super().start()

        def healthy():
            if not self.alive():
                raise RuntimeError(f"{self.name} on {self.port} exited early:\n{self.log()[-3000:]}")
            return _port_open(self.port) and _healthz(self.url)

        wait_until(healthy, timeout=timeout, interval=0.1, message=f"{self.name} :{self.port} /healthz")
        return self


def _healthz(url: str) -> bool:
    import httpx

    try:
        return httpx.get(url + "/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


class Worker(Process):
    def __init__(self, *, env: dict[str, str], log_path: Path, poll: float = 0.2):
        super().__init__(
            [PYTHON, "manage.py", "payments_worker", "--poll", str(poll)], env=env, log_path=log_path
        )


class Topology:
    """PostgreSQL + Redis + N Daphne processes (jobs off) + one worker.

    ``callback_host`` is where the simulator delivers callbacks (the first web process by
    default): any web process can take any callback, the channel layer carries the frame.
    """

    def __init__(self, workdir: Path, *, web: int = 2, **env: str):
        self.workdir = workdir
        self.web_ports = [free_port() for _ in range(web)]
        self.postgres = PostgresServer()
        self.redis = RedisServer(workdir)
        self.extra_env = env
        self.webs: list[Daphne] = []
        self.worker: Worker | None = None

    def env(self, port: int, **overrides: str) -> dict[str, str]:
        base = {
            "DARAJA_BASE_URL": f"http://127.0.0.1:{self.web_ports[0]}/simulator",
            "DARAJA_CALLBACK_BASE_URL": f"http://127.0.0.1:{self.web_ports[-1]}",
            "PAYMENTS_RUN_JOBS_IN_PROCESS": "false",
            "DATABASE_POOL_MAX": "10",
        }
        return app_env(
            port=port,
            database_url=self.postgres.url,
            redis_url=self.redis.url,
            **{**base, **self.extra_env, **overrides},
        )

    def start(self) -> "Topology":
        self.postgres.start()
        self.redis.start()
        manage("migrate", "--noinput", "-v", "0", env=self.env(self.web_ports[0]))
        for port in self.web_ports:
            self.webs.append(
                Daphne(env=self.env(port), port=port, log_path=self.workdir / f"daphne-{port}.log")
            )
        for web in self.webs:
            web.start()
        self.worker = Worker(env=self.env(self.web_ports[0]), log_path=self.workdir / "worker.log").start()
        return self

    def stop(self) -> None:
        for process in [self.worker, *self.webs]:
            if process is not None:
                process.stop()
        self.redis.stop()
        self.postgres.stop()


def main() -> None:  # pragma: no cover - an interactive entry point
    parser = argparse.ArgumentParser(description="Run the scaled topology on loopback without Docker.")
    parser.add_argument("--web", type=int, default=2, help="Daphne processes (default 2)")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="mpx-scaled-"))
    topo = Topology(workdir, web=args.web, DJANGO_LOG_LEVEL="INFO")
    topo.start()
    manage("seed_demo", env=topo.env(topo.web_ports[0]))
    lines = [f"  web {i + 1}: {w.url}/   (log: {w.log_path})" for i, w in enumerate(topo.webs)]
    sys.stdout.write(
        "Scaled topology up (PostgreSQL + Redis + {} Daphne + worker):\n{}\n  postgres: {}\n  redis: {}\n"
        "  log in as demo / demo; Ctrl-C stops everything.\n".format(
            len(topo.webs), "\n".join(lines), topo.postgres.url, topo.redis.url
        )
    )
    stop = {"now": False}
    signal.signal(signal.SIGTERM, lambda *_: stop.update(now=True))
    try:
        while not stop["now"]:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        topo.stop()


if __name__ == "__main__":
    main()
