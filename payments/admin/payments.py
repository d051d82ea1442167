"""Admin: payments (filters, search, one timeline, actions) and delivery health."""

from datetime import timedelta

from django.contrib import admin, messages
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.html import format_html

from mpesa_plumbing.logs import mask_phone

from .. import checkout
from ..checkout.reconcile import payment_reconcile
from ..live.broadcast import broadcast_payment_status
from ..models import CallbackRecord, Payment
from ..reporting import delivery_stats as stats
from .display import BODY_CHARS, changes_nothing, key_values, nairobi, readable

# The payment page: what happened first, then the timeline, the times, the identifiers.
SUMMARY = (
    ("status", "flagged"),
    ("amount", "payable_kind"),
    ("user", "masked_phone", "masked_paid_phone"),
    ("paid_for", "payable_id"),
    ("account_reference", "transaction_desc"),
    ("result_code", "result_desc"),
    ("receipt_number", "settled_by"),
    ("error_code", "error_message"),
    "review_reason",
)
IDENTIFIERS = (("public_id", "checkout_request_id"), ("merchant_request_id", "idempotency_key"))
IDENTIFIERS += (("request_fingerprint", "version", "check_attempts"),)
RECORD_FIELDS = [f.name for f in Payment._meta.fields if f.name not in ("phone", "paid_phone")]
TIMES = ("created_at", "pushed_at", "transaction_date", "settled_at", "expires_at", "next_check_at")
TIMES += ("check_lease_until", "reviewed_at", "updated_at")


