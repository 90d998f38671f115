"""Console pages of automation rules, for administrators: the ordered list, the editor with its dry run, the log."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count, Max, Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, QueryDict
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tiski.audit.services import audit_record
from tiski.automation import editor as action_forms
from tiski.automation import forms
from tiski.automation.actions import ACTIONS, ActionsInvalidError
from tiski.automation.conditions import FIELDS
from tiski.automation.models import Rule, RuleRun
from tiski.automation.services import (
    RuleInvalidError,
    rule_dry_run,
    rule_enabled_set,
    rule_save,
    rules_forget,
)
from tiski.automation.services import rule_delete as rule_delete_service
from tiski.automation.templating import PLACEHOLDERS
from tiski.cases.models import Case
from tiski.channels.models import ChannelKind
from tiski.console.views import agent_required

MANAGE_RULES = "automation.manage_rules"
RUNS_PER_PAGE = 50


def rules_manager_required(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Let in agents who may manage automation rules (administrators); others get 403."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.has_perm(MANAGE_RULES):
            raise PermissionDenied(_("Only administrators can manage automation rules."))
        return view(request, *args, **kwargs)

    return agent_required(wrapper)


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _rule_or_404(pk: int) -> Rule:
    rule = Rule.objects.filter(pk=pk).first()
    if rule is None:
        raise Http404(_("No such rule."))
    return rule


@require_GET
@rules_manager_required
def rule_list(request: HttpRequest) -> HttpResponse:
    week_ago = timezone.now() - timedelta(days=7)
    rules = Rule.objects.order_by("position", "pk").annotate(
        runs_week=Count("runs", filter=Q(runs__at__gte=week_ago, runs__outcome=RuleRun.Outcome.DONE)),
        failed_week=Count("runs", filter=Q(runs__at__gte=week_ago, runs__outcome=RuleRun.Outcome.FAILED)),
        stopped_week=Count("runs", filter=Q(runs__at__gte=week_ago, runs__outcome=RuleRun.Outcome.STOPPED)),
        last_run=Max("runs__at"),
    )
    return render(request, "automation/list.html", {"rules": rules, "kinds": dict(ChannelKind.choices)})


def _editor_context(
    *, rule: Rule | None, data: QueryDict | None = None, errors: list[str] | None = None, **rows: Any
) -> dict[str, Any]:
    if data is None:
        source: dict[str, Any] = {
            "name": rule.name if rule else "",
            "description": rule.description if rule else "",
            "enabled": rule.enabled if rule else True,
            "trigger": rule.trigger if rule else Rule.Trigger.MESSAGE_RECEIVED,
            "channel_kinds": rule.channel_kinds if rule else [],
            "trigger_status": rule.trigger_status if rule else "pending",
            "trigger_hours": rule.trigger_hours if rule and rule.trigger_hours else 120,
        }
        conditions = rule.conditions if rule else {"all": []}
        match, condition_rows, nested = forms.rows_from_conditions(conditions or {"all": []})
        action_rows = action_forms.rows_from_actions(rule.actions if rule else [])
        conditions_json = json.dumps(conditions or {"all": []}, ensure_ascii=False, indent=2)
        actions_json = json.dumps(rule.actions if rule else [], ensure_ascii=False, indent=2)
    else:
        source = {
            "name": data.get("name", ""),
            "description": data.get("description", ""),
            "enabled": bool(data.get("enabled")),
            "trigger": data.get("trigger", ""),
            "channel_kinds": data.getlist("channel_kinds"),
            "trigger_status": data.get("trigger_status", ""),
            "trigger_hours": data.get("trigger_hours", ""),
        }
        match = "any" if data.get("match") == "any" else "all"
        condition_rows, action_rows = rows["condition_rows"], rows["action_rows"]
        nested = bool(data.get("conditions_as_json"))
        conditions_json = data.get("conditions_json", "")
        actions_json = data.get("actions_json", "")
    return {
        "rule": rule,
        "form": source,
        "errors": errors or [],
        "match": match,
        "condition_rows": condition_rows,
        "nested": nested,
        "action_rows": action_rows,
        "conditions_json": conditions_json,
        "actions_json": actions_json,
        "triggers": Rule.Trigger.choices,
        "kinds": ChannelKind.choices,
        "statuses": [(v, label) for v, label in Case.Status.choices if v != Case.Status.CLOSED],
        "fields": FIELDS.values(),
        "actions": ACTIONS.values(),
        "placeholders": PLACEHOLDERS,
    }


def _posted_rule(data: QueryDict) -> dict[str, Any]:
    """Return the rule's data for the service from the editor's fields; raise RuleInvalidError."""
    conditions, _condition_rows = forms.conditions_from_post(data)
    try:
        actions, _action_rows = action_forms.actions_from_post(data)
    except ActionsInvalidError as error:
        raise RuleInvalidError(error.errors) from None
    hours = data.get("trigger_hours", "")
    rule_data = {
        "name": data.get("name", ""),
        "description": data.get("description", ""),
        "enabled": bool(data.get("enabled")),
        "trigger": data.get("trigger", ""),
        "channel_kinds": data.getlist("channel_kinds"),
        "trigger_status": data.get("trigger_status", ""),
        "trigger_hours": int(hours) if hours.strip().isdigit() else hours or None,
        "conditions": conditions,
        "actions": actions,
    }
    return rule_data


def _rows_safely(data: QueryDict) -> dict[str, Any]:
    rows = [forms.row_from_post(data, i) for i in forms.row_indexes(data)]
    actions = [action_forms.row_from_post(data, i) for i in action_forms.row_indexes(data)]
    return {"condition_rows": rows, "action_rows": actions}


@require_http_methods(["GET", "POST"])
@rules_manager_required
def rule_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    rule = _rule_or_404(pk) if pk is not None else None
    if request.method == "GET":
        return render(request, "automation/edit.html", _editor_context(rule=rule))
    try:
        data = _posted_rule(request.POST)
        saved = rule_save(data=data, actor=_user(request), rule=rule)
    except RuleInvalidError as error:
        context = _editor_context(rule=rule, data=request.POST, errors=error.errors, **_rows_safely(request.POST))
        return render(request, "automation/edit.html", context, status=400)
    messages.success(request, _("Rule “%(name)s” saved.") % {"name": saved.name})
    return redirect("automation:list")


@require_POST
@rules_manager_required
def rule_dry_run_view(request: HttpRequest) -> HttpResponse:
    try:
        data = _posted_rule(request.POST)
        result = rule_dry_run(data=data)
    except RuleInvalidError as error:
        return render(request, "automation/_dry_run.html", {"errors": error.errors}, status=400)
    return render(request, "automation/_dry_run.html", {"result": result})


@require_GET
@rules_manager_required
def condition_row(request: HttpRequest) -> HttpResponse:
    """Return one condition row: a new empty one (after the posted indexes), or row INDEX for another field."""
    if request.GET.get("index", "").isdigit():
        row = forms.row_from_post(request.GET, int(request.GET["index"]))
    else:
        row = forms.ConditionRow(index=max(forms.row_indexes(request.GET), default=-1) + 1, field="", op="", value="")
    return render(request, "automation/_condition_row.html", {"row": row, "fields": FIELDS.values()})


@require_POST
@rules_manager_required
def rule_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    rule = _rule_or_404(pk)
    rule = rule_enabled_set(rule=rule, enabled=not rule.enabled, actor=_user(request))
    state = _("on") if rule.enabled else _("off")
    messages.success(request, _("Rule “%(name)s” is %(state)s.") % {"name": rule.name, "state": state})
    return redirect("automation:list")


@require_POST
@rules_manager_required
def rule_move(request: HttpRequest, pk: int, direction: str) -> HttpResponse:
    """Move a rule one place up or down (rules run in this order)."""
    with transaction.atomic():
        ordered = list(Rule.objects.select_for_update().order_by("position", "pk"))
        index = next((i for i, r in enumerate(ordered) if r.pk == pk), None)
        if index is None:
            raise Http404(_("No such rule."))
        other = index - 1 if direction == "up" else index + 1
        if 0 <= other < len(ordered):
            ordered[index], ordered[other] = ordered[other], ordered[index]
        for position, rule in enumerate(ordered):
            if rule.position != position:
                Rule.objects.filter(pk=rule.pk).update(position=position)
        moved = ordered[other if 0 <= other < len(ordered) else index]
        audit_record(
            action="rule.change",
            actor=_user(request),
            target=moved,
            target_label=moved.name,
            detail={"fields": ["position"], "moved": direction},
        )
    rules_forget()
    return redirect("automation:list")


@require_POST
@rules_manager_required
def rule_delete(request: HttpRequest, pk: int) -> HttpResponse:
    rule = _rule_or_404(pk)
    rule_delete_service(rule=rule, actor=_user(request))
    messages.success(request, _("Rule “%(name)s” deleted; its log stays.") % {"name": rule.name})
    return redirect("automation:list")


@require_GET
@rules_manager_required
def run_log(request: HttpRequest) -> HttpResponse:
    runs = RuleRun.objects.select_related("case").order_by("-at", "-id")
    rule_id = request.GET.get("rule", "")
    outcome = request.GET.get("outcome", "")
    if rule_id.isdigit():
        runs = runs.filter(rule_id=int(rule_id))
    if outcome in RuleRun.Outcome.values:
        runs = runs.filter(outcome=outcome)
    else:
        runs = runs.exclude(outcome=RuleRun.Outcome.SKIPPED)
    page = Paginator(runs, RUNS_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "rules": Rule.objects.order_by("position", "pk"),
        "rule_id": int(rule_id) if rule_id.isdigit() else None,
        "outcome": outcome,
        "outcomes": RuleRun.Outcome.choices,
    }
    return render(request, "automation/runs.html", context)
