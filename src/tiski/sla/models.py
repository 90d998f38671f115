"""Business calendars: when the company is open, so that service-level targets can count business time."""

from __future__ import annotations

import zoneinfo
from datetime import time

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from tiski.channels.models import ChannelKind

MIDNIGHT = time(0, 0)


def time_zone_validate(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("“%(value)s” is not a time zone, e.g. Europe/Helsinki."), params={"value": value})


def country_validate(value: str) -> None:
    import holidays

    if value and value not in holidays.list_supported_countries():
        raise ValidationError(
            _("“%(value)s” is not a country whose public holidays are known (ISO 3166 code, e.g. FI)."),
            params={"value": value},
        )


def hours_validate(opens: time | None, closes: time | None) -> None:
    """Closing must come after opening; 00:00 as the closing time means midnight at the end of the day."""
    if opens is None or closes is None:
        if opens is not None or closes is not None:
            raise ValidationError(_("Give both the opening and the closing time, or neither."))
        return
    if closes != MIDNIGHT and closes <= opens:
        raise ValidationError(_("The closing time must come after the opening time (00:00 means midnight)."))


class BusinessCalendar(models.Model):
    """Opening hours per weekday in a time zone, the public holidays of a country, and special days."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    time_zone = models.CharField(
        _("time zone"), max_length=64, default=settings.TIME_ZONE, validators=[time_zone_validate]
    )
    country = models.CharField(
        _("public holidays of"),
        max_length=3,
        blank=True,
        default="FI",
        validators=[country_validate],
        help_text=_("Country code (ISO 3166), e.g. FI; closed on its public holidays. Empty: no public holidays."),
    )
    subdivision = models.CharField(
        _("region"), max_length=10, blank=True, help_text=_("For regional holidays, e.g. a state or province code")
    )
    is_default = models.BooleanField(_("default"), default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-is_default", "name"]
        verbose_name = _("business calendar")
        verbose_name_plural = _("business calendars")
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=models.Q(is_default=True), name="sla_one_default_calendar"
            )
        ]

    def __str__(self) -> str:
        return self.name


class OpeningHours(models.Model):
    """One span a calendar is open on a weekday (a day may have several, e.g. 8–12 and 13–16)."""

    class Weekday(models.IntegerChoices):
        MONDAY = 0, _("Monday")
        TUESDAY = 1, _("Tuesday")
        WEDNESDAY = 2, _("Wednesday")
        THURSDAY = 3, _("Thursday")
        FRIDAY = 4, _("Friday")
        SATURDAY = 5, _("Saturday")
        SUNDAY = 6, _("Sunday")

    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.CASCADE, related_name="hours")
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    opens = models.TimeField(_("opens"))
    closes = models.TimeField(_("closes"), help_text=_("00:00 means midnight at the end of the day"))

    class Meta:
        ordering = ["weekday", "opens"]
        verbose_name = _("opening hours")
        verbose_name_plural = _("opening hours")

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens:%H:%M}–{self.closes:%H:%M}"

    def clean(self) -> None:
        hours_validate(self.opens, self.closes)


class SpecialDay(models.Model):
    """A date whose hours differ: closed all day (no hours given) or open only the hours given (e.g. 9–12 on
    Christmas Eve). It overrides the weekday's hours and a public holiday."""

    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.CASCADE, related_name="special_days")
    date = models.DateField(_("date"))
    name = models.CharField(_("reason"), max_length=100, blank=True)
    opens = models.TimeField(_("opens"), null=True, blank=True)
    closes = models.TimeField(_("closes"), null=True, blank=True)

    class Meta:
        ordering = ["date", "opens"]
        verbose_name = _("special day")
        verbose_name_plural = _("special days")

    def __str__(self) -> str:
        return f"{self.date} {self.name}".strip()

    def clean(self) -> None:
        hours_validate(self.opens, self.closes)


