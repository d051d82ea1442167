"""The reconciler (F13-F17, F22, F23, S14) against a programmable Daraja on loopback."""

import io
import json
import threading
import time
from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from werkzeug import Response

from frontend.models import LedgerEntry, Wallet
from mpesa_plumbing import jobs
from payments import checkout
from payments.checkout.reconcile import payment_reconcile, payments_reconcile_due
from payments.models import CallbackRecord, Payment
from tests.factories import callback_body, dumps, make_payment
from tests.helpers.asgi import CallbackDoor
from tests.helpers.fake_daraja import envelope
from tests.helpers.logs import dump

pytestmark = pytest.mark.django_db
QUERY = "/mpesa/stkpushquery/v1/query"


def answer_query(daraja, *answers):
    """Answer successive queries with (status, body) pairs; the last one repeats."""
    daraja.oauth()
    queue = list(answers)
    seen = []

    def handler(request):
        seen.append(request.get_json()["CheckoutRequestID"])
        status, body = queue.pop(0) if len(queue) > 1 else queue[0]
        return Response(json.dumps(body), status=status, content_type="application/json")

    daraja.server.expect_request(QUERY).respond_with_handler(handler)
    return seen


def final(code: str, desc: str = "answer") -> tuple[int, dict]:
    return 200, {
        "ResponseCode": "0",
        "ResponseDescription": "The service request has been accepted successsfully",
        "ResultCode": code,
        "ResultDesc": desc,
    }


PENDING_200 = final("4999", "The transaction is still under processing")
PENDING_500 = (500, envelope("500.001.1001", "The transaction is being processed"))


def later(minutes: float):
    return time_machine.travel(timezone.now() + timedelta(minutes=minutes), tick=False)


def test_lost_callback_is_settled_by_query_and_pushed(user, daraja, django_capture_on_commit_callbacks):
    """F13."""
    answer_query(daraja, final("0", "The service request is processed successfully."))
    payment = make_payment(user, amount=45)
    with later(3), django_capture_on_commit_callbacks(execute=True) as pushes:
        assert payments_reconcile_due() == 1
    payment.refresh_from_db()
    assert (payment.status, payment.settled_by, payment.receipt_number) == ("paid", "query", None)
    assert Wallet.objects.get(user=user).balance == 45
    names = [getattr(c, "__qualname__", "") for c in pushes]
    assert names.count("broadcast_after_commit.<locals>.push_status") == 1
    assert payment.next_check_at is None


def test_nothing_is_queried_before_the_window(user, daraja):
    seen = answer_query(daraja, final("0"))
    make_payment(user)
    assert payments_reconcile_due() == 0 and seen == []


@pytest.mark.parametrize("pending", [PENDING_200, PENDING_500])
def test_still_processing_changes_nothing_and_backs_off(user, daraja, pending):
    """F14."""
    seen = answer_query(daraja, pending)
    payment = make_payment(user)
    with later(3):
        payments_reconcile_due()
        payment.refresh_from_db()
        first_next = payment.next_check_at
        assert payment.status == "pending" and payment.check_attempts == 1
        assert payments_reconcile_due() == 0  # not due again yet
    with later(3 + 1):
        payments_reconcile_due()
    payment.refresh_from_db()
    assert payment.check_attempts == 2 and payment.next_check_at - first_next >= timedelta(seconds=55)
    assert len(seen) == 2


@pytest.mark.parametrize(
    ("code", "status"), [("1032", "cancelled"), ("1037", "timed_out"), ("1", "failed"), ("2001", "failed")]
)
def test_query_failure_codes_map_to_states(user, daraja, code, status):
    """F15."""
    answer_query(daraja, final(code))
    payment = make_payment(user)
    with later(3):
        payments_reconcile_due()
    payment.refresh_from_db()
    assert (payment.status, payment.result_code, payment.settled_by) == (status, code, "query")
    assert not LedgerEntry.objects.exists()


@pytest.mark.parametrize(
    "bad", [(503, {"oops": True}), (200, {"no": "result"}), (500, envelope("500.003.1001", "x"))]
)
def test_query_errors_never_mark_failed(user, daraja, bad):
    """F16."""
    answer_query(daraja, bad)
    payment = make_payment(user)
    with later(3):
        decision = payment_reconcile(payment)
    payment.refresh_from_db()
    assert decision.action == "error" and payment.status == "pending" and payment.check_attempts == 1


