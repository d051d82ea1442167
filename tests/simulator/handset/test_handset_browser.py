"""The handset page in real headless Chromium (Debian's, driven by Playwright) against a
Daphne subprocess: a person sees the prompt and taps Pay or Cancel."""

import base64
from datetime import UTC, datetime

import httpx
import pytest

from tests.helpers.browser import chromium
from tests.helpers.procs import ROOT, wait_until
from tests.simulator.test_e2e import start_server

pytestmark = [pytest.mark.slow, pytest.mark.browser]
PHONE = "254712555666"
PASSKEY = "bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    live = start_server(tmp_path_factory.mktemp("handset-browser"), SIMULATOR_PIN_WINDOW_SECONDS="60")
    yield live
    live.stop()


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched


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


def test_a_person_pays_and_cancels_on_the_handset_page(server, browser, receiver):
    context = browser.new_context(base_url=server.url, viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        page.goto(f"/simulator/phone/{PHONE}/")
        page.get_by_text("Connected. Waiting for prompts.").wait_for()

        push(server.url, receiver.url, amount=250, reference="ORD77")
        prompt = page.locator(".prompt-text")
        prompt.wait_for()
        assert prompt.inner_text() == (
            "Pay KES 250 to Duka Demo Shop (174379), account no. ORD77. Enter M-PESA PIN:"
        )
        artifacts = ROOT / "tests" / "artifacts"
        artifacts.mkdir(exist_ok=True)
        page.screenshot(path=str(artifacts / "simulator-handset-prompt.png"))
        page.get_by_label("M-PESA PIN").fill("1234")
        page.get_by_role("button", name="Pay").click()
        page.get_by_text("answered: result 0").wait_for()
        wait_until(lambda: receiver.seen, timeout=10, message="the callback after Pay")
        assert receiver.codes() == [0]

        push(server.url, receiver.url, amount=99, reference="ORD78")
        page.get_by_role("button", name="Cancel").click()
        page.get_by_text("answered: result 1032").wait_for()
        wait_until(lambda: len(receiver.seen) == 2, timeout=10, message="the callback after Cancel")
        assert receiver.codes() == [0, 1032]
    finally:
        context.close()
