"""The simulator's state. All of it lives in the database, so several Daphne processes (and
``manage.py payments_worker``) share one simulated Daraja."""

from django.db import models, transaction
from django.db.models import F
from django.utils import timezone


class SimToken(models.Model):
    """An issued OAuth token. Only its SHA-256 is stored (tokens are credentials)."""

    token_hash = models.CharField(max_length=64, unique=True)
    hint = models.CharField(max_length=8, help_text="First characters, for people.")
    consumer_key_hash = models.CharField(max_length=64, db_index=True)
    issued_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.CharField(max_length=32, blank=True)

    class Meta:
        ordering = ["-issued_at"]
        verbose_name = "simulated token"

    def __str__(self) -> str:
        return f"{self.hint}… ({self.issued_at:%H:%M:%S})"


class SimApiCall(models.Model):
    """One request to a simulated Daraja API (the counters are counts of these). A query's
    row is written when it arrives (api/gateway.py) with status 0, then completed."""

    class Api(models.TextChoices):
        OAUTH = "oauth", "OAuth"
        STKPUSH = "stkpush", "STK push"
        QUERY = "query", "STK query"
        C2B_REGISTER = "c2b_url", "C2B register URL"
        C2B_SIMULATE = "c2b_sim", "C2B simulate"

    api = models.CharField(max_length=8, choices=Api.choices)
    http_status = models.PositiveSmallIntegerField()
    error_code = models.CharField(max_length=16, blank=True)
    fault = models.CharField(max_length=32, blank=True)
    checkout_request_id = models.CharField(max_length=64, blank=True)
    shortcode = models.CharField(max_length=16, blank=True, help_text="Queries: the body's shortcode.")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["api", "created_at"]),
            models.Index(fields=["api", "shortcode", "created_at"], name="simulator_call_rate_window"),
        ]
        verbose_name = "simulated API call"

    def __str__(self) -> str:
        return f"{self.api} → {self.http_status} {self.error_code}".strip()


class ScriptQuerySet(models.QuerySet):
    def take(self) -> "SimScript | None":
        """Consume one use of the oldest matching script (conditional update: one winner)."""
        if not self.filter(remaining__gt=0).exists():
            return None  # the usual case: a plain read, no write lock taken (SQLite)
        with transaction.atomic(using=self.db):
            for script in self.filter(remaining__gt=0).order_by("created_at", "pk")[:5]:
                if self.filter(pk=script.pk, remaining__gt=0).update(
                    remaining=F("remaining") - 1, used=F("used") + 1
                ):
                    return script
        return None


class SimScript(models.Model):
    """A runtime rule: the next push(es) to a phone, one push by CheckoutRequestID, or the
    next call(s) to an API (OAuth / push / query faults). See rules.py for precedence."""

    class Target(models.TextChoices):
        PHONE = "phone", "Phone"
        CHECKOUT = "checkout", "CheckoutRequestID"
        OAUTH = "oauth", "OAuth API"
        STKPUSH = "stkpush", "STK push API"
        QUERY = "query", "STK query API"
        C2B = "c2b", "C2B payments from a phone"

    objects = ScriptQuerySet.as_manager()

    target = models.CharField(max_length=8, choices=Target.choices)
    value = models.CharField(max_length=64, blank=True, db_index=True)
    spec = models.JSONField(default=dict, help_text="The script as given (outcome and faults).")
    remaining = models.PositiveIntegerField(default=1)
    used = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = "simulator script"

    def __str__(self) -> str:
        return f"{self.target}:{self.value} {self.spec}"


class SimPush(models.Model):
    """An accepted STK push and its outcome. ``result_code`` is the truth: the query says it
    and the (last) callback carries it. Empty while a handset page has to decide."""

    checkout_request_id = models.CharField(max_length=64, unique=True)
    merchant_request_id = models.CharField(max_length=64)
    shortcode = models.CharField(max_length=8)
    transaction_type = models.CharField(max_length=32)
    party_a = models.CharField(max_length=16)
    party_b = models.CharField(max_length=8)
    phone = models.CharField(max_length=16, db_index=True)
    amount = models.PositiveBigIntegerField()
    account_reference = models.CharField(max_length=255, blank=True)
    transaction_desc = models.CharField(max_length=255, blank=True)
    callback_url = models.TextField()
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    plan_source = models.CharField(max_length=32, help_text="Which rule or script decided.")
    faults = models.JSONField(default=dict, blank=True)
    result_code = models.CharField(max_length=32, blank=True)
    result_desc = models.CharField(max_length=255, blank=True)
    query_result_desc = models.CharField(max_length=255, blank=True)
    receipt_number = models.CharField(max_length=16, blank=True)
    answer_by = models.DateTimeField(null=True, blank=True, help_text="Handset: 1037 after this.")
    decided_at = models.DateTimeField(null=True, blank=True)
    completes_at = models.DateTimeField(null=True, blank=True, help_text="The query turns final here.")
    query_pending_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = "simulated push"

    def __str__(self) -> str:
        return self.checkout_request_id

    @property
    def decided(self) -> bool:
        return bool(self.result_code)


class SimDelivery(models.Model):
    """One callback POST (scheduled, or attempted once: Daraja never retries, §6.4)."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent (got an HTTP answer)"
        FAILED = "failed", "Failed (no HTTP answer)"
        CANCELLED = "cancelled", "Cancelled"

    class Kind(models.TextChoices):
        CALLBACK = "callback", "Callback"
        DUPLICATE = "duplicate", "Duplicate"
        CONFLICT = "conflict", "Conflicting callback"
        RESEND = "resend", "Resend"

    push = models.ForeignKey(SimPush, on_delete=models.CASCADE, related_name="deliveries")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.CALLBACK)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SCHEDULED)
    due_at = models.DateTimeField(db_index=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    burst = models.CharField(max_length=32, blank=True, help_text="Sent concurrently with its burst.")
    url = models.TextField()
    body = models.TextField()
    resend_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(default=timezone.now)
    attempted_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.FloatField(null=True, blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_excerpt = models.TextField(blank=True)
    error = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["due_at", "pk"]
        indexes = [models.Index(fields=["status", "due_at"])]
        verbose_name = "simulated callback delivery"
        verbose_name_plural = "simulated callback deliveries"

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind} {self.status}"


class SimHandsetSession(models.Model):
    """An open handset page (one row per WebSocket), kept fresh by a heartbeat."""

    channel_name = models.CharField(max_length=200, unique=True)
    msisdn = models.CharField(max_length=16, db_index=True)
    connected_at = models.DateTimeField(default=timezone.now)
    last_seen = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "handset session"

    def __str__(self) -> str:
        return f"{self.msisdn} ({self.channel_name})"


from .c2b_models import SimC2BCallback, SimC2BPayment, SimC2BRegistration  # noqa: E402

__all__ = [
    "SimApiCall",
    "SimC2BCallback",
    "SimC2BPayment",
    "SimC2BRegistration",
    "SimDelivery",
    "SimHandsetSession",
    "SimPush",
    "SimScript",
    "SimToken",
]
