"""When the prompt never comes: the customer pays from the M-Pesa menu, in a real Chromium.

The checkout's STK prompt times out; the page shows the Pay Bill steps (business number, the
payment's own account number, the amount) as the way forward; the customer pays them on the
virtual handset's M-PESA menu (another tab, as on their phone) and the checkout turns Paid
live, saying it was paid from the menu. A mistyped account lands in the review queue and pays
nothing; an overpayment pays the order once and is flagged for the excess. The URLs were
registered by the product itself at start (PAYMENTS_C2B_AUTO_REGISTER, as in the sandbox)."""

import re

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ARTIFACTS, login
from tests.helpers.axe import assert_accessible
from tests.helpers.live import App
from tests.helpers.procs import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow]
TIMES_OUT = "0700001037"  # the simulator's phone whose prompts end 1037 (no answer)
MENU_PHONE = "254712555777"  # the customer's own phone, where they open the M-PESA menu


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """External validation off: Daraja's default for a shortcode (§14.9), so every payment
    from the menu arrives as a Confirmation and the product alone decides what it pays."""
    app = App(tmp_path_factory.mktemp("paybill-app"), SIMULATOR_C2B_VALIDATION="off")
    app.server.start()
    yield app
    app.server.stop()


@pytest.fixture(scope="module")
def registered(app):
    def done():
        rows = httpx.get(app.url + "/simulator/control/c2b/registrations/").json()["registrations"]
        return [r for r in rows if r["shortcode"] == "600984"]

    wait_until(done, timeout=30, interval=0.2, message="the product to register its C2B URLs")
    return app


def checkout_times_out(page):
    page.get_by_role("link", name="Pay with M-Pesa").first.click()
    page.wait_for_url("**/checkout/**")
    page.evaluate("window.__sameDocument = true")
    page.get_by_label("M-Pesa phone number").fill(TIMES_OUT)
    page.get_by_role("button", name="Pay KES").click()
    panel = page.locator("[data-status-panel]")
    expect(panel).to_have_attribute("data-status", "timed_out", timeout=30_000)
    paybill = page.locator("[data-paybill]")
    expect(paybill).to_be_visible()
    expect(paybill.locator("summary")).to_have_text("Pay from the M-Pesa menu instead")
    expect(paybill.locator("[data-paybill-business]")).to_have_text("600984")
    account = paybill.locator("[data-paybill-account]").inner_text()
    amount = int(re.sub(r"\D", "", paybill.locator("[data-paybill-amount]").inner_text()))
    assert re.fullmatch(r"[0-9A-Z]{3} [0-9A-Z]{4}", account), account
    return panel, account, amount


def pay_from_the_menu(context, base: str, *, account: str, amount: int, outcome: str = "Confirmed.") -> str:
    handset = context.new_page()
    handset.goto(f"{base}/simulator/phone/{MENU_PHONE}/")
    phone = handset.locator(".phone")
    expect(phone.get_by_text("Connected. Waiting for prompts.")).to_be_visible()
    menu = phone.get_by_role("navigation", name="M-PESA menu")
    menu.get_by_role("button", name="M-PESA").click()
    menu.get_by_role("button", name="Lipa na M-PESA").click()
    menu.get_by_role("button", name="Pay Bill").click()
    form = phone.get_by_role("form", name="Pay Bill")
    form.get_by_label("Business no.").fill("600984")
    form.get_by_label("Account no.").fill(account)
    form.get_by_label("Amount (KES)").fill(str(amount))
    form.get_by_label("Enter M-PESA PIN").fill("1234")
    history = handset.locator("#history li")
    before = history.count()  # this phone's earlier payments are listed too (newest first)
    form.get_by_role("button", name="Send").click()
    expect(history).to_have_count(before + 1)
    expect(history.first).to_contain_text(outcome)
    receipt = re.search(r"\b[A-Z0-9]{10}\b", history.first.inner_text()).group(0)
    handset.close()
    return receipt


def c2b_row(app, receipt: str) -> dict:
    rows = app.sql(
        "SELECT state, review_reason, excess, payment_id FROM payments_c2bpayment WHERE trans_id = ?", receipt
    )
    return dict(zip(("state", "review_reason", "excess", "payment_id"), rows[0], strict=True)) if rows else {}


