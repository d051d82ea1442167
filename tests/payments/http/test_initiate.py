"""POST /payments/initiate/: every status code a client can see (fake Daraja on loopback)."""

import json
import re
import time

import pytest
import time_machine
from django.test import Client

from frontend.models import Order
from payments.models import Payment
from tests.factories import callback_result, make_payment, next_phone, order_body
from tests.helpers.fake_daraja import accept_pushes, envelope

URL = "/payments/initiate/"
pytestmark = pytest.mark.django_db


def post(client, data, **headers):
    return client.post(URL, data=json.dumps(data), content_type="application/json", headers=headers)


def test_order_payment_starts_and_is_pending(auth_client, order, daraja):
    pushes = accept_pushes(daraja)
    response = post(auth_client, order_body(order, "0708 374 149"))
    assert response.status_code == 201, response.content
    body = response.json()
    payment = Payment.objects.get(public_id=body["payment"]["public_id"])
    assert payment.status == "pending" and body["payment"]["status"] == "pending"
    assert body["ws_url"] == f"/ws/payments/{payment.public_id}/"
    assert body["status_url"] == f"/payments/{payment.public_id}/"
    assert body["payment"]["phone_masked"] == "2547****4149"
    [sent] = pushes
    assert sent["PhoneNumber"] == "254708374149" and sent["Amount"] == 850
    assert sent["AccountReference"] == "ORD1001" and sent["TransactionDesc"] == "Order ORD1001"
    assert re.fullmatch(
        r"http://127\.0\.0\.1:\d+/payments/callbacks/[0-9a-f]{32}/[0-9a-f]{32}/", sent["CallBackURL"]
    )


def test_deposit_starts(auth_client, daraja, deposit):
    pushes = accept_pushes(daraja)
    response = post(auth_client, deposit(500, "+254712345678"))
    assert response.status_code == 201
    assert pushes[0]["Amount"] == 500 and pushes[0]["TransactionDesc"] == "Wallet top-up"


def test_anonymous_is_refused(client, daraja, deposit):
    assert post(client, deposit(5, "0712345678")).status_code == 401


def test_csrf_is_required(user, daraja, deposit):
    """S15: without the token → 403 JSON, nothing pushed; with it → 201."""
    pushes = accept_pushes(daraja)
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    refused = post(client, deposit(5, "0712345678"))
    assert refused.status_code == 403 and "CSRF" in refused.json()["error"] and pushes == []
    client.get("/wallet/")  # the page sets the CSRF cookie
    ok = post(client, deposit(5, "0712345678"), **{"X-CSRFToken": client.cookies["csrftoken"].value})
    assert ok.status_code == 201 and len(pushes) == 1


def test_wrong_content_type_and_bad_json(auth_client, daraja, deposit):
    pushes = accept_pushes(daraja)
    form = auth_client.post(URL, deposit(5, "0712345678"))
    bad = auth_client.post(URL, data="{not json", content_type="application/json")
    array = auth_client.post(URL, data="[1]", content_type="application/json")
    assert (form.status_code, bad.status_code, array.status_code) == (415, 400, 400)
    assert pushes == [] and not Payment.objects.exists()


def test_huge_body_is_refused(auth_client, daraja):
    response = auth_client.post(URL, data=json.dumps({"x": "a" * 100_000}), content_type="application/json")
    assert response.status_code == 413 and not Payment.objects.exists()


@pytest.mark.parametrize("amount", [0, -1, 1.5, "10", 1e3, 250_001, 10**20, None, True])
def test_bad_amounts_get_a_field_error_and_no_push(auth_client, daraja, amount, deposit):
    pushes = accept_pushes(daraja)
    response = post(auth_client, deposit(amount, "0712345678"))
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"amount"} and pushes == []


def test_missing_amount_and_bad_phone_are_both_reported(auth_client, daraja, deposit):
    response = post(auth_client, deposit(None, "255712345678"))
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"amount", "phone"}


def test_a_body_naming_no_payable_is_a_field_error(auth_client, daraja):
    response = post(auth_client, {"phone": "0712345678", "amount": 10})
    assert response.status_code == 400 and set(response.json()["fields"]) == {"payable"}


