from django.contrib import admin

from tiski.channels.chat.models import ChatSession


@admin.register(ChatSession)
class ChatSessionAdmin(admin.ModelAdmin):
    list_display = ("id", "channel", "customer", "case", "status", "identified_by", "connections", "created_at")
    list_filter = ("status", "identified_by", "channel")
    readonly_fields = ("token_hash", "connections", "created_at", "last_seen_at", "ended_at")
    raw_id_fields = ("customer", "case")
    search_fields = ("name", "handle_value")
