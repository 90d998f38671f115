"""The admin for routing: skills, queues, routing rules, agents' routing profiles and skills; work and presence
history read-only.

Lists stored as JSON (channel kinds, case types, tiers, languages) are edited as checkboxes. Presence and load
are never edited here: presence changes go through presence_set() (the console and the supervisor view) so the
history stays whole, and load is kept by the routing services alone.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import get_language_info
from django.utils.translation import gettext_lazy as _

from tiski.cases.models import Case
from tiski.channels.models import ChannelKind
from tiski.customers.models import Customer
from tiski.routing.models import AgentSkill, AgentState, PresenceLog, Queue, RoutingRule, RuleSkill, Skill, WorkItem
from tiski.routing.rules import keywords_parse, rules_invalidate

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

_LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}$")
MIN_OFFER_TIMEOUT_S = 10


def language_choices() -> list[tuple[str, str]]:
    """Return the languages a rule can test: those detected, those of language skills, those of the console."""
    codes = dict.fromkeys(
        [
            *(code.strip().lower() for code in settings.TISKI_DETECT_LANGUAGES),
            *Skill.objects.exclude(language="").values_list("language", flat=True),
            *(code for code, _name in settings.LANGUAGES),
        ]
    )
    return [(code, _language_name(code)) for code in codes if code]


def _language_name(code: str) -> str:
    try:
        return f"{get_language_info(code)['name_translated']} ({code})"
    except KeyError:
        return code


def _checkboxes(choices: Any, label: StrOrPromise, help_text: StrOrPromise = "") -> forms.MultipleChoiceField:
    return forms.MultipleChoiceField(
        choices=choices, required=False, widget=forms.CheckboxSelectMultiple, label=label, help_text=help_text
    )


# ── skills and queues ─────────────────────────────────────────────────────────────────────────────────────────


class SkillForm(forms.ModelForm):
    class Meta:
        model = Skill
        fields = ["name", "name_fi", "kind", "language"]

    def clean_language(self) -> str:
        code: str = self.cleaned_data["language"].strip().lower()
        if code and not _LANGUAGE_CODE.match(code):
            raise forms.ValidationError(_("Write the language as its two-letter code, e.g. en, fi or sv."))
        return code

    def clean(self) -> dict[str, Any] | None:
        cleaned = super().clean()
        if cleaned is None:
            return cleaned
        kind, code = cleaned.get("kind"), cleaned.get("language", "")
        if kind == Skill.Kind.LANGUAGE and not code and "language" not in self.errors:
            self.add_error("language", _("A language skill needs the code of its language, e.g. en."))
        if code and kind != Skill.Kind.LANGUAGE:
            self.add_error("language", _("Only language skills have a language code; choose the kind Language."))
        return cleaned


@admin.register(Skill)
class SkillAdmin(admin.ModelAdmin):
    form = SkillForm
    list_display = ["name", "name_fi", "kind", "language", "agent_count"]
    list_filter = ["kind"]
    search_fields = ["name", "name_fi", "language"]

    @admin.display(description=_("agents"))
    def agent_count(self, skill: Skill) -> int:
        return skill.agents.count()


class QueueForm(forms.ModelForm):
    class Meta:
        model = Queue
        fields = [
            "name",
            "name_fi",
            "priority",
            "active",
            "is_default",
            "team",
            "offer_timeout",
            "auto_accept",
            "fallback_after",
            "response_target",
            "return_margin",
            "position",
        ]

    def clean_offer_timeout(self) -> int:
        seconds: int = self.cleaned_data["offer_timeout"]
        if seconds < MIN_OFFER_TIMEOUT_S:
            raise forms.ValidationError(
                _("Give agents at least %(seconds)s seconds to accept."), params={"seconds": MIN_OFFER_TIMEOUT_S}
            )
        return seconds

    def clean(self) -> dict[str, Any] | None:
        cleaned = super().clean()
        if cleaned is None:
            return cleaned
        target, margin = cleaned.get("response_target"), cleaned.get("return_margin")
        if target and margin is not None and margin >= target * 60:
            message = _(
                "The return margin (%(margin)s s) must be shorter than the response target (%(target)s min), "
                "else work would go back to the queue as soon as an agent gets it."
            )
            self.add_error("return_margin", forms.ValidationError(message, params={"margin": margin, "target": target}))
        if cleaned.get("is_default") and not cleaned.get("active", True):
            self.add_error("active", _("The default queue must be active: work no rule places waits there."))
        return cleaned


@admin.register(Queue)
class QueueAdmin(admin.ModelAdmin):
    form = QueueForm
    list_display = [
        "name",
        "name_fi",
        "priority",
        "is_default",
        "active",
        "team",
        "offer_timeout",
        "auto_accept",
        "fallback_after",
        "response_target",
        "return_margin",
    ]
    list_filter = ["active", "team"]
    search_fields = ["name", "name_fi"]
    ordering = ["-priority", "position", "name"]
    fieldsets = [
        (None, {"fields": ["name", "name_fi", "priority", "position", "active", "is_default", "team"]}),
        (_("Offers"), {"fields": ["offer_timeout", "auto_accept", "fallback_after"]}),
        (_("Response target"), {"fields": ["response_target", "return_margin"]}),
    ]

    def save_model(self, request: HttpRequest, obj: Queue, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if obj.is_default:  # one default queue: choosing another one moves the mark
            Queue.objects.exclude(pk=obj.pk).filter(is_default=True).update(is_default=False)
            rules_invalidate()


# ── routing rules ─────────────────────────────────────────────────────────────────────────────────────────────


class RuleSkillInline(admin.TabularInline):
    model = RuleSkill
    extra = 1
    fields = ["skill", "min_level", "optional"]
    autocomplete_fields = ["skill"]


class RoutingRuleForm(forms.ModelForm):
    channel_kinds = _checkboxes(ChannelKind.choices, _("channel kinds"), _("None ticked: every channel"))
    case_types = _checkboxes(Case.Type.choices, _("case types"), _("None ticked: every type"))
    tiers = _checkboxes(Customer.Tier.choices, _("customer tiers"), _("None ticked: every customer"))
    languages = _checkboxes(
        language_choices,
        _("languages"),
        _("The customer's language, else the one detected in the message. None ticked: every language"),
    )

    class Meta:
        model = RoutingRule
        fields = [
            "name",
            "position",
            "active",
            "channel_kinds",
            "channels",
            "case_types",
            "categories",
            "tiers",
            "languages",
            "keywords",
            "queue",
            "priority",
        ]
        widgets = {
            "keywords": forms.Textarea(attrs={"rows": 5, "cols": 40}),
            "channels": forms.CheckboxSelectMultiple,
            "categories": forms.CheckboxSelectMultiple,
        }
        help_texts = {
            "keywords": _(
                "One word or phrase per line; any of them at the start of a word in the subject or text matches, "
                "whatever the case: “outage” matches “Outage!” and “outages”, not “timeout”."
            ),
            "channels": _("None ticked: every mailbox, number and account"),
            "categories": _("None ticked: every category"),
            "queue": _("The first matching rule with a queue decides where the work waits"),
        }

    def clean_keywords(self) -> str:
        keywords = keywords_parse(self.cleaned_data["keywords"])
        short = [keyword for keyword in keywords if len(keyword) < 2]
        if short:
            raise forms.ValidationError(
                _("Too short to be a keyword: %(words)s (it would match almost every message)."),
                params={"words": ", ".join(short)},
            )
        lines = [" ".join(line.split()) for line in self.cleaned_data["keywords"].splitlines() if line.strip()]
        return "\n".join(dict.fromkeys(lines))


@admin.register(RoutingRule)
class RoutingRuleAdmin(admin.ModelAdmin):
    form = RoutingRuleForm
    inlines = [RuleSkillInline]
    list_display = ["name", "position", "active", "conditions", "queue", "skills_needed", "priority"]
    list_editable = ["position", "active"]
    list_filter = ["active", "queue"]
    search_fields = ["name", "keywords"]
    ordering = ["position", "id"]
    list_select_related = ["queue"]
    fieldsets = [
        (None, {"fields": ["name", "position", "active"]}),
        (
            _("When every condition given holds"),
            {"fields": ["channel_kinds", "channels", "case_types", "categories", "tiers", "languages", "keywords"]},
        ),
        (_("Then"), {"fields": ["queue", "priority"]}),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[RoutingRule]:
        return super().get_queryset(request).prefetch_related("skills__skill", "channels", "categories")

    @admin.display(description=_("conditions"))
    def conditions(self, rule: RoutingRule) -> str:
        parts = [
            *(ChannelKind(kind).label for kind in rule.channel_kinds if kind in ChannelKind.values),
            *(str(channel) for channel in rule.channels.all()),
            *(Case.Type(kind).label for kind in rule.case_types if kind in Case.Type.values),
            *(str(category) for category in rule.categories.all()),
            *(Customer.Tier(tier).label for tier in rule.tiers if tier in Customer.Tier.values),
            *rule.languages,
            *(f"“{keyword}”" for keyword in rule.keywords.splitlines() if keyword.strip()),
        ]
        return ", ".join(str(part) for part in parts) or str(_("every contact"))

    @admin.display(description=_("skills needed"))
    def skills_needed(self, rule: RoutingRule) -> str:
        return ", ".join(
            f"{need.skill} ≥ {need.min_level}" + (f" ({_('optional')})" if need.optional else "")
            for need in rule.skills.all()
        )


# ── agents ────────────────────────────────────────────────────────────────────────────────────────────────────


class AgentStateForm(forms.ModelForm):
    channel_kinds = _checkboxes(ChannelKind.choices, _("channels served"), _("None ticked: every channel"))

    class Meta:
        model = AgentState
        fields = ["capacity", "queues", "channel_kinds"]
        widgets = {"queues": forms.CheckboxSelectMultiple}

    def clean_capacity(self) -> int:
        capacity: int = self.cleaned_data["capacity"]
        if capacity < 1:
            raise forms.ValidationError(_("An agent who takes no work has the presence Offline, not capacity 0."))
        return capacity


class AgentStateInline(admin.StackedInline):
    model = AgentState
    form = AgentStateForm
    can_delete = False
    max_num = 1
    verbose_name_plural = _("routing profile")
    fields = ["presence", "capacity", "load", "queues", "channel_kinds"]
    readonly_fields = ["presence", "load"]


class AgentSkillInline(admin.TabularInline):
    model = AgentSkill
    fk_name = "user"
    extra = 1
    fields = ["skill", "level"]
    autocomplete_fields = ["skill"]
    verbose_name_plural = _("skills (level 1–10)")


if admin.site.is_registered(User):
    admin.site.unregister(User)


@admin.register(User)
class UserWithRoutingAdmin(UserAdmin):
    """The user admin, plus the agent's routing profile and skills (on existing users)."""

    def get_inlines(self, request: HttpRequest, obj: Any) -> list[Any]:
        inlines = list(super().get_inlines(request, obj))
        return inlines if obj is None else [*inlines, AgentStateInline, AgentSkillInline]


