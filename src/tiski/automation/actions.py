"""The actions of automation rules and macros: one vocabulary, checked once, run through the apps' services.

An action list is JSON, e.g. ``[{"action": "reply", "body": "Hei {{ customer.first_name }} …"},
{"action": "set_status", "status": "pending"}]``. actions_validate() turns what an administrator or an agent
typed into a clean list (or says precisely what is wrong); actions_preview() tells what the list would do to a
case without writing; actions_apply() does it, in the caller's transaction, through the same services an agent's
clicks use — so every change is on the case's timeline, permission-checked for ACTOR (None: Tiski itself, an
automation rule), and followed by routing and the service-level clocks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tiski.automation.templating import TemplateInvalidError, placeholder_values, render, template_check

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from tiski.cases.models import Case

MAX_ACTIONS = 20
MAX_TEXT = 10_000


class ActionsInvalidError(ValueError):
    """An action list cannot be used; ERRORS says why, one line each."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


class ActionError(Exception):
    """An action cannot run on this case (closed, no address on its channel, not allowed …)."""


@dataclass(frozen=True)
class Param:
    name: str
    kind: str  # text (a template), line (a template, one line), choice, tags, user, team, queue, url, env
    label: Promise
    required: bool = True
    choices: Callable[[], list[tuple[str, str]]] | None = None


@dataclass(frozen=True)
class ActionSpec:
    name: str
    label: Promise
    params: tuple[Param, ...] = ()
    writes_to_customer: bool = False


@dataclass(frozen=True)
class Planned:
    """What one action would do to a case: a summary line, the rendered text it would send, or its problem."""

    action: str
    summary: str
    text: str = ""
    problem: str = ""


@dataclass
class _Run:
    case: Case
    actor: User | None
    _values: dict[str, Any] | None = None

    @property
    def values(self) -> dict[str, Any]:
        """The placeholders' values, worked out when a text first needs them."""
        if self._values is None:
            self._values = placeholder_values(case=self.case, actor=self.actor)
        return self._values


def _case_choices(name: str) -> Callable[[], list[tuple[str, str]]]:
    def choices() -> list[tuple[str, str]]:
        from tiski.cases.models import Case

        if name == "priority":
            return [(member.name.lower(), str(member.label)) for member in Case.Priority]
        enum = Case.Status if name == "status" else Case.Type
        return [(str(value), str(label)) for value, label in enum.choices]

    return choices


def _recipients() -> list[tuple[str, str]]:
    return [
        ("followers", _("The case's followers")),
        ("owner", _("The case's owner")),
        ("team_leads", _("The team leads of the case's team")),
    ]


