from django.contrib import admin

from tiski.channels.models import Channel, Delivery


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "address", "team", "active"]
    list_filter = ["kind", "active"]
    search_fields = ["name", "address"]


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ["message", "status", "attempts", "next_attempt_at", "updated_at"]
    list_filter = ["status"]
    readonly_fields = ["message", "attempts", "claimed_at", "last_error", "created_at", "updated_at"]
