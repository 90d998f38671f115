"""A phone call as the telephony system reported it, logged on a case when it ends."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Call(models.Model):
    """One call, keyed by the telephony system's call id on its phone channel (events update it in place)."""

    class Direction(models.TextChoices):
        INBOUND = "inbound", _("Incoming")
        OUTBOUND = "outbound", _("Outgoing")

    class Status(models.TextChoices):
        RINGING = "ringing", _("Ringing")
        ANSWERED = "answered", _("In progress")
        ENDED = "ended", _("Ended")
        MISSED = "missed", _("Missed")
        VOICEMAIL = "voicemail", _("Voicemail")

    FINAL = (Status.ENDED, Status.MISSED, Status.VOICEMAIL)

    channel = models.ForeignKey("tiski_channels.Channel", on_delete=models.PROTECT, related_name="calls")
    provider_call_id = models.CharField(_("call id"), max_length=128)
    direction = models.CharField(_("direction"), max_length=8, choices=Direction.choices)
    number = models.CharField(_("customer's number"), max_length=32, blank=True, help_text=_("E.164"))
    line = models.CharField(_("our number"), max_length=64, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.RINGING)
    outcome = models.CharField(_("outcome"), max_length=32, blank=True)
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.SET_NULL, related_name="calls"
    )
    case = models.ForeignKey("cases.Case", null=True, blank=True, on_delete=models.SET_NULL, related_name="calls")
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="calls"
    )
    queue = models.CharField(_("queue"), max_length=100, blank=True)
    rang_at = models.DateTimeField(_("rang"), null=True, blank=True)
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)
    talk_s = models.PositiveIntegerField(_("talk time (s)"), null=True, blank=True)
    recording_url = models.URLField(_("recording"), max_length=500, blank=True)
    wrap_up_note = models.TextField(_("wrap-up note"), blank=True)
    reason_code = models.CharField(_("reason code"), max_length=50, blank=True)
    wrapped_up_at = models.DateTimeField(_("wrapped up"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("call")
        verbose_name_plural = _("calls")
        constraints = [
            models.UniqueConstraint(fields=["channel", "provider_call_id"], name="call_unique_provider_id"),
        ]
        indexes = [models.Index(fields=["agent", "status"], name="call_agent_status")]

    def __str__(self) -> str:
        return f"{self.get_direction_display()} {self.number or '?'} ({self.status})"

    @property
    def wait_s(self) -> int | None:
        """Seconds from ringing to answer (to the end, for a call nobody answered)."""
        if self.rang_at is None:
            return None
        until = self.answered_at or self.ended_at
        return max(int((until - self.rang_at).total_seconds()), 0) if until else None
