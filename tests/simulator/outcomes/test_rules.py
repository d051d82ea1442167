"""The rules table: every outcome code by phone, its delay, its texts, and query agreement."""

import pytest

from simulator.conf import sim_config
from simulator.models import SimDelivery, SimPush
from simulator.outcomes import rules
from simulator.wire.codes import CALLBACK_DESC, query_desc

CODE_PHONES = [
    ("254700000000", 0, "The service request is processed successfully."),
    ("254700000001", 1, "The balance is insufficient for the transaction"),
    ("254700000017", 17, "Rule limited."),
    ("254700000026", 26, "System busy. The service request is rejected."),
    ("254700001001", 1001, CALLBACK_DESC["1001"]),
    ("254700001019", 1019, "Transaction has expired"),
    ("254700001025", 1025, "Error Occurred while sending push request."),
    ("254700001032", 1032, "Request cancelled by user"),
    ("254700001037", 1037, "DS timeout user cannot be reached"),
    ("254700002001", 2001, "The initiator information is invalid."),
    ("254700002028", 2028, "The request is not permitted according to product assignment."),
    ("254700008006", 8006, "The security credential is locked."),
    ("254700009999", 9999, "Error Occurred while sending push request."),
]


def _delay(code: int) -> float:
    return 60.0 if code in (1037, 1019) else 3.0  # the PIN window, else the callback delay


@pytest.mark.parametrize(("phone", "code", "desc"), CODE_PHONES)
def test_code_block_phone_picks_the_code(daraja, receiver, clock, run_deliveries, phone, code, desc):
    checkout_id = daraja.accepted(phone, Amount=10)
    pending = daraja.query(checkout_id).json()
    assert (pending["ResultCode"], pending["ResultDesc"]) == (
        "4999",
        "The transaction is still under processing",
    )

    clock.advance(_delay(code) - 0.5)
    assert run_deliveries() == 0  # not due yet
    assert receiver.seen == []
    assert daraja.query(checkout_id).json()["ResultCode"] == "4999"

    clock.advance(0.5)
    run_deliveries()
    [callback] = receiver.callbacks()
    assert callback["ResultCode"] == code
    assert callback["ResultDesc"] == desc
    assert callback["CheckoutRequestID"] == checkout_id
    assert ("CallbackMetadata" in callback) is (code == 0)
    answer = daraja.query(checkout_id).json()
    assert answer["ResultCode"] == str(code)  # the query agrees with the callback (as a string)
    assert answer["ResultDesc"] == query_desc(str(code))


def test_query_words_some_results_differently(daraja, clock):
    """§7: same code, different words in the query (1037 with a period, 1032 capitalised)."""
    ids = {phone: daraja.accepted(phone) for phone in ("254700001037", "254700001032")}
    clock.advance(60)
    assert daraja.query(ids["254700001037"]).json()["ResultDesc"] == "DS timeout user cannot be reached."
    assert daraja.query(ids["254700001032"]).json()["ResultDesc"] == "Request Cancelled by user."


@pytest.mark.parametrize("phone", ["254708374149", "254712345678", "254110000000", "254700012345"])
def test_test_msisdn_unknown_codes_and_other_phones_succeed(daraja, receiver, clock, run_deliveries, phone):
    checkout_id = daraja.accepted(phone)
    clock.advance(3)
    run_deliveries()
    assert receiver.codes() == [0]
    assert daraja.query(checkout_id).json()["ResultCode"] == "0"


def test_success_callback_metadata(daraja, receiver, clock, run_deliveries):
    daraja.accepted("254708374149", Amount="250")
    clock.advance(3)
    run_deliveries()
    [seen] = receiver.seen
    assert '{"Name":"Amount","Value":250.00}' in seen["body"]
    items = {
        i["Name"]: i.get("Value", "<absent>") for i in receiver.callbacks()[0]["CallbackMetadata"]["Item"]
    }
    assert items["Balance"] == "<absent>"
    assert items["PhoneNumber"] == 254708374149
    assert items["TransactionDate"] == 20250402170011  # push at 17:00:08 Nairobi + 3 s
    receipt = items["MpesaReceiptNumber"]
    assert receipt[:3] == "TD2"
    assert len(receipt) == 10
    assert SimPush.objects.get().receipt_number == receipt


