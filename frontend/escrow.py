"""The booking fee's escrow: held when paid, then released or refunded by staff, exactly once.

Every move is a conditional UPDATE on the booking's status (``WHERE status = <from>``): of two
staff members clicking at once, one wins and writes the event; the other is told it already
happened.
"""

from django.db import transaction

from .models import Booking, BookingEvent

B = Booking.Status
MOVES = {B.HELD: (B.AWAITING_FEE,), B.RELEASED: (B.HELD,), B.REFUNDED: (B.HELD,)}


def booking_move(booking: Booking, *, to: str, by, note: str = "", payment=None) -> bool:
    """Move ``booking`` to ``to`` from the one status that allows it; True if this call moved
    it (and recorded the event). Safe to call concurrently: one winner."""
    (source,) = MOVES[to]
    with transaction.atomic():
        moved = Booking.objects.filter(pk=booking.pk, status=source).update(
            status=to, **({"paid_by": payment} if payment is not None else {})
        )
        if moved:
            BookingEvent.objects.create(
                booking_id=booking.pk,
                from_status=source,
                to_status=to,
                by=by,
                payment=payment,
                note=note[:200],
            )
    return bool(moved)


def booking_release(booking: Booking, *, by) -> bool:
    """Technician matched: the held fee goes to the platform/technician."""
    return booking_move(booking, to=B.RELEASED, by=by, note="technician matched")


def booking_refund(booking: Booking, *, by) -> bool:
    """Booking cancelled: the held fee is owed back to the customer (sent by the finance team)."""
    return booking_move(booking, to=B.REFUNDED, by=by, note="booking cancelled: refund the fee")
