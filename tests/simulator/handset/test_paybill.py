"""The handset's M-PESA menu over its WebSocket: Pay Bill becomes a C2B payment from that
phone by the simulate API's path; the page hears how it ended and sees it on resync."""

import json

import pytest
from asgiref.sync import sync_to_async

from simulator.c2b_delivery import c2b_deliver_due
from simulator.models import SimC2BPayment, SimC2BRegistration
from tests.simulator.handset.test_consumers import PHONE, open_handset

pytestmark = pytest.mark.django_db(transaction=True)
FORM = {
    "type": "paybill",
    "business_number": "600984",
    "account_number": " acc 7 ",
    "amount": "250",
    "pin": "1234",
}


async def until(communicator, wanted, *, limit: int = 6) -> dict:
    """Frames until one satisfies ``wanted`` (others, like interim updates, are skipped)."""
    for _ in range(limit):
        frame = await communicator.receive_json_from(timeout=3)
        if wanted(frame):
            return frame
    raise AssertionError("no such frame")


@pytest.fixture
def c2b_registered(c2b_receiver, settings):
    settings.SIMULATOR_C2B_DELAY_SECONDS = 0
    SimC2BRegistration.objects.create(
        shortcode="600984",
        version="v1",
        response_type="Completed",
        confirmation_url=c2b_receiver.confirmation_url,
        validation_url=c2b_receiver.validation_url,
        originator_conversation_id="x",
    )
    return c2b_receiver


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"pin": "12"}, "Enter a 4-digit M-PESA PIN."),
        ({"business_number": "174379"}, "Invalid business number."),
        ({"business_number": "600000"}, "Invalid business number."),  # a till, not a paybill
        ({"business_number": "abc"}, "Invalid business number."),
        ({"account_number": ""}, "Enter the account number (up to 20 characters)."),
        ({"amount": "0"}, "Enter an amount from KES 1 to KES 250,000."),
        ({"amount": "ten"}, "Enter an amount from KES 1 to KES 250,000."),
        ({"amount": 5}, "Fill in the business number, account number, amount and PIN."),
    ],
)
async def test_the_menu_refuses_what_m_pesa_would(change, words):
    communicator, _ = await open_handset()
    await communicator.receive_json_from(timeout=3)  # snapshot
    await communicator.send_to(text_data=json.dumps(FORM | change))
    assert await communicator.receive_json_from(timeout=3) == {
        "type": "error",
        "error": words,
        "form": "paybill",
    }
    assert not await SimC2BPayment.objects.aexists()
    await communicator.disconnect()


async def test_pay_bill_is_a_c2b_payment_from_this_phone(c2b_registered):
    communicator, _ = await open_handset()
    await communicator.receive_json_from(timeout=3)
    await communicator.send_to(text_data=json.dumps(FORM))
    sent = await until(communicator, lambda f: f["type"] == "paybill_sent")
    payment = sent["payment"]
    assert (payment["amount"], payment["shortcode"], payment["account"], payment["status"]) == (
        250,
        "600984",
        " acc 7 ",
        "validating",
    )
    row = await SimC2BPayment.objects.aget(trans_id=payment["trans_id"])
    assert (row.msisdn, row.source, row.bill_ref_number) == (PHONE, "handset", " acc 7 ")
    await sync_to_async(c2b_deliver_due)()
    await sync_to_async(c2b_deliver_due)()
    done = await until(communicator, lambda f: f["type"] == "c2b" and f["payment"]["status"] == "completed")
    assert done["payment"]["message"] == (
        f"{payment['trans_id']} Confirmed. KES 250.00 sent to 600984 for account  acc 7 ."
    )
    [validation] = c2b_registered.bodies("validation")
    assert (validation["BillRefNumber"], validation["TransAmount"]) == (" acc 7 ", "250.00")
    assert len(c2b_registered.confirmations) == 1
    await communicator.send_to(text_data=json.dumps({"type": "resync"}))
    snapshot = await until(communicator, lambda f: f["type"] == "snapshot")
    assert [(p["trans_id"], p["status"]) for p in snapshot["payments"]] == [
        (payment["trans_id"], "completed")
    ]
    await communicator.disconnect()


async def test_a_rejected_payment_says_why(c2b_registered):
    c2b_registered.validation_answer = '{"ResultCode":"C2B00012","ResultDesc":"Invalid Account Number"}'
    communicator, _ = await open_handset()
    await communicator.receive_json_from(timeout=3)
    await communicator.send_to(text_data=json.dumps(FORM))
    sent = await until(communicator, lambda f: f["type"] == "paybill_sent")
    await sync_to_async(c2b_deliver_due)()
    done = await until(communicator, lambda f: f["type"] == "c2b" and f["payment"]["status"] == "cancelled")
    assert done["payment"]["message"].startswith(f"{sent['payment']['trans_id']} Failed.")
    assert done["payment"]["message"].endswith("was cancelled: Invalid Account Number.")
    assert c2b_registered.confirmations == []
    await communicator.disconnect()
