"""The Pay Bill review queue in the admin: what needs a person first, and its two actions
(attach to a payment, record a refund) through the real pages."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from payments.models import C2BPayment
from tests.factories import c2b_notice, make_payment
from tests.helpers.asgi import CallbackDoor

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


@pytest.fixture
def staff(db):
    user = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    client = Client()
    client.force_login(user)
    return client


def confirmation(account, amount, receipt):
    CallbackDoor().c2b("confirmation", c2b_notice(account, amount, receipt=receipt))
    return C2BPayment.objects.get(trans_id=receipt)


def test_the_queue_opens_on_what_needs_review(staff, user):
    payment = make_payment(user, amount=90)
    confirmation(payment.paybill_account, 90, "TKQ0000001")  # matched
    confirmation("TYPO123", 90, "TKQ0000002")  # review
    queue = staff.get("/admin/payments/c2bpayment/")
    assert queue.status_code == 200
    assert "TKQ0000002" in queue.text and "TKQ0000001" not in queue.text
    everything = staff.get("/admin/payments/c2bpayment/?queue=all")
    assert "TKQ0000001" in everything.text and "TKQ0000002" in everything.text


@pytest.mark.parametrize("by", ["account", "payment id"])
def test_attach_from_the_page_pays_the_payment(staff, user, by):
    payment = make_payment(user, amount=150)
    row = confirmation("TYPO123", 150, "TKQ0000003")
    page = staff.get(f"/admin/payments/c2bpayment/{row.pk}/change/")
    assert f"/admin/payments/c2bpayment/{row.pk}/attach/" in page.text
    named = payment.paybill_account.lower() if by == "account" else str(payment.public_id)[:13]
    done = staff.post(f"/admin/payments/c2bpayment/{row.pk}/attach/", {"payment": named, "note": "called"})
    assert done.status_code == 302
    payment.refresh_from_db()
    row.refresh_from_db()
    assert payment.status == "paid" and payment.receipt_number == "TKQ0000003" and row.state == "attached"
    again = staff.post(f"/admin/payments/c2bpayment/{row.pk}/attach/", {"payment": named})
    assert again.status_code == 200 and "not open" in again.text


def test_attach_explains_what_it_cannot_do(staff, user):
    payment = make_payment(user, amount=500)
    row = confirmation("TYPO123", 100, "TKQ0000004")
    unknown = staff.post(f"/admin/payments/c2bpayment/{row.pk}/attach/", {"payment": "ZZZZZZZ"})
    assert unknown.status_code == 200 and "No payment has this account number or id." in unknown.text
    short = staff.post(f"/admin/payments/c2bpayment/{row.pk}/attach/", {"payment": payment.paybill_account})
    assert short.status_code == 200 and "refund it instead" in short.text
    payment.refresh_from_db()
    assert payment.status == "pending"


def test_record_a_refund(staff, user):
    row = confirmation("TYPO123", 100, "TKQ0000005")
    empty = staff.post(f"/admin/payments/c2bpayment/{row.pk}/refund/", {"note": ""})
    assert empty.status_code == 200 and "This field is required." in empty.text
    done = staff.post(f"/admin/payments/c2bpayment/{row.pk}/refund/", {"note": "reversed on the org portal"})
    assert done.status_code == 302
    row.refresh_from_db()
    assert row.state == "refunded" and row.resolution_note == "reversed on the org portal"


def test_view_only_staff_cannot_resolve(user):
    from django.contrib.auth.models import Permission

    viewer = get_user_model().objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_c2bpayment"))
    client = Client()
    client.force_login(viewer)
    row = confirmation("TYPO123", 100, "TKQ0000006")
    assert client.get(f"/admin/payments/c2bpayment/{row.pk}/change/").status_code == 200
    assert client.post(f"/admin/payments/c2bpayment/{row.pk}/refund/", {"note": "x"}).status_code == 403
    row.refresh_from_db()
    assert row.state == "review"
