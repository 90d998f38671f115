"""The one-line texts of notifications ("Minna set TSK-1042 to Solved"), in the active language."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.utils.translation import gettext

from tiski.cases.models import Case, CaseEvent, Message
from tiski.channels.models import ChannelKind

TEXT_MAX = 300
_COMMON_NOUNS = frozenset({ChannelKind.EMAIL, ChannelKind.WEBFORM, ChannelKind.CHAT, ChannelKind.PHONE})


def person(user: User | None) -> str:
    """Return how a notification names USER: the first name, else the full name or username; Tiski for None."""
    if user is None:
        return gettext("Tiski")
    return user.first_name or user.get_full_name() or user.get_username()


def _cut(text: str) -> str:
    return text if len(text) <= TEXT_MAX else text[: TEXT_MAX - 1].rstrip() + "…"


def contact_text(*, message: Message) -> str:
    """Return "Anssi Laaksonen wrote on TSK-1042 (email)" for an inbound MESSAGE."""
    case = message.case
    kind = message.channel.kind
    channel = str(ChannelKind(kind).label) if kind in ChannelKind.values else kind
    if kind in _COMMON_NOUNS:  # "(email)", "(web form)"; names stay as they are: "(WhatsApp)", "(SMS)"
        channel = channel.lower()
    name = message.sender_name.strip() or case.customer.name or gettext("A customer")
    return _cut(
        gettext("%(name)s wrote on %(reference)s (%(channel)s)")
        % {"name": name, "reference": case.reference, "channel": channel}
    )


def _choice_label(choices: type[Case.Status] | type[Case.Priority] | type[Case.Type], value: object) -> str:
    """Return the translated label of VALUE among CHOICES, or VALUE itself when it is not one of them."""
    labels = dict(choices.choices)
    return str(labels.get(value, value))


def case_event_text(*, event: CaseEvent, actor: User | None) -> str:
    """Return the notification text for EVENT on its case, done by ACTOR (None: Tiski or the customer)."""
    case = event.case
    data = event.data or {}
    values = {"actor": person(actor), "reference": case.reference}
    kind = event.kind
    text: str
    if kind == CaseEvent.Kind.STATUS_CHANGED:
        values["status"] = _choice_label(Case.Status, data.get("new"))
        text = gettext("%(actor)s set %(reference)s to %(status)s") % values
    elif kind == CaseEvent.Kind.PRIORITY_CHANGED:
        values["priority"] = _choice_label(Case.Priority, data.get("new"))
        text = gettext("%(actor)s set the priority of %(reference)s to %(priority)s") % values
    elif kind == CaseEvent.Kind.ASSIGNED:
        values["owner"] = str(data.get("new") or "")
        if not values["owner"]:
            text = gettext("%(actor)s unassigned %(reference)s") % values
        else:
            text = gettext("%(actor)s assigned %(reference)s to %(owner)s") % values
    elif kind == CaseEvent.Kind.TEAM_CHANGED:
        values["team"] = str(data.get("new") or "")
        if not values["team"]:
            text = gettext("%(actor)s removed %(reference)s from its team") % values
        else:
            text = gettext("%(actor)s moved %(reference)s to team %(team)s") % values
    elif kind == CaseEvent.Kind.NOTE_ADDED:
        text = gettext("%(actor)s added an internal note on %(reference)s") % values
    elif kind == CaseEvent.Kind.REPLY_SENT:
        text = gettext("The reply by %(actor)s on %(reference)s was sent") % values
    elif kind == CaseEvent.Kind.MESSAGE_RECEIVED:
        text = gettext("A new message arrived on %(reference)s") % values
    elif kind == CaseEvent.Kind.REOPENED:
        if actor is None:
            text = gettext("%(reference)s was reopened by the customer's message") % values
        else:
            text = gettext("%(actor)s reopened %(reference)s") % values
    elif kind == CaseEvent.Kind.SPLIT:
        values["new"] = str(data.get("new") or "")
        text = gettext("%(actor)s moved a message of %(reference)s to a new case %(new)s") % values
    elif kind == CaseEvent.Kind.UPDATED and data.get("field") == "follow_up":
        values["new"] = str(data.get("new") or "")
        text = gettext("The customer of %(reference)s opened a follow-up case %(new)s") % values
    elif kind == CaseEvent.Kind.UPDATED and data.get("field") == "type":
        values["type"] = _choice_label(Case.Type, data.get("new"))
        text = gettext("%(actor)s changed the type of %(reference)s to %(type)s") % values
    else:
        text = gettext("%(actor)s changed %(reference)s") % values
    return _cut(text)
