from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from tiski.channels.exceptions import ChannelKindUnknownError
from tiski.channels.interface import WebhookAdapter, adapter_for
from tiski.channels.models import Channel, Delivery, QuarantinedMail

SETTINGS_HELP = _(
    'JSON. Provider secrets are never stored here: under "secrets" name the environment variables that hold '
    'them. SMS (Twilio): {"account_sid": "AC…", "from_number": "+358…" (or "messaging_service_sid": '
    '"MG…"), "secrets": {"auth_token": "TISKI_TWILIO_AUTH_TOKEN"}, "public_url": "https://support.example.com" '
    "(optional, for delivery reports; TISKI_WEBHOOK_BASE_URL otherwise)}. The address is the channel's number."
)


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "address", "team", "active"]
    list_filter = ["kind", "active"]
    search_fields = ["name", "address"]
    readonly_fields = ["webhook_url"]

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> type[forms.ModelForm]:
        kwargs["help_texts"] = {**kwargs.get("help_texts", {}), "config": SETTINGS_HELP}
        return super().get_form(request, obj, change, **kwargs)

    @admin.display(description=_("Webhook URL"))
    def webhook_url(self, channel: Channel) -> str:
        """Return the URL to give the provider (Twilio: the number's "A message comes in" webhook, HTTP POST)."""
        if channel.pk is None:
            return str(_("Shown once the channel is saved."))
        try:
            adapter = adapter_for(channel.kind)
        except ChannelKindUnknownError:
            adapter = None
        if not isinstance(adapter, WebhookAdapter):
            return "—"
        public = (channel.config or {}).get("public_url") if isinstance(channel.config, dict) else None
        base = str(public or settings.TISKI_WEBHOOK_BASE_URL or settings.TISKI_BASE_URL).rstrip("/")
        return base + reverse("channel-webhook", kwargs={"kind": channel.kind, "channel_id": channel.pk})


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
