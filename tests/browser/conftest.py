"""Real headless Chromium (Debian's /usr/bin/chromium, driven by Playwright — never a
downloaded browser) against a real Daphne on loopback with the bundled simulator."""

import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.helpers.procs import ROOT, DaphneServer, free_port, manage, server_env

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic",
]  # fmt: skip
ARTIFACTS = ROOT / "tests" / "artifacts"
SERVER_ENV = {
    "SIMULATOR_CALLBACK_DELAY_SECONDS": "1",
    "SIMULATOR_PIN_WINDOW_SECONDS": "3",
    "PAYMENTS_RATE_LIMIT_PER_PHONE": "",
    "PAYMENTS_RATE_LIMIT_PER_USER": "",
    "PAYMENTS_JOB_POLL_SECONDS": "0.2",
}


class App:
    """A Daphne process serving the product + simulator, and what tests need around it."""

    def __init__(self, tmp: Path, **env: str):
        self.port = free_port()
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
        with sqlite3.connect(self.db) as db:
            row = db.execute(
                "SELECT c.received_at FROM payments_callbackrecord c "
                "JOIN payments_payment p ON p.id = c.payment_id "
                "WHERE p.public_id = ? AND c.outcome = 'applied'",
                (public_id.replace("-", ""),),
            ).fetchone()
        return datetime.fromisoformat(row[0]).replace(tzinfo=UTC)


@pytest.fixture(scope="session")
def playwright_browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    app = App(tmp_path_factory.mktemp("browser-app"))
    app.server.start()
    yield app
    app.server.stop()


@pytest.fixture
def page(playwright_browser, app, request):
    context = playwright_browser.new_context(base_url=app.url, viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    ARTIFACTS.mkdir(exist_ok=True)
    if request.node.rep_call.failed if hasattr(request.node, "rep_call") else False:
        page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.rep_call = report
    return report


def login(page, username: str, password: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/")
