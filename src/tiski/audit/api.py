"""GET /api/v1/audit: the audit log for administrators' tools (a SIEM, a compliance report)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from tiski.api.auth import require_perm
from tiski.api.errors import ApiError
from tiski.api.paging import PageIn, PageMeta, page_of
from tiski.api.schemas import AUTH_ERRORS, ErrorOut
from tiski.audit.models import AuditEntry
from tiski.audit.selectors import VIEW_AUDIT, AuditFilter, AuditFilterError, audit_entries

router = Router(tags=["audit"])


class AuditEntryOut(Schema):
    id: int
    at: datetime
    actor: str = Field(description="The username, kept when the user is deleted; empty for the system.")
    actor_id: int | None = Field(description="The user's id; null for the system or a deleted user.")
    action: str = Field(description="A dotted code such as auth.login, customer.merge, report.export.")
    target_type: str = Field(description='The target\'s kind as "app.model"; empty when there is none.')
    target_id: str
    target: str = Field(description="The target's label when the action happened.")
    detail: dict[str, Any]
    ip: str
    user_agent: str
    request_id: str

    @staticmethod
    def resolve_actor(obj: AuditEntry) -> str:
        return obj.actor_label

    @staticmethod
    def resolve_target_type(obj: AuditEntry) -> str:
        return f"{obj.target_type.app_label}.{obj.target_type.model}" if obj.target_type else ""

    @staticmethod
    def resolve_target(obj: AuditEntry) -> str:
        return obj.target_label


class AuditPage(PageMeta):
    items: list[AuditEntryOut]


class AuditFilters(Schema):
    actor: str = Field("", max_length=150, description="A username (whole, case-insensitive).")
    action: str = Field("", max_length=64, description="An action code (auth.login) or a family (auth).")
    target: str = Field("", max_length=200, description="Text in the target's label, or #id.")
    ip: str = Field("", max_length=49, description="An address or a network such as 10.0.0.0/8.")
    from_: date | None = Field(None, alias="from", description="The first day (YYYY-MM-DD, the site's time zone).")
    to: date | None = Field(None, description="The last day, included.")


@router.get(
    "/audit",
    response={200: AuditPage, 400: ErrorOut, **AUTH_ERRORS},
    summary="Search the audit log",
)
def audit_list(request: HttpRequest, filters: Query[AuditFilters], page: Query[PageIn]) -> dict[str, Any]:
    """List audit entries newest first: sign-ins, role and permission changes, customer merges and GDPR
    actions, exports, rule changes, bulk macros and API tokens. Administrators only."""
    require_perm(request, VIEW_AUDIT, "read the audit log")
    query = {
        "actor": filters.actor,
        "action": filters.action,
        "target": filters.target,
        "ip": filters.ip,
        "from": filters.from_.isoformat() if filters.from_ else "",
        "to": filters.to.isoformat() if filters.to else "",
    }
    try:
        flt = AuditFilter.from_query(query)
    except AuditFilterError as error:
        raise ApiError(400, "filter_invalid", str(error)) from None
    return page_of(request, audit_entries(flt=flt), page)