ACTIONS: dict[str, ActionSpec] = {
    spec.name: spec
    for spec in (
        ActionSpec(
            "reply",
            gettext_lazy("Reply to the customer"),
            (Param("body", "text", gettext_lazy("Text")),),
            writes_to_customer=True,
        ),
        ActionSpec("note", gettext_lazy("Add an internal note"), (Param("body", "text", gettext_lazy("Note")),)),
        ActionSpec(
            "set_status",
            gettext_lazy("Set status"),
            (Param("status", "choice", gettext_lazy("Status"), choices=_case_choices("status")),),
        ),
        ActionSpec(
            "set_priority",
            gettext_lazy("Set priority"),
            (Param("priority", "choice", gettext_lazy("Priority"), choices=_case_choices("priority")),),
        ),
        ActionSpec(
            "set_type",
            gettext_lazy("Set type"),
            (Param("type", "choice", gettext_lazy("Type"), choices=_case_choices("type")),),
        ),
        ActionSpec("add_tags", gettext_lazy("Add tags"), (Param("tags", "tags", gettext_lazy("Tags")),)),
        ActionSpec("remove_tags", gettext_lazy("Remove tags"), (Param("tags", "tags", gettext_lazy("Tags")),)),
        ActionSpec(
            "set_owner",
            gettext_lazy("Assign to an agent"),
            (Param("agent", "user", gettext_lazy("Agent (user name, “me”, or empty to unassign)"), required=False),),
        ),
        ActionSpec("set_team", gettext_lazy("Assign to a team"), (Param("team", "team", gettext_lazy("Team")),)),
        ActionSpec("set_queue", gettext_lazy("Route to a queue"), (Param("queue", "queue", gettext_lazy("Queue")),)),
        ActionSpec(
            "escalate",
            gettext_lazy("Escalate (urgent, team leads told)"),
            (Param("reason", "line", gettext_lazy("Reason"), required=False),),
        ),
        ActionSpec(
            "notify",
            gettext_lazy("Notify"),
            (
                Param("to", "choice", gettext_lazy("Whom"), choices=_recipients),
                Param("text", "line", gettext_lazy("Text")),
            ),
        ),
        ActionSpec(
            "linked_case",
            gettext_lazy("Create a linked case"),
            (
                Param("subject", "line", gettext_lazy("Subject")),
                Param("team", "team", gettext_lazy("Team (empty: the case's team)"), required=False),
                Param("type", "choice", gettext_lazy("Type (empty: the case's type)"), False, _case_choices("type")),
                Param("note", "text", gettext_lazy("Note on the new case"), required=False),
            ),
        ),
        ActionSpec(
            "webhook",
            gettext_lazy("Call a webhook"),
            (
                Param("url", "url", gettext_lazy("URL")),
                Param("secret_env", "env", gettext_lazy("Signing secret: environment variable"), required=False),
            ),
        ),
        ActionSpec("close", gettext_lazy("Close the case")),
    )
}


# ── validation ────────────────────────────────────────────────────────────────────────────────────────────────


def actions_validate(raw: object) -> list[dict[str, Any]]:
    """Return RAW (a list of action objects) cleaned, or raise ActionsInvalidError saying what is wrong."""
    if not isinstance(raw, list):
        raise ActionsInvalidError([_("Actions must be a list.")])
    if not raw:
        raise ActionsInvalidError([_("Add at least one action.")])
    if len(raw) > MAX_ACTIONS:
        raise ActionsInvalidError([_("At most %(n)d actions.") % {"n": MAX_ACTIONS}])
    errors: list[str] = []
    cleaned: list[dict[str, Any]] = []
    for number, item in enumerate(raw, start=1):
        where = _("Action %(n)d") % {"n": number}
        if not isinstance(item, dict) or not isinstance(item.get("action"), str):
            errors.append(_("%(where)s: give an object with an “action”.") % {"where": where})
            continue
        spec = ACTIONS.get(item["action"])
        if spec is None:
            errors.append(
                _("%(where)s: unknown action “%(name)s”; one of: %(known)s.")
                % {"where": where, "name": item["action"], "known": ", ".join(ACTIONS)}
            )
            continue
        unknown = set(item) - {"action"} - {p.name for p in spec.params}
        if unknown:
            errors.append(
                _("%(where)s (%(name)s): unknown field %(fields)s.")
                % {"where": where, "name": spec.name, "fields": ", ".join(sorted(unknown))}
            )
        out: dict[str, Any] = {"action": spec.name}
        for param in spec.params:
            problem, value = _param_clean(param, item.get(param.name))
            if problem:
                errors.append(f"{where} ({spec.label}): {problem}")
            elif value not in (None, "", []):
                out[param.name] = value
        cleaned.append(out)
    if errors:
        raise ActionsInvalidError(errors)
    return cleaned


