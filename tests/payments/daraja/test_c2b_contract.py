"""Our C2B side reads every recorded C2B capture (tests/contract/daraja/c2b/) as a correct
client must: register-URL answers served byte for byte by a real loopback server, and the
Validation/Confirmation bodies through our parser; conclusions compared with "expect"."""

import pytest
from werkzeug import Response

from payments.daraja import c2b
from payments.daraja.client import DarajaClient
from payments.daraja.errors import DarajaError
from tests.contract.daraja import body_bytes, c2b_captures

REGISTER = c2b_captures(api="c2b_register")
NOTICES = [c for c in c2b_captures() if c["api"] in ("c2b_validation", "c2b_confirmation")]
OUR_ANSWERS = {  # what our door answers, by capture
    "c2b_validation_accept": c2b.ACCEPT,
    "c2b_validation_reject_invalid_account": c2b.reject(c2b.INVALID_ACCOUNT),
    "c2b_validation_reject_invalid_amount": c2b.reject(c2b.INVALID_AMOUNT),
    "c2b_validation_reject_other_error": c2b.reject(c2b.OTHER_ERROR),
    "c2b_confirmation_ack": c2b.CONFIRMATION_ACK,
}


@pytest.mark.parametrize("capture", REGISTER, ids=[c["name"] for c in REGISTER])
async def test_every_register_answer_is_read_correctly(daraja, capture):
    daraja.oauth()
    daraja.server.expect_request("/mpesa/c2b/v2/registerurl").respond_with_response(
        Response(body_bytes(capture), status=capture["http_status"], headers=capture.get("headers", {}))
    )
    call = DarajaClient().register_c2b_urls(
        shortcode="600984", confirmation_url="https://a.example/c", validation_url="https://a.example/v"
    )
    expect = capture["expect"]
    if capture["kind"] == "success":
        answer = await call
        assert expect["accepted"] is True and answer.response_description
        return
    with pytest.raises(DarajaError) as raised:
        await call
    error = raised.value
    assert error.http_status == expect["http_status"]
    if expect.get("error_code"):
        assert error.error_code == expect["error_code"] and error.error_message == expect["error_message"]
    assert error.transient is expect["transient_error"]


@pytest.mark.parametrize("capture", NOTICES, ids=[c["name"] for c in NOTICES])
def test_every_notice_is_parsed_correctly(capture):
    notice = c2b.parse_c2b_notice(body_bytes(capture))
    expect = capture["expect"]
    assert notice.trans_id == expect["trans_id"] and notice.amount_text == expect["amount"]
    assert notice.business_short_code == expect["shortcode"]
    assert notice.bill_ref_number == expect["bill_ref_number"]
    assert notice.trans_time.isoformat() == expect["trans_time"]
    assert (c2b.full_msisdn(notice.msisdn) or None) == expect["msisdn"]
    if "org_balance" in expect:
        assert notice.org_account_balance == expect["org_balance"]


@pytest.mark.parametrize("name", sorted(OUR_ANSWERS))
def test_our_answers_match_the_recorded_ones(name):
    (capture,) = [c for c in c2b_captures() if c["name"] == name]
    assert OUR_ANSWERS[name] == capture["body"]
