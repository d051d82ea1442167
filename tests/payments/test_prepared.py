"""payments/prepared.py: the hot path's statements compiled once give exactly what the ORM
gives, on SQLite and (postgres mark: ``python -m tests.run_postgres``) on PostgreSQL."""

import gc
import threading
import tracemalloc
import uuid

import pytest
from django.db import IntegrityError, connection, connections, transaction
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from frontend.models import LedgerEntry, Wallet
from payments.checkout import callback_receive
from payments.models import C2BPayment, CallbackRecord, Payment, PaymentEvent
from payments.payables import payable_for_update, payable_of
from payments.prepared import callback_record_add, event_add, row_by_pk, row_insert, row_update, rows_update
from tests.factories import callback_body, dumps, make_payment

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def test_a_prepared_read_is_the_orm_row_every_time(user):
    first, second = make_payment(user, amount=70), make_payment(user, amount=80)
    for payment in (first, second, first):  # compiled once, run with each pk
        orm = Payment.objects.get(pk=payment.pk)
        prepared = row_by_pk(Payment, payment.pk)
        assert isinstance(prepared, Payment) and prepared.pk == payment.pk
        for field in Payment._meta.concrete_fields:
            assert getattr(prepared, field.attname) == getattr(orm, field.attname), field.name
    assert row_by_pk(Payment, 10**9) is None


def test_the_payable_is_read_and_locked_once_and_kept_on_the_payment(user):
    payment = make_payment(user, amount=70)
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        locked = payable_for_update(payment)
    assert isinstance(locked, Wallet) and locked.user_id == user.pk
    (select,) = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SELECT")]
    assert ("FOR UPDATE" in select) == connection.features.has_select_for_update
    fresh = Payment.objects.get(pk=payment.pk)
    with CaptureQueriesContext(connection) as queries:
        payable = payable_of(fresh)
        assert fresh.payable is payable and payable.pk == locked.pk
    assert len(queries.captured_queries) == 1


def test_an_event_added_reads_back_as_written(user):
    payment = make_payment(user, amount=70)
    detail = {"receipt": "SKN0000001", "amount": 70, "nested": {"ok": True, "list": [1, "two", None]}}
    event_add(payment.pk, PaymentEvent.Kind.NOTE, source="callback", to_status="paid", detail=detail)
    event_add(payment.pk, PaymentEvent.Kind.BROADCAST)
    note, broadcast = PaymentEvent.objects.filter(payment=payment, kind__in=["note", "broadcast"]).order_by(
        "pk"
    )
    assert (note.kind, note.source, note.from_status, note.to_status, note.detail) == (
        "note",
        "callback",
        "",
        "paid",
        detail,
    )
    assert broadcast.detail == {} and broadcast.created_at.tzinfo is not None
    assert note.created_at <= broadcast.created_at
    # queryable by JSON key like any ORM-written row
    assert PaymentEvent.objects.filter(detail__receipt="SKN0000001").get() == note


def test_the_raw_record_finds_its_payment_in_the_same_insert(user):
    payment = make_payment(user, amount=70)
    body = '{"Body": {"stkCallback": {"ResultCode": 0}}}'
    with CaptureQueriesContext(connection) as queries:
        record = callback_record_add(
            CallbackRecord(remote_ip="127.0.0.1", ip_allowed=True, headers={"User-Agent": "x"}, body=body),
            public_id=payment.public_id,
        )
    assert len(queries.captured_queries) == 1
    stored = CallbackRecord.objects.get(pk=record.pk)
    assert (stored.payment_id, stored.body, stored.headers, stored.remote_ip, stored.ip_allowed) == (
        payment.pk,
        body,
        {"User-Agent": "x"},
        "127.0.0.1",
        True,
    )
    assert stored.outcome == CallbackRecord.Outcome.RECEIVED and stored.received_at == record.received_at
    # a callback for no payment is still stored, with no payment
    orphan = callback_record_add(CallbackRecord(body="not json"), public_id=uuid.uuid4())
    assert orphan.payment_id is None and CallbackRecord.objects.get(pk=orphan.pk).body == "not json"


def test_a_prepared_update_writes_exactly_the_named_fields(user):
    payment = make_payment(user, amount=70)
    record = callback_record_add(CallbackRecord(body="{}"), public_id=payment.public_id)
    record.outcome, record.detail, record.body = "applied", "pending -> paid", "changed in memory only"
    row_update(record, ("outcome", "detail"))
    stored = CallbackRecord.objects.get(pk=record.pk)
    assert (stored.outcome, stored.detail, stored.body) == ("applied", "pending -> paid", "{}")


