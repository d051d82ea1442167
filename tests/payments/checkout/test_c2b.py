"""Paying from the M-Pesa menu (Pay Bill, C2B) through the one callback door: validation
answers, confirmations stored raw, matched by the payment's own account number, settled once
through the settlement path, and everything that does not fit kept in the review queue."""

import pytest
from django.db.models import Sum

from frontend.models import LedgerEntry, Order
from payments import checkout
from payments.models import C2BPayment, CallbackRecord, Payment
from payments.paybill import paybill_instructions
from tests.factories import c2b_notice, callback_body, dumps, make_payment

pytestmark = pytest.mark.django_db
ST = C2BPayment.State


def confirm(door, payment_or_account, amount=None, **kwargs):
    if isinstance(payment_or_account, Payment):
        account = payment_or_account.paybill_account
        amount = payment_or_account.amount if amount is None else amount
    else:
        account = payment_or_account
    body = c2b_notice(account, amount, **kwargs)
    response = door.c2b("confirmation", body)
    return response, body


def credited(user) -> int:
    return LedgerEntry.objects.filter(wallet__user=user).aggregate(s=Sum("amount"))["s"] or 0


def timed_out(door, payment):
    assert door.callback(payment, dumps(callback_body(payment, code=1037))).status_code == 200
    payment.refresh_from_db()
    assert payment.status == "timed_out"
    return payment


def test_every_payment_has_its_own_account_number_and_instructions(user):
    first, second = make_payment(user, amount=300), make_payment(user, amount=300)
    assert (
        first.paybill_account and second.paybill_account and first.paybill_account != second.paybill_account
    )
    info = paybill_instructions(first)
    assert info["account"] == first.paybill_account and info["amount_display"] == "KES 300"
    assert info["business_number"] == "600984" and info["primary"] is False  # the sandbox C2B paybill


def test_confirmation_after_a_timed_out_prompt_pays_it_once(door, user):
    payment = timed_out(door, make_payment(user, amount=450))
    response, body = confirm(
        door, payment, msisdn="94c2c311d522da950619227b3361752a42042db7e1e699b26e628305c68a8839"
    )
    assert response.status_code == 200 and response.json() == {"ResultCode": 0, "ResultDesc": "Success"}
    payment.refresh_from_db()
    assert payment.status == "paid" and payment.settled_by == "c2b"
    assert payment.receipt_number == body["TransID"] and payment.paid_phone == ""  # a hash is nobody's number
    assert not payment.flagged  # the menu after a timed-out prompt is the fallback working
    assert credited(user) == 450
    row = C2BPayment.objects.get()
    assert row.state == ST.MATCHED and row.payment == payment and row.amount == 450
    record = CallbackRecord.objects.get(kind="c2b_confirmation")
    assert record.outcome == "applied" and record.c2b == row and '"TransID"' in record.body


def test_duplicated_confirmations_credit_once(door, user):
    payment = make_payment(user, amount=200)
    _, body = confirm(door, payment)
    for _ in range(3):
        assert door.c2b("confirmation", body).status_code == 200
    assert credited(user) == 200 and C2BPayment.objects.count() == 1
    outcomes = sorted(
        CallbackRecord.objects.filter(kind="c2b_confirmation").values_list("outcome", flat=True)
    )
    assert outcomes == ["applied", "duplicate", "duplicate", "duplicate"]


def test_account_number_is_read_forgivingly(door, user):
    payment = make_payment(user, amount=120)
    typed = f" {payment.paybill_account[:3].lower()}-{payment.paybill_account[3:].lower()} "
    confirm(door, typed, 120)
    payment.refresh_from_db()
    assert payment.status == "paid" and C2BPayment.objects.get().bill_ref_number == typed


def test_a_mistyped_account_goes_to_review_and_pays_nobody(door, user):
    payment = make_payment(user, amount=120)
    account = payment.paybill_account
    wrong = account[:2] + ("3" if account[2] != "3" else "4") + account[3:]  # one character off
    confirm(door, wrong, 120)
    payment.refresh_from_db()
    assert payment.status == "pending" and credited(user) == 0
    row = C2BPayment.objects.get()
    assert row.state == ST.REVIEW and row.payment is None and "not one of ours" in row.review_reason


