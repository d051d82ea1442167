"""The shop's admin: orders, wallets with their ledger, bookings with their escrow actions."""

from django.contrib import admin, messages

from .escrow import booking_refund, booking_release
from .models import Booking, BookingEvent, LedgerEntry, Order, Wallet


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


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
    readonly_fields = ("public_id", "user", "balance", "updated_at")
    inlines = (LedgerInline,)


class BookingEventInline(ReadOnlyInline):
    model = BookingEvent
    fields = readonly_fields = ("created_at", "from_status", "to_status", "by", "payment", "note")


@admin.register(Booking)
class BookingAdmin(admin.ModelAdmin):
    list_display = ("reference", "user", "service", "fee", "status", "updated_at")
    list_filter = ("status",)
    search_fields = ("reference", "user__username", "=public_id")
    readonly_fields = ("public_id", "status", "paid_by", "fee", "created_at", "updated_at")
    inlines = (BookingEventInline,)
    actions = ("release_fee", "refund_fee")

    def _move(self, request, queryset, move, done: str):
        for booking in queryset:
            if move(booking, by=request.user):
                self.message_user(request, f"{booking.reference}: {done}.", messages.SUCCESS)
            else:
                booking.refresh_from_db()
                self.message_user(
                    request,
                    f"{booking.reference}: not moved ({booking.get_status_display()}).",
                    messages.WARNING,
                )

    @admin.action(description="Release the held fee (technician matched)")
    def release_fee(self, request, queryset):
        self._move(request, queryset, booking_release, "fee released")

    @admin.action(description="Refund the held fee (booking cancelled)")
    def refund_fee(self, request, queryset):
        self._move(request, queryset, booking_refund, "fee to be refunded")