def test_gives_up_to_review_after_max_age_with_an_alert(user, daraja, caplog):
    """F17."""
    seen = answer_query(daraja, PENDING_200)
    payment = make_payment(user)
    with later(60 * 25):
        decision = payment_reconcile(payment)
    payment.refresh_from_db()
    assert decision.action == "review" and payment.status == "needs_review" and seen == []
    assert "ALERT" in dump(caplog) and not LedgerEntry.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_query_failure_after_paid_is_flagged_not_applied(user, daraja):
    """F22/F23: the sandbox can answer 1037 for a payment that was paid. Here the success
    callback lands while the reconciler's query is in flight; the query's 1037 then meets a
    paid payment: flagged, never applied, credited once."""
    daraja.oauth()
    payment = make_payment(user, amount=30)
    seen = []

    def callback_lands_then_1037(request):
        seen.append(request.get_json()["CheckoutRequestID"])
        assert CallbackDoor().callback(payment, dumps(callback_body(payment))).status_code == 200
        status, body = final("1037")
        return Response(json.dumps(body), status=status, content_type="application/json")

    daraja.server.expect_request(QUERY).respond_with_handler(callback_lands_then_1037)
    decision = payment_reconcile(payment)
    payment.refresh_from_db()
    assert seen == [payment.checkout_request_id]  # Daraja's answer was really asked for
    assert decision.action == "settled" and "contradiction" in decision.detail
    assert payment.status == "paid" and payment.flagged and "1037 after paid" in payment.review_reason
    assert Wallet.objects.get(user=user).balance == 30 and LedgerEntry.objects.count() == 1


def test_unknown_push_without_checkout_id_waits_for_its_callback(user, daraja):
    seen = answer_query(daraja, final("0"))
    payment = make_payment(user, pushed=False)
    with later(1.5):
        checkout.payments_expire_overdue()
        payments_reconcile_due()
    payment.refresh_from_db()
    assert payment.status == "unknown" and seen == [] and payment.check_attempts == 1


