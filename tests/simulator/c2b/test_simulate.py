"""C2B Simulate (daraja-reference.md §14.5): the answer, type leniency and refusals."""

import pytest

from simulator.models import SimC2BPayment
from tests.simulator.c2b.test_register import error

INVALID = "400.002.02"


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_accepted(daraja, registered, version):
    response = daraja.simulate(version=version)
    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["OriginatorCoversationID", "ResponseCode", "ResponseDescription"]
    assert (body["ResponseCode"], body["ResponseDescription"]) == (
        "0",
        "Accept the service request successfully.",
    )
    payment = SimC2BPayment.objects.get()
    assert payment.originator_conversation_id == body["OriginatorCoversationID"]
    assert (payment.amount, payment.msisdn, payment.bill_ref_number, payment.source) == (
        10,
        "254708374149",
        "INV-1001",
        "api",
    )
    assert (payment.version, payment.response_type) == ("v1", "Completed")  # the registration's
    assert len(payment.trans_id) == 10 and payment.trans_id.isalnum() and payment.trans_id.isupper()


def test_every_value_a_string_works(daraja, registered):
    """§14.5: the 2018 request with every value a string."""
    response = daraja.simulate(ShortCode="600984", Amount="1", Msisdn="254708374149", BillRefNumber="10000")
    assert response.status_code == 200
    assert SimC2BPayment.objects.get().amount == 1


def test_a_numeric_account_number_is_read_as_its_digits(daraja, registered):
    assert daraja.simulate(BillRefNumber=10000).status_code == 200
    assert SimC2BPayment.objects.get().bill_ref_number == "10000"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"CommandID": "CustomerPayBill"}, "CommandID"),
        ({"CommandID": "CustomerBuyGoodsOnline"}, "CommandID"),  # 600984 is a paybill
        ({"Amount": 0}, "Amount"),
        ({"Amount": "10.50"}, "Amount"),
        ({"Amount": 250_001}, "Amount"),
        ({"Msisdn": "0708374149"}, "Msisdn"),
        ({"Msisdn": 2547083741}, "Msisdn"),
        ({"BillRefNumber": ""}, "BillRefNumber"),
        ({"BillRefNumber": "X" * 21}, "BillRefNumber"),
        ({"BillRefNumber": None}, "BillRefNumber"),
        ({"ShortCode": "600999"}, "ShortCode"),
        ({"ShortCode": "abc"}, "ShortCode"),
    ],
)
def test_refusals(daraja, registered, fields, field):
    error(daraja.simulate(**fields), 400, INVALID, f"Bad Request - Invalid {field}")
    assert not SimC2BPayment.objects.exists()


@pytest.mark.parametrize("field", ["ShortCode", "CommandID", "Amount", "Msisdn", "BillRefNumber"])
@pytest.mark.parametrize("value", [[], ["CustomerPayBillOnline"], {}, {"a": 1}])
def test_a_list_or_an_object_in_any_field_is_refused_as_daraja_does(daraja, registered, field, value):
    """No value of any JSON type makes the simulator fail: a list or an object where Daraja
    documents a string or a number is that field's Daraja error."""
    error(daraja.simulate(**{field: value}), 400, INVALID, f"Bad Request - Invalid {field}")
    assert not SimC2BPayment.objects.exists()


def test_buy_goods_account_reference(daraja, drop):
    """§14.5: "" (and any other value) → 500.003.1001; the key left out, or "0", is taken."""
    till = {"ShortCode": "600000", "CommandID": "CustomerBuyGoodsOnline"}
    for reference in ("", "DIAG-BUYGOODS"):
        error(
            daraja.simulate(**till, BillRefNumber=reference),
            500,
            "500.003.1001",
            "The element AccountReference is invalid.",
        )
    assert daraja.simulate(**till, BillRefNumber=drop).status_code == 200
    assert daraja.simulate(**till, BillRefNumber="0").status_code == 200
    assert set(SimC2BPayment.objects.values_list("bill_ref_number", "transaction_type")) == {
        ("", "Customer Merchant Payment")
    }
    error(daraja.simulate(ShortCode="600000"), 400, INVALID, "Bad Request - Invalid CommandID")


def test_not_on_production(daraja, settings):
    settings.SIMULATOR_C2B_ENVIRONMENT = "production"
    error(daraja.simulate(), 404, "404.003.01", "Resource not found")


def test_token_and_payload(daraja):
    error(daraja.simulate(token="nope"), 400, "400.003.01", "Invalid Access Token")
    response = daraja.post("/simulator/mpesa/c2b/v1/simulate", None, raw=b"[1]")
    error(response, 400, "400.002.05", "Invalid Request Payload")


def test_without_registration_the_payment_completes_silently(daraja, c2b_receiver, clock, run_c2b):
    """§14.9: "If no URLs are registered in the system, M-PESA automatically completes the request"."""
    assert daraja.simulate().status_code == 200
    clock.advance(5)
    assert run_c2b() == 0
    payment = SimC2BPayment.objects.get()
    assert (payment.status, payment.decided_by) == ("completed", "no URLs registered")
    assert not payment.callbacks.exists()
    assert c2b_receiver.validations == c2b_receiver.confirmations == []
