"""Automation rules through the API: read and write them as JSON or YAML, to keep them under version control.

``GET /automation/rules`` returns the whole ordered set (``?format=yaml`` as a YAML file); ``PUT`` replaces the
whole set from the same document (all or nothing), so ``curl … > rules.yaml``, edit, review, ``curl -X PUT``
round-trips. Single rules can be created, changed and deleted, and any rule tried on the stored cases first
(``POST /automation/rules/dry-run``). Every run is in ``GET /automation/runs``.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import yaml
from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema
from ninja.responses import Status

from tiski.api.auth import require_perm
from tiski.api.errors import ApiError
from tiski.api.schemas import AUTH_ERRORS, ErrorOut, FieldErrorOut
from tiski.automation.models import Rule, RuleRun
from tiski.automation.services import (
    RuleInvalidError,
    rule_delete,
    rule_dry_run,
    rule_export,
    rule_save,
    rules_replace,
)

MANAGE_RULES = "automation.manage_rules"
YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml")
MAX_RULES = 500

router = Router(tags=["automation rules"])

_RULE_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/RuleIn"}},
            "application/yaml": {"schema": {"$ref": "#/components/schemas/RuleIn"}},
        },
    }
}


class RuleIn(Schema):
    """A rule as written: the same fields as read (id, position ignored where the URL or order decide)."""

    name: str = Field(max_length=200)
    description: str = ""
    enabled: bool = True
    trigger: str = Field(description=", ".join(Rule.Trigger.values))
    channel_kinds: list[str] = Field(default_factory=list, description="Only on these channels; empty: any.")
    trigger_status: str = Field("", description="status_for: the status the case stays in.")
    trigger_hours: int | None = Field(None, description="status_for: for how many hours.")
    conditions: dict[str, Any] = Field(
        default_factory=dict, description='{"all": [...]} or {"any": [...]} of {"field", "op", "value"} and groups.'
    )
    actions: list[dict[str, Any]] = Field(description='[{"action": "set_priority", "priority": "high"}, …]')


class RuleOut(RuleIn):
    id: int
    position: int


class RuleSetOut(Schema):
    rules: list[RuleOut]


class DryRunOut(Schema):
    checked: int = Field(description="How many of the newest cases were looked at.")
    matched_count: int
    matched: list[str] = Field(description="References of the first matching cases, newest first.")
    ignored_fields: list[str] = Field(description="Conditions known only when an event happens: left out.")


class RunOut(Schema):
    id: int
    rule_id: int | None
    rule: str
    case: str
    trigger: str
    outcome: str = Field(description="done, failed, stopped (a loop prevented) or skipped (a time rule's stay).")
    done: list[str]
    error: str
    at: datetime


def _document(request: HttpRequest) -> Any:
    """Return the request body read as YAML (by its content type) or JSON; raise a 400 ApiError."""
    content_type = request.content_type or ""
    try:
        if content_type in YAML_TYPES:
            return yaml.safe_load(request.body.decode())
        return json.loads(request.body)
    except (ValueError, yaml.YAMLError, UnicodeDecodeError) as error:
        kind = "YAML" if content_type in YAML_TYPES else "JSON"
        raise ApiError(400, "malformed_body", f"The body is not readable {kind}: {error}") from None


class RuleInvalidOut(ErrorOut):
    errors: list[str] | list[FieldErrorOut] = Field(
        description="What is wrong with the rules, one line each (for a malformed path or query: one entry per field)."
    )


def _invalid(error: RuleInvalidError) -> ApiError:
    return ApiError(422, "rule_invalid", "; ".join(error.errors), errors=error.errors)


def _rule(rule_id: int) -> Rule:
    rule = Rule.objects.filter(pk=rule_id).first()
    if rule is None:
        raise ApiError(404, "not_found", f"There is no rule {rule_id}.")
    return rule


@router.get(
    "/automation/rules",
    response={200: RuleSetOut, **AUTH_ERRORS},
    summary="All automation rules, in order (JSON, or YAML with ?format=yaml)",
)
def rules_list(request: HttpRequest, format: str = "json") -> Any:
    """Return every rule in the order they run, as ``{"rules": [...]}``; ``?format=yaml`` returns the same
    document as a YAML file to keep under version control (and PUT back)."""
    require_perm(request, MANAGE_RULES, "manage automation rules")
    document = {"rules": [rule_export(rule) for rule in Rule.objects.order_by("position", "pk")]}
    if format == "yaml":
        text = yaml.safe_dump(document, allow_unicode=True, sort_keys=False)
        response = HttpResponse(text, content_type="application/yaml; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="tiski-rules.yaml"'
        return response
    return document


@router.put(
    "/automation/rules",
    response={200: RuleSetOut, 400: ErrorOut, **AUTH_ERRORS, 422: RuleInvalidOut},
    summary="Replace all rules (JSON or YAML document, all or nothing)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/RuleSetOut"}},
                "application/yaml": {"schema": {"$ref": "#/components/schemas/RuleSetOut"}},
            },
        }
    },
)
def rules_put(request: HttpRequest) -> dict[str, Any]:
    """Replace the rule set with the document's ``rules``, in their order. A rule whose ``id`` is given keeps its
    log; rules the document leaves out are deleted. Nothing changes when any rule is invalid (422 lists why)."""
    user = require_perm(request, MANAGE_RULES, "manage automation rules")
    document = _document(request)
    items = document.get("rules") if isinstance(document, dict) else None
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise ApiError(400, "malformed_body", 'The body must be {"rules": [ {…}, … ]}.')
    if len(items) > MAX_RULES:
        raise ApiError(400, "too_many_rules", f"At most {MAX_RULES} rules.")
    try:
        rules = rules_replace(items=items, actor=user)
    except RuleInvalidError as error:
        raise _invalid(error) from None
    return {"rules": [rule_export(rule) for rule in rules]}


@router.post(
    "/automation/rules",
    response={201: RuleOut, 400: ErrorOut, **AUTH_ERRORS, 422: RuleInvalidOut},
    summary="Add a rule (last in order unless a position is given)",
    openapi_extra=_RULE_BODY,
)
def rules_create(request: HttpRequest) -> Status[dict[str, Any]]:
    """Add one rule (JSON or YAML body); it runs last unless the body gives a position. 422 lists what is wrong."""
    user = require_perm(request, MANAGE_RULES, "manage automation rules")
    data = _document(request)
    if not isinstance(data, dict):
        raise ApiError(400, "malformed_body", "The body must be one rule object.")
    try:
        rule = rule_save(data=data, actor=user)
    except RuleInvalidError as error:
        raise _invalid(error) from None
    return Status(201, rule_export(rule))


@router.post(
    "/automation/rules/dry-run",
    response={200: DryRunOut, 400: ErrorOut, **AUTH_ERRORS, 422: RuleInvalidOut},
    summary="Which stored cases a rule would have matched (nothing is written)",
    openapi_extra=_RULE_BODY,
)
def rules_dry_run(request: HttpRequest) -> dict[str, Any]:
    """Evaluate a rule (not saved) on the newest stored cases and return which it would have matched. Conditions
    on the message read each case's latest customer message; event fields are left out and named."""
    require_perm(request, MANAGE_RULES, "manage automation rules")
    data = _document(request)
    if not isinstance(data, dict):
        raise ApiError(400, "malformed_body", "The body must be one rule object.")
    try:
        result = rule_dry_run(data=data)
    except RuleInvalidError as error:
        raise _invalid(error) from None
    return {
        "checked": result.checked,
        "matched_count": result.matched_count,
        "matched": [case.reference for case in result.matched],
        "ignored_fields": result.ignored_fields,
    }


