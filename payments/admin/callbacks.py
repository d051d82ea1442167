"""Admin: every raw callback as it arrived (STK results, Pay Bill validations and
confirmations), and its replay."""

from django.contrib import admin
from django.template.loader import render_to_string

from mpesa_plumbing.logs import mask_text

from .. import checkout
from ..models import CallbackRecord
from .display import changes_nothing, key_values, nairobi, readable


@admin.register(CallbackRecord)
class CallbackRecordAdmin(admin.ModelAdmin):
    list_display = ("pk", "received", "kind", "payment", "checkout_request_id", "result_code", "outcome")
    list_filter = ("kind", "outcome", "ip_allowed", "received_at")
    search_fields = ("checkout_request_id", "payment__public_id", "c2b__trans_id")
    actions = ("replay",)
    fields = (
        ("received", "processed"),
        ("kind", "payment", "c2b"),
        ("result_code", "outcome"),
        "detail",
        "checkout_request_id",
        ("remote_ip", "ip_allowed"),
        "replay_of",
        "masked_body",
        "body_truncated",
        "pretty_headers",
    )
    readonly_fields = [f.name for f in CallbackRecord._meta.fields if f.name != "body"]
    readonly_fields += ["received", "processed", "masked_body", "pretty_headers"]
    has_change_permission = changes_nothing

    @admin.display(description="Received (EAT)", ordering="received_at")
    def received(self, obj: CallbackRecord) -> str:
        return nairobi(obj.received_at)

    @admin.display(description="Processed (EAT)")
    def processed(self, obj: CallbackRecord) -> str:
        return nairobi(obj.processed_at)

    @admin.display(description="Body (phone numbers masked)")
    def masked_body(self, obj: CallbackRecord) -> str:
        return render_to_string("admin/payments/pre.html", {"text": mask_text(readable(obj.body))})

    @admin.display(description="Headers")
    def pretty_headers(self, obj: CallbackRecord) -> str:
        return render_to_string("admin/payments/key_values.html", {"rows": key_values(obj.headers)})

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Replay through the handler (idempotent)", permissions=["change"])
    def replay(self, request, queryset):
        for record in queryset:
            if record.kind == CallbackRecord.Kind.STK:
                copy = checkout.callback_replay(record)
            else:
                copy = checkout.c2b_replay(record)
            self.message_user(request, f"Callback {record.pk} replayed as {copy.pk}: {copy.outcome}")
