"""Property-based: the callback endpoint never answers 5xx (P3), and the money invariants
hold under any order of events (P4, a hypothesis state machine)."""

import copy
import json
from datetime import timedelta

import pytest
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from frontend.models import LedgerEntry, Order, Wallet
from payments import checkout
from payments.models import Payment
from tests.factories import accepted_for, callback_body, callback_result, dumps, make_payment, query_result
from tests.helpers.asgi import CallbackDoor

pytestmark = pytest.mark.django_db
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)


def mutate(data: dict, path: list[str], action: str, value):
    target = data
    for key in path[:-1]:
        target = target[key]
    if action == "drop":
        target.pop(path[-1], None)
    else:
        target[path[-1]] = value
    return data


PATHS = [
    ["Body"],
    ["Body", "stkCallback"],
    ["Body", "stkCallback", "ResultCode"],
    ["Body", "stkCallback", "CheckoutRequestID"],
    ["Body", "stkCallback", "ResultDesc"],
    ["Body", "stkCallback", "CallbackMetadata"],
    ["Body", "stkCallback", "MerchantRequestID"],
]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.one_of(
        json_values.map(json.dumps),
        st.tuples(st.sampled_from(PATHS), st.sampled_from(["drop", "set"]), json_values),
        st.binary(max_size=200),
    )
)
def test_p3_callback_fuzz_never_500(client, user, body):
    payment = make_payment(user, amount=10)
    if isinstance(body, tuple):
        path, action, value = body
        body = dumps(mutate(copy.deepcopy(callback_body(payment)), path, action, value))
    response = CallbackDoor().callback(payment, body)
    assert response.status_code in (200, 400, 413)
    payment.refresh_from_db()
    if response.status_code != 200:
        assert payment.status == "pending"
    if payment.status == "paid":  # only a still well-formed success for this payment pays
        assert payment.receipt_number and Wallet.objects.get(user=user).balance >= 10


class MoneyMachine(RuleBasedStateMachine):
    """Initiate, push, callbacks (right/wrong amount, failures, duplicates), queries, local
    expiry — in any order. After every step the money invariants must hold."""

    def __init__(self):
        super().__init__()
        self.ever_paid: set[int] = set()
        self.rejected_unpushed: set[int] = set()

    @initialize()
    def start(self):
        from django.contrib.auth import get_user_model

        self.atomic = transaction.atomic()
        self.atomic.__enter__()
        self.user = get_user_model().objects.create_user("machine")
        self.order = Order.objects.create(user=self.user, reference="M1", description="x", amount=120)

    def teardown(self):
        transaction.set_rollback(True)
        self.atomic.__exit__(None, None, None)

    def payments(self):
        return list(Payment.objects.filter(user=self.user).order_by("pk"))

    @rule(amount=st.integers(1, 500), for_order=st.booleans(), pushed=st.booleans())
    def initiate(self, amount, for_order, pushed):
        try:
            make_payment(self.user, amount=amount, order=self.order if for_order else None, pushed=pushed)
        except checkout.InitiationRefused:
            pass

    @rule(data=st.data())
    def push_answer(self, data):
        waiting = [p for p in self.payments() if p.status == "initiating"]
        if waiting:
            payment = data.draw(st.sampled_from(waiting))
            if data.draw(st.booleans()):
                checkout.payment_mark_pushed(payment, accepted_for(payment))
            else:
                from payments.daraja.errors import DarajaAPIError

                checkout.payment_mark_rejected(
                    payment, DarajaAPIError("busy", error_code="500.003.02", http_status=500)
                )
                if payment.pushed_at is None:
                    self.rejected_unpushed.add(payment.pk)

    @rule(
        data=st.data(),
        code=st.sampled_from(["0", "0", "1032", "1037", "1", "2001", "SFC_IC0003"]),
        wrong_amount=st.booleans(),
    )
    def callback(self, data, code, wrong_amount):
        payments = self.payments()
        if payments:
            payment = data.draw(st.sampled_from(payments))
            amount = payment.amount + 1 if wrong_amount else None
            result = callback_result(payment, code=code, amount=amount)
            checkout.payment_apply_result(payment=payment, result=result, source="callback")

    @rule(data=st.data(), code=st.sampled_from(["0", "1032", "1037", "4999"]))
    def query(self, data, code):
        payments = [p for p in self.payments() if p.checkout_request_id]
        if payments:
            payment = data.draw(st.sampled_from(payments))
            checkout.payment_apply_result(payment=payment, result=query_result(payment, code), source="query")

    @rule()
    def local_deadline_passes(self):
        Payment.objects.filter(user=self.user).update(expires_at=timezone.now() - timedelta(seconds=1))
        checkout.payments_expire_overdue()

    @invariant()
    def money_adds_up(self):
        if not hasattr(self, "user"):
            return
        wallet = Wallet.objects.filter(user=self.user).first()
        total = LedgerEntry.objects.filter(wallet__user=self.user).aggregate(s=Sum("amount"))["s"] or 0
        assert (wallet.balance if wallet else 0) == total
        for payment in self.payments():
            credits = list(LedgerEntry.objects.filter(payment=payment))
            assert len(credits) <= 1
            if payment.payable_kind == "wallet":
                # a credit exists ⇔ the payment is paid, and it is always our amount
                assert bool(credits) == (payment.status == "paid")
                assert all(c.amount == payment.amount for c in credits)
            if payment.status == "paid":
                self.ever_paid.add(payment.pk)
            assert payment.pk not in self.ever_paid or payment.status == "paid"  # never left
            if payment.pk in self.rejected_unpushed:
                assert payment.pushed_at is None
        order = Order.objects.get(pk=self.order.pk)
        if order.paid_by_id:
            assert Payment.objects.get(pk=order.paid_by_id).status == "paid"


def test_p4_money_invariants_state_machine(user):
    run_state_machine_as_test(
        MoneyMachine,
        settings=settings(
            max_examples=60,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture],
        ),
    )
