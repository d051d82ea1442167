"""Load and races on a file-backed database with real threads (L1, L2, L4, L5, L6).

Every thread has its own Django client and database connection, lined up on a barrier.
The same module runs on PostgreSQL under ``make test`` (marker ``postgres``, see
tests/run_postgres.py), where row locks instead of SQLite's single writer decide the races.
"""

import json
import time

import pytest
from django.contrib.auth import get_user_model
from django.db.models import Sum
from django.test import Client

from frontend.models import LedgerEntry, Wallet
from payments.checkout import settle
from payments.models import CallbackRecord, Payment
from tests.factories import callback_body, deposit_body, dumps, make_payment, next_phone
from tests.helpers.asgi import CallbackDoor
from tests.helpers.fake_daraja import accept_pushes
from tests.helpers.race import MAX_SECONDS, run_parallel

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def post_callback(payment, body) -> int:
    return CallbackDoor().callback(payment, dumps(body)).status_code


def test_l1_concurrent_initiations_distinct_phones(user, daraja, settings):
    settings.PAYMENTS_RATE_LIMIT_PER_USER = ""  # one user starts all 50 here
    pushes = accept_pushes(daraja)
    clients = [logged_in(user) for _ in range(50)]
    phones = [next_phone() for _ in range(50)]
    started = time.monotonic()

    def initiate(i):
        t0 = time.monotonic()
        response = clients[i].post(
            "/payments/initiate/",
            data=json.dumps(deposit_body(user, 10 + i, phones[i])),
            content_type="application/json",
        )
        return response.status_code, time.monotonic() - t0

    results = run_parallel(50, initiate)
    assert [code for code, _ in results] == [201] * 50
    assert Payment.objects.filter(status="pending").count() == 50
    assert len(set(Payment.objects.values_list("checkout_request_id", flat=True))) == 50
    assert len(pushes) == 50
    latencies = sorted(t for _, t in results)
    assert latencies[int(0.95 * 49)] < 20 and time.monotonic() - started < MAX_SECONDS


def test_l2_same_idempotency_key_starts_one_payment(user, daraja):
    pushes = accept_pushes(daraja)
    clients = [logged_in(user) for _ in range(20)]
    body = json.dumps(deposit_body(user, 25, "0712345678"))

    def initiate(i):
        response = clients[i].post(
            "/payments/initiate/",
            data=body,
            content_type="application/json",
            headers={"Idempotency-Key": "dbl-click"},
        )
        return response.status_code, response.json()["payment"]["public_id"]

    results = run_parallel(20, initiate)
    assert sorted(code for code, _ in results) == [200] * 19 + [201]
    assert len({pid for _, pid in results}) == 1
    assert Payment.objects.count() == 1 and len(pushes) == 1


def test_l4_concurrent_callbacks_for_one_wallet_lose_no_update(user):
    payments = [make_payment(user, amount=10 + i) for i in range(50)]
    codes = run_parallel(50, lambda i: post_callback(payments[i], callback_body(payments[i])))
    assert codes == [200] * 50
    wallet = Wallet.objects.get(user=user)
    assert wallet.balance == sum(p.amount for p in payments)
    assert LedgerEntry.objects.count() == 50
    assert LedgerEntry.objects.aggregate(total=Sum("amount"))["total"] == wallet.balance


def test_l5_duplicate_callbacks_race_to_a_single_credit(user):
    payment = make_payment(user, amount=500)
    body = callback_body(payment)
    codes = run_parallel(20, lambda i: post_callback(payment, body))
    assert codes == [200] * 20
    outcomes = sorted(CallbackRecord.objects.values_list("outcome", flat=True))
    assert outcomes == ["applied"] + ["duplicate"] * 19
    assert LedgerEntry.objects.count() == 1 and Wallet.objects.get(user=user).balance == 500


def test_l5_variant_the_constraint_saves_us_when_the_guard_misses(user, monkeypatch):
    """If the status guard were wrong (every caller 'wins'), the one-ledger-entry-per-payment
    constraint still refuses the second credit and the whole second transaction rolls back."""
    payment = make_payment(user, amount=300)
    monkeypatch.setattr(settle, "payment_transition", lambda p, **kw: "pending")
    body = callback_body(payment)
    assert [post_callback(payment, body) for _ in range(2)] == [200, 200]
    assert LedgerEntry.objects.count() == 1 and Wallet.objects.get(user=user).balance == 300


def test_l6_initiations_and_callbacks_interleaved(user, daraja):
    accept_pushes(daraja)
    User = get_user_model()
    buyers = [User.objects.create_user(f"buyer{i}", password="x") for i in range(30)]
    early = [make_payment(b, amount=20) for b in buyers[:15]]

    def work(i):
        if i < 15:  # settle an existing payment while others initiate
            return post_callback(early[i], callback_body(early[i]))
        client = logged_in(buyers[i])
        response = client.post(
            "/payments/initiate/",
            data=json.dumps(deposit_body(buyers[i], 30, next_phone())),
            content_type="application/json",
        )
        payment = Payment.objects.get(public_id=response.json()["payment"]["public_id"])
        return post_callback(payment, callback_body(payment))

    assert run_parallel(30, work) == [200] * 30
    assert Payment.objects.filter(status="paid").count() == 30
    for buyer in buyers:
        entries = LedgerEntry.objects.filter(wallet__user=buyer)
        assert Wallet.objects.get(user=buyer).balance == sum(e.amount for e in entries)
