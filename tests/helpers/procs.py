"""Real processes on loopback for tests: Daphne (our ASGI app) and friends.

Every process is started by the test, found by its PID, and stopped by that PID; every wait
is bounded in time.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate, *, timeout: float, interval: float = 0.05, message: str = "condition"):
    """Poll ``predicate`` until it returns a truthy value; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)


def server_env(*, port: int, db_path: Path, **overrides: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "DARAJA_", "SIMULATOR_", "PAYMENTS_"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="project.settings",
        DJANGO_READ_DOT_ENV="false",
        DJANGO_DEBUG="true",
        DJANGO_LOG_LEVEL="WARNING",
        PORT=str(port),
        DATABASE_URL=f"sqlite:///{db_path}",
        PYTHONUNBUFFERED="1",
    )
    env.pop("REDIS_URL", None)
    env.pop("DATABASE_URL", None) if "DATABASE_URL" in overrides else None
    env.update({k: str(v) for k, v in overrides.items()})
    return env


def manage(*args: str, env: dict[str, str], timeout: float = 120) -> str:
    done = subprocess.run(
        [PYTHON, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
    if done.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


class DaphneServer:
    """One Daphne process serving project.asgi on 127.0.0.1:<port>."""

    def __init__(self, *, env: dict[str, str], port: int, log_path: Path):
        self.env, self.port, self.log_path = env, port, log_path
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, timeout: float = 30) -> "DaphneServer":
        log = open(self.log_path, "ab")  # noqa: SIM115 (closed with the process)
        self.proc = subprocess.Popen(
            [PYTHON, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port), "project.asgi:application"],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self._log = log

        def healthy():
            if self.proc.poll() is not None:
                raise RuntimeError(f"daphne exited early:\n{self.log_path.read_text()[-3000:]}")
            try:
                return httpx.get(self.url + "/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(healthy, timeout=timeout, interval=0.1, message="daphne /healthz")
        return self

    def stop(self, sig: int = signal.SIGTERM, *, timeout: float = 10) -> None:
        if self.proc and self.proc.poll() is None:
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
        return self.log_path.read_text(errors="replace")


class WebClient:
    """A logged-in customer talking to a live server over HTTP (session + CSRF cookies)."""

    def __init__(self, base_url: str):
        self.http = httpx.Client(base_url=base_url, timeout=30, follow_redirects=False)

    def login(self, username: str, password: str) -> "WebClient":
        self.credentials = (username, password)
        self.http.get("/accounts/login/")
        response = self.http.post(
            "/accounts/login/",
            data={"username": username, "password": password, "csrfmiddlewaretoken": self.csrf},
        )
        assert response.status_code == 302, response.text[:500]
        return self

    @property
    def csrf(self) -> str:
        return self.http.cookies.get("csrftoken", "")

    def post_json(self, path: str, data: dict, **headers: str) -> httpx.Response:
        return self.http.post(path, json=data, headers={"X-CSRFToken": self.csrf, **headers})

    def get(self, path: str, **kwargs) -> httpx.Response:
        return self.http.get(path, **kwargs)

    def close(self) -> None:
        self.http.close()
