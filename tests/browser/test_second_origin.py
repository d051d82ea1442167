"""A front end on a second origin (another port: what a Next.js app is to the shop): a real
Chromium page that embeds the drop-in element from the shop's origin, pays through the token
API (CORS) and watches the payment on a ticket socket — no cookie of the shop's at all. A page
on an origin that is not listed gets nothing."""

import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import expect

from tests.helpers.live import App
from tests.helpers.procs import free_port, manage

pytestmark = pytest.mark.browser
PAID_PHONE = "0708374149"


class FrontEnd:
    """A static page server on its own port: one HTML page with the element."""

    def __init__(self, html: str, port: int | None = None):
        self.port = port or free_port()
        page = html.encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def front_port():
    return free_port()


@pytest.fixture(scope="module")
def shop(tmp_path_factory, front_port):
    app = App(
        tmp_path_factory.mktemp("second-origin"), PAYMENTS_FRONTEND_ORIGINS=f"http://127.0.0.1:{front_port}"
    )
    app.server.start()
    yield app
    app.server.stop()


def customer_token(shop) -> tuple[str, str]:
    username, _ = shop.customer()
    code = (
        "from django.contrib.auth.models import User; from rest_framework.authtoken.models import Token; "
        "from frontend.models import Wallet; "
        f"u = User.objects.get(username={username!r}); w = Wallet.objects.get_or_create(user=u)[0]; "
        "print(Token.objects.get_or_create(user=u)[0].key, w.public_id)"
    )
    token, wallet = manage("shell", "-c", code, env=shop.env).strip().splitlines()[-1].split()
    return token, wallet


def page_html(shop, token: str, wallet: str) -> str:
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Another shop front</title>
<script type="module" src="{shop.url}/static/payments/mpesa-checkout.js"></script></head>
<body><main><h1>Top up</h1>
<mpesa-checkout api="{shop.url}/payments/" token="{token}" payable="wallet" payable-id="{wallet}"
  open-amount min="1" max="250000" label="Deposit"><p data-when-paid>Thanks!</p></mpesa-checkout>
</main></body></html>"""


def test_a_page_on_another_origin_pays_with_a_token_and_watches_on_a_ticket_socket(
    playwright_browser, shop, front_port
):
    token, wallet = customer_token(shop)
    front = FrontEnd(page_html(shop, token, wallet), port=front_port)  # the listed origin
    context = playwright_browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.set_default_timeout(20_000)
    sockets = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    try:
        page.goto(front.url)
        page.get_by_label("Amount (KES)").fill("120")
        page.get_by_label("M-Pesa phone number").fill(PAID_PHONE)
        page.get_by_role("button", name="Deposit").click()
        panel = page.locator("[data-status-panel]")
        expect(panel).to_have_attribute("data-status", "pending")
        expect(panel).to_have_attribute("data-transport", "websocket")
        expect(panel).to_have_attribute("data-status", "paid")
        expect(page.locator("[data-receipt-number]")).to_have_text(re.compile(r"^[A-Z0-9]{10}$"))
        expect(page.get_by_text("Thanks!")).to_be_visible()
        assert sockets and all("ticket=" in url and token not in url for url in sockets)
        assert context.cookies(shop.url) == []  # never the shop's session
        [(balance,)] = shop.sql(
            "SELECT balance FROM frontend_wallet WHERE public_id = ?", wallet.replace("-", "")
        )
        assert balance == 120
    finally:
        context.close()
        front.stop()


def test_a_page_on_an_unlisted_origin_gets_nothing(playwright_browser, shop):
    token, wallet = customer_token(shop)
    front = FrontEnd(page_html(shop, token, wallet))  # a port that is not in the list
    context = playwright_browser.new_context()
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        page.goto(front.url)
        page.get_by_label("Amount (KES)").fill("30")
        page.get_by_label("M-Pesa phone number").fill(PAID_PHONE)
        page.get_by_role("button", name="Deposit").click()
        expect(page.locator("[data-error-for=form]")).to_contain_text("Could not reach the shop")
        assert shop.sql("SELECT count(*) FROM payments_payment WHERE amount = 30") == [(0,)]
    finally:
        context.close()
        front.stop()
