"""``manage.py mpesa status`` finds a payment by whatever the operator has in front of them
(the short id of ``tail`` and the admin, the CheckoutRequestID, the receipt, the full id);
JSON times carry their offset; log lines reach stderr only when asked (``-v 2``)."""

import json
import subprocess
import sys
import uuid
from datetime import datetime
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from payments.checkout import payment_apply_result
from payments.models import Payment
from tests.factories import callback_result, make_payment
from tests.helpers.procs import ROOT, free_port, manage, server_env

pytestmark = pytest.mark.django_db


def mpesa(*args: str) -> str:
    out = StringIO()
    call_command("mpesa", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.fixture
def paid(user):
    payment = make_payment(user, amount=250)
    payment_apply_result(
        payment=payment, result=callback_result(payment, receipt="UL2QSXIYQ0"), source="callback"
    )
    payment.refresh_from_db()
    assert payment.status == "paid"
    return payment


@pytest.mark.parametrize(
    "reference",
    [
        lambda p: str(p.public_id),
        lambda p: p.public_id.hex,
        lambda p: p.public_id.hex[:10],  # what `tail` and the admin show
        lambda p: str(p.public_id)[:11],  # the short id as copied from a dashed id
        lambda p: p.checkout_request_id,
        lambda p: "UL2QSXIYQ0",
        lambda p: " ul2qsxiyq0 ",  # a receipt read aloud and typed in lower case
    ],
    ids=["full", "hex", "short", "dashed-short", "checkout-request-id", "receipt", "receipt-lower"],
)
def test_status_finds_the_payment_by_any_of_its_names(paid, user, reference):
    make_payment(user, amount=99)  # another payment of the same customer, never confused
    out = mpesa("status", reference(paid))
    assert f"payment              {paid.public_id}" in out
    assert "status               paid" in out and "receipt              UL2QSXIYQ0" in out


def test_an_unknown_reference_says_what_is_accepted(paid):
    with pytest.raises(CommandError, match=r"No payment matches 'ffffffffff'.*short id.*CheckoutRequestID"):
        mpesa("status", "ffffffffff")


def test_a_short_prefix_shared_by_two_payments_lists_them(user):
    first, second = make_payment(user), make_payment(user)
    common = Payment.objects.filter(pk=first.pk)
    prefix = first.public_id.hex[:6]
    # give the second the same first six digits (ids are random: make the clash on purpose)
    Payment.objects.filter(pk=second.pk).update(public_id=uuid.UUID(prefix + second.public_id.hex[6:]))
    second.refresh_from_db()
    assert common.exists()
    with pytest.raises(CommandError, match="matches several payments") as excinfo:
        mpesa("status", prefix)
    assert first.public_id.hex[:10] in str(excinfo.value) and second.public_id.hex[:10] in str(excinfo.value)
    assert f"payment              {first.public_id}" in mpesa("status", first.public_id.hex[:10])


def test_json_times_are_iso_8601_with_an_offset(paid):
    lines = [json.loads(line) for line in mpesa("--json", "status", paid.public_id.hex[:10]).splitlines()]
    summary, events = lines[0]["payment"], lines[1:]
    assert summary["short_id"] == paid.public_id.hex[:10]
    stamps = [summary["created_at"], summary["settled_at"], summary["transaction_date"]]
    stamps += [event["time"] for event in events]
    assert len(stamps) > 5
    for stamp in stamps:
        assert "T" in stamp and datetime.fromisoformat(stamp).utcoffset() is not None, stamp


def test_reconcile_shows_the_short_id(user):
    payment = make_payment(user)
    out = mpesa("reconcile", "--payment", payment.public_id.hex[:10])
    assert out.startswith(f"[1/1] {payment.public_id.hex[:10]}  ")


def _run(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "mpesa", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_unreachable_daraja_is_named_and_logs_wait_for_verbose(tmp_path):
    """No server on PORT: the command names the URL it tried and hints at PORT. Its log lines
    (a WARNING from the reconciler) reach stderr only with -v 2 / --verbose."""
    port = free_port()  # nothing listens there
    env = server_env(port=port, db_path=tmp_path / "cli.sqlite3", DJANGO_LOG_LEVEL="INFO")
    manage("migrate", "--noinput", "-v", "0", env=env)
    manage("seed_demo", env=env)
    code = (
        "from django.contrib.auth.models import User; from tests.factories import make_payment; "
        "print(make_payment(User.objects.get(username='demo')).public_id.hex[:10])"
    )
    short = manage("shell", "-c", code, env=env).strip().splitlines()[-1]

    quiet = _run(env, "reconcile", "--payment", short)
    assert quiet.returncode == 0, quiet.stderr
    assert f"[1/1] {short}  error" in quiet.stdout
    assert f"Could not reach Daraja at http://127.0.0.1:{port}/simulator" in quiet.stdout
    assert "PORT" in quiet.stdout and "make run" in quiet.stdout
    assert quiet.stderr == ""

    for flag in ("-v2", "--verbose"):
        loud = _run(env, "reconcile", "--payment", short, flag)
        assert "WARNING payments.reconcile query failed" in loud.stderr, flag

    trigger = _run(env, "trigger", "success")
    assert trigger.returncode == 1
    assert f"Could not reach Daraja at http://127.0.0.1:{port}/simulator (ConnectError)" in trigger.stderr
