"""Admin (filters, one timeline, read-only records, actions) and escaping of hostile text (B11)."""

import json
import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client

from frontend.models import Order
from payments import checkout
from payments.models import CallbackRecord, Payment
from tests.factories import callback_body, callback_result, dumps, make_payment
from tests.helpers.asgi import CallbackDoor
from tests.helpers.fake_daraja import accept_pushes

pytestmark = pytest.mark.django_db
HOSTILE = "<script>alert(1)</script>'; DROP TABLE payments;--{{7*7}}\u202e"


@pytest.fixture
def admin_client(db):
    staff = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    client = Client()
    client.force_login(staff)
    return client


def test_payment_admin_lists_filters_and_shows_the_timeline(admin_client, user):
    payment = make_payment(user, amount=77)
    CallbackDoor().callback(payment, dumps(callback_body(payment)))
    listing = admin_client.get("/admin/payments/payment/?status__exact=paid")
    assert listing.status_code == 200 and payment.public_id.hex[:10] in listing.text
    assert "2547****" in listing.text and payment.phone not in listing.text
    detail = admin_client.get(f"/admin/payments/payment/{payment.pk}/change/")
    assert detail.status_code == 200
    for step in ("initiating", "pending", "paid", "callback"):
        assert step in detail.text
    assert admin_client.get(f"/admin/payments/payment/?q={payment.receipt_number}").status_code == 200


def test_payment_list_leads_with_the_status(admin_client, user):
    payment = make_payment(user, amount=2400)
    CallbackDoor().callback(payment, dumps(callback_body(payment, code=2001)))
    listing = admin_client.get("/admin/payments/payment/").text
    headers = re.findall(r'<th scope="col" class="[^"]*column-(\w+)', listing)
    assert headers == ["short_id", "created", "status_line", "amount_kes", "masked_phone", "user"]
    assert "Failed · 2001" in listing and ">2,400<" in listing


def test_one_timeline_in_nairobi_time_with_readable_details(admin_client, user, time_machine):
    time_machine.move_to(datetime(2026, 12, 1, 11, 3, 7, tzinfo=UTC), tick=False)
    payment = make_payment(user, amount=12)
    CallbackDoor().callback(payment, dumps(callback_body(payment)))
    page = admin_client.get(f"/admin/payments/payment/{payment.pk}/change/").text
    assert page.count('class="mpesa-timeline"') == 1
    assert 'class="js-inline-admin-formset' not in page  # no inline tables of events or callbacks
    assert "2026-12-01 14:03:07 EAT" in page and "11:03:07" not in page
    record = CallbackRecord.objects.get()
    assert (
        f'<a href="/admin/payments/callbackrecord/{record.pk}/change/">Raw callback #{record.pk}</a>' in page
    )
    assert "<dt>processing</dt><dd>pending -&gt; paid</dd>" in page
    body = re.search(r"<dt>body</dt><dd><pre class=\"mpesa-pre\">(.*?)</pre>", page, re.S).group(1)
    assert "\n      &quot;ResultCode&quot;: 0,\n" in body  # pretty-printed, one key a line
    assert "<dt>result_code</dt><dd>0</dd>" in page
    assert "{&#x27;" not in page  # no Python dict reprs


def test_payments_and_raw_callbacks_are_read_only_views(admin_client, user):
    payment = make_payment(user)
    CallbackDoor().callback(payment, dumps(callback_body(payment)))
    record = CallbackRecord.objects.get()
    for url in (
        f"/admin/payments/payment/{payment.pk}/change/",
        f"/admin/payments/callbackrecord/{record.pk}/change/",
    ):
        page = admin_client.get(url).text
        assert "<h1>View " in page and 'name="_save"' not in page and 'name="_continue"' not in page
        assert ">Close</a>" in page
        assert admin_client.post(url, {"status": "paid"}).status_code == 403
    received = record.received_at.astimezone(ZoneInfo("Africa/Nairobi")).strftime("%Y-%m-%d %H:%M:%S EAT")
    record_page = admin_client.get(f"/admin/payments/callbackrecord/{record.pk}/change/").text
    assert received in record_page
    assert '<pre class="mpesa-pre">{\n  &quot;Body&quot;: {\n' in record_page


def test_staff_who_may_only_view_get_no_actions(user):
    viewer = get_user_model().objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_payment"))
    client = Client()
    client.force_login(viewer)
    make_payment(user)
    listing = client.get("/admin/payments/payment/")
    assert listing.status_code == 200 and "Mark reviewed" not in listing.text


def test_admin_actions(admin_client, user, django_capture_on_commit_callbacks):
    payment = make_payment(user)
    checkout.payment_apply_result(
        payment=payment, result=callback_result(payment, code=1032), source="callback"
    )
    checkout.payment_apply_result(payment=payment, result=callback_result(payment), source="callback")
    payment.refresh_from_db()
    assert payment.flagged
    response = admin_client.post(
        "/admin/payments/payment/", {"action": "mark_reviewed", "_selected_action": [payment.pk]}, follow=True
    )
    payment.refresh_from_db()
    assert response.status_code == 200 and not payment.flagged and payment.reviewed_at
    response = admin_client.post(
        "/admin/payments/payment/", {"action": "repush_status", "_selected_action": [payment.pk]}, follow=True
    )
    assert "Pushed 1 of 1" in response.text


