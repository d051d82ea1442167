"""The shop's pages as a customer reads them (server side; the live behaviour is in
tests/browser/test_pages.py): receipts that stay (page and PDF, owner only), history in the
checkout's words, the wallet's deposits with their receipts, the landing page, the favicon."""

import io
import re
from html import unescape

import pytest
from django.contrib.auth import get_user_model
from pypdf import PdfReader

from frontend.models import Order
from payments.checkout import payment_apply_result, payment_mark_rejected, payment_mark_unknown
from payments.daraja.errors import DarajaAPIError, DarajaTimeout
from payments.daraja.payloads import parse_stk_callback
from payments.models import Payment
from tests.factories import callback_body, callback_result, dumps, make_payment, query_result

pytestmark = pytest.mark.django_db
INTERNAL_LABELS = ("Rejected by Daraja", "Push outcome unknown", "Needs review", "Waiting for customer")


def pay(payment, *, source="callback", **callback):
    result = query_result(payment, "0") if source == "query" else callback_result(payment, **callback)
    payment_apply_result(payment=payment, result=result, source=source)
    payment.refresh_from_db()
    return payment


def fail(payment, code):
    payment_apply_result(payment=payment, result=callback_result(payment, code=code), source="callback")
    payment.refresh_from_db()
    return payment


def text(response) -> str:
    """The page's words as a reader sees them: tags out, whitespace folded."""
    html = response.content.decode()
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    words = " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())
    return re.sub(r" ([,.;:!?)])", r"\1", words)


@pytest.fixture
def paid_order(user):
    order = Order.objects.create(user=user, reference="ORD2400", description="Kiondo basket", amount=2400)
    payment = pay(make_payment(user, order=order, phone="254712345678"), receipt="UL2QSXIYQ0")
    order.refresh_from_db()
    assert order.status == "paid"
    return order, payment


def test_receipt_page_says_what_a_receipt_says(auth_client, paid_order):
    order, payment = paid_order
    page = text(auth_client.get(f"/receipts/{payment.public_id}/"))
    assert "M-Pesa receipt UL2QSXIYQ0" in page
    assert "Amount KES 2,400" in page
    # the callback's TransactionDate 20261123120105 is Nairobi time (Daraja's clock)
    assert "Date and time 23 Nov 2026, 12:01 EAT" in page
    assert "Paid from 2547****5678" in page and "254712345678" not in page
    assert "Paid for Kiondo basket (order ORD2400)" in page
    assert "Download PDF" in page


def test_a_masked_callback_phone_shows_the_prompted_number(auth_client, user):
    payment = make_payment(user, amount=50, phone="254711222333")
    body = callback_body(payment, receipt="UL6MASKED1")
    items = body["Body"]["stkCallback"]["CallbackMetadata"]["Item"]
    next(item for item in items if item["Name"] == "PhoneNumber")["Value"] = (
        "254711***333"  # Daraja 2026 masks it
    )
    payment_apply_result(payment=payment, result=parse_stk_callback(dumps(body)), source="callback")
    payment.refresh_from_db()
    assert payment.paid_phone == "254711222333"  # settle.py kept the prompted number
    assert "Paid from 2547****2333" in text(auth_client.get(f"/receipts/{payment.public_id}/"))


def test_paid_from_another_phone_shows_the_phone_that_paid(auth_client, user):
    payment = pay(make_payment(user, amount=60, phone="254711222333"), phone="254799888777")
    page = text(auth_client.get(f"/receipts/{payment.public_id}/"))
    assert "Paid from 2547****8777" in page


def test_the_pdf_is_a_receipt(auth_client, paid_order):
    _, payment = paid_order
    response = auth_client.get(f"/receipts/{payment.public_id}/pdf/")
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="duka-receipt-UL2QSXIYQ0.pdf"'
    pdf = PdfReader(io.BytesIO(response.content))
    words = " ".join(pdf.pages[0].extract_text().split())
    assert len(pdf.pages) == 1
    for expected in ("UL2QSXIYQ0", "KES 2,400", "23 Nov 2026, 12:01 EAT", "2547****5678", "Kiondo basket"):
        assert expected in words, expected
    assert "254712345678" not in words


@pytest.mark.parametrize("path", ["/receipts/{id}/", "/receipts/{id}/pdf/"])
def test_a_receipt_is_its_owners_alone(client, paid_order, other_user, path):
    _, payment = paid_order
    url = path.format(id=payment.public_id)
    assert client.get(url).status_code == 302  # anonymous: to the login page
    client.force_login(other_user)
    assert client.get(url).status_code == 404
    staff = get_user_model().objects.create_user("staff", password="x", is_staff=True)
    client.force_login(staff)
    assert client.get(url).status_code == 404  # a receipt is the customer's, not the back office's


def test_no_receipt_for_an_unpaid_payment(auth_client, user):
    cancelled = fail(make_payment(user), 1032)
    assert auth_client.get(f"/receipts/{cancelled.public_id}/").status_code == 404
    assert auth_client.get("/receipts/00000000-0000-0000-0000-000000000000/").status_code == 404


