"""The handset's M-PESA menu in real headless Chromium (Debian's, driven by Playwright)
against a Daphne subprocess, desktop and 375 px phone: a person opens M-PESA → Lipa na M-PESA
→ Pay Bill, types the business number, account and amount, enters a PIN and sends; the
business's registered URLs get the Validation and Confirmation, the phone says Confirmed. The
STK prompt dialog still works on the same page. axe finds nothing at each step."""

import json

import httpx
import pytest
from playwright.sync_api import expect

from tests.helpers.axe import assert_accessible
from tests.helpers.procs import ROOT, wait_until
from tests.simulator.handset.test_handset_browser import VIEWPORTS, browser, push  # noqa: F401
from tests.simulator.test_e2e import start_server

pytestmark = [pytest.mark.slow, pytest.mark.browser]
PHONE = "254712555666"  # the phone push() prompts


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    live = start_server(
        tmp_path_factory.mktemp("paybill-browser"),
        SIMULATOR_PIN_WINDOW_SECONDS="60",
        SIMULATOR_C2B_DELAY_SECONDS="0.2",
    )
    yield live
    live.stop()


@pytest.fixture(params=sorted(VIEWPORTS))
def page(request, server, browser):  # noqa: F811
    context = browser.new_context(base_url=server.url, viewport=VIEWPORTS[request.param])
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.viewport_name = request.param
    yield page
    context.close()


def register(base: str, c2b_receiver) -> None:
    """The business registers its two URLs, as its own client would (plain httpx)."""
    token = httpx.get(
        f"{base}/simulator/oauth/v1/generate?grant_type=client_credentials",
        auth=("dev-consumer-key", "dev-consumer-secret"),
    ).json()["access_token"]
    response = httpx.post(
        f"{base}/simulator/mpesa/c2b/v1/registerurl",
        json={
            "ShortCode": "600984",
            "ResponseType": "Completed",
            "ConfirmationURL": c2b_receiver.confirmation_url,
            "ValidationURL": c2b_receiver.validation_url,
        },
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text


def test_a_person_pays_a_bill_from_the_menu(page, server, c2b_receiver, receiver):
    assert httpx.post(server.url + "/simulator/control/reset/").status_code == 200  # one page per viewport
    register(server.url, c2b_receiver)
    page.goto(f"/simulator/phone/{PHONE}/")
    phone = page.locator(".phone")
    expect(phone.get_by_text("Connected. Waiting for prompts.")).to_be_visible()
    assert_accessible(page)

    menu = phone.get_by_role("navigation", name="M-PESA menu")
    menu.get_by_role("button", name="M-PESA").click()
    menu.get_by_role("button", name="Lipa na M-PESA").click()
    expect(menu.get_by_role("button", name="Lipa na M-PESA")).to_have_attribute("aria-expanded", "true")
    menu.get_by_role("button", name="Pay Bill").click()
    form = phone.get_by_role("form", name="Pay Bill")
    expect(form.get_by_label("Business no.")).to_be_focused()
    assert_accessible(page)

    form.get_by_label("Business no.").fill("174379")  # the STK shortcode is no paybill here
    form.get_by_label("Account no.").fill("INV 42")
    form.get_by_label("Amount (KES)").fill("250")
    form.get_by_label("Enter M-PESA PIN").fill("1234")
    form.get_by_role("button", name="Send").click()
    expect(form.get_by_role("alert")).to_have_text("Invalid business number.")
    form.get_by_label("Business no.").fill("600984")
    form.get_by_role("button", name="Send").click()
    expect(form).to_be_hidden()

    history = page.locator("#history li")
    expect(history.first).to_contain_text("Confirmed. KES 250.00 sent to 600984 for account INV 42.")
    wait_until(lambda: c2b_receiver.confirmations, timeout=10, message="the Confirmation")
    [validation] = c2b_receiver.bodies("validation")
    [confirmation] = c2b_receiver.bodies("confirmation")
    assert validation["TransID"] == confirmation["TransID"]
    assert (confirmation["BillRefNumber"], confirmation["TransAmount"]) == ("INV 42", "250.00")
    assert confirmation["TransID"] in history.first.inner_text()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    artifacts = ROOT / "tests" / "artifacts"
    artifacts.mkdir(exist_ok=True)
    page.screenshot(path=str(artifacts / f"simulator-handset-paybill-{page.viewport_name}.png"))
    assert_accessible(page)

    push(server.url, receiver.url, amount=99, reference="ORD80")  # the STK prompt still works
    dialog = phone.get_by_role("form", name="M-PESA payment request")
    expect(dialog).to_contain_text("Pay KES 99 to Duka Demo Shop?")
    dialog.get_by_label("Enter M-PESA PIN").fill("4321")
    dialog.get_by_role("button", name="Send").click()
    expect(history.first).to_contain_text("KES 99 to Duka Demo Shop (ORD80). You sent your PIN: result 0")
    wait_until(lambda: receiver.seen, timeout=10, message="the STK callback")
    assert json.loads(receiver.seen[0]["body"])["Body"]["stkCallback"]["ResultCode"] == 0
    expect(history).to_have_count(2)
    assert_accessible(page)