@admin.register(AgentState)
class AgentStateAdmin(admin.ModelAdmin):
    form = AgentStateForm
    list_display = ["user", "presence", "presence_since", "capacity", "load", "queue_names", "last_seen_at"]
    list_filter = ["presence", "queues"]
    search_fields = ["user__username", "user__first_name", "user__last_name"]
    list_select_related = ["user"]
    fields = ["user", "presence", "presence_since", "load", "capacity", "queues", "channel_kinds", "skills"]
    readonly_fields = ["user", "presence", "presence_since", "load", "skills"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Made on first use (login, presence), or on the user's page with the skills.
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[AgentState]:
        return super().get_queryset(request).prefetch_related("queues")

    @admin.display(description=_("queues served"))
    def queue_names(self, state: AgentState) -> str:
        return ", ".join(queue.name for queue in state.queues.all())

    @admin.display(description=_("skills"))
    def skills(self, state: AgentState) -> str:
        link = reverse("admin:auth_user_change", args=[state.user_id])
        rows = AgentSkill.objects.filter(user_id=state.user_id).select_related("skill").order_by("skill__name")
        listed = format_html_join(", ", "{} {}", ((row.skill, row.level) for row in rows))
        return format_html('{} — <a href="{}">{}</a>', listed or "–", link, _("edit the skills on the user's page"))


# ── history, read-only ────────────────────────────────────────────────────────────────────────────────────────


class _ReadOnly(admin.ModelAdmin):
    """Written by the routing services only: shown here, never changed."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(WorkItem)
class WorkItemAdmin(_ReadOnly):
    list_display = [
        "id",
        "case",
        "queue",
        "status",
        "channel_kind",
        "language",
        "priority",
        "agent",
        "enqueued_at",
        "due_at",
        "closed_at",
        "reason",
    ]
    list_filter = ["status", "queue", "channel_kind", "language", "reason"]
    search_fields = ["case__subject", "agent__username"]
    list_select_related = ["case", "queue", "agent"]
    date_hierarchy = "enqueued_at"
    ordering = ["-enqueued_at", "-id"]


@admin.register(PresenceLog)
class PresenceLogAdmin(_ReadOnly):
    list_display = ["user", "presence", "reason", "changed_by", "started_at", "ended_at"]
    list_filter = ["presence", "reason"]
    search_fields = ["user__username", "user__first_name", "user__last_name"]
    list_select_related = ["user", "changed_by"]
    date_hierarchy = "started_at"
    ordering = ["-started_at", "-id"]
