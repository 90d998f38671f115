from django.contrib import admin

from tiski.channels.voice.models import Call


@admin.register(Call)
class CallAdmin(admin.ModelAdmin):
    """Calls as the telephony system reported them: read here, logged on their cases."""

    list_display = ("created_at", "direction", "number", "status", "outcome", "agent", "queue", "talk_s", "case")
    list_filter = ("status", "direction", "channel")
    search_fields = ("number", "provider_call_id", "case__reference")
    raw_id_fields = ("customer", "case", "agent")
    readonly_fields = ("channel", "provider_call_id", "rang_at", "answered_at", "ended_at", "created_at", "updated_at")
