"""Parse the console's query strings and posted forms into the typed input of selectors and services."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _

from tiski.accounts.token_scopes import SCOPE_LABELS
from tiski.cases.models import Case, Message
from tiski.cases.selectors import SLA_FILTERS, CaseFilters
from tiski.cases.services import FileIn
from tiski.channels.models import ChannelKind
from tiski.console.selectors import ConsoleNotFoundError, agent_get, team_get
from tiski.customers.selectors import TIMELINE_KINDS

ALL_STATUSES = "all"
ACTIVE = "active"


def _ints(values: list[str]) -> list[int]:
    return [int(v) for v in values if v.strip().isdigit()]


def inbox_filters(query: QueryDict) -> CaseFilters:
    """Return the inbox filters in QUERY; without a status the inbox shows the active cases."""
    known = {ACTIVE, *Case.Status.values}
    statuses = [s for s in query.getlist("status") if s in known or s == ALL_STATUSES]
    if not statuses:
        statuses = [ACTIVE]
    if ALL_STATUSES in statuses:
        statuses = []
    owner = query.get("owner", "").strip()
    if owner not in ("me", "unassigned") and not owner.isdigit():
        owner = ""
    return CaseFilters(
        status=statuses,
        priority=[p for p in _ints(query.getlist("priority")) if p in Case.Priority.values],
        channel=_ints(query.getlist("channel")),
        team=_ints(query.getlist("team")),
        owner=owner,
        q=query.get("q", "").strip()[:200],
        sla=sla if (sla := query.get("sla", "")) in SLA_FILTERS else "",
    )


def page_number(query: QueryDict) -> int:
    """Return the requested page number, 1 when absent or invalid."""
    raw = query.get("page", "1")
    return max(1, min(int(raw), 10_000)) if raw.isdigit() else 1


class ReplyForm(forms.Form):
    STATUS_AFTER = [
        ("", _("Keep status")),
        (Case.Status.PENDING, _("Set to pending")),
        (Case.Status.ON_HOLD, _("Set on hold")),
        (Case.Status.SOLVED, _("Set to solved")),
    ]

    body = forms.CharField(label=_("Reply"), widget=forms.Textarea(attrs={"rows": 4}), strip=True)
    status_after = forms.ChoiceField(label=_("After sending"), choices=STATUS_AFTER, required=False)

    def files_in(self, files: list[Any]) -> list[FileIn]:
        """Return the uploaded FILES as service input."""
        return [
            FileIn(filename=f.name, content_type=f.content_type or "application/octet-stream", content=f.read())
            for f in files
        ]


class NoteForm(forms.Form):
    body = forms.CharField(label=_("Internal note"), widget=forms.Textarea(attrs={"rows": 4}), strip=True)


class CaseUpdateForm(forms.Form):
    """Status, priority, owner and team; only the fields present in the post are changed."""

    status = forms.ChoiceField(label=_("Status"), choices=Case.Status.choices, required=False)
    priority = forms.TypedChoiceField(
        label=_("Priority"), choices=Case.Priority.choices, coerce=int, required=False, empty_value=None
    )
    owner = forms.CharField(label=_("Owner"), required=False)
    team = forms.CharField(label=_("Team"), required=False)

    def clean_owner(self) -> str:
        value: str = self.cleaned_data["owner"].strip()
        if value and not value.isdigit():
            raise forms.ValidationError(_("Choose an owner from the list."))
        return value

    def clean_team(self) -> str:
        value: str = self.cleaned_data["team"].strip()
        if value and not value.isdigit():
            raise forms.ValidationError(_("Choose a team from the list."))
        return value

    def changes(self) -> dict[str, Any]:
        """Return the service keyword arguments for the fields that were posted."""
        changes: dict[str, Any] = {}
        data = self.cleaned_data
        if "status" in self.data and data["status"]:
            changes["status"] = data["status"]
        if "priority" in self.data and data["priority"] is not None:
            changes["priority"] = data["priority"]
        try:
            if "owner" in self.data:
                changes["owner"] = agent_get(user_id=int(data["owner"])) if data["owner"] else None
            if "team" in self.data:
                changes["team"] = team_get(team_id=int(data["team"])) if data["team"] else None
        except ConsoleNotFoundError:
            raise forms.ValidationError(_("That owner or team no longer exists.")) from None
        return changes


class TokenCreateForm(forms.Form):
    name = forms.CharField(label=_("Token name"), max_length=100, strip=True)
    user = forms.IntegerField(label=_("For user"), required=False)
    scopes = forms.MultipleChoiceField(
        label=_("Scopes"),
        choices=list(SCOPE_LABELS.items()),
        error_messages={"required": _("Choose at least one scope: what the token may be used for.")},
    )


class SplitForm(forms.Form):
    """ "New case from this message": the new case's subject and type."""

    subject = forms.CharField(label=_("Subject"), max_length=300, strip=True)
    type = forms.ChoiceField(label=_("Type"), choices=Case.Type.choices)


_REPLY_PREFIX = re.compile(r"^\s*(?:(?:re|fw|fwd|vs|vl|sv|vb|wg|aw|tr)\s*:\s*)+", re.IGNORECASE)


def split_initial(message: Message) -> dict[str, str]:
    """Return the split form's starting values: MESSAGE's subject without "Re:" and old references, the case's type."""
    subject = re.sub(rf"\[\s*{re.escape(settings.TISKI_CASE_PREFIX)}(?:-\d+)?\s*\]", "", message.subject or "")
    subject = _REPLY_PREFIX.sub("", subject).strip()
    return {"subject": subject or message.case.subject, "type": message.case.type}


@dataclass(frozen=True)
class TimelineFilters:
    """The 360° timeline's filters: an entry kind ("" = everything), a channel kind, a "load older" cursor."""

    kind: str = ""
    channel: str = ""
    before: str = ""

    @property
    def kinds(self) -> set[str] | None:
        return {self.kind} if self.kind else None

    def query(self) -> str:
        """Return the filters as a query string without the cursor, for the next page's link."""
        return urlencode({k: v for k, v in (("kind", self.kind), ("channel", self.channel)) if v})


def timeline_filters(query: QueryDict) -> TimelineFilters:
    """Return the timeline filters in QUERY; unknown kinds and channels are dropped, the cursor checked later."""
    kind = query.get("kind", "")
    channel = query.get("channel", "")
    return TimelineFilters(
        kind=kind if kind in TIMELINE_KINDS else "",
        channel=channel if channel in ChannelKind.values else "",
        before=query.get("before", "")[:100],
    )


class MergeForm(forms.Form):
    KEEP = [("this", _("This customer")), ("other", _("The other customer"))]

    other = forms.IntegerField(min_value=1, error_messages={"required": _("Choose the customer to merge with.")})
    keep = forms.ChoiceField(choices=KEEP, initial="this", required=False)  # empty: this customer stays


class EraseForm(forms.Form):
    confirm = forms.CharField(
        max_length=20,
        strip=True,
        error_messages={"required": _("Type the customer number to confirm the erasure.")},
    )

    def __init__(self, *args: Any, customer_id: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.customer_id = customer_id

    def clean_confirm(self) -> str:
        value = str(self.cleaned_data["confirm"]).lstrip("#")
        if value != str(self.customer_id):
            raise forms.ValidationError(
                _("That is not this customer's number. Type %(number)s to erase this customer.")
                % {"number": self.customer_id}
            )
        return value
