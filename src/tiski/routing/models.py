"""Omni-channel routing: queues, skills, agents' presence and capacity, and the work items the router offers.

A work item is one piece of work on a case waiting for, offered to or held by an agent. At most one item per
case is active (queued, offered or assigned). An agent's ``load`` is the sum of the units of the items offered
to or assigned to them, kept in the same transactions that change those items, under the agent's row lock.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

LEVEL_VALIDATORS = [MinValueValidator(1), MaxValueValidator(10)]


class Skill(models.Model):
    class Kind(models.TextChoices):
        LANGUAGE = "language", _("Language")
        PRODUCT = "product", _("Product")
        TECHNICAL = "technical", _("Technical area")
        OTHER = "other", _("Other")

    name = models.CharField(_("name"), max_length=100, unique=True)
    name_fi = models.CharField(_("name in Finnish"), max_length=100, blank=True)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.OTHER)
    language = models.CharField(
        _("language code"),
        max_length=8,
        blank=True,
        help_text=_("For language skills, e.g. en: work detected or given in this language requires the skill"),
    )

    class Meta:
        ordering = ["kind", "name"]
        verbose_name = _("skill")
        verbose_name_plural = _("skills")
        constraints = [
            models.UniqueConstraint(fields=["language"], condition=~models.Q(language=""), name="skill_unique_language")
        ]

    def __str__(self) -> str:
        return self.name

    def label(self, language: str) -> str:
        return self.name_fi if language.startswith("fi") and self.name_fi else self.name


class Queue(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    name_fi = models.CharField(_("name in Finnish"), max_length=100, blank=True)
    priority = models.PositiveSmallIntegerField(
        _("priority"), default=5, validators=LEVEL_VALIDATORS, help_text=_("1–10; higher queues are served first")
    )
    active = models.BooleanField(_("active"), default=True)
    is_default = models.BooleanField(
        _("default queue"), default=False, help_text=_("Work that no routing rule puts into a queue waits here")
    )
    team = models.ForeignKey(
        "accounts.Team",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        verbose_name=_("team"),
        help_text=_("A case accepted from this queue joins this team"),
    )
    offer_timeout = models.PositiveIntegerField(
        _("offer timeout (s)"), default=60, help_text=_("An offer not accepted in this time goes to the next agent")
    )
    auto_accept = models.BooleanField(
        _("assign without asking"), default=False, help_text=_("Routed work is assigned at once instead of offered")
    )
    fallback_after = models.PositiveIntegerField(
        _("widen after (s)"),
        default=300,
        help_text=_(
            "After this wait optional skills are dropped and lower skill levels accepted; after twice this wait "
            "any agent of the queue may take the work. 0: never widen"
        ),
    )
    response_target = models.PositiveIntegerField(
        _("response target (min)"),
        null=True,
        blank=True,
        help_text=_("Blank: the channel's default target"),
    )
    return_margin = models.PositiveIntegerField(
        _("return margin (s)"),
        default=600,
        help_text=_("Work an agent has not acted on goes back to the queue this long before its target"),
    )
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["-priority", "position", "name"]
        verbose_name = _("queue")
        verbose_name_plural = _("queues")
        permissions = [("supervise", "Can watch queues and agents live and redistribute work")]

    def __str__(self) -> str:
        return self.name

    def label(self, language: str) -> str:
        return self.name_fi if language.startswith("fi") and self.name_fi else self.name


class RoutingRule(models.Model):
    """When work matches every condition given (an empty condition matches anything), put it into a queue
    and/or require skills and/or raise its priority. Rules are tried in position order; the first matching rule
    with a queue decides the queue; every matching rule adds its skills."""

    name = models.CharField(_("name"), max_length=100)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    active = models.BooleanField(_("active"), default=True)
    channel_kinds = models.JSONField(_("channel kinds"), default=list, blank=True)
    channels = models.ManyToManyField(
        "tiski_channels.Channel", blank=True, verbose_name=_("mailboxes, numbers and accounts")
    )
    case_types = models.JSONField(_("case types"), default=list, blank=True)
    categories = models.ManyToManyField("cases.Category", blank=True, verbose_name=_("categories"))
    tiers = models.JSONField(_("customer tiers"), default=list, blank=True)
    languages = models.JSONField(_("languages"), default=list, blank=True)
    keywords = models.TextField(
        _("keywords"),
        blank=True,
        help_text=_("One word or phrase per line; any of them in the subject or text matches (case-insensitive)"),
    )
    queue = models.ForeignKey(
        Queue, null=True, blank=True, on_delete=models.CASCADE, related_name="rules", verbose_name=_("queue")
    )
    priority = models.PositiveSmallIntegerField(
        _("raise priority to"), null=True, blank=True, choices=[(1, "1"), (2, "2"), (3, "3"), (4, "4")]
    )

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("routing rule")
        verbose_name_plural = _("routing rules")

    def __str__(self) -> str:
        return self.name


class RuleSkill(models.Model):
    rule = models.ForeignKey(RoutingRule, on_delete=models.CASCADE, related_name="skills")
    skill = models.ForeignKey(Skill, on_delete=models.CASCADE, verbose_name=_("skill"))
    min_level = models.PositiveSmallIntegerField(_("minimum level"), default=1, validators=LEVEL_VALIDATORS)
    optional = models.BooleanField(_("optional"), default=False)

    class Meta:
        verbose_name = _("required skill")
        verbose_name_plural = _("required skills")
        constraints = [models.UniqueConstraint(fields=["rule", "skill"], name="ruleskill_unique")]

    def __str__(self) -> str:
        return f"{self.skill} ≥ {self.min_level}"


class Presence(models.TextChoices):
    ONLINE = "online", _("Online")
    BUSY = "busy", _("Busy")
    AWAY = "away", _("Away")
    OFFLINE = "offline", _("Offline")


class AgentState(models.Model):
    """An agent's routing profile and live state: presence, capacity, load, queues and channels served."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, primary_key=True, on_delete=models.CASCADE, related_name="routing"
    )
    presence = models.CharField(_("presence"), max_length=8, choices=Presence.choices, default=Presence.OFFLINE)
    presence_since = models.DateTimeField(_("since"), default=timezone.now)
    capacity = models.PositiveSmallIntegerField(
        _("capacity"), default=100, help_text=_("Units of work at once: a call takes 100, a chat 33, an email 10")
    )
    load = models.PositiveIntegerField(_("units in use"), default=0, editable=False)
    queues = models.ManyToManyField(Queue, blank=True, related_name="agents", verbose_name=_("queues served"))
    channel_kinds = models.JSONField(
        _("channels served"), default=list, blank=True, help_text=_("Empty: every channel")
    )
    last_seen_at = models.DateTimeField(_("last active"), null=True, blank=True)
    last_routed_at = models.DateTimeField(_("last offered work"), null=True, blank=True)

    class Meta:
        verbose_name = _("agent routing profile")
        verbose_name_plural = _("agent routing profiles")
        indexes = [models.Index(fields=["presence"], name="agentstate_presence")]

    def __str__(self) -> str:
        return f"{self.user}: {self.presence}"

    @property
    def free(self) -> int:
        return max(self.capacity - self.load, 0)


