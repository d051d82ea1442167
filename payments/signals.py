"""Signals for side work (email, SMS, fulfilment), sent once, after the settling transaction
commits — never on rollback, never inside it. The effect that must commit with the payment
(credit, escrow) is the payable's ``payable_paid`` instead (payments/payables.py).

Every signal is sent with ``sender`` = the payable's model class and these arguments:

- ``payment_paid(payment, payable)``: money received;
- ``payment_failed(payment, payable, reason)``: cancelled, timed out, failed or refused;
  ``reason`` is what the customer is told (payments/results.py);
- ``payment_needs_review(payment, payable, reason)``: a person must look (amount mismatch,
  contradiction…); ``reason`` is the review reason.

Receivers run with ``send_robust``: one failing receiver is logged and does not stop the others.
"""

import logging

from django.dispatch import Signal

logger = logging.getLogger("payments.signals")

payment_paid = Signal()
payment_failed = Signal()
payment_needs_review = Signal()

FAILED = ("cancelled", "timed_out", "failed", "rejected")


def signal_for(status: str) -> str | None:
    """``status`` if a signal is sent for it (the transition schedules it after the commit)."""
    return status if status == "paid" or status == "needs_review" or status in FAILED else None


def signal_send(payment, status: str) -> None:
    """Send ``status``'s signal for the committed ``payment`` (after the commit, once)."""
    from .results import customer_message

    if payment.status != status:  # moved on again before we got here
        return
    payable = payment.payable
    sender = type(payable) if payable is not None else type(payment)
    if status == "paid":
        results = payment_paid.send_robust(sender, payment=payment, payable=payable)
    elif status == "needs_review":
        results = payment_needs_review.send_robust(
            sender, payment=payment, payable=payable, reason=payment.review_reason
        )
    else:
        message = customer_message(payment)
        results = payment_failed.send_robust(
            sender, payment=payment, payable=payable, reason=f"{message.title}: {message.detail}"
        )
    for receiver, result in results:
        if isinstance(result, Exception):
            logger.error(
                "signal receiver %s failed: %r",
                getattr(receiver, "__qualname__", receiver),
                result,
                extra={"event": "signal.error", "payment": str(payment.public_id)},
            )
