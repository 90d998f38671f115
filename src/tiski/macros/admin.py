from django.contrib import admin

from tiski.macros.models import Macro, MacroRun, MacroUse


@admin.register(Macro)
class MacroAdmin(admin.ModelAdmin):
    list_display = ["name", "owner", "active", "position", "updated_at"]
    list_filter = ["active"]
    search_fields = ["name", "description"]
    raw_id_fields = ["owner", "created_by"]
    readonly_fields = ["created_by", "created_at", "updated_at"]


@admin.register(MacroRun)
class MacroRunAdmin(admin.ModelAdmin):
    list_display = ["id", "macro_name", "actor", "bulk", "status", "total", "done_count", "skipped_count", "created_at"]
    list_filter = ["status", "bulk"]
    exclude = ["case_ids"]
    readonly_fields = [
        "macro",
        "macro_name",
        "actions",
        "actor",
        "bulk",
        "status",
        "total",
        "done_count",
        "skipped_count",
        "failed_count",
        "error",
        "started_at",
        "finished_at",
    ]


@admin.register(MacroUse)
class MacroUseAdmin(admin.ModelAdmin):
    list_display = ["id", "run", "macro", "case", "outcome", "reason", "created_at"]
    list_filter = ["outcome"]
    raw_id_fields = ["run", "macro", "case", "actor"]
