"""The shop's own pages in a real Chromium, at a desktop width and on a 375 px phone: the
landing page, a receipt that stays (after a reload, from the orders list and the history,
printed and as a PDF), the wallet's deposits appearing live (and a late receipt filling in),
and axe finding nothing to fix on any of them."""

import io
import re

import httpx
import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from tests.browser.conftest import ARTIFACTS, login
from tests.helpers.axe import assert_accessible
from tests.helpers.live import App

pytestmark = [pytest.mark.browser, pytest.mark.slow]
PAID_PHONE = "0708374149"  # the simulator pays it
LATE_CALLBACK_PHONE = "0700990005"  # the query turns final first, the callback comes later
RECEIPT = re.compile(r"^[A-Z0-9]{10}$")
WIDTHS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 375, "height": 812}}


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


def fits(page) -> None:
    """Nothing wider than the screen: no sideways scrolling on a phone."""
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def checked(page) -> None:
    fits(page)
    assert_accessible(page)


def same_document(page) -> None:
    page.evaluate("window.__sameDocument = true")


def pay_first_order(page) -> tuple[str, str, str]:
    """Pay the first unpaid order; its description, amount and M-Pesa receipt."""
    row = page.locator("li.card", has=page.get_by_role("link", name="Pay with M-Pesa")).first
    description = row.locator("strong").inner_text()
    row.get_by_role("link", name="Pay with M-Pesa").click()
    amount = page.locator("p.amount").inner_text()
    page.get_by_label("M-Pesa phone number").fill(PAID_PHONE)
    page.get_by_role("button", name="Pay KES").click()
    expect(page.locator("[data-status-panel]")).to_have_attribute("data-status", "paid")
    receipt = page.locator("[data-receipt-number]")
    expect(receipt).to_have_text(RECEIPT)
    return description, amount, receipt.inner_text()


def expect_receipt(page, code: str, amount: str, what: str) -> None:
    expect(page.get_by_role("heading", name="M-Pesa payment receipt")).to_be_visible()
    expect(page.locator("[data-receipt-code]")).to_have_text(code)
    expect(page.locator("[data-receipt-amount]")).to_have_text(amount)
    expect(page.locator("dd").filter(has_text=re.compile(r"^2547\*{4}4149$"))).to_be_visible()
    expect(page.locator("time")).to_have_text(re.compile(r"^\d{1,2} \w{3} \d{4}, \d{2}:\d{2} EAT$"))
    expect(page.get_by_text(what)).to_be_visible()


def test_the_landing_page_welcomes_a_visitor(screen, app):
    page = screen
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Duka: pay with M-Pesa, see it happen")
    expect(page.get_by_text("Demo account: username demo, password demo.")).to_be_visible()
    icon = page.locator("link[rel=icon]").get_attribute("href")
    answer = httpx.get(app.url + icon)
    assert (answer.status_code, answer.headers["content-type"]) == (200, "image/svg+xml")
    checked(page)
    page.get_by_role("main").get_by_role("link", name="Log in").click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    checked(page)
    login(page, *app.customer())
    expect(page.get_by_role("heading", name="Your orders")).to_be_visible()


def test_a_receipt_stays_after_a_reload_and_is_found_from_history(screen, app):
    page = screen
    login(page, *app.customer())
    description, amount, code = pay_first_order(page)
    page.goto("/")
    page.reload()
    paid = page.locator("li.card", has_text=description)
    expect(paid.get_by_text("Paid", exact=True)).to_be_visible()
    checked(page)
    paid.get_by_role("link", name="Receipt").click()
    expect_receipt(page, code, amount, description)
    page.reload()
    expect_receipt(page, code, amount, description)
    checked(page)

    page.emulate_media(media="print")  # the print stylesheet: the receipt alone, black on white
    expect(page.locator("header.top")).to_be_hidden()
    expect(page.get_by_role("link", name="Download PDF")).to_be_hidden()
    colours = page.evaluate(
        "[getComputedStyle(document.body).backgroundColor,"
        " getComputedStyle(document.querySelector('[data-receipt-code]')).color,"
        " getComputedStyle(document.querySelector('.receipt dt')).color]"
    )
    assert colours == ["rgb(255, 255, 255)", "rgb(0, 0, 0)", "rgb(0, 0, 0)"]
    page.emulate_media(media="screen")

    page.get_by_role("link", name="History").click()
    row = page.locator("tbody tr").filter(has_text=f"Receipt {code}")
    expect(row).to_contain_text("Paid")
    expect(page.get_by_text("Rejected by Daraja")).to_have_count(0)
    checked(page)
    row.get_by_role("link", name=f"Receipt {code}").click()
    expect_receipt(page, code, amount, description)


