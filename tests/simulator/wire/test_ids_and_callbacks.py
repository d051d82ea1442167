"""Pure pieces: realistic ids (§1.3) and the callback body (§6), byte for byte."""

import json
import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from simulator.wire import ids
from simulator.wire.bodies import stk_callback_body
from tests.simulator.conftest import NAIROBI


@pytest.mark.parametrize(
    ("moment", "prefix"),
    [
        (datetime(2019, 12, 19, 10, 0, tzinfo=NAIROBI), "NLJ"),  # NLJ7RT61SV
        (datetime(2022, 10, 13, 15, 45, tzinfo=NAIROBI), "QJD"),  # QJD4T7ZOT0
        (datetime(2024, 4, 2, 17, 0, tzinfo=NAIROBI), "SD2"),  # SD25WSR9W7
        (datetime(2024, 8, 12, 9, 0, tzinfo=NAIROBI), "SHC"),  # SHC7S6SHXP
        (datetime(2025, 1, 31, 23, 59, tzinfo=NAIROBI), "TAV"),
    ],
)
def test_receipt_number_follows_the_captured_pattern(moment, prefix):
    receipt = ids.receipt_number(moment)
    assert re.fullmatch(r"[A-Z0-9]{10}", receipt)
    assert receipt[:3] == prefix


def test_receipt_uses_nairobi_date_not_utc():
    late_utc = datetime(2024, 4, 1, 22, 30, tzinfo=UTC)  # 01:30 on 2 April in Nairobi
    assert ids.receipt_number(late_utc)[:3] == "SD2"


def test_checkout_request_id_shape():
    moment = datetime(2024, 4, 2, 14, 0, 8, 357000, tzinfo=UTC)
    assert ids.checkout_request_id(phone="254715990366", moment=moment) == "ws_CO_02042024170008357715990366"
    assert (
        ids.checkout_request_id(phone="254708374149", moment=moment, counter=2)
        == "ws_CO_020420241700082708374149"
    )


def test_access_token_and_merchant_request_id_shapes():
    assert all(re.fullmatch(r"[A-Za-z0-9]{28}", ids.access_token()) for _ in range(20))
    pattern = r"[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}[1-9]\d{4,7}"
    assert all(re.fullmatch(pattern, ids.merchant_request_id()) for _ in range(200))


def _callback(**overrides) -> str:
    fields = dict(
        merchant_request_id="98358-32664279-1",
        checkout_request_id="ws_CO_13102022154520280706803305",
        result_code="0",
        result_desc="The service request is processed successfully.",
        amount=1,
        receipt_number="QJD4T7ZOT0",
        transaction_date=datetime(2022, 10, 13, 15, 45, 44, tzinfo=NAIROBI),
        phone="254706803305",
    )
    return stk_callback_body(**(fields | overrides))


def test_success_callback_matches_the_2022_production_capture():
    """§6.2, byte for byte (compact form), including the literal 1.00 and Balance without Value."""
    assert _callback() == (
        '{"Body":{"stkCallback":{"MerchantRequestID":"98358-32664279-1",'
        '"CheckoutRequestID":"ws_CO_13102022154520280706803305","ResultCode":0,'
        '"ResultDesc":"The service request is processed successfully.","CallbackMetadata":{"Item":['
        '{"Name":"Amount","Value":1.00},{"Name":"MpesaReceiptNumber","Value":"QJD4T7ZOT0"},'
        '{"Name":"Balance"},{"Name":"TransactionDate","Value":20221013154544},'
        '{"Name":"PhoneNumber","Value":254706803305}]}}}}'
    )
    assert json.loads(_callback(amount=2500), parse_float=Decimal)["Body"]["stkCallback"]["CallbackMetadata"][
        "Item"
    ][0]["Value"] == Decimal("2500.00")


def test_transaction_date_is_nairobi_time():
    body = json.loads(_callback(transaction_date=datetime(2022, 10, 13, 12, 45, 44, tzinfo=UTC)))
    items = {i["Name"]: i.get("Value") for i in body["Body"]["stkCallback"]["CallbackMetadata"]["Item"]}
    assert items["TransactionDate"] == 20221013154544


def test_balance_item_can_be_left_out():
    body = json.loads(_callback(include_balance=False))
    names = [i["Name"] for i in body["Body"]["stkCallback"]["CallbackMetadata"]["Item"]]
    assert names == ["Amount", "MpesaReceiptNumber", "TransactionDate", "PhoneNumber"]


@pytest.mark.parametrize(("code", "expected"), [("1032", 1032), ("1037", 1037), ("SFC_IC0003", "SFC_IC0003")])
def test_failure_callbacks_have_no_metadata(code, expected):
    """§6.3: numeric codes are numbers, codes like SFC_IC0003 stay strings; no CallbackMetadata."""
    callback = json.loads(_callback(result_code=code, result_desc="x"))["Body"]["stkCallback"]
    assert callback == {
        "MerchantRequestID": "98358-32664279-1",
        "CheckoutRequestID": "ws_CO_13102022154520280706803305",
        "ResultCode": expected,
        "ResultDesc": "x",
    }


def test_faulty_variants():
    assert json.loads(_callback(code_as_string=True))["Body"]["stkCallback"]["ResultCode"] == "0"
    assert "CallbackMetadata" not in json.loads(_callback(with_metadata=False))["Body"]["stkCallback"]
