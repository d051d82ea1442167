"""The STK callback's PhoneNumber item (§13.1), SIMULATOR_CALLBACK_PHONE = full | masked |
hashed | absent: a real push, then the real POST the receiver gets."""

import hashlib
import json

import pytest
from django.core.exceptions import ImproperlyConfigured

from simulator.conf import sim_config
from simulator.wire.bodies import callback_phone

PHONE = "254708512430"  # the captures' subscriber; no phone rule, so it pays (0)
SHA = "b66c6f86e8323f64cbdb9c42db1e88fbfbbe9fccb2568a56c72708ad86b889b8"  # sha256("254708512430")


def paid_callback(daraja, receiver, clock, run_deliveries, phone: str = PHONE) -> str:
    daraja.accepted(phone)
    clock.advance(3)
    run_deliveries()
    [seen] = receiver.seen
    return seen["body"]


def items(body: str) -> list[dict]:
    return json.loads(body)["Body"]["stkCallback"]["CallbackMetadata"]["Item"]


@pytest.mark.parametrize(
    ("mode", "value", "wire"),
    [
        ("", 254708512430, '"Value":254708512430}'),  # unset: full, a JSON number (§6.2)
        ("full", 254708512430, '"Value":254708512430}'),
        ("masked", "254708***430", '"Value":"254708***430"}'),
        ("hashed", SHA, f'"Value":"{SHA}"}}'),
    ],
)
def test_phone_number_item(daraja, receiver, clock, run_deliveries, settings, mode, value, wire):
    settings.SIMULATOR_CALLBACK_PHONE = mode
    body = paid_callback(daraja, receiver, clock, run_deliveries)
    names = [item["Name"] for item in items(body)]
    assert names == ["Amount", "MpesaReceiptNumber", "Balance", "TransactionDate", "PhoneNumber"]
    assert items(body)[-1] == {"Name": "PhoneNumber", "Value": value}
    assert body.endswith(wire + "]}}}}")


def test_absent_leaves_the_item_out(daraja, receiver, clock, run_deliveries, settings):
    settings.SIMULATOR_CALLBACK_PHONE = "absent"
    body = paid_callback(daraja, receiver, clock, run_deliveries)
    assert [item["Name"] for item in items(body)] == [
        "Amount",
        "MpesaReceiptNumber",
        "Balance",
        "TransactionDate",
    ]
    assert "PhoneNumber" not in body


@pytest.mark.parametrize("phone", ["254708374149", "254712345678", "254110000001"])
def test_masked_and_hashed_follow_the_number(phone):
    assert callback_phone(phone, "masked") == f"{phone[:6]}***{phone[-3:]}"
    assert callback_phone(phone, "hashed") == hashlib.sha256(phone.encode()).hexdigest()
    assert len(callback_phone(phone, "hashed")) == 64
    assert callback_phone(phone, "full") == int(phone)
    assert callback_phone(phone, "absent") is None


def test_failures_carry_no_metadata_in_any_mode(daraja, receiver, clock, run_deliveries, settings):
    settings.SIMULATOR_CALLBACK_PHONE = "masked"
    daraja.accepted("254700001032")
    clock.advance(3)
    run_deliveries()
    [callback] = receiver.callbacks()
    assert callback["ResultCode"] == 1032 and "CallbackMetadata" not in callback


def test_duplicates_and_resends_keep_the_mode_of_the_decision(
    daraja, receiver, clock, run_deliveries, settings, client
):
    """The body is written once when the outcome is decided; a later switch changes nothing."""
    settings.SIMULATOR_CALLBACK_PHONE = "hashed"
    daraja.accepted("254700990002")  # the same callback 3 times
    clock.advance(3)
    run_deliveries()
    settings.SIMULATOR_CALLBACK_PHONE = "full"
    clock.advance(2)
    run_deliveries()
    assert client.post("/simulator/control/deliveries/1/resend/").status_code == 201
    assert len(receiver.seen) == 4
    expected = hashlib.sha256(b"254700990002").hexdigest()
    assert all(items(seen["body"])[-1]["Value"] == expected for seen in receiver.seen)


def test_an_unknown_mode_is_refused(settings):
    settings.SIMULATOR_CALLBACK_PHONE = "partial"
    with pytest.raises(ImproperlyConfigured, match="SIMULATOR_CALLBACK_PHONE"):
        sim_config()
