from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Rule(models.Model):
    """When an event happens on a case and the conditions hold, run the actions (in position order)."""

    class Trigger(models.TextChoices):
        CASE_CREATED = "case_created", _("A case is created")
        MESSAGE_RECEIVED = "message_received", _("A customer message arrives")
        STATUS_CHANGED = "status_changed", _("The status changes")
        ASSIGNED = "assigned", _("The owner changes")
        SLA_WARNING = "sla_warning", _("A service level is at risk")
        SLA_BREACHED = "sla_breached", _("A service level is missed")
        SIGNAL_CHANGED = "signal_changed", _("A customer's signal changes")
        STATUS_FOR = "status_for", _("A case stays in a status for a time")
        SURVEY_ANSWERED = "survey_answered", _("A customer answers a survey")

    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    enabled = models.BooleanField(_("enabled"), default=True)
    position = models.PositiveIntegerField(_("position"), default=0)
    trigger = models.CharField(_("when"), max_length=32, choices=Trigger.choices)
    channel_kinds = models.JSONField(
        _("channels"), default=list, blank=True, help_text=_("Only for events on these channels; empty: any")
    )
    trigger_status = models.CharField(
        _("status"), max_length=16, blank=True, help_text=_("For “stays in a status”: which status")
    )
    trigger_hours = models.PositiveIntegerField(
        _("hours"), null=True, blank=True, help_text=_("For “stays in a status”: for how many hours")
    )
    conditions = models.JSONField(_("if"), default=dict, blank=True)
    actions = models.JSONField(_("then"), default=list)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("automation rule")
        verbose_name_plural = _("automation rules")
        permissions = [("manage_rules", "Can create, change and delete automation rules")]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(trigger="status_for")
                | (models.Q(trigger_hours__gte=1) & ~models.Q(trigger_status="")),
                name="rule_status_for_needs_status_and_hours",
            )
        ]

    def __str__(self) -> str:
        return self.name


class RuleRun(models.Model):
    """One run of a rule on a case: what it did, or why it failed. The rules' log."""

    class Outcome(models.TextChoices):
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")
        STOPPED = "stopped", _("Stopped (loop)")
        SKIPPED = "skipped", _("Conditions did not hold")  # time rules remember the stays they looked at

    rule = models.ForeignKey(Rule, null=True, on_delete=models.SET_NULL, related_name="runs")
    rule_name = models.CharField(_("rule"), max_length=200)  # kept when the rule is deleted
    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="rule_runs")
    trigger = models.CharField(_("when"), max_length=32, choices=Rule.Trigger.choices)
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices)
    done = models.JSONField(_("actions done"), default=list, blank=True)
    error = models.TextField(_("error"), blank=True)
    key = models.CharField(max_length=100, null=True, blank=True)  # noqa: DJ001  a time rule's once-per-stay key
    at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("rule run")
        verbose_name_plural = _("rule runs")
        indexes = [
            models.Index(fields=["rule", "-at"], name="rulerun_rule_at"),
            models.Index(fields=["case", "-at"], name="rulerun_case_at"),
            models.Index(fields=["-at"], name="rulerun_at"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "key"], condition=models.Q(key__isnull=False), name="rulerun_once_per_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.rule_name} on {self.case_id}: {self.outcome}"
