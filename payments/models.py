"""The Payment, its timeline and the raw callbacks. What is paid for is any registered payable
of the project's (payments/payables.py), referenced generically.

Amounts are integer shillings everywhere. State lives in ``Payment.status`` and only
``payments/checkout/`` changes it, always with a conditional UPDATE that reports who won.
"""

import uuid

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.db.models.functions import Upper


class Payment(models.Model):
    class Status(models.TextChoices):
        INITIATING = "initiating", "Sending prompt"
        PENDING = "pending", "Waiting for customer"
        UNKNOWN = "unknown", "Push outcome unknown"
        EXPIRED = "expired", "Expired (no answer yet)"
        PAID = "paid", "Paid"
        CANCELLED = "cancelled", "Cancelled"
        TIMED_OUT = "timed_out", "Timed out"
        FAILED = "failed", "Failed"
        REJECTED = "rejected", "Rejected by Daraja"
        NEEDS_REVIEW = "needs_review", "Needs review"

    class Source(models.TextChoices):
        PUSH = "push", "STK push response"
        CALLBACK = "callback", "Callback"
        QUERY = "query", "STK query"
        EXPIRY = "expiry", "Local deadline"
        ADMIN = "admin", "Admin"
        C2B = "c2b", "Pay Bill (M-Pesa menu)"
        CUSTOMER = "customer", "Customer (stopped on the page)"

    # A prompt may be on the customer's phone: one per phone and per order (DB-enforced).
    LIVE_STATUSES = (Status.INITIATING, Status.PENDING, Status.UNKNOWN)
    # No final answer yet: callbacks and queries may still settle these.
    OPEN_STATUSES = (*LIVE_STATUSES, Status.EXPIRED)
    TERMINAL_STATUSES = (
        Status.PAID,
        Status.CANCELLED,
        Status.TIMED_OUT,
        Status.FAILED,
        Status.REJECTED,
        Status.NEEDS_REVIEW,
    )

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="payments")
    # What is paid for: a registered payable (payments/payables.py), by content type and pk.
    payable_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    payable_id = models.CharField(max_length=64)
    payable = GenericForeignKey("payable_type", "payable_id")
    payable_kind = models.CharField(max_length=32, help_text="The payable's registered kind")
    # One live prompt at a time for this payable (an order, a fee); not for a wallet, which
    # several phones may top up at once (payables.Payable.payable_one_prompt_at_a_time).
    payable_exclusive = models.BooleanField(default=True)
    phone = models.CharField(max_length=12, help_text="Normalised 2547XXXXXXXX / 2541XXXXXXXX")
    amount = models.PositiveIntegerField()
    account_reference = models.CharField(max_length=12, help_text="AccountReference sent with the prompt")
    # The payment's own Pay Bill account number (checkout/paybill_account.py), for paying from
    # the M-Pesa menu; None for payments made before the Pay Bill fallback existed.
    paybill_account = models.CharField(max_length=12, null=True, blank=True, unique=True)
    transaction_desc = models.CharField(max_length=13)

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.INITIATING)
    version = models.PositiveIntegerField(default=1, help_text="Increases on every transition")
    settled_by = models.CharField(max_length=16, choices=Source.choices, blank=True)

    idempotency_key = models.CharField(max_length=64, null=True, blank=True)
    request_fingerprint = models.CharField(max_length=64, blank=True)

    merchant_request_id = models.CharField(max_length=64, blank=True)
    checkout_request_id = models.CharField(max_length=64, null=True, blank=True, unique=True)
    # Raw ResultCode as received (number or string such as "SFC_IC0003"), and its text.
    result_code = models.CharField(max_length=32, blank=True)
    result_desc = models.CharField(max_length=255, blank=True)
    receipt_number = models.CharField(max_length=20, null=True, blank=True, unique=True)
    transaction_date = models.DateTimeField(null=True, blank=True)
    paid_phone = models.CharField(max_length=12, blank=True)
    # Daraja's synchronous error (rejected pushes) or our transport error.
    error_code = models.CharField(max_length=32, blank=True)
    error_message = models.CharField(max_length=255, blank=True)
    review_reason = models.CharField(max_length=255, blank=True)
    flagged = models.BooleanField(
        default=False, help_text="A contradiction was recorded (e.g. failure after paid)"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    pushed_at = models.DateTimeField(null=True, blank=True)
    settled_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(help_text="Local deadline for an answer")

    # Reconciler bookkeeping: a payment is its own job row (due time + lease).
    next_check_at = models.DateTimeField(null=True, blank=True)
    check_attempts = models.PositiveIntegerField(default=0)
    check_lease_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["payable_type", "payable_id"], name="payment_payable"),
            # The job runner's once-a-second questions, each one index range instead of a walk
            # over every open payment: what is past its local deadline, what is due for an STK
            # Query. Status leads, so they also serve every filter on status alone.
            models.Index(fields=["status", "expires_at"], name="payment_status_expiry"),
            models.Index(fields=["status", "next_check_at"], name="payment_status_next_check"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="payment_idempotency_key_per_user",
            ),
            models.UniqueConstraint(
                fields=["phone"],
                condition=Q(status__in=["initiating", "pending", "unknown"]),
                name="payment_one_live_prompt_per_phone",
            ),
            models.UniqueConstraint(
                fields=["payable_type", "payable_id"],
                condition=Q(status__in=["initiating", "pending", "unknown"], payable_exclusive=True),
                name="payment_one_live_prompt_per_payable",
            ),
            models.CheckConstraint(condition=Q(amount__gte=1), name="payment_amount_gte_1"),
            # Receipts are unique in one spelling (daraja.payloads.normalize_receipt): the same
            # receipt in another case can never be a second payment's.
            models.CheckConstraint(
                condition=Q(receipt_number__isnull=True) | Q(receipt_number=Upper("receipt_number")),
                name="payment_receipt_upper_case",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.public_id.hex[:10]} {self.payable_kind} KES {self.amount} {self.status}"

    @property
    def is_terminal(self) -> bool:
        return self.status in self.TERMINAL_STATUSES


