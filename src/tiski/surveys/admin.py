from django.contrib import admin

from tiski.surveys.models import SurveyInvitation, SurveyResponse, SurveySettings


@admin.register(SurveySettings)
class SurveySettingsAdmin(admin.ModelAdmin):
    """How each kind of survey is sent (also on the console's survey settings page)."""

    list_display = ("kind", *SurveySettings.EDITABLE[:-1])  # all but the channel list


@admin.register(SurveyInvitation)
class SurveyInvitationAdmin(admin.ModelAdmin):
    """Each survey decided for a solved case: sent, answered, expired, or skipped and why."""

    list_display = ("created_at", "kind", "case", "customer", "status", "skip_reason", "via", "due_at", "sent_at")
    list_filter = ("kind", "status", "skip_reason", "via")
    raw_id_fields = ("case", "customer", "agent", "message")
    readonly_fields = ("created_at",)


@admin.register(SurveyResponse)
class SurveyResponseAdmin(admin.ModelAdmin):
    """The answers, with whom they are about."""

    list_display = ("answered_at", "kind", "score", "negative", "source", "case", "agent", "team", "channel_kind")
    list_filter = ("kind", "negative", "source", "channel_kind")
    search_fields = ("comment", "external_id")
    raw_id_fields = ("case", "customer", "agent", "invitation")
    readonly_fields = ("created_at", "updated_at")
