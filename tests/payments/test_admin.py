"""Admin (filters, timeline, actions) and escaping of hostile text (B11)."""

import json

import pytest
from django.contrib.auth import get_user_model
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
    for path in ("/", "/wallet/", "/history/"):
        response = client.get(path)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_other_users_checkout_is_404(client, other_user, order):
    client.force_login(other_user)
    assert client.get(f"/checkout/{order.public_id}/").status_code == 404
