"""The customer's view, in a real browser: pay, fail, retry, deposit, survive a dropped socket,
work where WebSockets are blocked. Every wait is bounded by Playwright's timeouts."""

import json
import re
import statistics
from datetime import UTC, datetime

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ARTIFACTS, login
from tests.helpers.live import App

pytestmark = [pytest.mark.browser, pytest.mark.slow]
PAID_PHONE = "0708374149"  # Daraja's test MSISDN: the simulator pays it (§8)


def open_first_order(page) -> None:
    page.get_by_role("link", name="Pay with M-Pesa").first.click()
    page.wait_for_url("**/checkout/**")


def pay(page, phone: str) -> None:
    page.get_by_label("M-Pesa phone number").fill(phone)
    page.get_by_role("button", name="Pay KES").click()


def hold_outcome(app: App, msisdn: str, *, seconds: float) -> None:
    """Script the simulator: the next push to ``msisdn`` is paid after ``seconds``."""
    app.script(msisdn, result_code=0, delay=seconds)


def status(page):
    return page.locator("[data-status-panel]")


def mark_document(page) -> None:
    """A marker a reload would wipe: proves the page changed live, without navigation."""
    page.evaluate("window.__sameDocument = true")


def assert_same_document(page) -> None:
    assert page.evaluate("window.__sameDocument === true")


def test_pay_an_order_and_watch_it_turn_paid(page, app):
    login(page, *app.customer())
    open_first_order(page)
    mark_document(page)
    order_amount = page.locator("p.amount").inner_text()
    pay(page, PAID_PHONE)
    expect(status(page)).to_have_attribute("data-status", "pending")
    expect(page.get_by_role("heading", name="Check your phone")).to_be_visible()
    expect(page.locator("[data-countdown]")).to_contain_text("Time left to enter your PIN")
    expect(status(page)).to_have_attribute("data-status", "paid")
    expect(page.get_by_role("heading", name="Paid")).to_be_visible()
    expect(page.locator("[data-receipt-number]")).to_have_text(re.compile(r"^[A-Z0-9]{10}$"))
    expect(page.locator("[data-receipt-amount]")).to_have_text(order_amount)
    expect(status(page)).to_have_attribute("data-transport", "websocket")
    assert_same_document(page)
    expect(page.get_by_role("link", name="Back to your orders")).to_be_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "checkout-paid.png"))
    page.get_by_role("link", name="Back to your orders").click()
    expect(page.get_by_text("Paid", exact=True).first).to_be_visible()


def test_cancelled_then_try_again_then_paid(page, app):
    login(page, *app.customer())
    open_first_order(page)
    pay(page, "0700001032")
    expect(status(page)).to_have_attribute("data-status", "cancelled")
    expect(page.get_by_role("heading", name="Cancelled")).to_be_visible()
    expect(page.get_by_text("You cancelled the M-Pesa prompt")).to_be_visible()
    page.get_by_role("button", name="Try again").click()
    expect(status(page)).to_be_hidden()
    expect(page.get_by_label("M-Pesa phone number")).to_be_focused()
    pay(page, PAID_PHONE)
    expect(status(page)).to_have_attribute("data-status", "paid")


@pytest.mark.parametrize(
    ("phone", "state", "heading", "hint"),
    [
        ("0700001037", "timed_out", "Timed out", "Make sure it is on and unlocked"),
        ("0700000001", "failed", "Insufficient funds", "Top up M-Pesa"),
        ("0700002001", "failed", "Wrong PIN", "enter your PIN"),
    ],
)
def test_failures_explain_what_to_do(page, app, phone, state, heading, hint):
    login(page, *app.customer())
    open_first_order(page)
    pay(page, phone)
    expect(status(page)).to_have_attribute("data-status", state, timeout=20_000)
    expect(page.get_by_role("heading", name=heading)).to_be_visible()
    expect(page.locator("[data-status-message]")).to_contain_text(hint)
    expect(page.get_by_role("button", name="Try again")).to_be_visible()


def test_client_side_validation_sends_nothing(page, app):
    login(page, *app.customer())
    open_first_order(page)
    requests = []
    page.on("request", lambda r: requests.append(r.url) if "/payments/initiate/" in r.url else None)
    pay(page, "12345")
    expect(page.locator("[data-error-for=phone]")).to_contain_text("Enter a Kenyan M-Pesa number")
    expect(page.get_by_label("M-Pesa phone number")).to_have_attribute("aria-invalid", "true")
    assert requests == []


