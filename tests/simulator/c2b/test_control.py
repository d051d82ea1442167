"""The control API's C2B part: pay (as typed, mistyped, overpaying), list payments with their
attempts, deliver now, resend, registrations; faults by script and by phone."""

import json

import pytest

from simulator.models import SimC2BPayment, SimC2BRegistration


def post(client, path, data=None):
    return client.post(path, json.dumps(data or {}), content_type="application/json")


def test_pay_then_list_with_every_attempt(client, registered, clock, run_c2b):
    response = post(
        client, "/simulator/control/c2b/pay/", {"phone": "254712345678", "account": "INV-7", "amount": 50}
    )
    assert response.status_code == 201, response.content
    payment = response.json()
    assert (payment["amount"], payment["bill_ref_number"], payment["source"], payment["status"]) == (
        50,
        "INV-7",
        "control",
        "validating",
    )
    assert payment["registration"]["response_type"] == "Completed"
    clock.advance(1)
    run_c2b()
    run_c2b()
    [listed] = client.get("/simulator/control/c2b/payments/?phone=254712345678").json()["payments"]
    assert listed["status"] == "completed"
    attempts = [(c["kind"], c["status"], c["response_status"]) for c in listed["callbacks"]]
    assert attempts == [("validation", "sent", 200), ("confirmation", "sent", 200)]
    assert listed["callbacks"][0]["verdict"] == "accepted: ResultCode 0"
    assert json.loads(listed["callbacks"][1]["body"])["TransID"] == payment["trans_id"]
    detail = client.get(f"/simulator/control/c2b/payments/{payment['trans_id']}/").json()
    assert detail["callbacks"] == listed["callbacks"]
    assert client.get("/simulator/control/c2b/payments/NOPE/").status_code == 404


def test_a_mistyped_account_number(client, registered, clock, run_c2b):
    """The receiver sees exactly what the customer typed, slip of the thumb included."""
    post(client, "/simulator/control/c2b/pay/", {"account": "INV-1001", "amount": 10, "mistype": True})
    registered.validation_answer = '{"ResultCode":"C2B00012","ResultDesc":"Rejected"}'
    clock.advance(1)
    run_c2b()
    assert registered.bodies("validation")[0]["BillRefNumber"] == "INV-1010"
    assert SimC2BPayment.objects.get().status == "cancelled"


def test_an_overpayment(client, registered, clock, run_c2b):
    response = post(client, "/simulator/control/c2b/pay/", {"account": "INV-1", "amount": 100, "overpay": 50})
    assert response.json()["amount"] == 150
    clock.advance(1)
    run_c2b()
    run_c2b()
    assert registered.bodies("confirmation")[0]["TransAmount"] == "150.00"


def test_a_till_payment_needs_no_account(client, c2b_receiver, daraja, clock, run_c2b, drop):
    daraja.register(ShortCode="600000", ConfirmationURL=c2b_receiver.confirmation_url, ValidationURL=drop)
    response = post(client, "/simulator/control/c2b/pay/", {"shortcode": "600000", "amount": 5})
    assert response.status_code == 201, response.content
    clock.advance(1)
    run_c2b()
    assert c2b_receiver.bodies("confirmation")[0]["TransactionType"] == "Customer Merchant Payment"


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ({"account": "", "amount": 1}, "Invalid BillRefNumber"),
        ({"account": "A", "amount": 0}, "Invalid Amount"),
        ({"account": "A", "phone": "0712"}, "Invalid Msisdn"),
        ({"account": "A", "shortcode": "174379"}, "Invalid ShortCode"),
        ({"account": "A", "overpay": -1}, "overpay"),
        ({"account": "A", "mistype": "yes"}, "mistype"),
        ({"account": "A", "duplicates": 0}, "duplicates"),
        ({"account": "A", "colour": "red"}, "unknown key"),
    ],
)
def test_pay_refusals(client, db, data, words):
    response = post(client, "/simulator/control/c2b/pay/", data)
    assert response.status_code == 400 and words in response.json()["error"]
    assert not SimC2BPayment.objects.exists()


def test_faults_given_with_the_payment(client, registered, clock, run_c2b):
    post(client, "/simulator/control/c2b/pay/", {"account": "A", "lost_confirmation": True})
    post(client, "/simulator/control/c2b/pay/", {"account": "B", "phone": "254712000001", "duplicates": 3})
    clock.advance(1)
    for _ in range(4):
        clock.advance(1)
        run_c2b()
    refs = [b["BillRefNumber"] for b in registered.bodies("confirmation")]
    assert refs == ["B", "B", "B"]  # A's money moved, its confirmation was lost
    assert len(registered.validations) == 2
    assert set(SimC2BPayment.objects.values_list("status", flat=True)) == {"completed"}
    kinds = SimC2BPayment.objects.get(bill_ref_number="B").callbacks.values_list("kind", flat=True)
    assert sorted(kinds) == ["confirmation", "duplicate", "duplicate", "validation"]