def test_a_compare_and_swap_changes_the_row_only_while_it_is_as_expected(user):
    payment, other = make_payment(user, amount=70), make_payment(user, amount=80)
    before = Payment.objects.get(pk=payment.pk)
    when = timezone.now()
    values = {"status": "paid", "updated_at": when, "receipt_number": "SKN0000009", "next_check_at": None}
    where = {"pk": payment.pk, "status": "pending"}
    with CaptureQueriesContext(connection) as queries:
        changed = rows_update(Payment, where=where, values=values, increment="version")
    assert changed == 1 and len(queries.captured_queries) == 1
    after = Payment.objects.get(pk=payment.pk)
    assert (after.status, after.receipt_number, after.next_check_at, after.updated_at) == (
        "paid",
        "SKN0000009",
        None,
        when,
    )
    assert after.version == before.version + 1 and after.amount == before.amount
    # no longer pending: the same swap changes nothing, and never another row
    assert rows_update(Payment, where=where, values=values, increment="version") == 0
    assert Payment.objects.get(pk=payment.pk).version == after.version
    untouched = Payment.objects.get(pk=other.pk)
    assert (untouched.status, untouched.receipt_number) == ("pending", None)
    with pytest.raises(TypeError):
        rows_update(Payment, where={"pk": other.pk}, values={"version": F("version") + 1})


def test_an_update_matches_null_as_null_and_takes_a_row_for_a_foreign_key(user):
    payment = make_payment(user, amount=70)
    review = {"trans_id": "SKN000000A", "state": C2BPayment.State.REVIEW, "payment": None}
    rows = [
        C2BPayment.objects.create(trans_id="SKN000000A", amount=70, amount_text="70"),
        C2BPayment.objects.create(trans_id="SKN000000B", amount=70, amount_text="70"),
    ]
    values = {"state": C2BPayment.State.STK_RECEIPT, "payment": payment, "resolved_at": timezone.now()}
    assert rows_update(C2BPayment, where=review, values=values) == 1
    first, second = (C2BPayment.objects.get(pk=row.pk) for row in rows)
    assert (first.state, first.payment_id) == (C2BPayment.State.STK_RECEIPT, payment.pk)
    assert (second.state, second.payment_id) == (C2BPayment.State.REVIEW, None)
    # the first now has a payment: "payment IS NULL" no longer matches it
    assert rows_update(C2BPayment, where=review, values=values) == 0
    # a foreign key is compared by the related row's key, given as a row or as its id
    assert rows_update(C2BPayment, where={"payment": payment}, values={"state": "refunded"}) == 1
    assert rows_update(C2BPayment, where={"payment": payment.pk}, values={"state": "review"}) == 1
    assert C2BPayment.objects.get(pk=first.pk).state == "review"


def test_a_prepared_insert_is_the_orm_row_and_keeps_the_constraints(user):
    payment = make_payment(user, amount=70)
    wallet = Wallet.objects.get(user=user)
    with CaptureQueriesContext(connection) as queries:
        entry = row_insert(LedgerEntry(wallet_id=wallet.pk, payment=payment, amount=70, balance_after=70))
    assert len(queries.captured_queries) == 1 and entry.pk and not entry._state.adding
    stored = LedgerEntry.objects.get(pk=entry.pk)
    assert (stored.wallet_id, stored.payment_id, stored.amount, stored.balance_after) == (
        wallet.pk,
        payment.pk,
        70,
        70,
    )
    assert stored.created_at == entry.created_at and stored.created_at.tzinfo is not None
    with pytest.raises(IntegrityError), transaction.atomic():  # one credit per payment, as ever
        row_insert(LedgerEntry(wallet_id=wallet.pk, payment=payment, amount=70, balance_after=140))
    assert LedgerEntry.objects.filter(payment=payment).count() == 1


@pytest.mark.django_db(transaction=True)
def test_what_is_compiled_for_a_thread_goes_with_its_connection(user):
    """Django gives a sync request under ASGI a fresh thread (and connection): a read from it
    must not leave its compiled statement behind when the thread's connection is gone."""
    payment = make_payment(user, amount=70)

    def read_in_a_thread():
        def work():
            assert row_by_pk(Payment, payment.pk).pk == payment.pk
            connections.close_all()

        thread = threading.Thread(target=work)
        thread.start()
        thread.join()

    read_in_a_thread()
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for _ in range(50):
        read_in_a_thread()
    gc.collect()
    kept = (tracemalloc.get_traced_memory()[0] - before) / 50
    tracemalloc.stop()
    assert kept < 2000, f"{kept:.0f} bytes kept per finished thread"