def test_balance_item_switch(daraja, receiver, clock, run_deliveries, settings):
    settings.SIMULATOR_INCLUDE_BALANCE_ITEM = False
    daraja.accepted()
    clock.advance(3)
    run_deliveries()
    names = [i["Name"] for i in receiver.callbacks()[0]["CallbackMetadata"]["Item"]]
    assert "Balance" not in names


def test_delay_settings_apply(daraja, receiver, clock, run_deliveries, settings):
    settings.SIMULATOR_CALLBACK_DELAY_SECONDS = 10
    settings.SIMULATOR_PIN_WINDOW_SECONDS = 20
    daraja.accepted("254700000000")
    daraja.accepted("254700001037")
    clock.advance(9.9)
    run_deliveries()
    assert receiver.seen == []
    clock.advance(0.1)
    run_deliveries()
    assert receiver.codes() == [0]
    clock.advance(10)
    run_deliveries()
    assert receiver.codes() == [0, 1037]


def test_phone_script_beats_the_phone_rule_and_is_used_up(daraja, receiver, clock, run_deliveries, client):
    created = client.post(
        "/simulator/control/scripts/",
        {"phone": "254700000000", "result_code": 1032, "delay": 1, "times": 1},
        content_type="application/json",
    )
    assert created.status_code == 201
    first = daraja.accepted("254700000000")
    clock.advance(1)
    run_deliveries()
    assert receiver.codes() == [1032]
    assert SimPush.objects.get(checkout_request_id=first).plan_source.startswith("script#")
    second = daraja.accepted("254700000000")  # the script was for one push only
    clock.advance(3)
    run_deliveries()
    assert receiver.codes() == [1032, 0]
    assert daraja.query(first).json()["ResultCode"] == "1032"
    assert daraja.query(second).json()["ResultCode"] == "0"


def test_script_with_a_string_code_and_custom_desc(daraja, receiver, clock, run_deliveries, client):
    client.post(
        "/simulator/control/scripts/",
        {"phone": "254712000001", "result_code": "SFC_IC0003", "delay": 0},
        content_type="application/json",
    )
    checkout_id = daraja.accepted("254712000001")
    run_deliveries()
    assert receiver.callbacks()[0]["ResultCode"] == "SFC_IC0003"  # §6.3: non-numeric stays a string
    assert receiver.callbacks()[0]["ResultDesc"] == "The operator does not exist."
    assert daraja.query(checkout_id).json()["ResultCode"] == "SFC_IC0003"


def test_checkout_script_replaces_the_pending_outcome(daraja, receiver, clock, run_deliveries, client):
    checkout_id = daraja.accepted("254700000000")  # rule: 0 in 3 s
    response = client.post(
        "/simulator/control/scripts/",
        {"checkout_request_id": checkout_id, "result_code": 2001, "delay": 5},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    clock.advance(3)
    run_deliveries()
    assert receiver.seen == []  # the original 0 was cancelled
    assert daraja.query(checkout_id).json()["ResultCode"] == "4999"
    clock.advance(2)
    run_deliveries()
    assert receiver.codes() == [2001]
    assert daraja.query(checkout_id).json()["ResultCode"] == "2001"
    assert SimDelivery.objects.filter(status="cancelled").count() == 1


def test_checkout_script_for_a_final_push_is_a_conflict(daraja, clock, run_deliveries, client):
    checkout_id = daraja.accepted()
    clock.advance(3)
    run_deliveries()
    response = client.post(
        "/simulator/control/scripts/",
        {"checkout_request_id": checkout_id, "result_code": 1},
        content_type="application/json",
    )
    assert response.status_code == 409


def test_amount_rule_overrides_phone_rules_but_not_scripts():
    config = sim_config()
    assert rules.resolve_plan(phone="254700001032", amount=250_001, config=config).result_code == "3"
    scripted = rules.Plan("0", "script#1")
    assert (
        rules.resolve_plan(phone="254700001032", amount=250_001, config=config, script=scripted).result_code
        == "0"
    )
    assert (
        rules.resolve_plan(phone="254700001032", amount=1, config=config, handset_open=True).result_code
        is None
    )
    assert rules.resolve_plan(phone="254700001032", amount=1, config=config).result_code == "1032"