class SlaPolicy(models.Model):
    """Targets for the cases its conditions match (empty conditions match any); the first active match wins."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    position = models.PositiveIntegerField(_("order"), default=0)
    active = models.BooleanField(_("active"), default=True)
    channel_kinds = models.JSONField(_("channels"), default=list, blank=True, help_text=_('e.g. ["chat", "phone"]'))
    priorities = models.JSONField(_("priorities"), default=list, blank=True, help_text=_("1 low … 4 urgent"))
    tiers = models.JSONField(_("customer tiers"), default=list, blank=True)
    case_types = models.JSONField(_("case types"), default=list, blank=True)
    queues = models.ManyToManyField("routing.Queue", blank=True, verbose_name=_("queues"))
    first_response_minutes = models.PositiveIntegerField(_("first response (min)"), null=True, blank=True)
    next_response_minutes = models.PositiveIntegerField(_("next response (min)"), null=True, blank=True)
    resolution_minutes = models.PositiveIntegerField(_("resolution (min)"), null=True, blank=True)
    calendar = models.ForeignKey(
        BusinessCalendar,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        verbose_name=_("business calendar"),
        help_text=_("Targets count business time in this calendar; empty: round the clock"),
    )
    warn_percent = models.PositiveSmallIntegerField(
        _("warn at (%)"), default=75, help_text=_("A warning when this share of a target has passed")
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "name"]
        verbose_name = _("service level policy")
        verbose_name_plural = _("service level policies")

    def __str__(self) -> str:
        return self.name


class SlaClock(models.Model):
    """One target running on one case: it runs, pauses while the case waits on the customer, and ends met or
    breached. ELAPSED_S is the business time counted before the running span that began at RUNNING_SINCE."""

    class Metric(models.TextChoices):
        FIRST_RESPONSE = "first_response", _("First response")
        NEXT_RESPONSE = "next_response", _("Next response")
        RESOLUTION = "resolution", _("Resolution")

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        PAUSED = "paused", _("Paused")
        MET = "met", _("Met")
        MISSED = "missed", _("Missed")
        CANCELLED = "cancelled", _("Cancelled")

    LIVE = (Status.RUNNING, Status.PAUSED)

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="sla_clocks")
    policy = models.ForeignKey(SlaPolicy, null=True, on_delete=models.SET_NULL, related_name="+")
    metric = models.CharField(_("target"), max_length=16, choices=Metric.choices)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.RUNNING)
    target_s = models.PositiveIntegerField(_("target (s)"))
    elapsed_s = models.FloatField(_("counted (s)"), default=0)
    started_at = models.DateTimeField(_("started"))
    running_since = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    warn_at = models.DateTimeField(null=True, blank=True)
    warned_at = models.DateTimeField(null=True, blank=True)
    breached_at = models.DateTimeField(_("breached"), null=True, blank=True)
    stopped_at = models.DateTimeField(_("stopped"), null=True, blank=True)

    class Meta:
        ordering = ["started_at", "id"]
        verbose_name = _("service level clock")
        verbose_name_plural = _("service level clocks")
        constraints = [
            models.UniqueConstraint(
                fields=["case", "metric"],
                condition=models.Q(status__in=["running", "paused"]),
                name="sla_one_live_clock_per_metric",
            )
        ]
        indexes = [
            models.Index(fields=["warn_at"], condition=models.Q(status="running", warned_at=None), name="sla_to_warn"),
            models.Index(
                fields=["due_at"], condition=models.Q(status="running", breached_at=None), name="sla_to_breach"
            ),
            # The reports' compliance figure: targets by when they ended (met or missed), or were missed.
            models.Index(Coalesce("stopped_at", "breached_at"), name="slaclock_ended"),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} {self.metric} {self.status}"


AUTOREPLY_HELP = _(
    "Placeholders: {{ customer.first_name }}, {{ customer.name }}, {{ case.reference }}, {{ case.subject }}, "
    "{{ due }} (when the customer can expect an answer, from the case's first-response target, e.g. “within 2 "
    "minutes”, “by 14:30 today”, “by Monday 24.11. at 10:00”), {{ opens }} (when customer service next opens, "
    "e.g. “tomorrow at 8:00”). Written in the customer's language."
)


# The channels a customer writes on (a phone call is answered by a person, not a text).
WRITTEN_KINDS = [(kind.value, kind.label) for kind in ChannelKind if kind != ChannelKind.PHONE]


class AutoReply(models.Model):
    """The automatic answer to a new case's first message: per channel kind (or one channel) and language, a text
    for opening hours and one for when the service-level policy's calendar is closed."""

    channel_kind = models.CharField(_("channel kind"), max_length=16, choices=WRITTEN_KINDS)
    channel = models.ForeignKey(
        "tiski_channels.Channel",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        verbose_name=_("only for channel"),
        help_text=_("Empty: every channel of the kind. A text for one channel wins over the kind's."),
    )
    language = models.CharField(
        _("language"),
        max_length=8,
        help_text=_("e.g. fi or en; a customer without a text in their language gets the company language's"),
    )
    enabled = models.BooleanField(
        _("enabled"), default=True, help_text=_("Off: customers of this channel and language get no automatic reply")
    )
    text_open = models.TextField(_("text in opening hours"), help_text=AUTOREPLY_HELP)
    text_closed = models.TextField(
        _("text outside opening hours"),
        blank=True,
        help_text=_("Sent when customer service is closed; empty: the text in opening hours is sent"),
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["channel_kind", "channel", "language"]
        verbose_name = _("automatic reply")
        verbose_name_plural = _("automatic replies")
        constraints = [
            models.UniqueConstraint(
                fields=["channel_kind", "language"],
                condition=models.Q(channel=None),
                name="sla_one_autoreply_per_kind_language",
            ),
            models.UniqueConstraint(fields=["channel", "language"], name="sla_one_autoreply_per_channel_language"),
        ]

    def __str__(self) -> str:
        where = self.channel.name if self.channel_id and self.channel else self.get_channel_kind_display()
        return f"{where} ({self.language})"

    def clean(self) -> None:
        from django.template import Template, TemplateSyntaxError

        if self.channel_id and self.channel and self.channel.kind != self.channel_kind:
            raise ValidationError({"channel": _("The channel is not of the kind chosen.")})
        for field in ("text_open", "text_closed"):
            try:
                Template(getattr(self, field) or "")
            except TemplateSyntaxError as error:
                raise ValidationError({field: _("The text cannot be read: %(error)s") % {"error": error}}) from error
