"""``manage.py simulator c2b-…``: pay (mistyped, overpaying, with faults), list, deliver."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from simulator.models import SimC2BPayment


def run(*args: str) -> str:
    out = StringIO()
    call_command("simulator", *args, stdout=out)
    return out.getvalue()


def test_pay_now_and_list(registered):
    text = run("c2b-pay", "--phone", "254712345678", "--account", "INV-9", "--amount", "25", "--now")
    payment = SimC2BPayment.objects.get()
    assert text.startswith("Paid:") and payment.trans_id in text
    assert "validation sent HTTP 200 → accepted: ResultCode 0" in text
    assert "confirmation sent HTTP 200" in text
    assert registered.bodies("confirmation")[0]["TransAmount"] == "25.00"
    listed = run("c2b-list")
    assert payment.trans_id in listed and "completed (validation accepted)" in listed
    data = json.loads(run("--json", "c2b-list", "--phone", "254712345678"))
    assert [p["trans_id"] for p in data["payments"]] == [payment.trans_id]


def test_mistyped_overpaying_with_faults(registered):
    run(
        "c2b-pay",
        "--account",
        "ABC",
        "--amount",
        "100",
        "--overpay",
        "5",
        "--mistype",
        "--duplicates",
        "2",
        "--now",
    )
    assert [b["BillRefNumber"] for b in registered.bodies("confirmation")] == ["ACB", "ACB"]
    assert registered.bodies("validation")[0]["TransAmount"] == "105.00"
    run("c2b-pay", "--account", "X", "--lost-confirmation", "--no-validation", "--now")
    assert len(registered.confirmations) == 2 and len(registered.validations) == 1


def test_deliver_and_registrations(registered):
    run("c2b-pay", "--account", "A")
    trans_id = SimC2BPayment.objects.get().trans_id
    assert run("c2b-deliver", trans_id).startswith("Sent 2:")
    assert "600984 v1 Completed" in run("c2b-registrations")
    with pytest.raises(CommandError, match="not found"):
        run("c2b-deliver", "NOPE")
    with pytest.raises(CommandError, match="Invalid BillRefNumber"):
        run("c2b-pay", "--account", "")