def test_a_statement_watcher_sees_each_prepared_statement_with_the_same_result(user):
    """Unwatched, the statements skip Django's cursor wrapper; an ``execute_wrapper`` (or
    DEBUG's query log) still sees every one, and the answers are the same either way."""
    payment = make_payment(user, amount=70)
    seen = []

    def watch(execute, sql, params, many, context):
        seen.append(sql)
        return execute(sql, params, many, context)

    unwatched = row_by_pk(Payment, payment.pk)
    moved = rows_update(Payment, where={"pk": payment.pk, "status": payment.status}, values={"flagged": True})
    with connection.execute_wrapper(watch):
        watched = row_by_pk(Payment, payment.pk)
        again = rows_update(Payment, where={"pk": payment.pk, "status": "paid"}, values={"flagged": False})
        event_add(payment.pk, PaymentEvent.Kind.NOTE)
    assert [sql.split()[0] for sql in seen] == ["SELECT", "UPDATE", "INSERT"]
    assert (moved, again) == (1, 0) and watched.flagged and not unwatched.flagged
    assert [getattr(watched, f.attname) for f in Payment._meta.concrete_fields if f.name != "flagged"] == [
        getattr(unwatched, f.attname) for f in Payment._meta.concrete_fields if f.name != "flagged"
    ]


def test_an_unwatched_statement_keeps_djangos_errors_and_guards(user):
    """Django's IntegrityError, its refusal to run a statement in a transaction that already
    failed, and its refusal to touch the database from an event loop all hold."""
    import asyncio

    from django.core.exceptions import SynchronousOnlyOperation
    from django.db.transaction import TransactionManagementError

    payment = make_payment(user, amount=70)
    wallet = Wallet.objects.get(user=user)
    row_insert(LedgerEntry(wallet_id=wallet.pk, payment=payment, amount=70, balance_after=70))
    with transaction.atomic():
        with pytest.raises(IntegrityError):
            with transaction.atomic(savepoint=False):
                row_insert(LedgerEntry(wallet_id=wallet.pk, payment=payment, amount=70, balance_after=140))
        with pytest.raises(TransactionManagementError):
            row_by_pk(Payment, payment.pk)

    async def from_the_loop():
        return row_by_pk(Payment, payment.pk)

    with pytest.raises(SynchronousOnlyOperation):
        asyncio.run(from_the_loop())
    assert row_by_pk(Payment, payment.pk).pk == payment.pk


@pytest.mark.django_db(transaction=True)
def test_unwatched_statements_make_no_django_cursor_and_reconnect(user, monkeypatch):
    """The fast path really is taken when nothing watches (a Django cursor per statement would
    pass every other test here), and it opens a new connection after the old one closed, as
    the database bridge relies on after an error (on PostgreSQL; SQLite's in-memory test
    database ignores close)."""
    payment = make_payment(user, amount=70)
    wrapper = connections["default"]
    made = []
    monkeypatch.setattr(wrapper, "make_cursor", lambda cursor: made.append(cursor) or cursor)
    monkeypatch.setattr(wrapper, "make_debug_cursor", lambda cursor: made.append(cursor) or cursor)
    assert row_by_pk(Payment, payment.pk).pk == payment.pk
    assert rows_update(Payment, where={"pk": payment.pk}, values={"flagged": True}) == 1
    event_add(payment.pk, PaymentEvent.Kind.NOTE)
    assert made == []
    monkeypatch.undo()
    wrapper.close()
    assert row_by_pk(Payment, payment.pk).flagged is True


@pytest.mark.django_db(transaction=True)
def test_a_success_callback_is_these_statements_and_one_commit(user):
    """What a wallet deposit's success callback costs the database, statement by statement
    (the README's Performance section counts them): the raw record first, one transaction for
    the settlement with its audit trail, then the committed state for the push."""
    payment = make_payment(user, amount=90)
    body = dumps(callback_body(payment)).encode()
    with CaptureQueriesContext(connection) as captured:
        callback_receive(
            public_id=payment.public_id, body=body, headers={}, remote_ip="127.0.0.1", ip_allowed=None
        )
    words = []
    for query in captured.captured_queries:
        sql = query["sql"].replace('"', "")
        verb = sql.split()[0]
        if verb == "BEGIN":  # SQLite's BEGIN IMMEDIATE; PostgreSQL's BEGIN is implicit
            continue
        table = {"INSERT": " INTO ", "UPDATE": "UPDATE ", "SELECT": " FROM "}.get(verb)
        words.append(f"{verb} {sql.split(table)[1].split()[0]}" if table else verb)
    savepoint, release = "SAVEPOINT", "RELEASE"
    assert words == [
        "INSERT payments_callbackrecord",
        "SELECT payments_payment",
        savepoint,
        "SELECT frontend_wallet",  # locked (FOR UPDATE on PostgreSQL)
        "UPDATE payments_payment",  # the compare-and-swap
        "INSERT payments_paymentevent",
        savepoint,
        "UPDATE frontend_wallet",  # the credit, RETURNING the balance
        "INSERT frontend_ledgerentry",
        release,
        "UPDATE payments_c2bpayment",  # the Pay Bill receipt check
        release,
        "UPDATE payments_callbackrecord",  # the outcome
        "INSERT payments_paymentevent",
        "COMMIT",
        "SELECT payments_payment",  # the committed state, for the push
        "SELECT frontend_wallet",
        "INSERT payments_paymentevent",
    ]
    assert Payment.objects.get(pk=payment.pk).status == "paid"
