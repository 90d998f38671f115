from django.contrib import admin

from tiski.accounts.models import AgentProfile, ApiToken, Partner, Team


@admin.register(Partner)
class PartnerAdmin(admin.ModelAdmin):
    list_display = ["name", "active"]
    list_filter = ["active"]
    filter_horizontal = ["channels", "queues"]
    search_fields = ["name"]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "email", "partner"]
    list_filter = ["partner"]
    search_fields = ["name"]


@admin.register(AgentProfile)
class AgentProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "language", "partner"]
    list_filter = ["partner"]
    filter_horizontal = ["teams"]
    search_fields = ["user__username", "user__first_name", "user__last_name"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "prefix", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["prefix", "digest", "created_at", "last_used_at"]
    search_fields = ["name", "user__username", "prefix"]

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        # Tokens are issued in the console or by `tiski create-token`, where the raw value is shown once.
        return False