@admin.register(Payment)
class PaymentAdmin(admin.ModelAdmin):
    list_display = ("short_id", "created", "status_line", "amount_kes", "masked_phone", "user")
    list_filter = ("status", "payable_kind", "settled_by", "flagged", "created_at")
    search_fields = ("=public_id", "checkout_request_id", "receipt_number", "phone", "user__username")
    date_hierarchy = "created_at"
    actions = ("reconcile_now", "repush_status", "mark_reviewed")
    fieldsets = (
        (None, {"fields": SUMMARY}),
        ("Timeline", {"fields": ("timeline",)}),
        ("Times (EAT)", {"fields": ("times",)}),
        ("Identifiers", {"classes": ("collapse",), "fields": IDENTIFIERS}),
    )
    readonly_fields = [*RECORD_FIELDS, "masked_phone", "masked_paid_phone", "paid_for", "timeline", "times"]
    has_change_permission = changes_nothing

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Payment")
    def short_id(self, obj: Payment) -> str:
        return obj.public_id.hex[:10]

    @admin.display(description="Created (EAT)", ordering="created_at")
    def created(self, obj: Payment) -> str:
        return timezone.localtime(obj.created_at).strftime("%Y-%m-%d %H:%M:%S")

    @admin.display(description="Status", ordering="status")
    def status_line(self, obj: Payment) -> str:
        """``Failed · 2001``, ``Paid · flagged``: the status, its result code and any flag."""
        parts = [obj.get_status_display(), obj.result_code, "flagged" if obj.flagged else ""]
        return " · ".join(p for p in parts if p)

    @admin.display(description="KES", ordering="amount")
    def amount_kes(self, obj: Payment) -> str:
        return f"{obj.amount:,}"

    @admin.display(description="Phone")
    def masked_phone(self, obj: Payment) -> str:
        return mask_phone(obj.phone)

    @admin.display(description="Paid from")
    def masked_paid_phone(self, obj: Payment) -> str:
        return mask_phone(obj.paid_phone)

    @admin.display(description="Paid for")
    def paid_for(self, obj: Payment) -> str:
        """The payable, linked to its own admin page when it has one."""
        payable = obj.payable
        if payable is None:
            return f"{obj.payable_kind} (deleted)"
        meta = payable._meta
        try:
            url = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[payable.pk])
        except NoReverseMatch:
            return str(payable)
        return format_html('<a href="{}">{}</a>', url, payable)

    @admin.display(description="Times")
    def times(self, obj: Payment) -> str:
        field = Payment._meta.get_field
        rows = [(field(n).verbose_name.capitalize(), nairobi(getattr(obj, n)), False) for n in TIMES]
        return render_to_string("admin/payments/key_values.html", {"rows": rows})

    @admin.display(description="Timeline")
    def timeline(self, obj: Payment) -> str:
        """Every request to Daraja, callback, query, state change and status push, in order."""
        rows = [
            {
                "at": event.created_at,
                "kind": event.get_kind_display(),
                "source": event.source,
                "change": f"{event.from_status or '·'} → {event.to_status}" if event.to_status else "",
                "details": key_values(event.detail),
            }
            for event in obj.events.all()
        ]
        for record in obj.callbacks.all():
            detail = {
                "ip": record.remote_ip,
                "processing": record.detail,
                "body": readable(record.body[:BODY_CHARS]),
            }
            rows.append(
                {
                    "at": record.received_at,
                    "kind": f"Raw callback #{record.pk}",
                    "link": reverse("admin:payments_callbackrecord_change", args=[record.pk]),
                    "source": record.get_outcome_display(),
                    "details": key_values(detail),
                }
            )
        rows.sort(key=lambda row: row["at"])
        for row in rows:
            row["when"] = nairobi(row["at"])
        return render_to_string("admin/payments/payment/timeline.html", {"rows": rows})

    def get_urls(self):
        health = path("health/", self.admin_site.admin_view(self.health_view), name="payments_health")
        return [health, *super().get_urls()]

    def health_view(self, request):
        """Delivery health: callback latency, lost-callback rate, result-code mix."""
        hours = stats.parse_hours(request.GET.get("hours"))
        health = stats.delivery_health(window=timedelta(hours=hours))
        sources = dict(Payment.Source.choices)
        outcomes = dict(CallbackRecord.Outcome.choices)
        codes = [(stats.result_code_label(c), n) for c, n in stats.top_codes(health)]
        settled = [(sources.get(k, k), n) for k, n in sorted(health.settled_by.items())]
        received = [(outcomes.get(k, k), n) for k, n in sorted(health.callbacks.items())]
        charts = [
            stats.bars("Result codes", "Result code: meaning (Daraja)", codes),
            stats.bars("Settled by", "Settled by", settled),
            stats.bars(
                "Callback latency (push accepted → callback)", "Latency", stats.latency_per_bucket(health)
            ),
            stats.bars("Callbacks received, by outcome", "Outcome", received),
        ]
        lost = health.lost_callback_rate
        context = {
            **self.admin_site.each_context(request),
            "health": health,
            "hours": hours,
            "window": stats.window_label(hours),
            "ranges": [{"hours": h, "label": label, "current": h == hours} for h, label in stats.RANGES],
            "charts": charts,
            "p50": _round(health.latency_quantile(0.5)),
            "p95": _round(health.latency_quantile(0.95)),
            "lost": None if lost is None else round(lost * 100, 1),
            "metrics_url": reverse("metrics"),
        }
        return render(request, "admin/payments/health.html", context)

    @admin.action(description="Reconcile now (STK query)", permissions=["change"])
    def reconcile_now(self, request, queryset):
        for payment in queryset:
            decision = payment_reconcile(payment)
            self.message_user(request, f"{decision.payment[:10]}: {decision.action} ({decision.detail})")

    @admin.action(description="Re-push status to open pages", permissions=["change"])
    def repush_status(self, request, queryset):
        sent = sum(broadcast_payment_status(payment_id=p.pk) for p in queryset)
        self.message_user(request, f"Pushed {sent} of {queryset.count()} statuses.")

    @admin.action(description="Mark reviewed", permissions=["change"])
    def mark_reviewed(self, request, queryset):
        for payment in queryset:
            checkout.payment_mark_reviewed(payment=payment, note=f"by {request.user}")
        self.message_user(request, "Marked reviewed.", messages.SUCCESS)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)
