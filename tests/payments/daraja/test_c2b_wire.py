"""C2B on the wire (daraja-reference.md §14): the notices as captured, our answers, the
register-URL body and its answers."""

import pytest

from payments.daraja import c2b

CAPTURE_2017 = (
    '{"TransactionType":"","TransID":"LGR219G3EY","TransTime":"20170727104247","TransAmount":"10.00",'
    '"BusinessShortCode":"600134","BillRefNumber":"xyz","InvoiceNumber":"","OrgAccountBalance":"49197.00",'
    '"ThirdPartyTransID":"1234567890","MSISDN":"254708374149","FirstName":"John","MiddleName":"Doe",'
    '"LastName":""}'
)
# 2025 production shape: a SHA-256 MSISDN, no MiddleName/LastName keys (§14.6, §14.8)
CAPTURE_2025 = (
    '{"TransactionType":"Pay Bill","TransID":"TDS2L38KWI","TransTime":"20250428185618",'
    '"TransAmount":"11720.00","BusinessShortCode":"4083001","BillRefNumber":"Tandem ","InvoiceNumber":"",'
    '"OrgAccountBalance":"41880264.80","ThirdPartyTransID":"",'
    '"MSISDN":"8556a495c390f3ba95d2bdf6d06436f2fd09f516531f0a7cd9591c60812fa46d","FirstName":"JOSEPH"}'
)


def test_the_2017_sample_parses_with_its_full_number():
    notice = c2b.parse_c2b_notice(CAPTURE_2017)
    assert notice.trans_id == "LGR219G3EY" and notice.amount == 10 and notice.amount_text == "10.00"
    assert notice.trans_time.isoformat() == "2017-07-27T10:42:47+03:00"  # Nairobi time, §14.10.1
    assert c2b.full_msisdn(notice.msisdn) == "254708374149"


def test_the_2025_shape_parses_and_its_hash_is_nobody():
    notice = c2b.parse_c2b_notice(CAPTURE_2025)
    assert notice.amount == 11720 and notice.bill_ref_number == "Tandem "  # kept as typed
    assert notice.business_short_code == "4083001"
    assert c2b.full_msisdn(notice.msisdn) == "" and c2b.full_msisdn("2547 ***** 126") == ""


@pytest.mark.parametrize(
    ("text", "shillings"),
    [("10", 10), ("10.0", 10), ("10.00", 10), ("10000.00", 10000), ("10.50", None), ("", None)]
    + [("1e3", None), ("-5.00", None), ("0.00", None), (" 7.00 ", 7), ("NaN", None), ("١٠", None)],
)
def test_whole_shillings_only(text, shillings):
    assert c2b.whole_shillings(text) == shillings


@pytest.mark.parametrize(
    "body",
    [b"", b"[]", b'{"TransAmount": "10.00"}', b'{"TransID": ""}', b'{"TransID": "A B C"}', b"{" * 500]
    + [b'{"TransID": "QER3OM0QN3", "BillRefNumber": {"x": 1}}', b'{"TransID": 12}'],
)
def test_unreadable_notices_are_refused(body):
    with pytest.raises(c2b.MalformedNotice):
        c2b.parse_c2b_notice(body)


def test_numbers_where_strings_are_expected_are_read_as_text():
    notice = c2b.parse_c2b_notice('{"TransID": "qer3om0qn3", "TransAmount": 25, "BusinessShortCode": 600984}')
    assert notice.trans_id == "QER3OM0QN3" and notice.amount == 25 and notice.business_short_code == "600984"


def test_our_answers_are_the_documented_shapes():
    assert c2b.ACCEPT == {"ResultCode": "0", "ResultDesc": "Accepted"}  # a string "0", §14.9
    assert c2b.reject(c2b.INVALID_ACCOUNT) == {"ResultCode": "C2B00012", "ResultDesc": "Rejected"}
    assert c2b.CONFIRMATION_ACK == {"ResultCode": 0, "ResultDesc": "Success"}


def test_register_body_and_answers():
    body = c2b.build_register_body(
        shortcode=600984,
        response_type="Completed",
        confirmation_url="https://a/c",
        validation_url="https://a/v",
    )
    assert body == {
        "ShortCode": "600984",
        "ResponseType": "Completed",
        "ConfirmationURL": "https://a/c",
        "ValidationURL": "https://a/v",
    }
    with pytest.raises(ValueError):
        c2b.build_register_body(
            shortcode="1", response_type="completed", confirmation_url="", validation_url=""
        )
    answer = c2b.parse_register_response(
        {
            "OriginatorCoversationID": "8c39-4e24-ba78-a464bfcb7db629839",
            "ResponseCode": "0",
            "ResponseDescription": "Success",
        }
    )
    assert answer.originator_conversation_id == "8c39-4e24-ba78-a464bfcb7db629839"
    old = c2b.parse_register_response(
        {"ConversationID": "", "OriginatorCoversationID": "", "ResponseDescription": "success"}
    )
    assert old.response_description == "success"
    with pytest.raises(ValueError, match="already registered"):
        c2b.parse_register_response(
            {
                "ConversationID": "",
                "OriginatorCoversationID": "",
                "ResponseDescription": "Validation and Confirmation URLs are already registered",
            }
        )
