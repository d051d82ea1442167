"""The handset page in real headless Chromium (Debian's, driven by Playwright) against a
Daphne subprocess, on a desktop and on a 375 px phone: a person sees an M-PESA prompt inside
a phone, sends their PIN, a wrong PIN or cancels, and each answer leaves one history line."""

import base64
from datetime import UTC, datetime

import httpx
import pytest
from playwright.sync_api import expect

from tests.helpers.axe import assert_accessible
from tests.helpers.browser import chromium
from tests.helpers.procs import ROOT, wait_until
from tests.simulator.test_e2e import start_server

pytestmark = [pytest.mark.slow, pytest.mark.browser]
PHONE = "254712555666"
PASSKEY = "bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919"
VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 375, "height": 812}}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    live = start_server(tmp_path_factory.mktemp("handset-browser"), SIMULATOR_PIN_WINDOW_SECONDS="60")
    yield live
    live.stop()


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched


@pytest.fixture(params=sorted(VIEWPORTS))
def page(request, server, browser):
    context = browser.new_context(base_url=server.url, viewport=VIEWPORTS[request.param])
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.viewport_name = request.param
    yield page
    context.close()


def push(base: str, callback_url: str, *, amount: int, reference: str) -> str:
    """A third-party style push (plain httpx) to the handset's phone."""
    token = httpx.get(
        f"{base}/simulator/oauth/v1/generate?grant_type=client_credentials",
        auth=("dev-consumer-key", "dev-consumer-secret"),
    ).json()["access_token"]
    stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    body = {
        "BusinessShortCode": 174379,
        "Password": base64.b64encode(f"174379{PASSKEY}{stamp}".encode()).decode(),
        "Timestamp": stamp,
        "TransactionType": "CustomerPayBillOnline",
        "Amount": amount,
        "PartyA": PHONE,
        "PartyB": 174379,
        "PhoneNumber": PHONE,
        "CallBackURL": callback_url,
        "AccountReference": reference,
        "TransactionDesc": "Test",
    }
    response = httpx.post(
        f"{base}/simulator/mpesa/stkpush/v1/processrequest",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    return response.json()["CheckoutRequestID"]


def fits_the_screen(page) -> None:
    """Nothing runs off the side: no horizontal scrolling, the whole dialog in view."""
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    box = page.locator(".stk").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= VIEWPORTS[page.viewport_name]["width"]


def test_a_person_pays_sends_a_wrong_pin_and_cancels(page, server, receiver):
    page.goto(f"/simulator/phone/{PHONE}/")
    phone = page.locator(".phone")
    expect(phone.get_by_text("Connected. Waiting for prompts.")).to_be_visible()
    assert_accessible(page)
    history = page.locator("#history li")

    push(server.url, receiver.url, amount=2400, reference="ORD77")
    dialog = phone.get_by_role("form", name="M-PESA payment request")
    expect(dialog).to_contain_text("Pay KES 2,400 to Duka Demo Shop?")
    expect(dialog).to_contain_text("Account no. ORD77 · Business no. 174379")
    expect(dialog.get_by_label("Enter M-PESA PIN")).to_be_focused()
    fits_the_screen(page)
    assert_accessible(page)
    artifacts = ROOT / "tests" / "artifacts"
    artifacts.mkdir(exist_ok=True)
    page.screenshot(path=str(artifacts / f"simulator-handset-prompt-{page.viewport_name}.png"))

    dialog.get_by_role("button", name="Send").click()  # no PIN yet: nothing is sent
    expect(dialog.get_by_role("alert")).to_have_text("Enter a 4-digit M-PESA PIN.")
    dialog.get_by_label("Enter M-PESA PIN").fill("1234")
    dialog.get_by_role("button", name="Send").click()
    expect(dialog).to_be_hidden()
    expect(history).to_have_count(1)
    expect(history.first).to_contain_text(
        "KES 2,400 to Duka Demo Shop (ORD77). You sent your PIN: result 0 "
        "(The service request is processed successfully.)"
    )
    wait_until(lambda: receiver.seen, timeout=10, message="the callback after Send")
    assert receiver.codes() == [0]

    push(server.url, receiver.url, amount=99, reference="ORD78")
    expect(dialog).to_contain_text("Pay KES 99 to Duka Demo Shop?")
    expect(history).to_have_count(1)  # the first answer wrote exactly one line
    dialog.get_by_role("button", name="Wrong PIN").click()
    wrong = "KES 99 to Duka Demo Shop (ORD78). You sent a wrong PIN: result 2001"
    expect(history.first).to_contain_text(wrong)
    wait_until(lambda: len(receiver.seen) == 2, timeout=10, message="the callback after Wrong PIN")

    push(server.url, receiver.url, amount=150000, reference="ORD79")
    expect(dialog).to_contain_text("Pay KES 150,000 to Duka Demo Shop?")
    expect(history).to_have_count(2)
    dialog.get_by_role("button", name="Cancel").click()
    expect(history.first).to_contain_text("KES 150,000 to Duka Demo Shop (ORD79). You cancelled: result 1032")
    wait_until(lambda: len(receiver.seen) == 3, timeout=10, message="the callback after Cancel")
    assert receiver.codes() == [0, 2001, 1032]
    expect(phone.get_by_text("Connected. Waiting for prompts.")).to_be_visible()
    expect(history).to_have_count(3)
    assert_accessible(page)
