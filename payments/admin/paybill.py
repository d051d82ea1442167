"""Admin: the Pay Bill review queue. Money customers sent from the M-Pesa menu that did not
pay a payment by itself (a mistyped account, too little, too much, twice, too late) waits
here, never lost, until staff attach it to a payment or record its refund. Every action goes
through ``payments.checkout``; the rows are records (read-only pages)."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.html import format_html

from mpesa_plumbing.logs import mask_text

from .. import checkout
from ..models import C2BPayment, Payment
from ..paybill import read_paybill_account
from .display import changes_nothing, nairobi

ST = C2BPayment.State


class QueueFilter(admin.SimpleListFilter):
    """Opens on what needs a person; "All" shows everything."""

    title = "queue"
    parameter_name = "queue"

    def lookups(self, request, model_admin):
        return [("review", "Needs review"), ("done", "Resolved"), ("all", "All")]

    def choices(self, changelist):
        for value, label in self.lookup_choices:
            yield {
                "selected": (self.value() or "review") == value,
                "query_string": changelist.get_query_string({self.parameter_name: value}),
                "display": label,
            }

    def queryset(self, request, queryset):
        value = self.value() or "review"
        if value == "review":
            return queryset.filter(state=ST.REVIEW)
        if value == "done":
            return queryset.exclude(state=ST.REVIEW)
        return queryset


class AttachForm(forms.Form):
    payment = forms.CharField(
        label="Payment",
        max_length=64,
        help_text="Its Pay Bill account number (e.g. K7M4Q9X) or its payment id (the first 10+ "
        "characters are enough).",
    )
    note = forms.CharField(label="Note", max_length=200, required=False)

    def clean_payment(self) -> Payment:
        text = self.cleaned_data["payment"].strip()
        account = read_paybill_account(text)
        found = Payment.objects.filter(paybill_account=account) if account else Payment.objects.none()
        hexed = text.replace("-", "").lower()
        if not found and len(hexed) >= 10 and all(c in "0123456789abcdef" for c in hexed):
            found = Payment.objects.filter(public_id__startswith=_uuid_prefix(hexed))
        matches = list(found[:2])
        if len(matches) != 1:
            raise forms.ValidationError(
                "No payment has this account number or id." if not matches else "Several payments match."
            )
        return matches[0]


def _uuid_prefix(hexed: str) -> str:
    """SQLite stores UUIDs as 32 hex characters, PostgreSQL as uuid: compare the text form."""
    parts, cuts = [], (8, 4, 4, 4, 12)
    for size in cuts:
        parts.append(hexed[:size])
        hexed = hexed[size:]
        if not hexed:
            break
    return "-".join(p for p in parts if p)


class RefundForm(forms.Form):
    note = forms.CharField(
        label="How it was refunded",
        max_length=200,
        help_text="e.g. reversal requested on the M-Pesa org portal, or KES 100 sent back by B2C.",
    )


@admin.register(C2BPayment)
class C2BPaymentAdmin(admin.ModelAdmin):
    list_display = ("trans_id", "received", "amount_kes", "bill_ref_number", "state", "review_reason", "paid")
    list_filter = (QueueFilter, "state", "received_at")
    search_fields = ("=trans_id", "bill_ref_number", "payment__public_id", "payment__paybill_account")
    readonly_fields = [f.name for f in C2BPayment._meta.fields if f.name != "msisdn"]
    readonly_fields += ["received", "masked_msisdn", "paid", "resolve"]
    fields = (
        ("state", "review_reason"),
        "resolve",
        ("trans_id", "amount_text", "excess"),
        ("bill_ref_number", "paid"),
        ("business_short_code", "transaction_type"),
        ("first_name", "masked_msisdn"),
        ("trans_time", "received"),
        ("resolved_at", "resolved_by", "resolution_note"),
    )
    has_change_permission = changes_nothing

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Received (EAT)", ordering="received_at")
    def received(self, obj: C2BPayment) -> str:
        return nairobi(obj.received_at)

    @admin.display(description="KES", ordering="amount")
    def amount_kes(self, obj: C2BPayment) -> str:
        return f"{obj.amount:,}" if obj.amount is not None else obj.amount_text

    @admin.display(description="Payer (as sent; often masked or hashed)")
    def masked_msisdn(self, obj: C2BPayment) -> str:
        return mask_text(obj.msisdn)

    @admin.display(description="Payment")
    def paid(self, obj: C2BPayment) -> str:
        if not obj.payment_id:
            return "–"
        url = reverse("admin:payments_payment_change", args=[obj.payment_id])
        return format_html('<a href="{}">{}</a>', url, obj.payment.public_id.hex[:10])

    @admin.display(description="Resolve")
    def resolve(self, obj: C2BPayment) -> str:
        if obj.state != ST.REVIEW:
            return "Resolved."
        attach = reverse("admin:payments_c2bpayment_attach", args=[obj.pk])
        refund = reverse("admin:payments_c2bpayment_refund", args=[obj.pk])
        return format_html(
            '<a class="button" href="{}">Attach to a payment…</a> '
            '<a class="button" href="{}">Mark refunded…</a>',
            attach,
            refund,
        )

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:pk>/attach/", view(self.attach_view), name="payments_c2bpayment_attach"),
            path("<int:pk>/refund/", view(self.refund_view), name="payments_c2bpayment_refund"),
            *super().get_urls(),
        ]

    def _resolve(self, request, pk: int, form_class, act, title: str):
        if not self.has_change_permission(request):
            raise PermissionDenied
        row = get_object_or_404(C2BPayment, pk=pk)
        back = reverse("admin:payments_c2bpayment_change", args=[row.pk])
        form = form_class(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                message = act(row, form.cleaned_data)
            except checkout.C2BActionRefused as exc:
                form.add_error(None, str(exc))
            else:
                self.message_user(request, message, messages.SUCCESS)
                return redirect(back)
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "row": row,
            "form": form,
            "back": back,
            "opts": self.model._meta,
        }
        return render(request, "admin/payments/c2bpayment/resolve.html", context)

    def attach_view(self, request, pk: int):
        def act(row, data):
            done = checkout.c2b_attach(row, data["payment"], user=request.user, note=data["note"])
            extra = f"; KES {done.excess} over: refund it, then mark refunded" if done.excess else ""
            return f"{row.trans_id} paid payment {data['payment'].public_id.hex[:10]}{extra}."

        return self._resolve(request, pk, AttachForm, act, "Attach a Pay Bill payment")

    def refund_view(self, request, pk: int):
        def act(row, data):
            if not checkout.c2b_mark_refunded(row, user=request.user, note=data["note"]):
                raise checkout.C2BActionRefused(f"{row.trans_id} is no longer in review.")
            return f"{row.trans_id} marked refunded."

        return self._resolve(request, pk, RefundForm, act, "Record a refund")