class AgentSkill(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="skills")
    skill = models.ForeignKey(Skill, on_delete=models.CASCADE, related_name="agents", verbose_name=_("skill"))
    level = models.PositiveSmallIntegerField(_("level"), validators=LEVEL_VALIDATORS)

    class Meta:
        verbose_name = _("agent skill")
        verbose_name_plural = _("agent skills")
        constraints = [models.UniqueConstraint(fields=["user", "skill"], name="agentskill_unique")]

    def __str__(self) -> str:
        return f"{self.user}: {self.skill} {self.level}"


class PresenceLog(models.Model):
    """One stretch of one presence of one agent (for reports: time online, busy, away)."""

    class Reason(models.TextChoices):
        MANUAL = "manual", _("Set by the agent")
        LOGIN = "login", _("Logged in")
        LOGOUT = "logout", _("Logged out")
        IDLE = "idle", _("Idle")
        SUPERVISOR = "supervisor", _("Set by a supervisor")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="presence_log")
    presence = models.CharField(max_length=8, choices=Presence.choices)
    reason = models.CharField(max_length=16, choices=Reason.choices, default=Reason.MANUAL)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["started_at", "id"]
        verbose_name = _("presence change")
        verbose_name_plural = _("presence history")
        indexes = [models.Index(fields=["user", "started_at"], name="presencelog_user_started")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.presence} {self.started_at:%Y-%m-%d %H:%M}"


class WorkItem(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", _("Waiting")
        OFFERED = "offered", _("Offered")
        ASSIGNED = "assigned", _("Assigned")
        DONE = "done", _("Done")
        CANCELLED = "cancelled", _("Abandoned")

    ACTIVE = (Status.QUEUED, Status.OFFERED, Status.ASSIGNED)

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="work_items")
    queue = models.ForeignKey(Queue, on_delete=models.PROTECT, related_name="items", verbose_name=_("queue"))
    queue_priority = models.PositiveSmallIntegerField(default=5)  # the queue's, copied for one ordered index
    priority = models.PositiveSmallIntegerField(_("priority"), default=2)
    channel_kind = models.CharField(_("channel"), max_length=16)
    language = models.CharField(_("language"), max_length=8, blank=True)
    # [{"skill": id, "level": minimum level, "optional": bool}, …]
    skills = models.JSONField(_("skills needed"), default=list, blank=True)
    units = models.PositiveSmallIntegerField(_("units"))
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.QUEUED)
    enqueued_at = models.DateTimeField(_("waiting since"), default=timezone.now)
    due_at = models.DateTimeField(_("response due"), null=True, blank=True)
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="work_items"
    )
    offered_at = models.DateTimeField(null=True, blank=True)
    offer_expires_at = models.DateTimeField(null=True, blank=True)
    assigned_at = models.DateTimeField(null=True, blank=True)
    acted_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    declined = models.JSONField(default=list, blank=True)  # user ids not to offer this item to again
    offers = models.PositiveSmallIntegerField(default=0)
    reason = models.CharField(_("reason"), max_length=32, blank=True)  # why it was queued again or closed

    class Meta:
        verbose_name = _("work item")
        verbose_name_plural = _("work items")
        constraints = [
            models.UniqueConstraint(
                fields=["case"],
                condition=models.Q(status__in=["queued", "offered", "assigned"]),
                name="workitem_one_active_per_case",
            )
        ]
        indexes = [
            models.Index(
                fields=["status", "-queue_priority", "-priority", "enqueued_at", "due_at", "id"],
                name="workitem_routing_order",
            ),
            models.Index(fields=["queue", "status", "enqueued_at"], name="workitem_queue_status"),
            models.Index(fields=["agent", "status"], name="workitem_agent_status"),
            models.Index(fields=["status", "offer_expires_at"], name="workitem_offer_expiry"),
            models.Index(fields=["closed_at"], name="workitem_closed"),
            models.Index(fields=["agent", "closed_at"], name="workitem_agent_closed"),  # an agent's handle time
        ]

    def __str__(self) -> str:
        return f"work on case {self.case_id}: {self.status}"
