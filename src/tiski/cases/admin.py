from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from tiski.cases.models import Attachment, CannedReply, Case, CaseEvent, Category, Message, Note, Tag


@admin.register(Case)
class CaseAdmin(admin.ModelAdmin):
    list_display = ["id", "subject", "status", "priority", "owner", "team", "channel", "updated_at"]
    list_filter = ["status", "priority", "channel", "team"]
    search_fields = ["subject"]
    raw_id_fields = ["customer", "owner", "parent"]
    filter_horizontal = ["tags"]
    exclude = ["related"]
    list_select_related = ["owner", "team", "channel"]


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ["id", "case", "direction", "channel", "delivery_status", "created_at"]
    list_filter = ["direction", "delivery_status", "channel"]
    raw_id_fields = ["case", "identity", "author_user"]
    readonly_fields = ["external_id", "created_at", "sent_at"]


admin.site.register(Category)
admin.site.register(Tag)
admin.site.register(Note)
admin.site.register(Attachment)
admin.site.register(CaseEvent)


@admin.register(CannedReply)
class CannedReplyAdmin(admin.ModelAdmin):
    list_display = ["title", "shortcut", "language", "active", "created_by"]
    list_filter = ["active", "language"]
    search_fields = ["title", "shortcut", "body"]
    readonly_fields = ["created_by", "created_at"]

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if not change and obj.created_by_id is None and request.user.is_authenticated:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
