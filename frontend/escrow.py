"""The booking fee's escrow: held when paid, then released or refunded by staff, exactly once.

Every move is ``Booking.move``: a conditional UPDATE on the booking's status (``WHERE status =
<from>``): of two staff members clicking at once, one wins and writes the event; the other is
told it already happened.
"""

from .models import Booking

B = Booking.Status


def booking_release(booking: Booking, *, by) -> bool:
    """Technician matched: the held fee goes to the platform/technician."""
    return booking.move(to=B.RELEASED, by=by, note="technician matched")


def booking_refund(booking: Booking, *, by) -> bool:
    """Booking cancelled: the held fee is owed back to the customer (sent by the finance team)."""
    return booking.move(to=B.REFUNDED, by=by, note="booking cancelled: refund the fee")
