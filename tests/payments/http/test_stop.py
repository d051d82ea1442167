"""POST /payments/<id>/stop/ ("Wrong number?"): the customer stops an attempt on the page so a
new one can start; nothing that already happened is undone."""

import pytest

from frontend.models import LedgerEntry
from tests.factories import callback_body, dumps, make_payment

pytestmark = pytest.mark.django_db


def test_stopping_frees_the_phone_and_the_payable_for_a_new_attempt(auth_client, user, order):
    payment = make_payment(user, order=order, phone="254708374149")
    response = auth_client.post(f"/payments/{payment.public_id}/stop/")
    assert response.status_code == 200
    body = response.json()["payment"]
    assert body["status"] == "cancelled" and body["title"] == "Stopped" and body["retry"] is True
    assert body["paybill"] is None and body["cancellable"] is False  # no menu payment to a stopped attempt
    again = make_payment(user, order=order, phone="254708374149")  # the constraints let it start
    assert again.status == "pending"


def test_a_settled_payment_cannot_be_stopped(auth_client, user, door):
    payment = make_payment(user, amount=50)
    door.callback(payment, dumps(callback_body(payment)))
    response = auth_client.post(f"/payments/{payment.public_id}/stop/")
    assert response.status_code == 409 and response.json()["payment"]["status"] == "paid"


def test_a_success_after_stopping_still_credits_and_is_flagged(auth_client, user, door):
    payment = make_payment(user, amount=60)
    auth_client.post(f"/payments/{payment.public_id}/stop/")
    door.callback(payment, dumps(callback_body(payment)))  # someone entered the PIN anyway
    payment.refresh_from_db()
    assert payment.status == "paid" and payment.flagged
    assert LedgerEntry.objects.get(payment=payment).amount == 60


def test_only_the_owner_may_stop_and_only_by_post(client, user, other_user):
    payment = make_payment(user, amount=70)
    client.force_login(other_user)
    assert client.post(f"/payments/{payment.public_id}/stop/").status_code == 404
    client.force_login(user)
    assert client.get(f"/payments/{payment.public_id}/stop/").status_code == 405
    payment.refresh_from_db()
    assert payment.status == "pending"


def test_the_waiting_payload_says_where_the_prompt_went(auth_client, user):
    payment = make_payment(user, amount=2400, phone="254708374149")
    body = auth_client.get(f"/payments/{payment.public_id}/").json()
    assert body["payment"]["phone_display"] == "0708 ••• 149" and body["payment"]["cancellable"] is True
    assert body["payment"]["amount_display"] == "KES 2,400" and body["stop_url"].endswith("/stop/")
