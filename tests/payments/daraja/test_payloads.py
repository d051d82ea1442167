"""Pure payload rules (daraja-reference.md §3, §4, §6): no network, no database."""

import base64
import copy
import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from payments.daraja import payloads
from tests.contract.daraja import body_bytes
from tests.contract.daraja import load as capture


def raw(name: str) -> bytes:
    """A recorded capture's exact bytes (tests/contract/daraja/)."""
    return body_bytes(capture(name))


def load(name: str) -> dict:
    """A recorded capture's body as plain JSON values (a fresh copy each call)."""
    return json.loads(raw(name))


PASSKEY = "bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919"


def test_password_matches_darajas_own_sample():
    # §3.1: DOC3's sample Password decodes to 174379 + passkey + 20210628092408.
    expected = (
        "MTc0Mzc5YmZiMjc5ZjlhYTliZGJjZjE1OGU5N2RkNzFhNDY3Y2QyZTBjODkzMDU5YjEwZjc4ZTZiNzJhZGEx"
        "ZWQyYzkxOTIwMjEwNjI4MDkyNDA4"
    )
    assert payloads.stk_password(shortcode="174379", passkey=PASSKEY, timestamp="20210628092408") == expected


def test_timestamp_is_nairobi_time():
    moment = datetime(2024, 4, 2, 14, 0, 8, tzinfo=UTC)  # 17:00:08 in Nairobi
    assert payloads.daraja_timestamp(moment) == "20240402170008"


def test_push_body_uses_one_timestamp_for_password_and_body():
    body = payloads.build_stk_push_body(
        shortcode="174379",
        passkey=PASSKEY,
        transaction_type="CustomerPayBillOnline",
        party_b="174379",
        phone="254708374149",
        amount=10,
        account_reference="ORD1",
        transaction_desc="Order ORD1",
        callback_url="https://example.com/cb/",
        timestamp="20240402170008",
    )
    decoded = base64.b64decode(body["Password"]).decode()
    assert decoded == "174379" + PASSKEY + body["Timestamp"]
    assert body["Amount"] == 10 and isinstance(body["Amount"], int)
    assert body["PartyA"] == body["PhoneNumber"] == "254708374149"
    assert body["TransactionDesc"] == "Order ORD1"


def test_push_body_refuses_float_amounts():
    with pytest.raises(TypeError):
        payloads.build_stk_push_body(
            shortcode="1",
            passkey="p",
            transaction_type="t",
            party_b="1",
            phone="254708374149",
            amount=10.0,
            account_reference="a",
            transaction_desc="d",
            callback_url="u",
            timestamp="t",
        )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, "0"),
        ("0", "0"),
        (1032, "1032"),
        ("1032", "1032"),
        ("SFC_IC0003", "SFC_IC0003"),
        ("E3008", "E3008"),
        (Decimal("0"), "0"),
        (" 1037 ", "1037"),
    ],
)
def test_result_code_accepts_numbers_strings_and_text_codes(value, expected):
    assert payloads.parse_result_code(value) == expected


@pytest.mark.parametrize("value", [None, True, False, [], {}, "", "0.5", 1.5, float("nan"), "a b", "٣"])
def test_result_code_rejects_garbage(value):
    with pytest.raises(ValueError):
        payloads.parse_result_code(value)


def test_success_callback_is_read_by_name_with_exact_amount():
    result = payloads.parse_stk_callback(raw("stk_callback_success"))
    assert result.is_success
    assert result.checkout_request_id == "ws_CO_13102022154520280706803305"
    assert result.amount == Decimal("1.00")
    assert result.receipt_number == "QJD4T7ZOT0"
    assert result.phone == "254706803305"
    assert result.transaction_date.isoformat() == "2022-10-13T15:45:44+03:00"
    assert result.problems == ()


def test_items_in_any_order_and_balance_without_value():
    data = load("stk_callback_success")
    items = data["Body"]["stkCallback"]["CallbackMetadata"]["Item"]
    items.reverse()
    result = payloads.parse_stk_callback(json.dumps(data))
    assert (result.receipt_number, result.amount) == ("QJD4T7ZOT0", Decimal("1.00"))


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("stk_callback_cancelled_1032", "1032"),
        ("stk_callback_timeout_1037", "1037"),
        ("stk_callback_sfc_ic0003", "SFC_IC0003"),
    ],
)
def test_failure_callbacks_have_no_metadata(name, code):
    result = payloads.parse_stk_callback(raw(name))
    assert result.result_code == code and not result.is_success
    assert result.receipt_number is None and result.amount is None and not result.has_metadata