def _param_clean(param: Param, value: Any) -> tuple[str, Any]:
    """Return (problem, cleaned value) for one parameter."""
    label = str(param.label)
    if value is None or value == "" or value == []:
        return (_("%(field)s is required.") % {"field": label}, None) if param.required else ("", None)
    if param.kind in ("text", "line"):
        if not isinstance(value, str):
            return _("%(field)s must be text.") % {"field": label}, None
        text = value.strip()
        if len(text) > MAX_TEXT or (param.kind == "line" and len(text) > 300):
            return _("%(field)s is too long.") % {"field": label}, None
        try:
            template_check(text)
        except TemplateInvalidError as error:
            return _("%(field)s has a broken placeholder: %(error)s") % {"field": label, "error": error}, None
        return "", text
    if param.kind == "choice":
        assert param.choices is not None
        allowed = [key for key, _label in param.choices()]
        value = str(value).lower()
        if value not in allowed:
            return _("%(field)s must be one of: %(allowed)s.") % {"field": label, "allowed": ", ".join(allowed)}, None
        return "", value
    if param.kind == "tags":
        names = value.split(",") if isinstance(value, str) else value
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            return _("%(field)s must be a list of tag names.") % {"field": label}, None
        names = [n.strip() for n in names if n.strip()]
        return ("", names) if names else (_("%(field)s is required.") % {"field": label}, None)
    if param.kind == "url":
        try:
            URLValidator(schemes=["http", "https"])(str(value))
        except ValidationError:
            return _("%(field)s must be an http(s) address.") % {"field": label}, None
        return "", str(value)
    if param.kind == "env":
        if not str(value).replace("_", "").isalnum():
            return _("%(field)s must be the name of an environment variable.") % {"field": label}, None
        return "", str(value)
    # user, team, queue: names, resolved when the action runs (a renamed team is a clear error then, not now)
    if not isinstance(value, str):
        return _("%(field)s must be a name.") % {"field": label}, None
    return "", value.strip()


# ── preview and apply ─────────────────────────────────────────────────────────────────────────────────────────


def actions_preview(*, case: Case, actions: Sequence[dict[str, Any]], actor: User | None) -> list[Planned]:
    """Return what ACTIONS would do to CASE, applied by ACTOR, without writing anything."""
    run = _Run(case=case, actor=actor)
    planned: list[Planned] = []
    for action in actions:
        spec = ACTIONS[action["action"]]
        text = ""
        if spec.name in ("reply", "note"):
            text = render(action["body"], run.values)
        problem = _problem(run, action)
        planned.append(Planned(action=spec.name, summary=_summary(action), text=text, problem=problem))
    return planned


def _problem(run: _Run, action: dict[str, Any]) -> str:
    """Return why ACTION cannot run on the case, or ""."""
    case = run.case
    if case.status == "closed" and action["action"] != "linked_case":
        return _("%(reference)s is closed.") % {"reference": case.reference}
    if action["action"] == "reply":
        return _reply_problem(case)
    try:
        _resolve(action)
    except ActionError as error:
        return str(error)
    return ""


def _reply_problem(case: Case) -> str:
    from tiski.channels.exceptions import ChannelKindUnknownError
    from tiski.channels.interface import adapter_for

    if case.channel is None:
        return _("The case has no channel to reply on.")
    try:
        adapter = adapter_for(case.channel.kind)
    except ChannelKindUnknownError:
        return _("Replies on this channel cannot be sent from Tiski.")
    if not case.customer.identities.filter(kind__in=adapter.recipient_kinds).exists():
        return _("The customer has no address on the case's channel.")
    return ""


def action_summary(action: dict[str, Any]) -> str:
    """Return one line saying what ACTION does (its label and settings)."""
    return _summary(action)


def _summary(action: dict[str, Any]) -> str:
    spec = ACTIONS[action["action"]]
    shown = [_shown(p, action[p.name]) for p in spec.params if p.name in action]
    if spec.name in ("add_tags", "remove_tags"):
        shown = [", ".join(action["tags"])]
    detail = ", ".join(s for s in shown if s)
    return f"{spec.label}: {detail}" if detail else str(spec.label)


def _shown(param: Param, value: Any) -> str:
    """Return how a summary shows VALUE of PARAM: a choice by its label, long texts not at all."""
    if param.kind == "text":
        return ""
    if param.kind == "choice" and param.choices is not None:
        return dict(param.choices()).get(str(value), str(value))
    return str(value)


