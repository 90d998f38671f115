"""The scopes of API tokens: what a token may be used for, on top of what its user may do.

A request with a token may do what BOTH its user's permissions and the token's scopes allow. Every API
operation names the one scope it needs (``tiski.api.scopes.OPERATION_SCOPES``); a token without it is
answered 403. A token needs at least one scope.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

CASES_READ: Final = "cases:read"
CASES_WRITE: Final = "cases:write"
CUSTOMERS_READ: Final = "customers:read"
CUSTOMERS_WRITE: Final = "customers:write"
RECORDS_WRITE: Final = "records:write"
GDPR: Final = "gdpr"
CALLBACKS_WRITE: Final = "callbacks:write"
EVENTS_WRITE: Final = "events:write"
KNOWLEDGE_READ: Final = "knowledge:read"
KNOWLEDGE_WRITE: Final = "knowledge:write"
SURVEYS_WRITE: Final = "surveys:write"
REPORTS_READ: Final = "reports:read"
AUTOMATION_READ: Final = "automation:read"
AUTOMATION_WRITE: Final = "automation:write"
AUDIT_READ: Final = "audit:read"

# Every scope with what it lets a token do, in the order the console lists them.
SCOPE_LABELS: Final[dict[str, Promise]] = {
    CASES_READ: _("Read cases, their messages and internal notes; my follows and notifications"),
    CASES_WRITE: _("Create and change cases, reply, add notes, report deliveries, post inbound messages"),
    CUSTOMERS_READ: _("Read customers, their external records and match suggestions"),
    CUSTOMERS_WRITE: _("Create and change customers; link, merge and split them"),
    RECORDS_WRITE: _("Create, update and delete external records (orders, contracts …)"),
    GDPR: _("Export or erase a customer's personal data"),
    CALLBACKS_WRITE: _("Request callbacks"),
    EVENTS_WRITE: _("Send external events for proactive messages and check them"),
    KNOWLEDGE_READ: _("Read and search knowledge articles"),
    KNOWLEDGE_WRITE: _("Write knowledge articles and change their status"),
    SURVEYS_WRITE: _("Import survey answers"),
    REPORTS_READ: _("Read report figures and survey responses"),
    AUTOMATION_READ: _("Read automation rules and their log; dry-run rules"),
    AUTOMATION_WRITE: _("Create, change and delete automation rules"),
    AUDIT_READ: _("Read the audit log (administrators)"),
}
ALL_SCOPES: Final[tuple[str, ...]] = tuple(SCOPE_LABELS)


def scopes_unknown(scopes: Iterable[str]) -> list[str]:
    """Return the names in SCOPES that are not scopes, in the order given."""
    return [scope for scope in scopes if scope not in SCOPE_LABELS]


def scopes_normalised(scopes: Iterable[str]) -> list[str]:
    """Return SCOPES without duplicates, in the vocabulary's order."""
    given = set(scopes)
    return [scope for scope in ALL_SCOPES if scope in given]
