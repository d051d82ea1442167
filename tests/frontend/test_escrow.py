"""The booking fee in escrow: held when paid (inside the settlement), then released or refunded
by staff, exactly once, every change an event — also when staff click at the same moment."""

import pytest
from django.contrib.auth import get_user_model

from frontend.escrow import booking_refund, booking_release
from frontend.models import Booking, BookingEvent
from payments import checkout
from tests.factories import accepted_for, callback_result, next_phone
from tests.helpers.race import run_parallel

B = Booking.Status


def paid_booking(user) -> Booking:
    booking = Booking.objects.create(
        user=user, reference=f"BK{Booking.objects.count() + 1}", service="Sink repair"
    )
    payment, _ = checkout.payment_create(user=user, phone=next_phone(), payable=booking)
    payment = checkout.payment_mark_pushed(payment, accepted_for(payment))
    checkout.payment_apply_result(payment=payment, result=callback_result(payment), source="callback")
    booking.refresh_from_db()
    return booking


@pytest.mark.django_db
def test_the_fee_is_held_when_paid_and_the_payment_names_it(user):
    booking = paid_booking(user)
    assert booking.status == B.HELD and booking.paid_by.status == "paid" and booking.paid_by.amount == 500
    [event] = BookingEvent.objects.filter(booking=booking)
    assert (event.from_status, event.to_status, event.payment_id) == (
        B.AWAITING_FEE,
        B.HELD,
        booking.paid_by_id,
    )


@pytest.mark.django_db
def test_a_paid_fee_cannot_be_prompted_again(user):
    booking = paid_booking(user)
    with pytest.raises(checkout.PayableSettled):
        checkout.payment_create(user=user, phone=next_phone(), payable=booking)


@pytest.mark.django_db
def test_release_and_refund_only_from_held(user):
    staff = get_user_model().objects.create_user("ops", is_staff=True)
    unpaid = Booking.objects.create(user=user, reference="BK9", service="x")
    assert not booking_release(unpaid, by=staff) and not booking_refund(unpaid, by=staff)
    booking = paid_booking(user)
    assert booking_refund(booking, by=staff)
    assert not booking_release(booking, by=staff)  # refunded is final
    booking.refresh_from_db()
    assert booking.status == B.REFUNDED
    assert list(booking.events.values_list("to_status", "by__username")) == [
        (B.HELD, None),
        (B.REFUNDED, "ops"),
    ]


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
def test_concurrent_staff_clicks_move_the_fee_once(user):
    """Sixteen staff clicks at the same instant, half release and half refund: one wins, one
    event is written, the others are told nothing moved."""
    staff = get_user_model().objects.create_user("ops", is_staff=True)
    booking = paid_booking(user)

    def click(i):
        return (booking_release if i % 2 else booking_refund)(Booking.objects.get(pk=booking.pk), by=staff)

    results = run_parallel(16, click)
    booking.refresh_from_db()
    assert results.count(True) == 1 and booking.status in (B.RELEASED, B.REFUNDED)
    assert BookingEvent.objects.filter(booking=booking).exclude(to_status=B.HELD).count() == 1


@pytest.mark.django_db
def test_staff_act_from_the_admin(admin_client, user):
    booking = paid_booking(user)
    response = admin_client.post(
        "/admin/frontend/booking/", {"action": "release_fee", "_selected_action": [booking.pk]}, follow=True
    )
    assert response.status_code == 200 and "fee released" in response.text
    again = admin_client.post(
        "/admin/frontend/booking/", {"action": "refund_fee", "_selected_action": [booking.pk]}, follow=True
    )
    assert "not moved" in again.text
    booking.refresh_from_db()
    assert booking.status == B.RELEASED