def test_a_timed_out_prompt_is_paid_from_the_menu_and_turns_paid_live(page, registered):
    app = registered
    login(page, *app.customer())
    panel, account, amount = checkout_times_out(page)
    assert_accessible(page)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "checkout-paybill-fallback.png"), full_page=True)
    receipt = pay_from_the_menu(page.context, app.url, account=account, amount=amount)
    expect(panel).to_have_attribute("data-status", "paid", timeout=15_000)
    expect(page.get_by_role("heading", name="Paid")).to_be_visible()
    expect(page.get_by_text("Paid from the M-Pesa menu.")).to_be_visible()
    expect(page.locator("[data-receipt-number]")).to_have_text(receipt)
    expect(page.locator("[data-paybill]")).to_be_hidden()
    assert page.evaluate("window.__sameDocument === true")  # live: no reload, no navigation
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "checkout-paid-from-the-menu.png"))
    assert_accessible(page)
    assert c2b_row(app, receipt)["state"] == "matched"


def test_a_mistyped_account_lands_in_review_and_pays_nothing(page, registered):
    app = registered
    login(page, *app.customer())
    panel, account, amount = checkout_times_out(page)
    typo = account[:-1] + ("2" if account[-1] != "2" else "3")
    receipt = pay_from_the_menu(page.context, app.url, account=typo, amount=amount)
    wait_until(lambda: c2b_row(app, receipt), timeout=15, message="the confirmation to arrive")
    row = c2b_row(app, receipt)
    assert row["state"] == "review" and row["payment_id"] is None and "mistyped" in row["review_reason"]
    expect(panel).to_have_attribute("data-status", "timed_out")
    expect(page.locator("[data-paybill]")).to_be_visible()  # still payable with the right number


def test_an_overpayment_pays_once_and_is_flagged(page, registered):
    app = registered
    login(page, *app.customer())
    panel, account, amount = checkout_times_out(page)
    receipt = pay_from_the_menu(page.context, app.url, account=account, amount=amount + 100)
    expect(panel).to_have_attribute("data-status", "paid", timeout=15_000)
    row = c2b_row(app, receipt)
    assert row["state"] == "review" and row["excess"] == 100
    [(flagged, reason, paid_amount)] = app.sql(
        "SELECT flagged, review_reason, amount FROM payments_payment WHERE id = ?", row["payment_id"]
    )
    assert flagged and "overpaid by KES 100" in reason and paid_amount == amount
    assert app.sql("SELECT count(*) FROM payments_c2bpayment WHERE payment_id = ?", row["payment_id"]) == [
        (1,)
    ]


def test_with_validation_on_a_mistyped_account_is_refused_before_money_moves(playwright_browser, tmp_path):
    app = App(tmp_path, SIMULATOR_C2B_VALIDATION="on")
    app.server.start()
    try:
        wait_until(
            lambda: httpx.get(app.url + "/simulator/control/c2b/registrations/").json()["registrations"],
            timeout=30,
            interval=0.2,
            message="the product to register its C2B URLs",
        )
        context = playwright_browser.new_context(base_url=app.url, viewport={"width": 375, "height": 812})
        page = context.new_page()
        page.set_default_timeout(15_000)
        login(page, *app.customer())
        panel, account, amount = checkout_times_out(page)
        typo = account[:-1] + ("2" if account[-1] != "2" else "3")
        pay_from_the_menu(context, app.url, account=typo, amount=amount, outcome="Failed.")  # C2B00012
        assert app.sql("SELECT count(*) FROM payments_c2bpayment") == [(0,)]  # no money moved
        [(answer,)] = app.sql("SELECT result_code FROM payments_callbackrecord WHERE kind = 'c2b_validation'")
        assert answer == "C2B00012"
        receipt = pay_from_the_menu(context, app.url, account=account, amount=amount)
        expect(panel).to_have_attribute("data-status", "paid")
        assert c2b_row(app, receipt)["state"] == "matched"
        context.close()
    finally:
        app.server.stop()