def test_order_of_another_user_is_not_found(client, other_user, order, daraja):
    client.force_login(other_user)
    response = post(client, order_body(order, "0712345678"))
    assert response.status_code == 404 and response.json()["fields"] == {"id": "Not found."}


def test_order_decides_the_amount(auth_client, order, daraja):
    response = post(auth_client, {**order_body(order, "0712345678"), "amount": 1})
    assert response.status_code == 400 and "amount" in response.json()["fields"]


def test_same_idempotency_key_returns_the_same_payment(auth_client, daraja, deposit):
    pushes = accept_pushes(daraja)
    data = deposit(20, "0712345678")
    first = post(auth_client, data, **{"Idempotency-Key": "attempt-1"})
    second = post(auth_client, data, **{"Idempotency-Key": "attempt-1"})
    assert (first.status_code, second.status_code) == (201, 200)
    assert second["Idempotent-Replayed"] == "true"
    assert first.json()["payment"]["public_id"] == second.json()["payment"]["public_id"]
    assert len(pushes) == 1


def test_same_key_different_body_conflicts(auth_client, daraja, deposit):
    pushes = accept_pushes(daraja)
    post(auth_client, deposit(20, "0712345678"), **{"Idempotency-Key": "k"})
    response = post(auth_client, deposit(21, "0712345678"), **{"Idempotency-Key": "k"})
    assert response.status_code == 409 and "idempotency_key" in response.json()["fields"]
    assert len(pushes) == 1


def test_bad_idempotency_key(auth_client, daraja, deposit):
    response = post(auth_client, deposit(20, "0712345678"), **{"Idempotency-Key": "x" * 65})
    assert response.status_code == 400


def test_second_live_prompt_on_a_phone_is_refused(auth_client, daraja, deposit):
    pushes = accept_pushes(daraja)
    assert post(auth_client, deposit(20, "0712345678")).status_code == 201
    response = post(auth_client, deposit(30, "0712345678"))
    assert response.status_code == 409 and "phone" in response.json()["fields"]
    assert response.json()["payment"]["status"] == "pending"
    assert len(pushes) == 1


def test_paid_order_is_refused(auth_client, user, order, daraja):
    payment = make_payment(user, order=order)
    from payments import checkout

    checkout.payment_apply_result(payment=payment, result=callback_result(payment), source="callback")
    response = post(auth_client, order_body(order, next_phone()))
    assert response.status_code == 409 and Order.objects.get(pk=order.pk).status == "paid"


def test_daraja_validation_error_is_rejected_with_a_safe_message(auth_client, daraja, deposit):
    daraja.oauth()
    daraja.server.expect_request("/mpesa/stkpush/v1/processrequest").respond_with_json(
        envelope("400.002.02", "Bad Request - Invalid PhoneNumber"), status=400
    )
    response = post(auth_client, deposit(20, "0712345678"))
    assert response.status_code == 502
    body = response.json()
    assert body["payment"]["status"] == "rejected" and body["payment"]["retry"] is True
    assert "Invalid PhoneNumber" not in body["error"]
    payment = Payment.objects.get()
    assert (payment.error_code, payment.error_message) == ("400.002.02", "Bad Request - Invalid PhoneNumber")


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("500.003.02", "System is busy. Please try again in few minutes."),
        ("500.003.02", "Error Occurred: Spike Arrest Violation"),
    ],
)
def test_busy_daraja_is_503_with_retry_after_and_no_automatic_repush(
    auth_client, daraja, code, message, deposit
):
    """F11."""
    daraja.oauth()
    daraja.server.expect_request("/mpesa/stkpush/v1/processrequest").respond_with_json(
        envelope(code, message), status=500
    )
    response = post(auth_client, deposit(20, "0712345678"))
    assert response.status_code == 503 and response["Retry-After"] == "60"
    assert response.json()["payment"]["title"] == "M-Pesa is busy"
    assert len(daraja.requests("/mpesa/stkpush/v1/processrequest")) == 1


