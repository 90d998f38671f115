from django.contrib import admin

from tiski.notifications.models import Follow, Notification


@admin.register(Follow)
class FollowAdmin(admin.ModelAdmin):
    list_display = ["user", "customer", "organization", "case", "created_at"]
    search_fields = ["user__username", "customer__name", "organization__name"]
    raw_id_fields = ["user", "customer", "organization", "case"]


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["text", "user", "kind", "created_at", "read_at", "emailed_at"]
    list_filter = ["kind"]
    search_fields = ["user__username", "text"]
    raw_id_fields = ["user", "case", "customer"]
    readonly_fields = ["created_at"]
