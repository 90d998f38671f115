from django.contrib import admin
from django.http import HttpRequest

from tiski.channels.meta.models import SocialKeyword, TemplateSend, WhatsAppTemplate


@admin.register(WhatsAppTemplate)
class WhatsAppTemplateAdmin(admin.ModelAdmin):
    list_display = ["name", "language", "channel", "category", "status"]
    list_filter = ["status", "category", "channel"]
    search_fields = ["name", "body"]


@admin.register(TemplateSend)
class TemplateSendAdmin(admin.ModelAdmin):
    list_display = ["message", "template"]
    readonly_fields = ["message", "template", "parameters"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(SocialKeyword)
class SocialKeywordAdmin(admin.ModelAdmin):
    list_display = ["keyword", "active", "category"]
    list_filter = ["active"]
    search_fields = ["keyword"]