def test_oauth_failure_sends_no_push(auth_client, daraja, deposit):
    """F6."""
    daraja.server.expect_request("/oauth/v1/generate").respond_with_data("down", status=500)
    response = post(auth_client, deposit(20, "0712345678"))
    assert response.status_code == 503
    assert response.json()["payment"]["status"] == "rejected"
    assert daraja.requests("/mpesa/stkpush/v1/processrequest") == []


def test_unable_to_lock_subscriber_blocks_the_phone_for_a_minute(auth_client, daraja, deposit):
    """F12: Daraja says a prompt is open on the phone → rejected now, and 409 for 60 s."""
    daraja.oauth()
    daraja.server.expect_request("/mpesa/stkpush/v1/processrequest").respond_with_json(
        envelope(
            "500.001.1001",
            "Unable to lock subscriber, a transaction is already in process for the current subscriber",
        ),
        status=500,
    )
    first = post(auth_client, deposit(20, "0712345678"))
    assert first.status_code == 502 and first.json()["payment"]["title"] == "Prompt already on your phone"
    second = post(auth_client, deposit(20, "0712345678"))
    assert second.status_code == 409 and second["Retry-After"] == "60"
    assert len(daraja.requests("/mpesa/stkpush/v1/processrequest")) == 1


def test_push_timeout_is_unknown_and_never_repushed(auth_client, daraja, deposit):
    """F10: the push may have reached the phone: 202 unknown, one push only."""
    import time

    from werkzeug import Response

    daraja.oauth()
    arrived = []

    def slow(request):
        arrived.append(request.get_json())
        time.sleep(1.5)
        return Response("{}", content_type="application/json")

    daraja.server.expect_request("/mpesa/stkpush/v1/processrequest").respond_with_handler(slow)
    response = post(auth_client, deposit(20, "0712345678"))
    assert response.status_code == 202
    assert response.json()["payment"]["status"] == "unknown"
    assert response.json()["payment"]["title"] == "Check your phone"
    assert len(arrived) == 1


def test_rate_limit_per_phone(auth_client, user, daraja, settings, deposit):
    settings.PAYMENTS_RATE_LIMIT_PER_PHONE = "3/m"
    accept_pushes(daraja)
    codes = []
    # one window (django-ratelimit's windows are fixed: a run across a boundary saw 4 × 201)
    with time_machine.travel(time.time(), tick=False):
        for i in range(4):
            codes.append(post(auth_client, deposit(20 + i, "0712345678")).status_code)
            Payment.objects.filter(status="pending").update(status="cancelled")  # free the phone
    assert codes[:3] == [201, 201, 201] and codes[3] == 429
    other = post(auth_client, deposit(20, "0722000000"))
    assert other.status_code == 201


def test_repeating_one_idempotency_key_is_not_counted_again(auth_client, daraja, settings, deposit):
    settings.PAYMENTS_RATE_LIMIT_PER_PHONE = "2/m"
    pushes = accept_pushes(daraja)
    data = deposit(20, "0712345678")
    codes = {post(auth_client, data, **{"Idempotency-Key": "same"}).status_code for _ in range(6)}
    assert codes == {201, 200} and len(pushes) == 1


@pytest.mark.redis
def test_rate_limit_is_shared_through_redis(user, redis, daraja, settings, deposit):
    """S17: the limit spans clients (and processes) through the shared Redis cache."""
    from django.core.cache import caches

    from tests.helpers.redis import cache_settings

    settings.CACHES = cache_settings(redis.url)
    settings.PAYMENTS_RATE_LIMIT_PER_PHONE = "5/m"
    caches["default"].clear()
    pushes = accept_pushes(daraja)
    first, second = Client(), Client()
    first.force_login(user)
    second.force_login(user)
    codes = []
    for i in range(6):
        codes.append(post(first if i % 2 else second, deposit(20 + i, "0712345678")).status_code)
        Payment.objects.filter(status="pending").update(status="cancelled")
    assert codes == [201] * 5 + [429] and len(pushes) == 5
    assert post(first, deposit(20, "0733000000")).status_code == 201
