"""The C2B side of the simulator's state (daraja-reference.md §14), in the database like the
rest: registered URLs, payments customers make to a shortcode, and every Validation and
Confirmation POST (one row each, sent at most once by the job runner, like SimDelivery)."""

from django.db import models
from django.utils import timezone


class SimC2BRegistration(models.Model):
    """The URLs registered for one shortcode (§14.2). Sandbox: a new registration overwrites
    this row; production: a second one is refused until the row is deleted (URL management)."""

    shortcode = models.CharField(max_length=16, unique=True)
    version = models.CharField(max_length=2, help_text="The registerurl path used: v1 or v2.")
    response_type = models.CharField(max_length=10, help_text="Completed or Cancelled (§14.9).")
    confirmation_url = models.TextField()
    validation_url = models.TextField(blank=True)
    originator_conversation_id = models.CharField(max_length=64)
    org_balance = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    times_registered = models.PositiveIntegerField(default=1)
    registered_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["shortcode"]
        verbose_name = "simulated C2B registration"

    def __str__(self) -> str:
        return f"{self.shortcode} ({self.version}, {self.response_type})"


class SimC2BPayment(models.Model):
    """A customer's payment to a paybill or till (simulate API, handset menu or control API).
    The registration is copied in when it is made: what M-Pesa had on file then decides."""

    class Status(models.TextChoices):
        VALIDATING = "validating", "Waiting for the validation answer"
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled"

    trans_id = models.CharField(max_length=16, unique=True)
    originator_conversation_id = models.CharField(max_length=64)
    shortcode = models.CharField(max_length=16, db_index=True)
    command_id = models.CharField(max_length=32)
    transaction_type = models.CharField(max_length=32)
    amount = models.PositiveBigIntegerField()
    msisdn = models.CharField(max_length=16, db_index=True)
    bill_ref_number = models.CharField(max_length=64, blank=True, help_text="Exactly as typed.")
    source = models.CharField(max_length=16, help_text="api, handset or control.")
    version = models.CharField(max_length=2, blank=True, help_text="Registration's version; empty: none.")
    response_type = models.CharField(max_length=10, blank=True)
    confirmation_url = models.TextField(blank=True)
    validation_url = models.TextField(blank=True)
    faults = models.JSONField(default=dict, blank=True)
    plan_source = models.CharField(max_length=32, blank=True, help_text="Which script or rule set faults.")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.VALIDATING)
    decided_by = models.CharField(max_length=64, blank=True)
    result_code = models.CharField(max_length=32, blank=True, help_text="The validation's ResultCode.")
    result_desc = models.CharField(max_length=255, blank=True)
    third_party_trans_id = models.CharField(max_length=64, blank=True)
    org_balance = models.CharField(max_length=24, blank=True, help_text="As the confirmation says.")
    trans_time = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = "simulated C2B payment"

    def __str__(self) -> str:
        return self.trans_id


class SimC2BCallback(models.Model):
    """One Validation or Confirmation POST (§14.6): scheduled, then attempted once."""

    class Kind(models.TextChoices):
        VALIDATION = "validation", "Validation"
        CONFIRMATION = "confirmation", "Confirmation"
        DUPLICATE = "duplicate", "Duplicate confirmation"
        RESEND = "resend", "Resend"

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent (got an HTTP answer)"
        FAILED = "failed", "Failed (no HTTP answer)"
        CANCELLED = "cancelled", "Cancelled"

    payment = models.ForeignKey(SimC2BPayment, on_delete=models.CASCADE, related_name="callbacks")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SCHEDULED)
    due_at = models.DateTimeField(db_index=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    url = models.TextField()
    body = models.TextField()
    resend_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(default=timezone.now)
    attempted_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.FloatField(null=True, blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_excerpt = models.TextField(blank=True)
    error = models.CharField(max_length=255, blank=True)
    verdict = models.CharField(max_length=64, blank=True, help_text="Validation: how M-Pesa read the answer.")

    class Meta:
        ordering = ["due_at", "pk"]
        indexes = [models.Index(fields=["status", "due_at"], name="simulator_c2b_cb_due")]
        verbose_name = "simulated C2B callback"

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind} {self.status}"
