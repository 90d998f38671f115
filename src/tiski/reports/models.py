"""What the figures read besides the live tables: one row of facts per case, kept up to date after each change.

A case's facts are what its timeline says once, computed when it changes (facts.py), so that the figures are
plain SQL aggregates over indexed columns: durations in wall and business seconds, counts of replies, reopenings
and transfers, and the dimensions a report filters and groups by (channel, queue, team, owner, category,
organisation, product). ``tiski reports-rebuild`` recomputes them all from the cases.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class CaseDimensions(models.Model):
    """The dimensions of a case that the reports filter and group by (the report filters' DIMENSIONS read these
    names): kept on a case's facts and copied onto each of its ended targets."""

    channel = models.ForeignKey("tiski_channels.Channel", null=True, on_delete=models.SET_NULL, related_name="+")
    channel_kind = models.CharField(_("channel"), max_length=16, blank=True)
    queue = models.ForeignKey("routing.Queue", null=True, on_delete=models.SET_NULL, related_name="+")
    team = models.ForeignKey("accounts.Team", null=True, on_delete=models.SET_NULL, related_name="+")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    category = models.ForeignKey("cases.Category", null=True, on_delete=models.SET_NULL, related_name="+")
    type = models.CharField(_("type"), max_length=16)
    priority = models.PositiveSmallIntegerField(_("priority"))
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+")
    organization = models.ForeignKey("customers.Organization", null=True, on_delete=models.SET_NULL, related_name="+")
    product = models.CharField(_("product"), max_length=100, blank=True)

    class Meta:
        abstract = True


class CaseFact(CaseDimensions):
    """One case's figures, as of REFRESHED_AT. Durations are whole seconds; business seconds count only the
    opening hours of the default business calendar (every hour when there is none)."""

    case = models.OneToOneField("cases.Case", primary_key=True, on_delete=models.CASCADE, related_name="fact")
    created_at = models.DateTimeField(_("created"))
    status = models.CharField(_("status"), max_length=16)
    # The customer started it (the first message came from them, or they called): not an outbound task.
    inbound = models.BooleanField(_("contact from the customer"), default=True, db_default=True)
    first_response_at = models.DateTimeField(null=True)
    first_response_s = models.PositiveIntegerField(null=True)
    first_response_bs = models.PositiveIntegerField(null=True)
    solved_at = models.DateTimeField(null=True)
    resolution_s = models.PositiveIntegerField(null=True)
    resolution_bs = models.PositiveIntegerField(null=True)
    reopens = models.PositiveSmallIntegerField(default=0)
    agent_replies = models.PositiveIntegerField(default=0)
    customer_messages = models.PositiveIntegerField(default=0)
    transfers = models.PositiveSmallIntegerField(default=0)
    handle_s = models.PositiveIntegerField(default=0)
    refreshed_at = models.DateTimeField()

    class Meta:
        verbose_name = _("case figures")
        verbose_name_plural = _("case figures")
        indexes = [
            models.Index(fields=["created_at"], name="fact_created"),
            models.Index(fields=["inbound", "created_at"], name="fact_inbound_created"),
            models.Index(fields=["first_response_at"], name="fact_first_response"),
            models.Index(fields=["solved_at"], name="fact_solved"),
            models.Index(fields=["owner", "created_at"], name="fact_owner_created"),
            models.Index(fields=["owner", "solved_at"], name="fact_owner_solved"),
            models.Index(fields=["owner", "first_response_at"], name="fact_owner_first_response"),
            models.Index(fields=["owner", "case"], name="fact_owner_case"),  # an agent's cases, joined by case
            models.Index(fields=["team", "created_at"], name="fact_team_created"),
            models.Index(fields=["channel", "created_at"], name="fact_channel_created"),
            models.Index(fields=["queue", "created_at"], name="fact_queue_created"),
            models.Index(fields=["category", "created_at"], name="fact_category_created"),
            models.Index(fields=["organization", "created_at"], name="fact_organization_created"),
            models.Index(fields=["customer", "created_at"], name="fact_customer_created"),
            models.Index(fields=["product", "created_at"], name="fact_product_created"),
        ]

    def __str__(self) -> str:
        return f"facts of case {self.case_id}"


class TargetFact(CaseDimensions):
    """One service-level target of a case that has ended — met, missed, or still running but past due — with the
    case's dimensions copied from its CaseFact, so that compliance for an agent, team or channel is one indexed
    scan instead of a join of every clock of the period to the facts. Kept with the case's facts (facts.py): a
    clock only ends in a transaction that records a timeline entry, which marks the case stale."""

    clock = models.OneToOneField("sla.SlaClock", primary_key=True, on_delete=models.CASCADE, related_name="+")
    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="+")
    metric = models.CharField(_("target"), max_length=32)
    met = models.BooleanField(_("met"))
    ended_at = models.DateTimeField(_("ended"))

    class Meta:
        verbose_name = _("service-level target figures")
        verbose_name_plural = _("service-level target figures")
        indexes = [
            models.Index(fields=["ended_at"], name="target_ended"),
            models.Index(fields=["owner", "ended_at"], name="target_owner_ended"),
            models.Index(fields=["team", "ended_at"], name="target_team_ended"),
            models.Index(fields=["channel", "ended_at"], name="target_channel_ended"),
            models.Index(fields=["queue", "ended_at"], name="target_queue_ended"),
            models.Index(fields=["organization", "ended_at"], name="target_organization_ended"),
            models.Index(fields=["product", "ended_at"], name="target_product_ended"),
        ]

    def __str__(self) -> str:
        return f"{self.metric} of case {self.case_id}: {'met' if self.met else 'missed'}"


class CaseKeyword(models.Model):
    """A word of a case's subject (stop words left out), for the root causes' keywords: STEM groups the forms
    of a word ("invoices", "invoice"), WORD is the form shown."""

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="+")
    stem = models.CharField(max_length=40)
    word = models.CharField(max_length=40)
    created_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["created_at", "stem"], name="keyword_created_stem")]
        constraints = [models.UniqueConstraint(fields=["case", "stem"], name="keyword_once_per_case")]

    def __str__(self) -> str:
        return f"{self.case_id}: {self.word}"


class StaleMark(models.Model):
    """A mark that a case's facts are to be computed again: added in the transaction that changed the case (so a
    change is never missed, even if the process dies), worked off in batches by the router loop's clock (facts.py).

    Marks are only ever inserted, never updated, and a case may have several: a unique key on the case would make
    two transactions marking the same case wait on each other, and each may hold locks (a work item, an agent's
    state) the other needs next — a deadlock. The refresh deletes the marks it read, by id, so a mark committed
    meanwhile stays and is worked off next time."""

    case_id = models.BigIntegerField()
    marked_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["case_id"], name="stale_mark_case")]

    def __str__(self) -> str:
        return f"case {self.case_id} marked {self.marked_at}"


class ReportsAccess(models.Model):
    """Not a table: carries the reports' permissions."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("view_reports", "Can see every report and dashboard"),
            ("view_own_figures", "Can see their own figures"),
        ]

    def __str__(self) -> str:
        return "reports"
