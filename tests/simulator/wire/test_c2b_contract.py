"""The simulator's C2B answers and POSTs are like the recorded C2B captures
(tests/contract/daraja/c2b/): shapes, types and Daraja's texts; and it counts each recorded
validation answer as the capture says."""

import json
import re
from decimal import Decimal

import pytest

from simulator.models import SimC2BPayment
from tests.contract.daraja import body_bytes, body_json, load, shape
from tests.simulator.wire.test_contract import same_answer

C2B_TEXTS = ("ResponseCode", "ResponseDescription")


def test_c2b_register_answers(daraja, settings):
    same_answer(daraja.register(version="v2"), "c2b_register_success", texts=C2B_TEXTS)
    same_answer(daraja.register(ResponseType="Confirmed"), "c2b_register_invalid_response_type")
    same_answer(daraja.register(ValidationURL="http://127.0.0.1:9/mpesa/v/"), "c2b_register_forbidden_word")
    same_answer(daraja.register(ShortCode="174379"), "c2b_register_not_c2b_shortcode", texts=("Envelope",))
    settings.SIMULATOR_C2B_URL_VERSIONS = "v1"
    same_answer(daraja.register(version="v2"), "c2b_register_product_mismatch_401")
    settings.SIMULATOR_C2B_ENVIRONMENT = "production"
    settings.SIMULATOR_ALLOWED_CALLBACK_HOSTS = ["shop.example"]
    urls = {"ConfirmationURL": "https://shop.example/c/", "ValidationURL": "https://shop.example/v/"}
    daraja.register(**urls)
    same_answer(daraja.register(**urls), "c2b_register_already_registered")


def test_c2b_simulate_answers(daraja, drop):
    same_answer(daraja.simulate(version="v2"), "c2b_simulate_success", texts=C2B_TEXTS)
    buy_goods = daraja.simulate(ShortCode="600000", CommandID="CustomerBuyGoodsOnline", BillRefNumber="")
    same_answer(buy_goods, "c2b_simulate_buy_goods_account_reference")


def _c2b_bodies(daraja, registered, clock, run_c2b, **fields) -> tuple[dict, dict]:
    assert daraja.simulate(**fields).status_code == 200
    clock.advance(1)
    run_c2b()
    run_c2b()
    [validation] = registered.validations
    [confirmation] = registered.confirmations
    return (
        json.loads(validation["body"], parse_float=Decimal),
        json.loads(confirmation["body"], parse_float=Decimal),
    )


def test_c2b_validation_and_confirmation_have_the_captured_shape(daraja, registered, clock, run_c2b):
    validation, confirmation = _c2b_bodies(daraja, registered, clock, run_c2b)
    assert shape(validation) == shape(body_json(load("c2b_validation_request")))  # every value a string
    assert (
        validation["OrgAccountBalance"]
        == body_json(load("c2b_validation_request"))["OrgAccountBalance"]
        == ""
    )
    assert shape(confirmation) == shape(body_json(load("c2b_confirmation_request")))
    assert confirmation["TransAmount"] == "10.00"  # two decimals like every production capture
    assert registered.validations[0]["headers"]["Content-Type"].startswith(
        load("c2b_validation_request")["headers"]["Content-Type"]
    )


@pytest.mark.parametrize(
    ("mode", "names", "name", "pattern"),
    [
        ("hashed", "full", "c2b_confirmation_hashed_msisdn", r"^[0-9a-f]{64}$"),
        ("masked", "full", "c2b_confirmation_masked_msisdn", r"^\d{4} \*{5} \d{3}$"),
        ("masked_hash", "first", "c2b_confirmation_till_masked_hash", r"^[0-9a-f]{34} \*{5} [0-9a-f]{25}$"),
    ],
)
def test_c2b_msisdn_modes_have_the_captured_shape(
    daraja, registered, clock, run_c2b, settings, mode, names, name, pattern
):
    settings.SIMULATOR_C2B_MSISDN, settings.SIMULATOR_C2B_NAMES = mode, names
    _, confirmation = _c2b_bodies(daraja, registered, clock, run_c2b)
    captured = body_json(load(name))
    assert shape(confirmation) == shape(captured)
    assert re.match(pattern, captured["MSISDN"]) and re.match(pattern, confirmation["MSISDN"])


def test_c2b_till_confirmation_has_the_captured_shape(daraja, c2b_receiver, clock, run_c2b, settings, drop):
    settings.SIMULATOR_C2B_MSISDN = "masked_hash"
    daraja.register(ShortCode="600000", ConfirmationURL=c2b_receiver.confirmation_url, ValidationURL=drop)
    daraja.simulate(ShortCode="600000", CommandID="CustomerBuyGoodsOnline", BillRefNumber=drop)
    clock.advance(1)
    run_c2b()
    confirmation = json.loads(c2b_receiver.confirmations[0]["body"])
    captured = body_json(load("c2b_confirmation_till_masked_hash"))
    assert shape(confirmation) == shape(captured)
    for key in ("TransactionType", "BillRefNumber", "InvoiceNumber", "ThirdPartyTransID"):
        assert confirmation[key] == captured[key]


@pytest.mark.parametrize(
    "name",
    [
        "c2b_validation_accept",
        "c2b_validation_accept_integer_code",
        "c2b_validation_reject_invalid_msisdn",
        "c2b_validation_reject_invalid_account",
        "c2b_validation_reject_invalid_amount",
        "c2b_validation_reject_other_error",
    ],
)
def test_c2b_validation_answers_count_as_the_captures_say(daraja, registered, clock, run_c2b, name):
    """The recorded answers, served byte for byte by the receiver: accepted → Confirmation."""
    capture = load(name)
    registered.validation_status = capture["http_status"]
    registered.validation_answer = body_bytes(capture).decode()
    daraja.simulate()
    clock.advance(1)
    run_c2b()
    run_c2b()
    payment = SimC2BPayment.objects.get()
    accepted = capture["expect"]["accepted"]
    assert payment.status == ("completed" if accepted else "cancelled")
    assert len(registered.confirmations) == (1 if accepted else 0)
    if not accepted:
        assert payment.result_code == capture["expect"]["result_code"]


def test_c2b_confirmation_ack_is_not_retried(daraja, registered, clock, run_c2b):
    registered.confirmation_answer = body_bytes(load("c2b_confirmation_ack")).decode()
    daraja.simulate()
    for _ in range(3):
        clock.advance(1)
        run_c2b()
    assert len(registered.confirmations) == 1