def test_keyboard_only_checkout_on_a_phone_sized_screen(page, app):
    login(page, *app.customer())
    open_first_order(page)
    phone = page.get_by_label("M-Pesa phone number")
    phone.focus()
    page.keyboard.type("+254 708 374 149")
    page.keyboard.press("Enter")
    expect(status(page)).to_have_attribute("data-status", "paid")
    live = page.locator("[data-status-panel] [aria-live=polite]")
    expect(live).to_have_count(1)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_deposit_updates_the_balance_live(page, app):
    login(page, *app.customer())
    page.goto("/wallet/")
    mark_document(page)
    expect(page.locator("[data-balance]")).to_have_text("KES 0")
    page.get_by_label("Amount (KES)").fill("250")
    page.get_by_label("M-Pesa phone number").fill(PAID_PHONE)
    page.get_by_role("button", name="Deposit").click()
    expect(status(page)).to_have_attribute("data-status", "paid")
    expect(page.locator("[data-balance]")).to_have_text("KES 250")
    assert_same_document(page)
    page.get_by_role("button", name="Deposit again").click()
    page.get_by_label("Amount (KES)").fill("50")
    page.get_by_label("M-Pesa phone number").fill(PAID_PHONE)
    page.get_by_role("button", name="Deposit").click()
    expect(page.locator("[data-balance]")).to_have_text("KES 300")


def test_history_lists_and_filters_payments(page, app):
    login(page, *app.customer())
    open_first_order(page)
    pay(page, "0700001032")
    expect(status(page)).to_have_attribute("data-status", "cancelled")
    page.get_by_role("button", name="Try again").click()
    pay(page, PAID_PHONE)
    expect(status(page)).to_have_attribute("data-status", "paid")
    page.goto("/history/")
    expect(page.locator("tbody tr")).to_have_count(2)
    page.get_by_label("Status").select_option("paid")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("tbody tr")).to_have_count(1)
    expect(page.locator("tbody tr")).to_contain_text("Paid")


def test_websockets_blocked_falls_back_to_polling(page, app):
    """A proxy that refuses WebSocket upgrades: the page says so and polls to the end."""
    page.route_web_socket("**/ws/payments/**", lambda ws: ws.close())
    login(page, *app.customer())
    open_first_order(page)
    # the customer takes 8 s to answer: long enough to see the page fall back and say so
    hold_outcome(app, "254711000222", seconds=8)
    pay(page, "0711000222")
    expect(page.locator("[data-transport-note]")).to_contain_text("checking every few seconds")
    expect(status(page)).to_have_attribute("data-transport", "poll")
    expect(status(page)).to_have_attribute("data-status", "paid", timeout=20_000)


def test_callback_to_screen_latency(page, app):
    """How long after our server stored the callback does the customer see the result?
    Recorded (median of 5) for the README; the bound only says "live, not a 5 s poll"."""
    login(page, *app.customer())
    page.goto("/wallet/")
    latencies = []
    for amount in range(11, 16):
        page.get_by_label("Amount (KES)").fill(str(amount))
        page.get_by_label("M-Pesa phone number").fill(PAID_PHONE)
        page.get_by_role("button", name="Deposit").click()
        expect(status(page)).to_have_attribute("data-status", "paid")
        public_id = page.evaluate("document.querySelector('[data-status-panel]').dataset.publicId")
        shown = datetime.fromtimestamp(int(status(page).get_attribute("data-rendered-at")) / 1000, tz=UTC)
        latencies.append((shown - app.callback_received_at(public_id)).total_seconds() * 1000)
        page.get_by_role("button", name="Deposit again").click()
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "callback-to-screen.json").write_text(json.dumps({"ms": latencies}))
    print(f"callback→screen ms: {[round(x, 1) for x in latencies]} median {statistics.median(latencies):.1f}")
    assert all(0 < ms < 2500 for ms in latencies)


@pytest.fixture
def own_app(tmp_path):
    app = App(tmp_path, SIMULATOR_CALLBACK_DELAY_SECONDS="1")
    app.server.start()
    yield app
    app.server.stop()


def test_page_survives_a_server_restart(playwright_browser, own_app):
    """The socket drops (Daphne restarted); the page reconnects, resyncs and shows Paid."""
    context = playwright_browser.new_context(base_url=own_app.url)
    page = context.new_page()
    page.set_default_timeout(20_000)
    try:
        login(page, *own_app.customer())
        open_first_order(page)
        mark_document(page)
        # hold the outcome: the simulator will not answer this phone for a minute
        hold_outcome(own_app, "254711000111", seconds=60)
        pay(page, "0711000111")
        expect(status(page)).to_have_attribute("data-status", "pending")
        own_app.server.stop()
        expect(page.locator("[data-transport-note]")).to_contain_text("reconnecting")
        own_app.server.start()
        pushes = httpx.get(f"{own_app.url}/simulator/control/pushes/?phone=254711000111").json()["pushes"]
        httpx.post(
            f"{own_app.url}/simulator/control/pushes/{pushes[0]['checkout_request_id']}/fire/", json={}
        ).raise_for_status()
        expect(status(page)).to_have_attribute("data-status", "paid")
        assert_same_document(page)
    finally:
        context.close()
