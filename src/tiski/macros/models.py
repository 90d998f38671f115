"""Macros: a named list of actions (tiski.automation.actions) that agents apply to one case or to many at once."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Macro(models.Model):
    """A named sequence of actions. Without an owner it is shared with everyone; with one it is personal."""

    name = models.CharField(_("name"), max_length=120)
    description = models.CharField(_("description"), max_length=300, blank=True)
    actions = models.JSONField(
        _("actions"), default=list, help_text=_("The actions in order, as validated by the automation actions")
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="macros",
        verbose_name=_("owner"),
        help_text=_("Empty for a shared macro; a personal macro is seen by its owner only"),
    )
    active = models.BooleanField(_("active"), default=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["position", "name", "id"]
        verbose_name = _("macro")
        verbose_name_plural = _("macros")
        permissions = [("manage_shared_macros", "Can create and change shared macros")]
        constraints = [
            models.UniqueConstraint(fields=["name"], condition=models.Q(owner__isnull=True), name="macro_shared_name"),
            models.UniqueConstraint(
                fields=["owner", "name"], condition=models.Q(owner__isnull=False), name="macro_personal_name"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_shared(self) -> bool:
        return self.owner_id is None


class MacroRun(models.Model):
    """One application of a macro: to one case (at once) or to a selection of cases (in the background)."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    macro = models.ForeignKey(Macro, null=True, on_delete=models.SET_NULL, related_name="runs", verbose_name=_("macro"))
    macro_name = models.CharField(_("macro name"), max_length=120)
    actions = models.JSONField(_("actions"), default=list, help_text=_("The macro's actions when the run started"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("applied by")
    )
    bulk = models.BooleanField(_("bulk"), default=False)
    case_ids = models.JSONField(_("selected cases"), default=list)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.QUEUED)
    total = models.PositiveIntegerField(_("cases"), default=0)
    done_count = models.PositiveIntegerField(_("applied"), default=0)
    skipped_count = models.PositiveIntegerField(_("skipped"), default=0)
    failed_count = models.PositiveIntegerField(_("failed"), default=0)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("macro run")
        verbose_name_plural = _("macro runs")
        indexes = [models.Index(fields=["actor", "-created_at"], name="macrorun_actor_created")]

    def __str__(self) -> str:
        return f"{self.macro_name} ×{self.total} ({self.status})"

    @property
    def processed(self) -> int:
        return self.done_count + self.skipped_count + self.failed_count

    @property
    def percent(self) -> int:
        return 100 if not self.total else min(100, round(100 * self.processed / self.total))

    @property
    def duration_s(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)


class MacroUse(models.Model):
    """What one run did to one case: applied, skipped (with the reason) or failed. At most one per run and case,
    so a retried run never processes a case twice; the applied ones are the macro's usage count."""

    class Outcome(models.TextChoices):
        APPLIED = "applied", _("Applied")
        SKIPPED = "skipped", _("Skipped")
        FAILED = "failed", _("Failed")

    run = models.ForeignKey(MacroRun, on_delete=models.CASCADE, related_name="uses")
    macro = models.ForeignKey(Macro, null=True, on_delete=models.SET_NULL, related_name="uses")
    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="macro_uses")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices)
    reason = models.TextField(_("reason"), blank=True)
    summaries = models.JSONField(_("what changed"), default=list, blank=True)
    duration_ms = models.FloatField(_("duration (ms)"), default=0)
    created_at = models.DateTimeField(_("applied"), auto_now_add=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("macro use")
        verbose_name_plural = _("macro uses")
        constraints = [models.UniqueConstraint(fields=["run", "case"], name="macrouse_once_per_run")]
        indexes = [
            models.Index(fields=["macro", "outcome", "created_at"], name="macrouse_macro_outcome"),
            models.Index(fields=["run", "outcome"], name="macrouse_run_outcome"),
        ]

    def __str__(self) -> str:
        return f"{self.run_id}:{self.case_id} {self.outcome}"
