"""Live chat: one ChatSession per widget conversation, found again by its token after a reload or a dropped socket."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class ChatSession(models.Model):
    """One customer's chat through one widget: its case, who the customer is and how they were identified.

    The widget keeps the public token (in localStorage); only its SHA-256 digest is stored. The case and the
    customer are set by the first message (the inbound pipeline decides them). ``connections`` counts the
    customer's open sockets (tabs); agent typing is never stored.
    """

    class Status(models.TextChoices):
        WAITING = "waiting", _("Waiting for an agent")
        ACTIVE = "active", _("Active")
        ENDED = "ended", _("Ended")

    class Identified(models.TextChoices):
        ANONYMOUS = "anonymous", _("Anonymous visitor")
        PRECHAT = "prechat", _("Pre-chat form (unverified)")
        TOKEN = "token", _("Signed in at the shop")

    channel = models.ForeignKey(
        "tiski_channels.Channel", on_delete=models.CASCADE, related_name="chat_sessions", verbose_name=_("channel")
    )
    customer = models.ForeignKey(
        "customers.Customer",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="chat_sessions",
        verbose_name=_("customer"),
    )
    case = models.ForeignKey(
        "cases.Case", null=True, blank=True, on_delete=models.SET_NULL, related_name="chat_sessions"
    )
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.WAITING)
    identified_by = models.CharField(
        _("identified by"), max_length=16, choices=Identified.choices, default=Identified.ANONYMOUS
    )
    handle_kind = models.CharField(max_length=16)  # the handle the customer's messages arrive from
    handle_value = models.CharField(max_length=320)
    name = models.CharField(_("name"), max_length=200, blank=True)
    topic = models.CharField(_("topic"), max_length=200, blank=True)
    language = models.CharField(_("language"), max_length=8, blank=True)
    connections = models.PositiveSmallIntegerField(_("open sockets"), default=0)
    created_at = models.DateTimeField(_("started"), auto_now_add=True)
    last_seen_at = models.DateTimeField(_("last seen"), auto_now_add=True)
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("chat session")
        verbose_name_plural = _("chat sessions")
        indexes = [models.Index(fields=["case", "-created_at"], name="chatsession_case")]

    def __str__(self) -> str:
        return f"chat {self.pk} on {self.channel_id}: {self.status}"