@pytest.mark.parametrize(
    "body", [b"", b'{"Body":', b"<html>oops</html>", b"[]", b"null", b'"x"', b"\xff\xfe"]
)
def test_malformed_json_is_refused(body):
    with pytest.raises(payloads.MalformedCallback):
        payloads.parse_stk_callback(body)


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d.pop("Body"),
        lambda d: d["Body"].pop("stkCallback"),
        lambda d: d["Body"]["stkCallback"].pop("CheckoutRequestID"),
        lambda d: d["Body"]["stkCallback"].pop("ResultCode"),
        lambda d: d["Body"]["stkCallback"].update(ResultCode=None),
        lambda d: d["Body"]["stkCallback"].update(ResultCode=[]),
        lambda d: d["Body"]["stkCallback"].update(CheckoutRequestID=12345),
        lambda d: d["Body"]["stkCallback"]["CallbackMetadata"].update(Item={"Name": "Amount"}),
        lambda d: d["Body"]["stkCallback"]["CallbackMetadata"]["Item"].append("junk"),
    ],
)
def test_structurally_wrong_callbacks_are_refused(mutate):
    data = load("stk_callback_success")
    mutate(data)
    with pytest.raises(payloads.MalformedCallback):
        payloads.parse_stk_callback(json.dumps(data))


def test_string_result_code_zero_means_success():
    data = load("stk_callback_success")
    data["Body"]["stkCallback"]["ResultCode"] = "0"
    assert payloads.parse_stk_callback(json.dumps(data)).is_success


def test_unknown_fields_are_ignored():
    data = load("stk_callback_success")
    data["Body"]["stkCallback"]["Extra"] = {"nested": [1, 2, {"x": None}]}
    data["Body"]["Other"] = "junk"
    data["Body"]["stkCallback"]["CallbackMetadata"]["Item"].append({"Name": "NewThing", "Value": 7})
    assert payloads.parse_stk_callback(json.dumps(data)).receipt_number == "QJD4T7ZOT0"


@pytest.mark.parametrize(
    ("value", "parsed", "problem"),
    [
        (20221013154544, "2022-10-13T15:45:44+03:00", False),
        ("20221013154544", "2022-10-13T15:45:44+03:00", False),
        ("2022-10-13", None, True),
        (20221399999999, None, True),
    ],
)
def test_transaction_date_forms(value, parsed, problem):
    data = load("stk_callback_success")
    data["Body"]["stkCallback"]["CallbackMetadata"]["Item"][3]["Value"] = value
    result = payloads.parse_stk_callback(json.dumps(data))
    assert (result.transaction_date.isoformat() if result.transaction_date else None) == parsed
    assert bool(result.problems) is problem


def test_query_shapes():
    final = payloads.parse_query_response(load("stk_query_success"))
    pending = payloads.parse_query_response(load("stk_query_pending_4999"))
    assert final.is_success and not final.pending and final.receipt_number is None
    assert pending.pending and not pending.is_success


def test_push_response_requires_acceptance():
    accepted = payloads.parse_push_response(
        {
            "MerchantRequestID": "5220-40e9-bb16-c78ea820338d11816350",
            "CheckoutRequestID": "ws_CO_02042024170008357715990366",
            "ResponseCode": "0",
            "ResponseDescription": "Success. Request accepted for processing",
            "CustomerMessage": "Success. Request accepted for processing",
        }
    )
    assert accepted.checkout_request_id == "ws_CO_02042024170008357715990366"
    with pytest.raises(ValueError):
        payloads.parse_push_response({"CheckoutRequestID": "x", "ResponseCode": "1"})
    with pytest.raises(ValueError):
        payloads.parse_push_response({"ResponseCode": "0"})


def test_fixtures_are_deep_copies():
    first = load("stk_callback_success")
    copy.deepcopy(first)["Body"].clear()
    first["Body"].clear()
    assert load("stk_callback_success")["Body"]