def test_an_overpayment_is_credited_once_and_flagged_for_the_excess(door, user):
    order = Order.objects.create(user=user, reference="ORD77", description="Chairs", amount=1000)
    payment = make_payment(user, order=order)
    confirm(door, payment, 1500)
    payment.refresh_from_db()
    order.refresh_from_db()
    assert payment.status == "paid" and order.status == "paid"
    assert payment.flagged and "overpaid by KES 500" in payment.review_reason
    row = C2BPayment.objects.get()
    assert row.state == ST.REVIEW and row.excess == 500 and row.payment == payment


def test_an_underpayment_waits_in_review_and_the_payment_stays_open(door, user):
    payment = make_payment(user, amount=1000)
    confirm(door, payment, 400)
    payment.refresh_from_db()
    assert payment.status == "pending" and credited(user) == 0
    row = C2BPayment.objects.get()
    assert (
        row.state == ST.REVIEW
        and row.payment == payment
        and "under-paid: KES 400 of KES 1000" in row.review_reason
    )


def test_pennies_are_not_whole_shillings(door, user):
    payment = make_payment(user, amount=100)
    confirm(door, payment.paybill_account, "100.50")
    payment.refresh_from_db()
    assert payment.status == "pending"
    assert C2BPayment.objects.get().state == ST.REVIEW


def test_a_later_stk_success_is_a_contradiction_never_a_second_credit(door, user):
    payment = make_payment(user, amount=300)
    confirm(door, payment)
    door.callback(payment, dumps(callback_body(payment, receipt="SKX1234567")))
    payment.refresh_from_db()
    assert credited(user) == 300 and payment.flagged and "second receipt" in payment.review_reason


def test_the_prompt_timing_out_after_a_menu_payment_changes_nothing(door, user):
    payment = make_payment(user, amount=300)
    confirm(door, payment)
    door.callback(payment, dumps(callback_body(payment, code=1037)))
    payment.refresh_from_db()
    assert payment.status == "paid" and not payment.flagged


def test_paying_twice_from_the_menu_keeps_the_second_for_a_refund(door, user):
    payment = make_payment(user, amount=300)
    confirm(door, payment)
    confirm(door, payment)
    assert credited(user) == 300
    second = C2BPayment.objects.order_by("received_at", "pk").last()
    assert second.state == ST.REVIEW and "paid twice" in second.review_reason


def test_an_stk_payments_own_confirmation_is_recognised_in_either_order(door, user):
    first = make_payment(user, amount=100)
    door.callback(first, dumps(callback_body(first, receipt="SKA0000001")))
    confirm(door, "ORDER-REF", 100, receipt="SKA0000001")  # the STK's AccountReference, §14.10.4
    assert C2BPayment.objects.get(trans_id="SKA0000001").state == ST.STK_RECEIPT
    second = make_payment(user, amount=100)
    confirm(door, "ORDER-REF", 100, receipt="SKB0000002")  # the confirmation came first
    assert C2BPayment.objects.get(trans_id="SKB0000002").state == ST.REVIEW
    door.callback(second, dumps(callback_body(second, receipt="SKB0000002")))
    row = C2BPayment.objects.get(trans_id="SKB0000002")
    assert row.state == ST.STK_RECEIPT and row.payment == second
    assert credited(user) == 200


def test_a_closed_account_goes_to_review(door, user, settings):
    payment = make_payment(user, amount=100)
    Payment.objects.filter(pk=payment.pk).update(created_at=payment.created_at.replace(year=2025))
    confirm(door, payment)
    payment.refresh_from_db()
    assert payment.status == "pending"
    assert C2BPayment.objects.get().review_reason == "the account number has closed"


def test_malformed_confirmation_is_kept_raw_and_answered_400(door):
    response = door.c2b("confirmation", b'{"TransAmount": "10.00"}')
    assert response.status_code == 400
    record = CallbackRecord.objects.get()
    assert (
        record.kind == "c2b_confirmation" and record.outcome == "malformed" and "TransAmount" in record.body
    )


