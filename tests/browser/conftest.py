"""Real headless Chromium (Debian's /usr/bin/chromium, driven by Playwright — never a
downloaded browser) against a real Daphne on loopback with the bundled simulator."""

import pytest

from tests.helpers.browser import chromium
from tests.helpers.live import App
from tests.helpers.procs import ROOT

ARTIFACTS = ROOT / "tests" / "artifacts"


@pytest.fixture(scope="module")
def playwright_browser():
    with chromium() as browser:
        yield browser


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