def test_replaying_a_callback_is_idempotent(admin_client, user):
    payment = make_payment(user, amount=40)
    CallbackDoor().callback(payment, dumps(callback_body(payment)))
    original = CallbackRecord.objects.get()
    admin_client.post(
        "/admin/payments/callbackrecord/", {"action": "replay", "_selected_action": [original.pk]}
    )
    copy = CallbackRecord.objects.exclude(pk=original.pk).get()
    original.refresh_from_db()
    assert (original.outcome, copy.outcome, copy.replay_of_id) == ("applied", "duplicate", original.pk)
    assert Payment.objects.get(pk=payment.pk).payable.balance == 40


def test_raw_callbacks_are_read_only(admin_client, user):
    payment = make_payment(user)
    CallbackDoor().callback(payment, "{broken")
    record = CallbackRecord.objects.get()
    page = admin_client.get(f"/admin/payments/callbackrecord/{record.pk}/change/")
    assert page.status_code == 200 and 'name="body"' not in page.text
    assert admin_client.get("/admin/payments/callbackrecord/add/").status_code == 403


def test_hostile_text_is_stored_sent_sanitised_and_rendered_escaped(auth_client, user, daraja, admin_client):
    """B11."""
    pushes = accept_pushes(daraja)
    order = Order.objects.create(user=user, reference="ORD9", description=HOSTILE, amount=10)
    page = auth_client.get("/")
    assert "<script>alert(1)</script>" not in page.text and "&lt;script&gt;" in page.text
    checkout = auth_client.get(f"/checkout/{order.public_id}/")
    assert "<script>alert(1)" not in checkout.text
    response = auth_client.post(
        "/payments/initiate/",
        data=json.dumps({"payable": "order", "id": str(order.public_id), "phone": "0712345678"}),
        content_type="application/json",
    )
    assert response.status_code == 201
    assert pushes[0]["AccountReference"] == "ORD9" and pushes[0]["TransactionDesc"] == "Order ORD9"
    assert Order.objects.get(pk=order.pk).description == HOSTILE
    admin_page = admin_client.get(f"/admin/frontend/order/{order.pk}/change/")
    assert "<script>alert(1)</script>" not in admin_page.text


def test_pages_need_login(client):
    for path in ("/wallet/", "/history/", "/receipts/00000000-0000-0000-0000-000000000000/"):
        response = client.get(path)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    landing = client.get("/")  # a visitor gets the shop's welcome, with the way in, not a redirect
    assert landing.status_code == 200 and 'href="/accounts/login/"' in landing.content.decode()
    assert "Your orders" not in landing.content.decode()


def test_other_users_checkout_is_404(client, other_user, order):
    client.force_login(other_user)
    assert client.get(f"/checkout/{order.public_id}/").status_code == 404


@pytest.mark.browser
@pytest.mark.slow
def test_the_payment_list_and_page_fit_1280_px_in_chromium(tmp_path):
    """Real Chromium at 1280x800 (the admin's sidebar open): Status is on screen without
    scrolling sideways, and a payment's JSON wraps inside the page."""
    from tests.helpers.browser import chromium
    from tests.helpers.live import App
    from tests.helpers.procs import ROOT, manage

    app = App(tmp_path)
    env = {**app.env, "DJANGO_SUPERUSER_PASSWORD": "pw-ops-1280"}
    manage("createsuperuser", "--noinput", "--username", "ops", "--email", "ops@example.com", env=env)
    app.server.start()
    try:
        web = app.web(*app.customer())
        for phone, status in (("0708374149", "paid"), ("0700001032", "cancelled"), ("0700000001", "failed")):
            started = web.deposit(2400, phone).json()
            app.wait_for_status(web, started["status_url"], status)
        with chromium() as browser:
            page = browser.new_page(base_url=app.url, viewport={"width": 1280, "height": 800})
            page.goto("/admin/login/")
            page.get_by_label("Username").fill("ops")
            page.get_by_label("Password").fill("pw-ops-1280")
            page.get_by_role("button", name="Log in").click()
            page.goto("/admin/payments/payment/")
            header = page.get_by_role("columnheader", name="Status")
            box = header.bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= 1280
            for text in ("Paid · 0", "Cancelled · 1032", "Failed · 1"):
                cell = page.locator("#result_list td.field-status_line", has_text=text)
                assert cell.bounding_box()["x"] + cell.bounding_box()["width"] <= 1280
            assert page.evaluate(
                "(el => el.scrollWidth <= el.clientWidth)(document.querySelector('.results'))"
            )
            artifacts = ROOT / "tests" / "artifacts"
            artifacts.mkdir(exist_ok=True)
            page.screenshot(path=str(artifacts / "admin-payments-1280.png"))

            page.get_by_role("link", name=re.compile(r"^[0-9a-f]{10}$")).first.click()
            page.get_by_role("heading", name="View payment").wait_for()
            assert page.get_by_role("button", name="Save").count() == 0
            assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
            assert page.evaluate(
                "[...document.querySelectorAll('pre')].every(p => p.scrollWidth <= p.clientWidth)"
            )
            page.screenshot(path=str(artifacts / "admin-payment-1280.png"), full_page=True)
    finally:
        app.server.stop()
