"""What report delivery keeps: one row per exported day (the claim and the record of the nightly export), and
the team leads' subscriptions to figures by email."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ExportRun(models.Model):
    """The nightly export of one DAY: claimed by the process that writes it (so no two write the same day),
    DONE with the FILES written, or FAILED with the ERROR and tried again later."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("waiting")
        RUNNING = "running", _("running")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    day = models.DateField(_("day"), unique=True)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.QUEUED)
    target = models.CharField(_("written to"), max_length=500, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    queued_at = models.DateTimeField(_("queued"), null=True, blank=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)
    files = models.JSONField(_("files"), default=list, blank=True)

    class Meta:
        ordering = ["-day"]
        verbose_name = _("report export")
        verbose_name_plural = _("report exports")

    def __str__(self) -> str:
        return f"export of {self.day}: {self.status}"


class ReportSubscription(models.Model):
    """USER receives FIGURE by email every day (or every WEEKDAY) at HOUR, local time: the table over the filter
    QUERY (relative: ``days=7&team=3``, the last days before the sending day), grouped BY, in LANGUAGE."""

    class Frequency(models.TextChoices):
        DAILY = "daily", _("every day")
        WEEKLY = "weekly", _("every week")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="report_subscriptions",
        verbose_name=_("recipient"),
    )
    figure = models.CharField(_("figure"), max_length=40)
    query = models.CharField(_("filter"), max_length=1000, blank=True)
    by = models.CharField(_("grouped by"), max_length=30, blank=True)
    frequency = models.CharField(_("how often"), max_length=8, choices=Frequency.choices, default=Frequency.WEEKLY)
    weekday = models.PositiveSmallIntegerField(_("weekday"), default=1, help_text=_("1 is Monday, 7 Sunday"))
    hour = models.PositiveSmallIntegerField(_("hour"), default=7)
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES)
    active = models.BooleanField(_("active"), default=True)
    next_due_at = models.DateTimeField(_("next sending"))
    last_sent_at = models.DateTimeField(_("last sent"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["user_id", "figure", "pk"]
        verbose_name = _("report subscription")
        verbose_name_plural = _("report subscriptions")
        indexes = [models.Index(fields=["active", "next_due_at"], name="subscription_due")]
        constraints = [
            models.CheckConstraint(condition=models.Q(hour__lte=23), name="subscription_hour_0_23"),
            models.CheckConstraint(condition=models.Q(weekday__gte=1, weekday__lte=7), name="subscription_weekday_1_7"),
        ]
        permissions = [("subscribe_others", "Can subscribe team leads to reports")]

    def __str__(self) -> str:
        return f"{self.figure} to user {self.user_id} ({self.frequency})"