def _resolve(action: dict[str, Any], actor: User | None = None) -> Any:
    """Return the object an action names (user, team, queue), or raise ActionError."""
    from tiski.accounts.models import Team
    from tiski.routing.models import Queue

    name = action["action"]
    if name == "set_owner":
        who = action.get("agent", "")
        if not who:
            return None
        if who == "me":
            if actor is None:
                raise ActionError(_("“me” means the agent who applies it; a rule has nobody to assign to."))
            return actor
        user = get_user_model().objects.filter(username=who, is_active=True).first()
        if user is None:
            raise ActionError(_("There is no active user “%(name)s”.") % {"name": who})
        return user
    if name in ("set_team", "linked_case") and action.get("team"):
        team = Team.objects.filter(name=action["team"]).first()
        if team is None:
            raise ActionError(_("There is no team “%(name)s”.") % {"name": action["team"]})
        return team
    if name == "set_queue":
        queue = Queue.objects.filter(name=action["queue"], active=True).first()
        if queue is None:
            raise ActionError(_("There is no active queue “%(name)s”.") % {"name": action["queue"]})
        return queue
    return None


def actions_apply(*, case: Case, actions: Sequence[dict[str, Any]], actor: User | None, source: str) -> list[str]:
    """Run ACTIONS on CASE as ACTOR (None: Tiski) in the caller's transaction; return one summary per action.

    Raise ActionError (and the caller's transaction rolls back) when one cannot run: all or nothing per case.
    """
    from tiski.cases.exceptions import CaseError
    from tiski.cases.models import Case as CaseModel
    from tiski.cases.services import case_events_via

    kind, _sep, ident = source.partition(":")
    with transaction.atomic(), case_events_via(**{kind: int(ident) if ident.isdigit() else ident}):
        case = CaseModel.objects.select_related("customer", "channel", "team", "owner").get(pk=case.pk)
        run = _Run(case=case, actor=actor)
        done: list[str] = []
        for number, action in enumerate(actions, start=1):
            try:
                _APPLY[action["action"]](run, action)
            except CaseError as error:
                raise ActionError(str(error)) from error
            if number < len(actions):
                run.case.refresh_from_db()  # the next action sees what this one changed
            done.append(_summary(action))
    return done


def _reply(run: _Run, action: dict[str, Any]) -> None:
    from tiski.cases.services import message_reply

    message_reply(case=run.case, actor=run.actor, body=render(action["body"], run.values))


def _note(run: _Run, action: dict[str, Any]) -> None:
    from tiski.cases.services import note_add

    note_add(case=run.case, actor=run.actor, body=render(action["body"], run.values))


def _update(**changes: Any) -> Callable[[_Run, dict[str, Any]], None]:
    def apply(run: _Run, action: dict[str, Any]) -> None:
        from tiski.cases.services import case_update

        case_update(case=run.case, actor=run.actor, **{k: v(action, run) for k, v in changes.items()})

    return apply


def _priority(action: dict[str, Any], run: _Run) -> int:
    from tiski.cases.models import Case

    return int(Case.Priority[action["priority"].upper()])


def _tags(add: bool) -> Callable[[dict[str, Any], _Run], list[str]]:
    def tags(action: dict[str, Any], run: _Run) -> list[str]:
        from django.utils.text import slugify

        current = list(run.case.tags.values_list("name", flat=True))
        named = {slugify(n, allow_unicode=True)[:50] for n in action["tags"]}
        return sorted(set(current) | named) if add else [t for t in current if t not in named]

    return tags


def _set_queue(run: _Run, action: dict[str, Any]) -> None:
    from tiski.routing.exceptions import RoutingError
    from tiski.routing.models import WorkItem
    from tiski.routing.services import work_enqueue, work_transfer

    queue = _resolve(action)
    item = WorkItem.objects.filter(case=run.case, status__in=WorkItem.ACTIVE).first()
    if item is None:
        kind = run.case.channel.kind if run.case.channel is not None else "email"
        work_enqueue(case=run.case, queue=queue, channel_kind=kind, reason="rule", actor=run.actor)
        return
    if item.queue_id == queue.pk and item.status == WorkItem.Status.QUEUED:
        return
    try:
        work_transfer(item=item, actor=run.actor, queue=queue)
    except RoutingError as error:
        raise ActionError(str(error)) from error