def test_the_pdf_download_is_the_receipt(page, app):
    login(page, *app.customer())
    description, amount, code = pay_first_order(page)
    page.goto("/")
    page.locator("li.card", has_text=description).get_by_role("link", name="Receipt").click()
    with page.expect_download() as download:
        page.get_by_role("link", name="Download PDF").click()
    assert download.value.suggested_filename == f"duka-receipt-{code}.pdf"
    pdf = PdfReader(io.BytesIO(open(download.value.path(), "rb").read()))
    words = " ".join(pdf.pages[0].extract_text().split())
    assert code in words and amount in words and description in words and "EAT" in words


def deposit(page, amount: int, phone: str = PAID_PHONE) -> None:
    page.get_by_label("Amount (KES)").fill(str(amount))
    page.get_by_label("M-Pesa phone number").fill(phone)
    page.get_by_role("button", name="Deposit").click()


def test_recent_deposits_update_live_with_the_balance(screen, app):
    page = screen
    login(page, *app.customer())
    page.goto("/wallet/")
    same_document(page)
    expect(page.get_by_text("No deposits yet.")).to_be_visible()
    checked(page)
    rows = page.locator("[data-deposits] tbody tr")
    deposit(page, 250)
    expect(page.locator("[data-balance]")).to_have_text("KES 250")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("KES 250")
    expect(rows.first.get_by_role("link")).to_have_text(RECEIPT)
    expect(page.get_by_text("No deposits yet.")).to_be_hidden()
    page.get_by_role("button", name="Deposit again").click()
    deposit(page, 50)
    expect(page.locator("[data-balance]")).to_have_text("KES 300")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("KES 50")
    expect(rows.first).to_contain_text("KES 300")  # the balance after it
    assert page.evaluate("window.__sameDocument === true")
    live = [rows.nth(i).inner_text() for i in range(2)]
    expect(page.get_by_text("(pending)")).to_have_count(0)
    checked(page)

    page.reload()
    expect(rows).to_have_count(2)
    assert [rows.nth(i).inner_text() for i in range(2)] == live  # what the server writes, too
    code = rows.first.get_by_role("link").inner_text()
    rows.first.get_by_role("link").click()
    expect(page.locator("[data-receipt-code]")).to_have_text(code)
    expect(page.get_by_text("Deposit to your Duka wallet")).to_be_visible()


@pytest.fixture
def late_app(tmp_path):
    """The reconciler asks Daraja after a second; the simulator's callback comes 8 s late."""
    app = App(
        tmp_path,
        PAYMENTS_RECONCILE_AFTER_SECONDS="1",
        PAYMENTS_RECONCILE_BACKOFF_SECONDS="1",
        SIMULATOR_LATE_CALLBACK_SECONDS="8",
    )
    app.server.start()
    yield app
    app.server.stop()


def test_a_query_confirmed_deposit_gets_its_receipt_live(playwright_browser, late_app):
    context = playwright_browser.new_context(base_url=late_app.url, viewport=WIDTHS["phone"])
    page = context.new_page()
    page.set_default_timeout(20_000)
    try:
        login(page, *late_app.customer())
        page.goto("/wallet/")
        same_document(page)
        deposit(page, 120, LATE_CALLBACK_PHONE)
        row = page.locator("[data-deposits] tbody tr").first
        expect(page.locator("[data-balance]")).to_have_text("KES 120")
        expect(row.get_by_role("link")).to_have_text("Confirmed by M-Pesa (receipt to follow)")
        expect(page.get_by_text("(pending)")).to_have_count(0)
        expect(row.get_by_role("link")).to_have_text(RECEIPT, timeout=30_000)  # the late callback
        assert page.evaluate("window.__sameDocument === true")
        code = row.get_by_role("link").inner_text()
        page.reload()
        expect(page.locator("[data-deposits] tbody tr").first.get_by_role("link")).to_have_text(code)
    finally:
        context.close()
