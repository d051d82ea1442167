"""The /simulator/ index in real headless Chromium (Debian's, driven by Playwright) against a
Daphne subprocess, on a desktop and on a 375 px phone: pushes and their callbacks appear
without a reload, page 1 keeps its twenty newest, and axe finds nothing to fix."""

import httpx
import pytest
from playwright.sync_api import expect

from tests.helpers.axe import assert_accessible
from tests.helpers.browser import chromium
from tests.helpers.procs import ROOT
from tests.simulator.test_e2e import start_server

pytestmark = [pytest.mark.slow, pytest.mark.browser]
VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 375, "height": 812}}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    live = start_server(tmp_path_factory.mktemp("index-browser"))
    yield live
    live.stop()


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched


def new_page(request, server, browser, viewport: str):
    """A fresh simulator (control reset) and a browser page of that size."""
    httpx.post(f"{server.url}/simulator/control/reset/").raise_for_status()
    context = browser.new_context(base_url=server.url, viewport=VIEWPORTS[viewport])
    request.addfinalizer(context.close)
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.viewport_name = viewport
    return page


@pytest.fixture(params=sorted(VIEWPORTS))
def page(request, server, browser):
    return new_page(request, server, browser, request.param)


@pytest.fixture
def desktop(request, server, browser):
    return new_page(request, server, browser, "desktop")


def trigger(server, callback_url: str, **outcome) -> str:
    """A push made through the control API (no Daraja client); its CheckoutRequestID."""
    body = {"callback_url": callback_url, **outcome}
    response = httpx.post(f"{server.url}/simulator/control/trigger/", json=body)
    assert response.status_code == 201, response.text
    return response.json()["checkout_request_id"]


def open_live(page, path: str = "/simulator/") -> None:
    page.goto(path)
    expect(page.locator("#pushes")).to_have_attribute("data-live", "connected")
    page.evaluate("window.__sameDocument = true")  # a reload would wipe it


def test_a_push_and_its_callback_appear_without_a_reload(page, server, receiver):
    open_live(page)
    expect(page.get_by_text("No pushes yet.")).to_be_visible()
    assert_accessible(page)

    checkout_id = trigger(server, receiver.url, phone="254712000111", amount=2400, result_code=1032, delay=2)
    row = page.locator("#pushes-rows tr").filter(has_text=checkout_id)
    expect(row).to_contain_text("KES 2,400")
    expect(row).to_contain_text("1032: Request cancelled by user")
    expect(row).to_contain_text("callback scheduled")
    expect(page.get_by_text("No pushes yet.")).to_be_hidden()
    expect(row).to_contain_text("callback sent 200")
    assert receiver.codes() == [1032]
    expect(page.locator("#pushes-total")).to_have_text("1")
    assert page.evaluate("window.__sameDocument === true")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert_accessible(page)
    artifacts = ROOT / "tests" / "artifacts"
    artifacts.mkdir(exist_ok=True)
    page.screenshot(path=str(artifacts / f"simulator-index-{page.viewport_name}.png"))


def test_page_one_keeps_the_twenty_newest_and_older_ones_move_to_page_two(desktop, server, receiver):
    page = desktop
    ids = [trigger(server, receiver.url, phone=f"2547120002{n:02d}", lost=True) for n in range(20)]
    open_live(page)
    rows = page.locator("#pushes-rows tr")
    expect(rows).to_have_count(20)
    expect(page.get_by_role("link", name="Older pushes")).to_be_hidden()

    newest = trigger(server, receiver.url, phone="254712000299", lost=True)
    expect(rows.first).to_contain_text(newest)
    expect(rows).to_have_count(20)
    expect(page.locator("#pushes-rows")).not_to_contain_text(ids[0])
    expect(page.locator("#pushes-total")).to_have_text("21")
    assert page.evaluate("window.__sameDocument === true")

    page.get_by_role("link", name="Older pushes").click()
    page.wait_for_url("**/simulator/?page=2")
    expect(page.locator("#pushes")).to_have_attribute("data-live", "connected")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(ids[0])
    trigger(server, receiver.url, phone="254712000298", lost=True)
    expect(page.get_by_role("status")).to_have_text("New pushes have arrived: see the first page.")
    expect(rows).to_have_count(1)
    assert_accessible(page)


def test_a_c2b_payment_and_its_callbacks_appear_without_a_reload(desktop, server, c2b_receiver):
    """The C2B table is live too: a payment from the control API appears waiting for its
    validation, then completed with both POSTs; axe stays clean."""
    from tests.simulator.handset.test_paybill_browser import register

    httpx.post(server.url + "/simulator/control/reset/")
    register(server.url, c2b_receiver)
    page = desktop
    open_live(page)
    expect(page.get_by_text("No C2B payments yet.")).to_be_visible()
    made = httpx.post(server.url + "/simulator/control/c2b/pay/", json={"account": "INV-77", "amount": 2400})
    assert made.status_code == 201, made.text
    row = page.locator(f"#c2b-{made.json()['id']}")
    expect(row).to_contain_text(made.json()["trans_id"])
    expect(row).to_contain_text("600984 · INV-77")
    expect(row).to_contain_text("confirmation sent 200")
    expect(row).to_contain_text("completed: validation accepted")
    expect(page.get_by_text("No C2B payments yet.")).to_be_hidden()
    expect(page.locator("#c2b-total")).to_have_text("1")
    assert_accessible(page)