def _team_leads(case: Case) -> set[int]:
    from django.contrib.auth.models import Permission
    from django.db.models import Q

    from tiski.accounts.roles import SUPERVISE

    app, codename = SUPERVISE.split(".")
    permission = Permission.objects.get(content_type__app_label=app, codename=codename)
    leads = get_user_model().objects.filter(
        Q(user_permissions=permission) | Q(groups__permissions=permission), is_active=True
    )
    if case.team_id is not None:
        leads = leads.filter(agent__teams=case.team_id)
    return set(leads.values_list("pk", flat=True).distinct())


def _notify_users(run: _Run, user_ids: set[int], text: str, key: str) -> None:
    from tiski.notifications.services import notifications_send

    notifications_send(case=run.case, user_ids=user_ids, text=text, key=key)


def _notify(run: _Run, action: dict[str, Any]) -> None:
    from tiski.notifications.selectors import case_follower_ids

    to = action["to"]
    case = run.case
    user_ids = (
        case_follower_ids(case=case)
        if to == "followers"
        else {case.owner_id}
        if to == "owner" and case.owner_id
        else _team_leads(case)
        if to == "team_leads"
        else set()
    )
    text = render(action["text"], run.values)
    _notify_users(run, user_ids - ({run.actor.pk} if run.actor else set()), text, key=f"auto:{case.pk}:{text}")


def _escalate(run: _Run, action: dict[str, Any]) -> None:
    from tiski.cases.models import Case
    from tiski.cases.services import case_update

    case_update(case=run.case, actor=run.actor, priority=Case.Priority.URGENT)
    reason = render(action.get("reason", ""), run.values)
    text = _("Escalated: %(reference)s %(subject)s") % {"reference": run.case.reference, "subject": run.case.subject}
    _notify_users(run, _team_leads(run.case), f"{text} — {reason}" if reason else text, key=f"esc:{run.case.pk}")


def _linked_case(run: _Run, action: dict[str, Any]) -> None:
    from tiski.cases.services import case_create, note_add

    team = _resolve(action) or run.case.team
    linked = case_create(
        customer=run.case.customer,
        subject=render(action["subject"], run.values),
        actor=run.actor,
        type=action.get("type") or run.case.type,
    )
    linked.related.add(run.case)
    linked.parent = run.case
    if team is not None:
        linked.team = team
    linked.save(update_fields=["parent", "team"])
    if action.get("note"):
        note_add(case=linked, actor=run.actor, body=render(action["note"], run.values))


def _webhook(run: _Run, action: dict[str, Any]) -> None:
    from tiski.automation.webhooks import webhook_enqueue

    webhook_enqueue(case=run.case, url=action["url"], secret_env=action.get("secret_env", ""))


_APPLY: dict[str, Callable[[_Run, dict[str, Any]], None]] = {
    "reply": _reply,
    "note": _note,
    "set_status": _update(status=lambda a, r: a["status"]),
    "set_priority": _update(priority=_priority),
    "set_type": _update(type=lambda a, r: a["type"]),
    "add_tags": _update(tags=_tags(add=True)),
    "remove_tags": _update(tags=_tags(add=False)),
    "set_owner": _update(owner=lambda a, r: _resolve(a, r.actor)),
    "set_team": _update(team=lambda a, r: _resolve(a)),
    "set_queue": _set_queue,
    "escalate": _escalate,
    "notify": _notify,
    "linked_case": _linked_case,
    "webhook": _webhook,
    "close": _update(status=lambda a, r: "closed"),
}
assert set(_APPLY) == set(ACTIONS)