def test_a_query_settled_payment_says_receipt_to_follow_until_the_callback(auth_client, user):
    payment = pay(make_payment(user, amount=300), source="query")
    assert payment.status == "paid" and payment.receipt_number is None
    for url in (f"/receipts/{payment.public_id}/", "/wallet/", "/history/"):
        page = text(auth_client.get(url))
        assert "Confirmed by M-Pesa (receipt to follow)" in page, url
        assert "(pending)" not in page, url
    pdf = auth_client.get(f"/receipts/{payment.public_id}/pdf/").content
    assert "receipt to follow" in PdfReader(io.BytesIO(pdf)).pages[0].extract_text()

    pay(payment, receipt="UL3LATECB1")  # the late callback completes it
    for url in (f"/receipts/{payment.public_id}/", "/wallet/", "/history/"):
        page = text(auth_client.get(url))
        assert "UL3LATECB1" in page and "receipt to follow" not in page, url


def test_orders_link_paid_orders_to_their_receipt(auth_client, paid_order, order):
    _, payment = paid_order
    html = auth_client.get("/").content.decode()
    assert f'href="/receipts/{payment.public_id}/"' in html
    assert f'href="/checkout/{order.public_id}/"' in html  # the unpaid one is still to pay


def test_wallet_deposits_link_to_their_receipts(auth_client, user):
    first = pay(make_payment(user, amount=250), receipt="UL4DEPOSIT")
    page = auth_client.get("/wallet/").content.decode()
    assert re.search(rf'<a href="/receipts/{first.public_id}/">UL4DEPOSIT</a>', page)
    assert "KES 250" in text(auth_client.get("/wallet/"))


def test_history_speaks_the_checkouts_words(auth_client, user):
    pay(make_payment(user, amount=10), receipt="UL5PAIDXX1")
    fail(make_payment(user, amount=11), 2001)
    fail(make_payment(user, amount=12), 1)
    fail(make_payment(user, amount=13), 1032)
    fail(make_payment(user, amount=14), 1037)
    payment_mark_rejected(
        make_payment(user, amount=15, pushed=False),
        DarajaAPIError("Bad Request - Invalid PhoneNumber", error_code="400.002.02", http_status=400),
    )
    payment_mark_unknown(make_payment(user, amount=16, pushed=False), DarajaTimeout("read timeout"))
    pay(make_payment(user, amount=17), amount=18)  # a success for the wrong amount: to review
    page = text(auth_client.get("/history/"))
    for words in (
        "Paid Receipt UL5PAIDXX1",
        "Wrong PIN The M-Pesa PIN entered was not correct.",
        "Insufficient funds Your M-Pesa balance was not enough.",
        "Cancelled You cancelled the M-Pesa prompt.",
        "Timed out We could not reach your phone",
        "Could not start payment M-Pesa did not accept the request.",
        "Check your phone We could not confirm the prompt was sent.",
        "We are checking this payment Something did not match, so we are checking it by hand.",
    ):
        assert words in page, words
    for label in INTERNAL_LABELS:
        assert label not in page, label
    # whoever needs a person is told what happens next and whom to contact
    assert (
        page.count("Contact the shop's customer care") + page.count("contact the shop's customer care") == 2
    )
    assert "Customer care: care@duka.example" in page
    assert "Deposit to your Duka wallet" in page


def test_history_filters_in_plain_words(auth_client, user):
    pay(make_payment(user, amount=10))
    fail(make_payment(user, amount=11), 1032)
    fail(make_payment(user, amount=12), 2001)
    page = auth_client.get("/history/").content.decode()
    options = re.findall(r"<option value=\"(\w*)\"[^>]*>([^<]+)</option>", page)
    assert options == [
        ("", "All"),
        ("paid", "Paid"),
        ("not_paid", "Not paid"),
        ("waiting", "Waiting for M-Pesa"),
        ("checking", "Being checked"),
    ]
    assert text(auth_client.get("/history/?status=not_paid")).count("KES 1") == 2
    assert "KES 10" not in text(auth_client.get("/history/?status=not_paid"))
    assert "KES 10" in text(auth_client.get("/history/?status=paid"))
    assert "KES 11" in text(auth_client.get("/history/?status=cancelled"))  # an exact status still works


def test_visitors_get_a_welcome_and_customers_their_orders(client, user, order):
    page = text(client.get("/"))
    assert "Duka: pay with M-Pesa" in page and "Log in" in page
    assert "username demo, password demo" in page
    client.force_login(user)
    assert "Your orders" in text(client.get("/")) and "Coffee" in text(client.get("/"))


def test_every_page_has_the_favicon(client, user):
    assert '<link rel="icon" href="/static/frontend/favicon.svg" type="image/svg+xml">' in (
        client.get("/").content.decode()
    )
    redirect = client.get("/favicon.ico")
    assert (redirect.status_code, redirect["Location"]) == (301, "/static/frontend/favicon.svg")
    assert Payment.objects.count() == 0  # nothing above paid for anything
