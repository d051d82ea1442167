"""The demo shop's payables: orders, wallet deposits with their ledger, and booking fees held in
escrow. Each is paid through the engine's public API only (payments/payables.py): the engine
knows none of these models.

Amounts are integer shillings. Every effect of a payment runs inside the engine's settling
transaction (``payable_paid``) and is a conditional update, so it happens exactly once.
"""

import uuid

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from payments.checkout.inputs import amount_range_error
from payments.payables import Payable, PayableError, PayableRefused, register
from payments.prepared import row_insert


@register("order")
class Order(Payable, models.Model):
    """A fixed amount, paid once."""

    class Status(models.TextChoices):
        UNPAID = "unpaid", "Unpaid"
        PAID = "paid", "Paid"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="orders")
    reference = models.CharField(max_length=12, unique=True)
    description = models.CharField(max_length=200)
    amount = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.UNPAID)
    paid_by = models.OneToOneField(
        "payments.Payment", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    paid_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.CheckConstraint(condition=Q(amount__gte=1), name="order_amount_gte_1")]

    def __str__(self) -> str:
        return f"{self.reference} {self.description} (KES {self.amount})"

    def payable_amount(self, requested: int | None = None) -> int:
        if requested is not None:
            raise PayableError(
                _("Do not send an amount with an order: the order decides it."), field="amount"
            )
        return self.amount

    def payable_reference(self) -> str:
        return self.reference

    def payable_description(self) -> str:
        return f"Order {self.reference}"

    def payable_may_pay(self, user) -> bool:
        return self.user_id == user.pk

    def payable_is_settled(self) -> bool:
        return self.status == self.Status.PAID

    def payable_paid(self, payment) -> None:
        marked = Order.objects.filter(pk=self.pk, paid_by__isnull=True).update(
            status=self.Status.PAID, paid_by=payment, paid_at=timezone.now()
        )
        if not marked:
            raise PayableRefused("order was already paid by another payment: refund this one")

    def payable_summary(self) -> dict:
        return {"reference": self.reference, "description": self.description}


@register("wallet")
class Wallet(Payable, models.Model):
    """Deposits of any amount the customer chooses, each credited once to the balance."""

    payable_open_amount = True
    payable_one_prompt_at_a_time = False  # two phones may top up the same wallet at once

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    balance = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(balance__gte=0), name="wallet_balance_gte_0")]

    def __str__(self) -> str:
        return f"Wallet of {self.user} (KES {self.balance})"

    def payable_amount(self, requested: int | None = None) -> int:
        low, high = settings.PAYMENTS_MIN_AMOUNT, settings.PAYMENTS_MAX_AMOUNT
        if requested is None:
            raise PayableError(amount_range_error(low, high), field="amount")
        return requested

    def payable_reference(self) -> str:
        return f"DEP{self.user_id}"

    def payable_description(self) -> str:
        return "Wallet top-up"

    def payable_may_pay(self, user) -> bool:
        return self.user_id == user.pk

    def payable_paid(self, payment) -> None:
        balance = _credit(self.pk, payment.amount)
        # OneToOne on payment: a second credit for the same payment is impossible (IntegrityError).
        row_insert(
            LedgerEntry(wallet_id=self.pk, payment=payment, amount=payment.amount, balance_after=balance)
        )

    def payable_summary(self) -> dict:
        return {"balance": int(self.balance)}  # read with the committed payment (broadcast)

    @classmethod
    def payable_sample_for(cls, user, amount: int):
        return cls.objects.get_or_create(user=user)[0]


def _credit(wallet_id: int, amount: int) -> int:
    """``balance += amount`` in one statement that also returns the new balance (UPDATE ...
    RETURNING: SQLite >= 3.35 and PostgreSQL; the ORM's update() cannot return values)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Wallet._meta.db_table} SET balance = balance + %s, updated_at = %s "
            "WHERE id = %s RETURNING balance",
            [amount, connection.ops.adapt_datetimefield_value(timezone.now()), wallet_id],
        )
        return int(cursor.fetchone()[0])


class LedgerEntry(models.Model):
    """A wallet credit. At most one per payment, enforced by the database."""

    wallet = models.ForeignKey(Wallet, on_delete=models.PROTECT, related_name="entries")
    payment = models.OneToOneField("payments.Payment", on_delete=models.PROTECT, related_name="ledger_entry")
    amount = models.BigIntegerField()
    balance_after = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="ledger_amount_gt_0")]

    def __str__(self) -> str:
        return f"+{self.amount} to wallet {self.wallet_id} (payment {self.payment_id})"


@register("booking")
class Booking(Payable, models.Model):
    """A booking fee held in escrow: paid → held; then released to the technician once one is
    matched, or refunded if the booking is cancelled (by staff). Every change is an event."""

    FEE = 500

    class Status(models.TextChoices):
        AWAITING_FEE = "awaiting_fee", gettext_lazy("Awaiting the booking fee")
        HELD = "held", gettext_lazy("Fee held in escrow")
        RELEASED = "released", gettext_lazy("Fee released (technician matched)")
        REFUNDED = "refunded", gettext_lazy("Fee refunded (booking cancelled)")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="bookings")
    reference = models.CharField(max_length=12, unique=True)
    service = models.CharField(max_length=200)
    fee = models.PositiveIntegerField(default=FEE)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.AWAITING_FEE)
    paid_by = models.OneToOneField(
        "payments.Payment", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.CheckConstraint(condition=Q(fee__gte=1), name="booking_fee_gte_1")]

    def __str__(self) -> str:
        return f"{self.reference} {self.service} ({self.get_status_display()})"

    def payable_amount(self, requested: int | None = None) -> int:
        if requested is not None:
            raise PayableError(_("The booking fee is fixed: do not send an amount."), field="amount")
        return self.fee

    def payable_reference(self) -> str:
        return self.reference

    def payable_description(self) -> str:
        return "Booking fee"

    def payable_may_pay(self, user) -> bool:
        return self.user_id == user.pk

    def payable_is_settled(self) -> bool:
        return self.status != self.Status.AWAITING_FEE

    def payable_paid(self, payment) -> None:
        if not self.move(to=self.Status.HELD, by=None, note="fee paid", payment=payment):
            raise PayableRefused("booking fee was already paid by another payment: refund this one")

    def move(self, *, to: str, by, note: str = "", payment=None) -> bool:
        """Move to ``to`` from the one status that allows it; True if this call moved it (and
        recorded the event). A conditional UPDATE: of concurrent callers, one wins."""
        (source,) = BOOKING_MOVES[to]
        with transaction.atomic():
            moved = Booking.objects.filter(pk=self.pk, status=source).update(
                status=to, **({"paid_by": payment} if payment is not None else {})
            )
            if moved:
                BookingEvent.objects.create(
                    booking_id=self.pk,
                    from_status=source,
                    to_status=to,
                    by=by,
                    payment=payment,
                    note=note[:200],
                )
        return bool(moved)

    def payable_summary(self) -> dict:
        return {"reference": self.reference, "service": self.service, "escrow": self.status}


BOOKING_MOVES = {
    Booking.Status.HELD: (Booking.Status.AWAITING_FEE,),
    Booking.Status.RELEASED: (Booking.Status.HELD,),
    Booking.Status.REFUNDED: (Booking.Status.HELD,),
}


class BookingEvent(models.Model):
    """One change of a booking's escrow state: who, when, why."""

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=16)
    to_status = models.CharField(max_length=16, choices=Booking.Status.choices)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    payment = models.ForeignKey("payments.Payment", null=True, blank=True, on_delete=models.PROTECT)
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.booking_id}: {self.from_status} → {self.to_status}"
