"""Real processes on loopback for tests (thin names over project/topology.py, which the
scaled topology and the benchmark share): Daphne, manage.py, and a logged-in web client."""

import re
from pathlib import Path

import httpx

from tests.helpers.topology import ROOT, Daphne, app_env, free_port, manage, wait_until

__all__ = ["ROOT", "DaphneServer", "WebClient", "free_port", "manage", "server_env", "wait_until"]
DaphneServer = Daphne


def server_env(*, port: int, db_path: Path, **overrides: str) -> dict[str, str]:
    """One web process on a file SQLite database (the embedded default, as `make run`)."""
    return app_env(port=port, database_url=f"sqlite:///{db_path}", **overrides)


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

    def deposit(self, amount: int, phone: str, **headers: str) -> httpx.Response:
        """Start a deposit into this customer's wallet, as the wallet page's element does."""
        if not getattr(self, "wallet_id", None):
            page = self.http.get("/wallet/").text
            self.wallet_id = re.search(r'payable="wallet" payable-id="([0-9a-f-]{36})"', page).group(1)
        body = {"payable": "wallet", "id": self.wallet_id, "amount": amount, "phone": phone}
        return self.post_json("/payments/initiate/", body, **headers)

    def post_json(self, path: str, data: dict, **headers: str) -> httpx.Response:
        return self.http.post(path, json=data, headers={"X-CSRFToken": self.csrf, **headers})

    def get(self, path: str, **kwargs) -> httpx.Response:
        return self.http.get(path, **kwargs)

    def close(self) -> None:
        self.http.close()
