"""A whole running product for end-to-end tests: Daphne + file SQLite + the simulator as
Daraja, with the background job runner inside the web process (as ``make run`` has it)."""

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import httpx

from .procs import DaphneServer, WebClient, free_port, manage, server_env, wait_until

SERVER_ENV = {
    "SIMULATOR_CALLBACK_DELAY_SECONDS": "1",
    "SIMULATOR_PIN_WINDOW_SECONDS": "3",
    "PAYMENTS_RATE_LIMIT_PER_PHONE": "",
    "PAYMENTS_RATE_LIMIT_PER_USER": "",
    "PAYMENTS_JOB_POLL_SECONDS": "0.2",
}


class App:
    """A Daphne process serving the product + simulator, and what tests need around it."""

    def __init__(self, tmp: Path, port: int | None = None, **env: str):
        self.port = port or free_port()
        self.db = tmp / "app.sqlite3"
        self.env = server_env(port=self.port, db_path=self.db, **{**SERVER_ENV, **env})
        manage("migrate", "--noinput", "-v", "0", env=self.env)
        self.server = DaphneServer(env=self.env, port=self.port, log_path=tmp / "daphne.log")
        self.users = 0

    @property
    def url(self) -> str:
        return self.server.url

    def customer(self) -> tuple[str, str]:
        self.users += 1
        name = f"shopper{self.users}"
        manage("seed_demo", "--username", name, "--password", "pw-" + name, env=self.env)
        return name, "pw-" + name

    def callback_received_at(self, public_id: str) -> datetime:
        """When our callback view stored the (applied) callback for this payment."""
        [(received,)] = self.sql(
            "SELECT c.received_at FROM payments_callbackrecord c "
            "JOIN payments_payment p ON p.id = c.payment_id "
            "WHERE p.public_id = ? AND c.outcome = 'applied'",
            public_id.replace("-", ""),
        )
        return datetime.fromisoformat(received).replace(tzinfo=UTC)

    def sql(self, query: str, *params) -> list[tuple]:
        """Read the server's database directly (read-only use in assertions)."""
        with sqlite3.connect(self.db) as db:
            return db.execute(query, params).fetchall()

    def web(self, username: str, password: str) -> WebClient:
        return WebClient(self.url).login(username, password)

    def script(self, msisdn: str, **outcome) -> None:
        """Script the simulator's next outcome for ``msisdn`` (result_code, delay, faults…)."""
        httpx.post(
            f"{self.url}/simulator/control/scripts/", json={"phone": msisdn, **outcome}
        ).raise_for_status()

    def wait_for_status(self, web: WebClient, status_url: str, status: str, *, timeout: float = 20) -> dict:
        def reached():
            payment = web.get(status_url).json()["payment"]
            return payment if payment["status"] == status else None

        return wait_until(reached, timeout=timeout, interval=0.1, message=f"status {status}")
