from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from tiski.proactive.models import ExternalEvent, ProactiveHit, ProactiveRule


@admin.register(ProactiveRule)
class ProactiveRuleAdmin(admin.ModelAdmin):
    """Rules that create outbound work before the customer asks."""

    list_display = ("name", "enabled", "trigger", "record_kind", "event_name", "work_kind", "queue", "last_run_at")
    list_filter = ("enabled", "trigger", "work_kind", "marketing")
    search_fields = ("name", "event_name", "attribute", "interests")
    readonly_fields = ("last_run_at", "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("name", "enabled", "trigger", "marketing")}),
        (_("Records (date and threshold rules)"), {"fields": ("record_kind", "record_statuses")}),
        (_("A date coming up"), {"fields": ("date_field", "days_ahead")}),
        (_("An attribute crossing a threshold"), {"fields": ("attribute", "comparison", "threshold")}),
        (_("An external event"), {"fields": ("event_name", "interests")}),
        (_("Outbound work"), {"fields": ("work_kind", "queue", "priority", "subject_template", "reason")}),
        (None, {"fields": ("last_run_at", "created_at", "updated_at")}),
    )


@admin.register(ProactiveHit)
class ProactiveHitAdmin(admin.ModelAdmin):
    """Each time a rule fired for a customer: the case made, or why none was."""

    list_display = ("created_at", "rule", "customer", "outcome", "case", "key")
    list_filter = ("outcome", "rule")
    search_fields = ("customer__name", "key")
    raw_id_fields = ("customer", "record", "event", "case")
    readonly_fields = ("rule", "customer", "key", "record", "record_date", "event", "outcome", "case", "context")

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False


@admin.register(ExternalEvent)
class ExternalEventAdmin(admin.ModelAdmin):
    """Events other systems sent through the API."""

    list_display = ("received_at", "name", "occurrence", "status", "rules", "matched", "created", "received_by")
    list_filter = ("status", "name")
    readonly_fields = (
        "name",
        "occurrence",
        "data",
        "status",
        "rules",
        "matched",
        "created",
        "received_by",
        "received_at",
        "finished_at",
    )

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False
