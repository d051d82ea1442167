"""Read-mostly admin: look at pushes, deliveries, scripts and tokens; delete scripts."""

from django.contrib import admin

from .models import SimApiCall, SimDelivery, SimPush, SimScript, SimToken


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class DeliveryInline(admin.TabularInline):
    model = SimDelivery
    fk_name = "push"
    extra = 0
    can_delete = False
    fields = ("kind", "status", "due_at", "attempted_at", "response_status", "duration_ms", "error")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(SimPush)
class SimPushAdmin(ReadOnlyAdmin):
    list_display = ("checkout_request_id", "phone", "amount", "result_code", "plan_source", "created_at")
    list_filter = ("result_code", "plan_source")
    search_fields = ("checkout_request_id", "merchant_request_id", "phone", "account_reference")
    date_hierarchy = "created_at"
    inlines = [DeliveryInline]


@admin.register(SimDelivery)
class SimDeliveryAdmin(ReadOnlyAdmin):
    list_display = ("pk", "push", "kind", "status", "due_at", "response_status", "duration_ms", "error")
    list_filter = ("status", "kind")
    search_fields = ("push__checkout_request_id",)
    list_select_related = ("push",)


@admin.register(SimScript)
class SimScriptAdmin(ReadOnlyAdmin):
    list_display = ("pk", "target", "value", "spec", "remaining", "used", "created_at")
    list_filter = ("target",)


@admin.register(SimToken)
class SimTokenAdmin(ReadOnlyAdmin):
    list_display = ("hint", "issued_at", "expires_at", "revoked_at", "revoked_reason")
    exclude = ("token_hash", "consumer_key_hash")


@admin.register(SimApiCall)
class SimApiCallAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at",
        "api",
        "http_status",
        "error_code",
        "fault",
        "shortcode",
        "checkout_request_id",
    )
    list_filter = ("api", "http_status")
