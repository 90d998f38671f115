"""Proactive service: rules over customers and their external records that create outbound work.

A rule fires on one of three triggers: a date of an external record coming up ("contract renewal in 30
days"), an attribute of a record crossing a threshold ("tyre_tread_mm < 4" on a tyre-hotel asset), or an
external event sent through the API reaching customers whose interests name a keyword ("icy_evening" →
customers interested in four-wheel drive). Each firing is a hit, unique per rule, customer and what it is
about (the record and its date, or the event's occurrence), so no customer is contacted twice for one reason.
"""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from tiski.customers.models import ExternalRecord

OUTBOUND_CALL = "outbound"  # the work kind of a proactive call (units, response target, agents' channels)
OUTBOUND_CALL_LABEL = _("Outbound call")
ATTRIBUTE_RE = re.compile(r"^[A-Za-z0-9_.\-]{1,100}$")
EVENT_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.\-]{0,99}$")


def keywords_of(text: str) -> list[str]:
    """Return the keywords of a rule's interests field: one per line or comma, trimmed, empty ones left out."""
    return [word.strip() for word in re.split(r"[\n,;]", text or "") if word.strip()]


class ProactiveRule(models.Model):
    class Trigger(models.TextChoices):
        DATE = "date", _("A record's date is coming up")
        THRESHOLD = "threshold", _("A record's attribute crosses a threshold")
        EVENT = "event", _("An external event reaches interested customers")

    class DateField(models.TextChoices):
        RENEWAL = "renewal_date", _("renewal")
        DUE = "due_date", _("due")
        DATE = "date", _("date")

    class Comparison(models.TextChoices):
        LT = "lt", "<"
        LTE = "lte", "≤"
        GT = "gt", ">"
        GTE = "gte", "≥"
        EQ = "eq", "="
        NE = "ne", "≠"

    class WorkKind(models.TextChoices):
        CALL = "call", _("Call the customer")
        MESSAGE = "message", _("Write to the customer")

    name = models.CharField(_("name"), max_length=100)
    enabled = models.BooleanField(_("enabled"), default=True)
    trigger = models.CharField(_("trigger"), max_length=16, choices=Trigger.choices)
    record_kind = models.CharField(
        _("record kind"),
        max_length=16,
        choices=ExternalRecord.Kind.choices,
        blank=True,
        help_text=_("Date and threshold rules"),
    )
    record_statuses = models.CharField(
        _("record statuses"),
        max_length=300,
        blank=True,
        help_text=_("Only records in one of these statuses, comma-separated (e.g. active, stored); empty: any"),
    )
    date_field = models.CharField(_("date field"), max_length=16, choices=DateField.choices, blank=True)
    days_ahead = models.PositiveSmallIntegerField(
        _("days ahead"), default=30, help_text=_("Date rules: fire when the date is at most this many days away")
    )
    attribute = models.CharField(
        _("attribute"),
        max_length=100,
        blank=True,
        help_text=_("Threshold rules: the key in the record's attributes, e.g. tyre_tread_mm"),
    )
    comparison = models.CharField(_("comparison"), max_length=4, choices=Comparison.choices, blank=True)
    threshold = models.FloatField(_("threshold"), null=True, blank=True)
    event_name = models.CharField(
        _("event name"), max_length=100, blank=True, db_index=True, help_text=_('Event rules: e.g. "icy_evening"')
    )
    interests = models.TextField(
        _("interest keywords"),
        blank=True,
        help_text=_(
            "Event rules: customers whose interests contain any of these words (one per line or comma-separated, "
            "any case); write both the Finnish and the English word, e.g. neliveto, four-wheel drive"
        ),
    )
    work_kind = models.CharField(_("outbound work"), max_length=8, choices=WorkKind.choices, default=WorkKind.CALL)
    queue = models.ForeignKey(
        "routing.Queue",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("queue"),
        help_text=_("Blank: the default queue"),
    )
    priority = models.PositiveSmallIntegerField(
        _("priority"), default=2, choices=[(1, _("Low")), (2, _("Normal")), (3, _("High")), (4, _("Urgent"))]
    )
    subject_template = models.CharField(
        _("case subject"),
        max_length=300,
        help_text=_("May use {customer}, {record}, {date}, {value}, {event}, e.g. “Winter tyres worn out: {customer}”"),
    )
    reason = models.TextField(
        _("reason shown to the agent"), help_text=_("Why the customer is contacted, and what to offer")
    )
    marketing = models.BooleanField(
        _("marketing contact"),
        default=False,
        help_text=_(
            "An offer rather than service: customers who must not be marketed to (an open complaint) are left out"
        ),
    )
    last_run_at = models.DateTimeField(_("last checked"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["name", "pk"]
        verbose_name = _("proactive rule")
        verbose_name_plural = _("proactive rules")
        permissions = [("send_external_event", "Can send external events that trigger proactive rules")]
        indexes = [models.Index(fields=["trigger", "enabled", "last_run_at"], name="proactiverule_due")]

    def __str__(self) -> str:
        return self.name

    def statuses(self) -> list[str]:
        return [s.strip().lower() for s in self.record_statuses.split(",") if s.strip()]

    def keywords(self) -> list[str]:
        return keywords_of(self.interests)

    def clean(self) -> None:
        errors: dict[str, Any] = {}
        if self.trigger in (self.Trigger.DATE, self.Trigger.THRESHOLD) and not self.record_kind:
            errors["record_kind"] = _("Choose the kind of record the rule looks at.")
        if self.trigger == self.Trigger.DATE and not self.date_field:
            errors["date_field"] = _("Choose which date of the record counts.")
        if self.trigger == self.Trigger.THRESHOLD:
            if not ATTRIBUTE_RE.match(self.attribute or ""):
                errors["attribute"] = _("Give the attribute's key: letters, digits, _ . - (e.g. tyre_tread_mm).")
            if not self.comparison:
                errors["comparison"] = _("Choose how the value is compared.")
            if self.threshold is None:
                errors["threshold"] = _("Give the number the value is compared with.")
        if self.trigger == self.Trigger.EVENT:
            if not EVENT_NAME_RE.match(self.event_name or ""):
                errors["event_name"] = _(
                    "Give the event's name in lower case: letters, digits, _ . - (e.g. icy_evening)."
                )
            if not self.keywords():
                errors["interests"] = _("Give at least one interest keyword.")
        try:
            self.subject_template.format(customer="", record="", date="", value="", event="")
        except (KeyError, IndexError, ValueError):
            errors["subject_template"] = _(
                "The subject may use only {customer}, {record}, {date}, {value} and {event}."
            )
        if errors:
            raise ValidationError(errors)


class ExternalEvent(models.Model):
    """An event another system sent (first icy evening, a storm warning), once per name and occurrence."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Being processed")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    name = models.CharField(_("name"), max_length=100)
    occurrence = models.CharField(
        _("occurrence"), max_length=100, help_text=_("Which time of the event this is; the same one is taken once")
    )
    data = models.JSONField(_("data"), default=dict, blank=True)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.QUEUED)
    rules = models.PositiveIntegerField(_("rules"), default=0)
    matched = models.PositiveIntegerField(_("customers matched"), default=0)
    created = models.PositiveIntegerField(_("work created"), default=0)
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    received_at = models.DateTimeField(_("received"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-pk"]
        verbose_name = _("external event")
        verbose_name_plural = _("external events")
        constraints = [models.UniqueConstraint(fields=["name", "occurrence"], name="externalevent_unique_occurrence")]

    def __str__(self) -> str:
        return f"{self.name} {self.occurrence}"


class ProactiveHit(models.Model):
    """One firing of a rule for one customer: the outbound case made, or why none was."""

    class Outcome(models.TextChoices):
        CREATED = "created", _("Work created")
        ERASED = "erased", _("Skipped: customer erased")
        MARKETING = "marketing", _("Skipped: not to be marketed to")
        NO_PHONE = "no_phone", _("Skipped: no phone number")
        NO_CHANNEL = "no_channel", _("Skipped: no way to write")

    rule = models.ForeignKey(ProactiveRule, on_delete=models.CASCADE, related_name="hits", verbose_name=_("rule"))
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="proactive_hits", verbose_name=_("customer")
    )
    key = models.CharField(max_length=100, help_text="What the hit is about: r:<record>[:<date>] or e:<event>")
    record = models.ForeignKey(
        ExternalRecord, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("record")
    )
    record_date = models.DateField(null=True, blank=True)
    event = models.ForeignKey(
        ExternalEvent, null=True, blank=True, on_delete=models.CASCADE, related_name="hits", verbose_name=_("event")
    )
    outcome = models.CharField(_("outcome"), max_length=12, choices=Outcome.choices)
    case = models.ForeignKey(
        "cases.Case", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("case")
    )
    context = models.JSONField(_("context"), default=dict, blank=True)
    created_at = models.DateTimeField(_("when"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("proactive hit")
        verbose_name_plural = _("proactive hits")
        constraints = [models.UniqueConstraint(fields=["rule", "customer", "key"], name="proactivehit_unique")]
        indexes = [
            models.Index(fields=["rule", "record", "record_date"], name="proactivehit_rule_record"),
            models.Index(fields=["case"], name="proactivehit_case"),
        ]

    def __str__(self) -> str:
        return f"{self.rule_id}:{self.customer_id}:{self.key}"
