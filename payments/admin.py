"""Admin: payments (filters, search, timeline, actions), raw callbacks (read-only), orders,
wallets. Every action goes through a service; nothing here writes payment state directly."""

from django.contrib import admin, messages

from . import services
from .inputs import mask_phone
from .models import CallbackRecord, LedgerEntry, Order, Payment, PaymentEvent, Wallet
from .realtime import broadcast_payment_status
from .services.reconcile import payment_reconcile


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
        "purpose",
        "amount",
        "masked_phone",
        "status",
        "result_code",
        "receipt_number",
        "settled_by",
        "flagged",
    )
    list_filter = ("status", "purpose", "settled_by", "flagged", "created_at")
    search_fields = ("=public_id", "checkout_request_id", "receipt_number", "phone", "user__username")
    date_hierarchy = "created_at"
    inlines = (PaymentEventInline, CallbackInline)
    actions = ("reconcile_now", "repush_status", "mark_reviewed")
    exclude = ("phone",)
    readonly_fields = [f.name for f in Payment._meta.fields if f.name != "phone"] + ["masked_phone"]

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
            services.payment_mark_reviewed(payment=payment, note=f"by {request.user}")
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

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in CallbackRecord._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Replay through the handler (idempotent)")
    def replay(self, request, queryset):
        for record in queryset:
            copy = services.callback_replay(record)
            self.message_user(request, f"Callback {record.pk} replayed as {copy.pk}: {copy.outcome}")


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ("reference", "user", "description", "amount", "status", "paid_at")
    list_filter = ("status",)
    search_fields = ("reference", "user__username", "=public_id")
    readonly_fields = ("public_id", "status", "paid_by", "paid_at", "created_at")


class LedgerInline(ReadOnlyInline):
    model = LedgerEntry
    fields = readonly_fields = ("created_at", "amount", "balance_after", "payment")


@admin.register(Wallet)
class WalletAdmin(admin.ModelAdmin):
    list_display = ("user", "balance", "updated_at")
    search_fields = ("user__username",)
    readonly_fields = ("user", "balance", "updated_at")
    inlines = (LedgerInline,)
