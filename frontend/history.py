"""The history page in the customer's words: each payment with the title and sentence the
checkout showed (payments/results.py's ``customer_message``), never an internal status label,
and a filter by what the customer cares about (paid, not paid, still waiting, being checked).
"""

from dataclasses import dataclass

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from payments.models import Payment
from payments.results import CustomerMessage, customer_message

from .receipts import paid_for, receipt_to_follow

S = Payment.Status

# ?status= value → (label, the statuses it shows). An exact status (an old link) still works.
GROUPS: dict[str, tuple[str, tuple[str, ...]]] = {
    "paid": (_("Paid"), (S.PAID,)),
    "not_paid": (_("Not paid"), (S.CANCELLED, S.TIMED_OUT, S.FAILED, S.REJECTED)),
    "waiting": (_("Waiting for M-Pesa"), (S.INITIATING, S.PENDING, S.UNKNOWN, S.EXPIRED)),
    "checking": (_("Being checked"), (S.NEEDS_REVIEW,)),
}
FILTERS = [(value, label) for value, (label, _statuses) in GROUPS.items()]

# The customer should read the sentence too: what happens next and whom to call.
EXPLAIN = {S.NEEDS_REVIEW, S.EXPIRED, S.UNKNOWN, S.CANCELLED, S.TIMED_OUT, S.FAILED, S.REJECTED}


def filter_for(value: str | None) -> tuple[str, tuple[str, ...] | None]:
    """(the filter as chosen, the statuses to show); anything unknown shows everything."""
    if value in GROUPS:
        return value, GROUPS[value][1]
    if value in S.values:
        return value, (value,)
    return "", None


@dataclass(frozen=True)
class Row:
    payment: Payment
    message: CustomerMessage
    paid_for: str
    explain: bool
    receipt_url: str | None
    receipt_text: str

    @property
    def tone(self) -> str:
        """paid, failed or waiting: the badge's colour, as the checkout's."""
        if self.payment.status == S.PAID:
            return "paid"
        if self.payment.status in (S.NEEDS_REVIEW, *Payment.OPEN_STATUSES):
            return "waiting"
        return "failed"


def rows(payments) -> list[Row]:
    out = []
    for payment in payments:
        paid = payment.status == S.PAID
        out.append(
            Row(
                payment=payment,
                message=customer_message(payment),
                paid_for=paid_for(payment),
                explain=payment.status in EXPLAIN,
                receipt_url=reverse("frontend:receipt", args=[payment.public_id]) if paid else None,
                receipt_text=(payment.receipt_number or receipt_to_follow()) if paid else "",
            )
        )
    return out
