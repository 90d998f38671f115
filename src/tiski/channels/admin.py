from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from tiski.channels.models import Channel, Delivery, QuarantinedMail


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "address", "team", "active"]
    list_filter = ["kind", "active"]
    search_fields = ["name", "address"]


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ["message", "status", "attempts", "next_attempt_at", "updated_at"]
    list_filter = ["status"]
    readonly_fields = ["message", "attempts", "claimed_at", "last_error", "created_at", "updated_at"]


@admin.register(QuarantinedMail)
class QuarantinedMailAdmin(admin.ModelAdmin):
    list_display = ["created_at", "channel", "source", "reason", "resolved_at"]
    list_filter = ["resolved_at", "channel", "source"]
    search_fields = ["reason"]
    readonly_fields = ["channel", "source", "reason", "created_at", "resolved_at", "message", "raw_preview"]
    exclude = ["raw"]
    actions = ["reprocess"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description=_("raw source (first 20,000 characters)"))
    def raw_preview(self, item: QuarantinedMail) -> str:
        return bytes(item.raw)[:20000].decode("utf-8", errors="replace")

    @admin.action(description=_("Re-process the selected mail"))
    def reprocess(self, request: HttpRequest, queryset: QuerySet[QuarantinedMail]) -> None:
        from tiski.channels.email.inbound import Outcome, quarantine_reprocess

        stored = failed = 0
        for item in queryset.filter(resolved_at__isnull=True).select_related("channel"):
            outcome = quarantine_reprocess(item=item).outcome
            if outcome is Outcome.QUARANTINED:
                failed += 1
            else:
                stored += 1
        if stored:
            self.message_user(request, ngettext("%d mail stored.", "%d mails stored.", stored) % stored)
        if failed:
            self.message_user(
                request,
                ngettext("%d mail still fails; see its reason.", "%d mails still fail; see their reasons.", failed)
                % failed,
                level=messages.WARNING,
            )
