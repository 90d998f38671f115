from django.contrib import admin

from tiski.cases.models import Attachment, Case, CaseEvent, Category, Message, Note, Tag


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