def test_the_c2b_door_wants_its_token_and_post(door, settings):
    from payments.checkout.callback_url import c2b_path

    good = c2b_path(settings.DARAJA_C2B_SHORTCODE, "confirmation")
    bad = good.replace(good.split("/")[-3], "0" * 32)
    assert door.post(bad, dumps(c2b_notice("X", 10))).status_code == 404
    assert door.request("GET", good).status_code == 405
    shortcode = settings.DARAJA_C2B_SHORTCODE
    other_shortcode = good.replace(f"/{shortcode}/", f"/{int(shortcode) + 1}/")
    assert other_shortcode != good
    assert door.post(other_shortcode, dumps(c2b_notice("X", 10))).status_code == 404
    assert CallbackRecord.objects.count() == 0


# --- Validation (§14.9) ---------------------------------------------------------------------


def validate(door, account, amount, **kwargs):
    response = door.c2b("validation", c2b_notice(account, amount, validation=True, **kwargs))
    assert response.status_code == 200
    return response.json()


def test_validation_accepts_the_right_account_and_amount(door, user):
    payment = make_payment(user, amount=250)
    assert validate(door, payment.paybill_account, 250) == {"ResultCode": "0", "ResultDesc": "Accepted"}
    payment.refresh_from_db()
    assert payment.status == "pending"  # validation moves no money
    assert CallbackRecord.objects.get(kind="c2b_validation").outcome == "applied"


def test_validation_rejects_what_would_not_fit(door, user):
    payment = make_payment(user, amount=250)
    rejected = {"ResultDesc": "Rejected"}
    assert validate(door, "NOPE123", 250) == {"ResultCode": "C2B00012", **rejected}
    assert validate(door, payment.paybill_account, 200) == {"ResultCode": "C2B00013", **rejected}
    assert validate(door, payment.paybill_account, 300) == {"ResultCode": "C2B00013", **rejected}
    assert validate(door, payment.paybill_account, "250.50") == {"ResultCode": "C2B00013", **rejected}
    assert validate(door, payment.paybill_account, 250, shortcode="999999") == {
        "ResultCode": "C2B00015",
        **rejected,
    }
    confirm(door, payment)
    assert validate(door, payment.paybill_account, 250) == {"ResultCode": "C2B00012", **rejected}  # paid
    unreadable = door.c2b("validation", b"<xml/>").json()
    assert unreadable == {"ResultCode": "C2B00016", **rejected}


def test_validation_of_a_paid_order_is_rejected(door, user):
    order = Order.objects.create(user=user, reference="ORD78", description="Desk", amount=500)
    old = make_payment(user, order=order)
    timed_out(door, old)
    new = make_payment(user, order=order)
    door.callback(new, dumps(callback_body(new)))
    assert validate(door, old.paybill_account, 500)["ResultCode"] == "C2B00012"


# --- The review queue's actions -------------------------------------------------------------


def test_staff_attach_a_mistyped_payment_and_it_pays_once(door, user, admin_user):
    payment = make_payment(user, amount=120)
    confirm(door, "WRONG99", 120)
    row = C2BPayment.objects.get()
    done = checkout.c2b_attach(row, payment, user=admin_user, note="customer called")
    payment.refresh_from_db()
    assert done.state == ST.ATTACHED and payment.status == "paid" and payment.receipt_number == row.trans_id
    assert credited(user) == 120
    with pytest.raises(checkout.C2BActionRefused):
        checkout.c2b_attach(done, payment, user=admin_user)
    assert credited(user) == 120


def test_attach_refuses_too_little_and_refund_closes_it(door, user, admin_user):
    payment = make_payment(user, amount=500)
    confirm(door, payment, 100)
    row = C2BPayment.objects.get()
    with pytest.raises(checkout.C2BActionRefused, match="less than"):
        checkout.c2b_attach(row, payment, user=admin_user)
    assert checkout.c2b_mark_refunded(row, user=admin_user, note="reversed on the org portal")
    assert not checkout.c2b_mark_refunded(row, user=admin_user, note="again")
    row.refresh_from_db()
    assert row.state == ST.REFUNDED and row.resolved_by == admin_user
    payment.refresh_from_db()
    assert payment.status == "pending"