class CallbackRecord(models.Model):
    """Every callback that reached the door, stored raw before it is trusted or parsed: STK
    results, and C2B Validation and Confirmation requests (a payment from the M-Pesa menu)."""

    class Kind(models.TextChoices):
        STK = "stk", "STK result"
        C2B_VALIDATION = "c2b_validation", "Pay Bill validation"
        C2B_CONFIRMATION = "c2b_confirmation", "Pay Bill confirmation"

    class Outcome(models.TextChoices):
        RECEIVED = "received", "Received (not processed yet)"
        APPLIED = "applied", "Applied"
        COMPLETED = "completed", "Completed a query-settled payment"
        DUPLICATE = "duplicate", "Duplicate (no effect)"
        CONTRADICTION = "contradiction", "Contradicts final state (flagged)"
        REVIEW = "review", "Sent to review (mismatch)"
        ORPHAN = "orphan", "Orphan (unknown payment or CheckoutRequestID)"
        MALFORMED = "malformed", "Malformed (400)"
        UNCONFIRMED = "unconfirmed", "Success not confirmed by query"
        ERROR = "error", "Processing error"

    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.STK)
    payment = models.ForeignKey(
        Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="callbacks"
    )
    c2b = models.ForeignKey(
        "C2BPayment", null=True, blank=True, on_delete=models.PROTECT, related_name="deliveries"
    )
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    remote_ip = models.GenericIPAddressField(null=True, blank=True)
    ip_allowed = models.BooleanField(null=True)
    headers = models.JSONField(default=dict)
    body = models.TextField()
    body_truncated = models.BooleanField(default=False)
    checkout_request_id = models.CharField(max_length=64, blank=True, db_index=True)
    result_code = models.CharField(max_length=32, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.RECEIVED)
    detail = models.TextField(blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    replay_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replays"
    )

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"callback {self.pk} {self.checkout_request_id or '?'} {self.outcome}"


class C2BPayment(models.Model):
    """Money a customer sent from the M-Pesa menu (a C2B Confirmation), one row per M-Pesa
    receipt (``TransID``, unique). Matched to the payment whose Pay Bill account number it
    names and settled like an STK success; anything that does not fit exactly waits here for a
    person (the review queue), never lost. ``msisdn`` is stored as sent (full, masked or a
    hash, daraja-reference.md §14.8) and is never used to find anything."""

    class State(models.TextChoices):
        MATCHED = "matched", "Paid a payment"
        STK_RECEIPT = "stk_receipt", "An STK payment's own confirmation"
        REVIEW = "review", "Needs review"
        ATTACHED = "attached", "Attached by staff"
        REFUNDED = "refunded", "Refunded by staff"

    trans_id = models.CharField("M-Pesa receipt", max_length=20, unique=True)
    trans_time = models.DateTimeField(null=True, blank=True)
    amount_text = models.CharField(max_length=32, help_text="TransAmount as sent")
    amount = models.PositiveIntegerField(null=True, blank=True, help_text="Whole shillings")
    business_short_code = models.CharField(max_length=16, blank=True)
    bill_ref_number = models.CharField("account typed", max_length=64, blank=True)
    transaction_type = models.CharField(max_length=64, blank=True)
    msisdn = models.CharField(max_length=128, blank=True, help_text="As sent: often masked or hashed")
    first_name = models.CharField(max_length=64, blank=True)
    payment = models.ForeignKey(
        Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="c2b_payments"
    )
    state = models.CharField(max_length=16, choices=State.choices, default=State.REVIEW, db_index=True)
    review_reason = models.CharField(max_length=255, blank=True)
    excess = models.PositiveIntegerField(default=0, help_text="Shillings above the payment's amount")
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    resolution_note = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-received_at"]
        verbose_name = "Pay Bill payment"
        constraints = [
            models.CheckConstraint(condition=Q(trans_id=Upper("trans_id")), name="c2b_receipt_upper_case"),
        ]

    def __str__(self) -> str:
        return f"{self.trans_id} KES {self.amount_text} {self.state}"


class PaymentEvent(models.Model):
    """The payment's timeline: state changes, Daraja requests and answers, pushes to browsers."""

    class Kind(models.TextChoices):
        STATE = "state", "State change"
        PUSH = "push", "STK push request"
        QUERY = "query", "STK query"
        CALLBACK = "callback", "Callback"
        BROADCAST = "broadcast", "Status pushed to browsers"
        NOTE = "note", "Note"

    payment = models.ForeignKey(Payment, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    source = models.CharField(max_length=16, blank=True)
    from_status = models.CharField(max_length=16, blank=True)
    to_status = models.CharField(max_length=16, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.kind} {self.from_status}->{self.to_status} ({self.source})"
