from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class ChannelKind(models.TextChoices):
    EMAIL = "email", _("Email")
    WEBFORM = "webform", _("Web form")
    CHAT = "chat", _("Chat")
    PHONE = "phone", _("Phone")
    SMS = "sms", _("SMS")
    WHATSAPP = "whatsapp", _("WhatsApp")
    MESSENGER = "messenger", _("Messenger")
    INSTAGRAM = "instagram", _("Instagram")


class Channel(models.Model):
    """One configured way in: a mailbox, a web form, a phone number, a messaging account."""

    kind = models.CharField(_("kind"), max_length=16, choices=ChannelKind.choices)
    name = models.CharField(_("name"), max_length=100, unique=True)
    address = models.CharField(
        _("address"), max_length=320, blank=True, help_text=_("Mailbox address, phone number or account id")
    )
    team = models.ForeignKey(
        "accounts.Team", null=True, blank=True, on_delete=models.SET_NULL, verbose_name=_("default team")
    )
    active = models.BooleanField(_("active"), default=True)
    config = models.JSONField(_("settings"), default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["kind", "name"]
        verbose_name = _("channel")
        verbose_name_plural = _("channels")

    def __str__(self) -> str:
        return self.name


class Delivery(models.Model):
    """The outbox row of one outbound message: written with the message, worked off by the worker."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    message = models.OneToOneField("cases.Message", on_delete=models.CASCADE, related_name="delivery")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="delivery_due")]

    def __str__(self) -> str:
        return f"delivery of message {self.message_id}: {self.status}"


class QuarantinedMail(models.Model):
    """Inbound data that could not be stored as a message: kept raw, shown to administrators, re-processable."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="quarantine")
    raw = models.BinaryField(_("raw source"))
    reason = models.TextField(_("reason"))
    source = models.CharField(_("arrived by"), max_length=32, blank=True)
    created_at = models.DateTimeField(_("received"), auto_now_add=True)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    message = models.ForeignKey(
        "cases.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("stored as")
    )

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("quarantined mail")
        verbose_name_plural = _("quarantined mail")

    def __str__(self) -> str:
        return f"{self.channel}: {self.reason[:60]}"
