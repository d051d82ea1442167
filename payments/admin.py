"""Admin: payments (filters, search, timeline, actions) and raw callbacks (read-only). Every
action goes through a service; nothing here writes payment state directly. (What is paid for
is the project's own: its payables have their own admin.)"""

from datetime import timedelta

from django.contrib import admin, messages
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from mpesa_plumbing.logs import mask_phone, mask_text

from . import checkout
from .checkout.reconcile import payment_reconcile
from .live.broadcast import broadcast_payment_status
from .models import CallbackRecord, Payment, PaymentEvent
from .reporting.delivery_stats import delivery_health, top_codes


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class PaymentEventInline(ReadOnlyInline):
    model = PaymentEvent
    fields = readonly_fields = ("created_at", "kind", "source", "from_status", "to_status", "detail")
    show_change_link = False
    verbose_name_plural = "Timeline"


class CallbackInline(ReadOnlyInline):
    model = CallbackRecord
    fields = readonly_fields = ("received_at", "remote_ip", "result_code", "outcome", "detail")


@admin.register(Payment)
class PaymentAdmin(admin.ModelAdmin):
    list_display = (
        "short_id",
        "created_at",
        "user",
        "payable_kind",
        "amount",
        "masked_phone",
        "status",
        "result_code",
        "receipt_number",
        "settled_by",
        "flagged",
    )
    list_filter = ("status", "payable_kind", "settled_by", "flagged", "created_at")
    search_fields = ("=public_id", "checkout_request_id", "receipt_number", "phone", "user__username")
    date_hierarchy = "created_at"
    inlines = (PaymentEventInline, CallbackInline)
    actions = ("reconcile_now", "repush_status", "mark_reviewed")
    exclude = ("phone", "paid_phone")
    readonly_fields = [
        "timeline",
        *[f.name for f in Payment._meta.fields if f.name not in ("phone", "paid_phone")],
        "masked_phone",
        "masked_paid_phone",
    ]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Payment")
    def short_id(self, obj: Payment) -> str:
        return obj.public_id.hex[:10]

    @admin.display(description="Phone")
    def masked_phone(self, obj: Payment) -> str:
        return mask_phone(obj.phone)

    @admin.display(description="Paid from")
    def masked_paid_phone(self, obj: Payment) -> str:
        return mask_phone(obj.paid_phone)

    @admin.display(description="Timeline")
    def timeline(self, obj: Payment) -> str:
        """Every request to Daraja, callback, query, state change and status push, in order."""
        rows = []
        for event in obj.events.all():
            change = f"{event.from_status or '·'} → {event.to_status}" if event.to_status else ""
            rows.append((event.created_at, event.get_kind_display(), event.source, change, event.detail))
        for record in obj.callbacks.all():
            detail = {"record": record.pk, "ip": record.remote_ip, "body": mask_text(record.body[:400])}
            rows.append((record.received_at, "Raw callback", record.get_outcome_display(), "", detail))
        rows.sort(key=lambda row: row[0])
        body = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
            (
                (f"{when:%H:%M:%S.%f}"[:-3], kind, source, change, detail)
                for when, kind, source, change, detail in rows
            ),
        )
        return format_html(
            "<table><thead><tr><th>Time (UTC)</th><th>What</th><th>Source / outcome</th><th>State</th>"
            "<th>Detail</th></tr></thead><tbody>{}</tbody></table>",
            body,
        )

    def get_urls(self):
        health = path("health/", self.admin_site.admin_view(self.health_view), name="payments_health")
        return [health, *super().get_urls()]

    def health_view(self, request):
        """Delivery health: callback latency, lost-callback rate, result-code mix."""
        hours = _hours(request.GET.get("hours"))
        health = delivery_health(window=timedelta(hours=hours))
        charts = [
            _bars("Result codes", top_codes(health)),
            _bars("Settled by", sorted(health.settled_by.items())),
            _bars(
                "Callback latency (push accepted → callback), seconds",
                [(f"≤ {b:g}" if b != float("inf") else "slower", n) for b, n in _per_bucket(health)],
            ),
            _bars("Callbacks received, by outcome", sorted(health.callbacks.items())),
        ]
        lost = health.lost_callback_rate
        context = {
            **self.admin_site.each_context(request),
            "health": health,
            "hours": hours,
            "charts": charts,
            "p50": _round(health.latency_quantile(0.5)),
            "p95": _round(health.latency_quantile(0.95)),
            "lost": None if lost is None else round(lost * 100, 1),
            "metrics_url": reverse("metrics"),
        }
        return render(request, "admin/payments/health.html", context)

    @admin.action(description="Reconcile now (STK query)")
    def reconcile_now(self, request, queryset):
        for payment in queryset:
            decision = payment_reconcile(payment)
            self.message_user(request, f"{decision.payment[:10]}: {decision.action} ({decision.detail})")

    @admin.action(description="Re-push status to open pages")
    def repush_status(self, request, queryset):
        sent = sum(broadcast_payment_status(payment_id=p.pk) for p in queryset)
        self.message_user(request, f"Pushed {sent} of {queryset.count()} statuses.")

    @admin.action(description="Mark reviewed")
    def mark_reviewed(self, request, queryset):
        for payment in queryset:
            checkout.payment_mark_reviewed(payment=payment, note=f"by {request.user}")
        self.message_user(request, "Marked reviewed.", messages.SUCCESS)


@admin.register(CallbackRecord)
class CallbackRecordAdmin(admin.ModelAdmin):
    list_display = (
        "pk",
        "received_at",
        "payment",
        "checkout_request_id",
        "result_code",
        "outcome",
        "remote_ip",
        "replay_of",
    )
    list_filter = ("outcome", "ip_allowed", "received_at")
    search_fields = ("checkout_request_id", "payment__public_id")
    actions = ("replay",)

    exclude = ("body",)

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in CallbackRecord._meta.fields if f.name != "body"] + ["masked_body"]

    @admin.display(description="Body (phone numbers masked)")
    def masked_body(self, obj: CallbackRecord) -> str:
        return mask_text(obj.body)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Replay through the handler (idempotent)")
    def replay(self, request, queryset):
        for record in queryset:
            copy = checkout.callback_replay(record)
            self.message_user(request, f"Callback {record.pk} replayed as {copy.pk}: {copy.outcome}")


def _hours(raw: str | None, default: int = 24) -> int:
    """The dashboard's window: whole hours from 1 to 30 days; anything else is the default."""
    text = (raw or "").strip()
    if not (text.isascii() and text.isdigit() and len(text) <= 4):
        return default
    return max(1, min(24 * 30, int(text)))


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _per_bucket(health) -> list[tuple[float, int]]:
    cumulative = health.latency_histogram()
    return [(bound, n - (cumulative[i - 1][1] if i else 0)) for i, (bound, n) in enumerate(cumulative)]


def _bars(title: str, items: list[tuple[str, int]]) -> dict:
    """A tiny horizontal bar chart (rendered as inline SVG by the template)."""
    top = max((n for _, n in items), default=0)
    bars = [
        {"label": str(label)[:22], "value": n, "width": int(380 * n / top) if top else 0, "y": 24 * i}
        for i, (label, n) in enumerate(items)
    ]
    return {"title": title, "bars": bars, "height": max(24, 24 * len(bars))}