@pytest.mark.parametrize(
    ("phone", "validations", "confirmations"),
    [("254700990101", 1, 0), ("254700990102", 1, 2), ("254700990103", 1, 1), ("254700990104", 0, 1)],
)
def test_fault_phones(daraja, registered, clock, run_c2b, phone, validations, confirmations):
    """25470099 01NN from any client: lost, duplicated, slow validation (Completed), none."""
    assert daraja.simulate(Msisdn=phone).status_code == 200
    for _ in range(3):
        clock.advance(1)
        run_c2b()
    assert (len(registered.validations), len(registered.confirmations)) == (validations, confirmations)
    assert SimC2BPayment.objects.get().plan_source == f"rule:c2b-fault-{phone[-4:]}"


def test_slow_validation_under_cancelled_cancels(daraja, registered, clock, run_c2b):
    daraja.register(
        ResponseType="Cancelled",
        ConfirmationURL=registered.confirmation_url,
        ValidationURL=registered.validation_url,
    )
    daraja.simulate(Msisdn="254700990103")
    clock.advance(1)
    run_c2b()
    payment = SimC2BPayment.objects.get()
    assert payment.status == "cancelled" and registered.confirmations == []
    assert (
        payment.callbacks.get().verdict == "no answer: answered after the 8 s budget (fault slow_validation)"
    )


def test_scripts_for_the_next_payments_from_a_phone(client, daraja, registered, clock, run_c2b):
    created = post(
        client,
        "/simulator/control/scripts/",
        {"c2b_phone": "254712999999", "no_validation": True, "times": 1},
    )
    assert created.status_code == 201, created.content
    assert created.json()["target"] == "c2b"
    daraja.simulate(Msisdn="254712999999")
    daraja.simulate(Msisdn="254712999999", BillRefNumber="second")
    clock.advance(1)
    run_c2b()
    run_c2b()
    assert [b["BillRefNumber"] for b in registered.bodies("validation")] == ["second"]  # one use
    assert (
        post(
            client, "/simulator/control/scripts/", {"c2b_phone": "0712", "lost_confirmation": True}
        ).status_code
        == 400
    )


def test_deliver_now_and_resend(client, registered, db):
    """Without a job runner: deliver a payment now, then replay its confirmation."""
    payment = post(client, "/simulator/control/c2b/pay/", {"account": "A"}).json()
    response = post(client, f"/simulator/control/c2b/payments/{payment['trans_id']}/deliver/")
    assert response.json()["sent"] == 2
    confirmation = response.json()["payment"]["callbacks"][1]
    resent = post(client, f"/simulator/control/c2b/callbacks/{confirmation['id']}/resend/")
    assert resent.status_code == 201
    assert (resent.json()["kind"], resent.json()["status"], resent.json()["resend_of"]) == (
        "resend",
        "sent",
        confirmation["id"],
    )
    assert registered.confirmations[0]["body"] == registered.confirmations[1]["body"]


def test_registrations_list_and_delete(client, registered, settings):
    [row] = client.get("/simulator/control/c2b/registrations/").json()["registrations"]
    assert (row["shortcode"], row["version"], row["validation_url"]) == (
        "600984",
        "v1",
        registered.validation_url,
    )
    assert post(client, "/simulator/control/c2b/registrations/600984/delete/").json() == {"deleted": "600984"}
    assert not SimC2BRegistration.objects.exists()
    assert post(client, "/simulator/control/c2b/registrations/600984/delete/").status_code == 404


def test_reset_and_counters(client, daraja, registered, clock, run_c2b):
    daraja.simulate()
    clock.advance(1)
    run_c2b()
    counters = client.get("/simulator/control/counters/").json()
    assert {k: v for k, v in counters.items() if k.startswith("c2b")} == {
        "c2b_register_requests": 1,
        "c2b_simulate_requests": 1,
        "c2b_registrations": 1,
        "c2b_payments": 1,
        "c2b_callbacks": 1,
    }
    deleted = post(client, "/simulator/control/reset/").json()["deleted"]
    assert (deleted["c2b_payments"], deleted["c2b_registrations"]) == (1, 1)
    assert not SimC2BPayment.objects.exists()
