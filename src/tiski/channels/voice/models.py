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
    units = models.PositiveSmallIntegerField(
        _("capacity held"),
        default=0,
        help_text=_("Units of the agent's routing capacity the call holds while it lasts"),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("call")
        verbose_name_plural = _("calls")
        constraints = [
            models.UniqueConstraint(fields=["channel", "provider_call_id"], name="call_unique_provider_id"),
        ]
        indexes = [
            models.Index(fields=["agent", "status"], name="call_agent_status"),
            models.Index(fields=["agent", "ended_at"], name="call_agent_ended"),  # an agent's handle time
            models.Index(fields=["answered_at"], condition=models.Q(units__gt=0), name="call_holding_capacity"),
        ]

    def __str__(self) -> str:
        return f"{self.get_direction_display()} {self.number or '?'} ({self.status})"

    @property
    def wait_s(self) -> int | None:
        """Seconds from ringing to answer (to the end, for a call nobody answered)."""
        if self.rang_at is None:
            return None
        until = self.answered_at or self.ended_at
        return max(int((until - self.rang_at).total_seconds()), 0) if until else None


class CallbackRequest(models.Model):
    """A customer's request to be called back: routed to a free agent as work of its own, with its own target.

    It waits (scheduled) until its time window opens or its next attempt is due, is then queued as a work item
    on its case, and ends reached, unreachable (attempts used up, or a wrong number) or cancelled.
    """

    class Source(models.TextChoices):
        CONGESTION = "congestion", _("Line congested")
        KEYPRESS = "keypress", _("Caller pressed a key")
        WIDGET = "widget", _("Chat widget")
        MISSED_CALL = "missed_call", _("Missed call")
        VOICEMAIL = "voicemail", _("Voicemail")
        API = "api", _("API")

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("Scheduled")
        QUEUED = "queued", _("Waiting for an agent")
        DONE = "done", _("Reached")
        UNREACHABLE = "unreachable", _("Unreachable")
        CANCELLED = "cancelled", _("Cancelled")

    OPEN = (Status.SCHEDULED, Status.QUEUED)

    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="callback_requests")
    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="callback_requests")
    call = models.ForeignKey(
        Call,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="callback_requests",
        help_text=_("The call it came from"),
    )
    source = models.CharField(_("source"), max_length=16, choices=Source.choices)
    number = models.CharField(_("number"), max_length=32, help_text=_("E.164"))
    topic = models.CharField(_("topic"), max_length=300, blank=True)
    preferred_time = models.CharField(_("preferred time"), max_length=100, blank=True)
    window_start = models.DateTimeField(_("call from"), null=True, blank=True)
    window_end = models.DateTimeField(_("call by"), null=True, blank=True)
    queue = models.CharField(_("phone queue"), max_length=100, blank=True)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.SCHEDULED)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    due_at = models.DateTimeField(_("call back by"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    customer_told_at = models.DateTimeField(_("customer told"), null=True, blank=True)
    created_at = models.DateTimeField(_("requested"), auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("callback request")
        verbose_name_plural = _("callback requests")
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="callback_status_next"),
            models.Index(fields=["case", "status"], name="callback_case_status"),
        ]

    def __str__(self) -> str:
        return f"{self.number} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN


class CallbackAttempt(models.Model):
    """One try to call a callback request's customer, and how it went."""

    class Outcome(models.TextChoices):
        REACHED = "reached", _("Reached")
        NO_ANSWER = "no_answer", _("No answer")
        BUSY = "busy", _("Busy")
        VOICEMAIL = "voicemail", _("Left a voicemail")
        WRONG_NUMBER = "wrong_number", _("Wrong number")

    request = models.ForeignKey(CallbackRequest, on_delete=models.CASCADE, related_name="attempt_set")
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    call = models.ForeignKey(Call, null=True, blank=True, on_delete=models.SET_NULL, related_name="callback_attempts")
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices)
    note = models.TextField(_("note"), blank=True)
    created_at = models.DateTimeField(_("when"), auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("callback attempt")
        verbose_name_plural = _("callback attempts")

    def __str__(self) -> str:
        return f"{self.request_id}: {self.outcome}"