@pytest.mark.postgres
def test_two_runners_never_query_the_same_payment_twice(user, daraja, transactional_db):
    daraja.oauth()
    calls = []

    def slow(request):
        calls.append(request.get_json()["CheckoutRequestID"])
        time.sleep(0.2)
        return Response(json.dumps(final("0")[1]), content_type="application/json")

    daraja.server.expect_request(QUERY).respond_with_handler(slow)
    payments = [make_payment(user, amount=5) for _ in range(6)]
    Payment.objects.update(next_check_at=timezone.now() - timedelta(seconds=1))  # all due now
    handled = []

    def runner():
        try:
            handled.append(payments_reconcile_due(limit=3))
        finally:
            connection.close()

    threads = [threading.Thread(target=runner) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(calls) == sorted(p.checkout_request_id for p in payments)
    assert sum(handled) == 6 and Wallet.objects.get(user=user).balance == 30


class TestConfirmSuccessWithQuery:
    @pytest.fixture(autouse=True)
    def _on(self, settings):
        settings.DARAJA_CONFIRM_SUCCESS_WITH_QUERY = True

    def post(self, client, payment, **kw):
        return CallbackDoor().callback(payment, dumps(callback_body(payment, **kw)))

    def test_forged_success_is_not_credited(self, client, user, daraja):
        """S14: a valid URL token, a forged success; Daraja says the customer cancelled."""
        answer_query(daraja, final("1032", "Request cancelled by user"))
        payment = make_payment(user, amount=99)
        assert self.post(client, payment).status_code == 200
        payment.refresh_from_db()
        assert payment.status == "cancelled" and Wallet.objects.get(user=user).balance == 0
        assert CallbackRecord.objects.get().outcome == "unconfirmed"

    def test_confirmed_success_is_credited(self, client, user, daraja):
        answer_query(daraja, final("0"))
        payment = make_payment(user, amount=99)
        self.post(client, payment)
        payment.refresh_from_db()
        assert (
            payment.status == "paid"
            and payment.receipt_number
            and Wallet.objects.get(user=user).balance == 99
        )

    def test_unconfirmed_success_waits_then_the_reconciler_completes_it(self, client, user, daraja):
        answer_query(daraja, PENDING_200, final("0"))
        payment = make_payment(user, amount=99)
        self.post(client, payment)
        payment.refresh_from_db()
        assert payment.status == "pending" and Wallet.objects.get(user=user).balance == 0
        payment_reconcile(payment)
        payment.refresh_from_db()
        assert payment.status == "paid" and payment.receipt_number == f"SKN{payment.pk:07d}"
        assert Wallet.objects.get(user=user).balance == 99 and LedgerEntry.objects.count() == 1
        assert CallbackRecord.objects.get().outcome == "completed"


def test_reconcile_command(user, daraja):
    answer_query(daraja, final("1032"))
    payment = make_payment(user)
    out = io.StringIO()
    call_command("payments_reconcile", "--payment", str(payment.public_id), "--json", stdout=out)
    [decision] = [json.loads(line) for line in out.getvalue().splitlines()]
    assert decision["action"] == "settled" and "1032" in decision["detail"]
    out = io.StringIO()
    call_command("payments_reconcile", "--older-than", "0", stdout=out)
    assert "Nothing to reconcile" in out.getvalue()


def test_job_runner_runs_every_source_even_if_one_fails(monkeypatch):
    ran = []
    monkeypatch.setattr(jobs, "_sources", {})
    jobs.register_source("boom", lambda: 1 / 0)
    jobs.register_source("ok", lambda: ran.append(1) or 1)
    assert jobs.run_due_jobs() == {"boom": 0, "ok": 1} and ran == [1]


class TestDarajaSaysNotYet:
    """§13.4: a query sent too early answers 400 "Invalid CheckoutRequestID", a busy shortcode
    429; both mean "ask later", with backoff, and never a failure."""

    @pytest.mark.parametrize(
        "answer",
        [
            (400, envelope("400.002.02", "Invalid CheckoutRequestID")),
            (429, {"fault": {"faultstring": "Spike arrest violation", "detail": {"errorcode": "x"}}}),
            (500, envelope("500.001.1001", "The transaction does not Exist")),
        ],
    )
    def test_not_yet_answers_reschedule_and_change_nothing(self, user, daraja, answer):
        seen = answer_query(daraja, answer)
        payment = make_payment(user)
        decision = payment_reconcile(payment)
        payment.refresh_from_db()
        assert seen == [payment.checkout_request_id]
        assert decision.action == "pending" and payment.status == "pending" and payment.check_attempts == 1
        assert payment.next_check_at > timezone.now() + timedelta(seconds=25)

    def test_a_429_waits_at_least_what_daraja_asked(self, user, daraja, settings):
        settings.PAYMENTS_RECONCILE_BACKOFF_SECONDS = 5
        daraja.oauth()
        daraja.server.expect_request(QUERY).respond_with_response(
            Response("{}", status=429, headers={"Retry-After": "300"}, content_type="application/json")
        )
        payment = make_payment(user)
        payment_reconcile(payment)
        payment.refresh_from_db()
        assert payment.next_check_at > timezone.now() + timedelta(seconds=295)


def test_queries_are_spread_under_the_rate_and_the_rest_wait_without_asking(user, daraja, settings):
    """DARAJA_QUERY_RATE (5 per 60 s by default): the sixth due payment is not queried at all;
    it waits for the next window without counting an attempt."""
    settings.DARAJA_QUERY_RATE = "5/60"
    seen = answer_query(daraja, PENDING_200)
    payments = [make_payment(user) for _ in range(7)]
    with time_machine.travel(timezone.now().replace(second=1), tick=False):
        decisions = [payment_reconcile(p) for p in payments]
    assert len(seen) == 5
    waited = [p for p, d in zip(payments, decisions, strict=True) if "not asked" in d.detail]
    assert len(waited) == 2
    for payment in waited:
        payment.refresh_from_db()
        assert payment.check_attempts == 0 and payment.status == "pending"
        assert not payment.events.filter(kind="query").exists()


def test_a_429_pauses_every_query_of_the_shortcode_not_just_its_own(user, daraja, settings):
    """Daraja's SpikeArrest counts the shortcode's queries (refused ones too, §13.4): if the
    other payments kept asking, its window would stay full and none would ever get through."""
    settings.DARAJA_QUERY_RATE = ""  # even without our own rate
    daraja.oauth()
    daraja.server.expect_request(QUERY).respond_with_response(
        Response("{}", status=429, headers={"Retry-After": "30"}, content_type="application/json")
    )
    first, second = make_payment(user), make_payment(user)
    assert payment_reconcile(first).action == "pending"
    decision = payment_reconcile(second)
    assert "not asked" in decision.detail and len(daraja.requests(QUERY)) == 1
    second.refresh_from_db()
    assert second.check_attempts == 0 and second.next_check_at > timezone.now() + timedelta(seconds=25)
    with time_machine.travel(timezone.now() + timedelta(seconds=31), tick=False):
        payment_reconcile(second)
    assert len(daraja.requests(QUERY)) == 2  # the pause is over


def test_the_idle_pass_asks_its_indexes_not_every_open_payment(user):
    """The job runner asks twice a second, with every open payment of a busy day in the table,
    what is past its local deadline and what is due for an STK Query. Each question is an
    index range (status, then the deadline or the due time): its plan names the index for the
    range, and no statement of the pass walks the payments table."""
    if connection.vendor != "sqlite":
        pytest.skip("reads SQLite's plan")
    from django.test.utils import CaptureQueriesContext

    for _ in range(20):
        make_payment(user)  # open, not past its deadline, not due for a query
    with CaptureQueriesContext(connection) as captured:
        jobs.run_due_jobs()
    plans = {}
    for query in captured.captured_queries:
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN QUERY PLAN " + query["sql"])
            plans[query["sql"]] = " | ".join(row[-1] for row in cursor.fetchall())
    expiry = [plan for sql, plan in plans.items() if '"expires_at" <' in sql]
    due = [plan for sql, plan in plans.items() if '"next_check_at" <=' in sql]
    assert len(expiry) == 1 and "payment_status_expiry (status=? AND expires_at<?)" in expiry[0]
    assert len(due) == 1 and "payment_status_next_check (status=? AND next_check_at" in due[0]
    assert not [plan for plan in plans.values() if "SCAN payments_payment" in plan], plans