@router.get("/automation/rules/{rule_id}", response={200: RuleOut, 404: ErrorOut, **AUTH_ERRORS}, summary="A rule")
def rules_get(request: HttpRequest, rule_id: int) -> dict[str, Any]:
    """Return one rule."""
    require_perm(request, MANAGE_RULES, "manage automation rules")
    return rule_export(_rule(rule_id))


@router.put(
    "/automation/rules/{rule_id}",
    response={200: RuleOut, 400: ErrorOut, 404: ErrorOut, **AUTH_ERRORS, 422: RuleInvalidOut},
    summary="Change a rule",
    openapi_extra=_RULE_BODY,
)
def rules_update(request: HttpRequest, rule_id: int) -> dict[str, Any]:
    """Replace one rule's fields (JSON or YAML body); its id and log stay. 422 lists what is wrong."""
    user = require_perm(request, MANAGE_RULES, "manage automation rules")
    rule = _rule(rule_id)
    data = _document(request)
    if not isinstance(data, dict):
        raise ApiError(400, "malformed_body", "The body must be one rule object.")
    try:
        rule = rule_save(data=data, actor=user, rule=rule)
    except RuleInvalidError as error:
        raise _invalid(error) from None
    return rule_export(rule)


@router.delete(
    "/automation/rules/{rule_id}", response={204: None, 404: ErrorOut, **AUTH_ERRORS}, summary="Delete a rule"
)
def rules_delete(request: HttpRequest, rule_id: int) -> Status[None]:
    """Delete one rule; its runs stay in the log under its name."""
    require_perm(request, MANAGE_RULES, "manage automation rules")
    rule_delete(rule=_rule(rule_id), actor=request.auth)  # type: ignore[attr-defined]
    return Status(204, None)


@router.get("/automation/runs", response={200: list[RunOut], **AUTH_ERRORS}, summary="The rules' log, newest first")
def runs_list(
    request: HttpRequest, rule_id: int | None = None, case: str = "", limit: int = Query(100, ge=1, le=1000)
) -> list[dict[str, Any]]:
    """Return the rules' runs, newest first: what each did to which case, or why it failed or was stopped."""
    from tiski.cases.references import case_pk_from_reference

    require_perm(request, MANAGE_RULES, "manage automation rules")
    runs = RuleRun.objects.select_related("case").order_by("-at", "-id")
    if rule_id is not None:
        runs = runs.filter(rule_id=rule_id)
    if case:
        runs = runs.filter(case_id=case_pk_from_reference(case) or -1)
    return [
        {
            "id": run.pk,
            "rule_id": run.rule_id,
            "rule": run.rule_name,
            "case": run.case.reference,
            "trigger": run.trigger,
            "outcome": run.outcome,
            "done": run.done,
            "error": run.error,
            "at": run.at,
        }
        for run in runs[:limit]
    ]
