"""The waiting panel and the Kiswahili switch, in a real Chromium at 1280 px and on a 375 px
phone: where the prompt went (masked number, amount), the PIN countdown bar, "Wrong number?"
stopping the attempt in place; then the shop switched to Kiswahili, the checkout and its live
Paid frame in Kiswahili, the choice surviving a reload, and axe finding nothing to fix."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ARTIFACTS, login
from tests.browser.test_pages import WIDTHS, fits
from tests.helpers.axe import assert_accessible

pytestmark = [pytest.mark.browser, pytest.mark.slow]
WAITING = {"desktop": "0711000331", "phone": "0711000332"}  # held by the simulator: no answer yet
PAYING = {"desktop": "0711000441", "phone": "0711000442"}  # paid after a few seconds


@pytest.fixture(params=list(WIDTHS))
def screen(request, playwright_browser, app):
    context = playwright_browser.new_context(base_url=app.url, viewport=WIDTHS[request.param])
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.width_name = request.param
    yield page
    if getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()


def shown(local: str) -> str:
    """0711000331 → 0711 ••• 331, as the panel shows the prompted number."""
    return f"{local[:4]} ••• {local[-3:]}"


def open_first_order(page, link: str) -> str:
    page.get_by_role("link", name=link).first.click()
    page.wait_for_url("**/checkout/**")
    page.evaluate("window.__sameDocument = true")  # a reload would wipe it
    return page.locator("p.amount").inner_text()


def test_waiting_panel_shows_where_the_prompt_went_and_wrong_number_stops_it_in_place(screen, app):
    page, phone = screen, WAITING[screen.width_name]
    app.script("254" + phone[1:], result_code=0, delay=90)
    login(page, *app.customer())
    amount = open_first_order(page, "Pay with M-Pesa")
    page.get_by_label("M-Pesa phone number").fill(phone)
    page.get_by_role("button", name="Pay KES").click()
    panel = page.locator("[data-status-panel]")
    expect(panel).to_have_attribute("data-status", "pending")
    expect(page.get_by_role("heading", name="Check your phone")).to_be_visible()
    expect(panel.locator("[data-sent-to]")).to_have_text(f"Prompt sent to {shown(phone)} for {amount}.")
    bar = page.get_by_role("progressbar", name="Time left to enter your PIN")
    expect(bar).to_be_visible()
    left, most = bar.evaluate("bar => [bar.value, bar.max]")
    assert 0 < left <= most
    expect(panel.locator("[data-countdown]")).to_have_text(
        re.compile(r"^Time left to enter your PIN: \d:\d\d$")
    )
    fits(page)
    assert_accessible(page)
    public_id = panel.get_attribute("data-public-id")

    page.get_by_role("button", name="Wrong number?").click()
    expect(panel).to_be_hidden()  # the attempt is stopped; the form is back, the number selected
    phone_field = page.get_by_label("M-Pesa phone number")
    expect(phone_field).to_be_focused()
    assert page.evaluate("window.getSelection().toString() || document.activeElement.value") == phone
    assert page.evaluate("window.__sameDocument === true")  # no reload
    stopped = page.request.get(f"/payments/{public_id}/").json()["payment"]
    assert stopped["status"] == "cancelled" and stopped["title"] == "Stopped"
    assert stopped["paybill"] is None  # a stopped attempt cannot be paid from the menu either
    fits(page)
    assert_accessible(page)


def test_kiswahili_checkout_and_its_live_paid_frame_and_the_choice_survives_a_reload(screen, app):
    page, phone = screen, PAYING[screen.width_name]
    app.script("254" + phone[1:], result_code=0, delay=3)
    login(page, *app.customer())
    page.get_by_role("button", name="Kiswahili").click()
    expect(page.locator("html")).to_have_attribute("lang", "sw")
    expect(page.get_by_role("heading", name="Maagizo yako")).to_be_visible()
    amount = open_first_order(page, "Lipa na M-PESA")
    expect(page.get_by_role("heading", name="Malipo", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Kiswahili")).to_have_attribute("aria-current", "true")
    page.reload()
    expect(page.locator("html")).to_have_attribute("lang", "sw")  # remembered (django_language cookie)
    page.evaluate("window.__sameDocument = true")
    page.get_by_label("Nambari ya simu ya M-PESA").fill(phone)
    assert_accessible(page)
    page.get_by_role("button", name=f"Lipa {amount}").click()

    panel = page.locator("[data-status-panel]")
    expect(page.get_by_role("heading", name="Angalia simu yako")).to_be_visible()
    expect(panel.locator("[data-status-message]")).to_have_text(
        "Weka PIN yako ya M-PESA kwenye ombi ili kukamilisha malipo."
    )
    expect(panel.locator("[data-sent-to]")).to_have_text(
        f"Ombi la malipo limetumwa kwa {shown(phone)} la {amount}."
    )
    expect(page.get_by_role("button", name="Nambari si sahihi?")).to_be_visible()
    expect(panel.locator("[data-countdown]")).to_contain_text("Muda uliobaki wa kuweka PIN yako")
    ARTIFACTS.mkdir(exist_ok=True)  # the README's picture (docs/checkout-kiswahili.png)
    page.screenshot(path=str(ARTIFACTS / f"checkout-kiswahili-waiting-{page.width_name}.png"))

    expect(panel).to_have_attribute("data-status", "paid")  # the live frame, in Kiswahili
    expect(page.get_by_role("heading", name="Imelipwa")).to_be_visible()
    receipt = panel.locator("[data-receipt-number]").inner_text()
    assert re.fullmatch(r"[A-Z0-9]{10}", receipt), receipt
    expect(panel.locator("[data-status-message]")).to_have_text(
        f"Malipo yamepokelewa. Risiti ya M-PESA {receipt}."
    )
    expect(panel.locator("[data-receipt] dt").first).to_have_text("Risiti")
    expect(panel).to_have_attribute("data-transport", "websocket")
    assert page.evaluate("window.__sameDocument === true")
    expect(page.get_by_role("link", name="Rudi kwenye maagizo yako")).to_be_visible()
    fits(page)
    assert_accessible(page)
    page.screenshot(path=str(ARTIFACTS / f"checkout-kiswahili-paid-{page.width_name}.png"), full_page=True)
