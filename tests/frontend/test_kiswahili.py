"""The shop in Kiswahili, server side: the browser's Accept-Language is honoured, the shop's
switch (set_language, the django_language cookie) wins and is remembered, and every place the
customer reads (pages, the status JSON, field errors, the history, the PDF receipt) follows.
The live switch and frames in a real browser: tests/browser/test_kiswahili.py."""

import io
import json

import pytest
from django.conf import settings
from pypdf import PdfReader

from payments.checkout import payment_apply_result
from tests.factories import callback_result, make_payment
from tests.frontend.test_pages import text

pytestmark = pytest.mark.django_db


def test_accept_language_sw_gives_the_checkout_in_kiswahili(auth_client, order):
    response = auth_client.get(
        f"/checkout/{order.public_id}/", HTTP_ACCEPT_LANGUAGE="sw-KE,sw;q=0.9,en;q=0.5"
    )
    html = response.content.decode()
    assert '<html lang="sw">' in html
    page = text(response)
    assert "Agizo ORD1001" in page and "Rudi kwenye maagizo yako" in page  # shown once paid
    assert "Checkout" not in page and "Order" not in page and "Back to your orders" not in page


def test_english_by_default_and_for_an_english_browser(auth_client, order):
    for accept in ("", "en-US,en;q=0.9", "fr-FR"):
        html = auth_client.get("/", HTTP_ACCEPT_LANGUAGE=accept).content.decode()
        assert '<html lang="en">' in html and "Pay with M-Pesa" in html


def test_the_switch_is_remembered_and_wins_over_the_browser(auth_client, order):
    response = auth_client.post("/i18n/setlang/", {"language": "sw", "next": "/"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 302 and response["Location"] == "/"
    cookie = response.cookies[settings.LANGUAGE_COOKIE_NAME]
    assert cookie.value == "sw" and int(cookie["max-age"]) >= 300 * 24 * 3600  # survives closing the browser
    page = text(auth_client.get("/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9"))
    assert "Maagizo yako" in page and "Lipa na M-PESA" in page and "Your orders" not in page
    auth_client.post("/i18n/setlang/", {"language": "en", "next": "/"}, HTTP_ACCEPT_LANGUAGE="sw")
    assert "Your orders" in text(auth_client.get("/", HTTP_ACCEPT_LANGUAGE="sw"))


def test_the_header_offers_both_languages_marking_the_current_one(client):
    html = client.get("/", HTTP_ACCEPT_LANGUAGE="sw").content.decode()
    assert 'action="/i18n/setlang/"' in html and 'aria-label="Lugha"' in html
    assert 'value="sw" lang="sw" class="link" aria-current="true">Kiswahili</button>' in html
    assert 'value="en" lang="en" class="link">English</button>' in html


def test_the_status_json_and_field_errors_speak_kiswahili(auth_client, user):
    payment = make_payment(user)
    body = auth_client.get(f"/payments/{payment.public_id}/", HTTP_ACCEPT_LANGUAGE="sw").json()["payment"]
    assert body["title"] == "Angalia simu yako"
    assert body["message"] == "Weka PIN yako ya M-PESA kwenye ombi ili kukamilisha malipo."
    refused = auth_client.post(
        "/payments/initiate/",
        json.dumps({"payable": "wallet", "id": "x", "phone": "12", "amount": 1.5}),
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="sw",
    ).json()
    assert refused["error"] == "Tafadhali sahihisha sehemu zilizoonyeshwa."
    assert refused["fields"]["phone"].startswith("Weka nambari ya M-PESA ya Kenya")
    assert refused["fields"]["amount"].startswith("Weka kiasi kamili cha shilingi")


def test_history_and_pdf_receipt_in_kiswahili(auth_client, user):
    cancelled, paid = make_payment(user), make_payment(user, amount=300)
    payment_apply_result(payment=cancelled, result=callback_result(cancelled, code=1032), source="callback")
    payment_apply_result(payment=paid, result=callback_result(paid), source="callback")
    page = text(auth_client.get("/history/", HTTP_ACCEPT_LANGUAGE="sw"))
    assert "Historia ya malipo" in page and "Umeghairi" in page and "Imelipwa" in page
    assert "Cancelled" not in page and "Payment history" not in page
    pdf = auth_client.get(f"/receipts/{paid.public_id}/pdf/", HTTP_ACCEPT_LANGUAGE="sw").content
    words = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    assert "Risiti ya malipo ya M-PESA" in words and "Kiasi" in words and "KES 300" in words


def test_the_wallets_live_rows_get_the_months_in_kiswahili(auth_client):
    """wallet.js writes a new deposit's date as Django does ("2 Dis 2026 14:03"), so a live row
    reads like the rows the server wrote."""
    html = auth_client.get("/wallet/", HTTP_ACCEPT_LANGUAGE="sw").content.decode()
    assert 'data-months="Jan Feb Machi Apr Mei Juni Jul Ago Sep Okt Nov Dis"' in html
    assert (
        'data-months="Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec"'
        in auth_client.get("/wallet/").content.decode()
    )
