"""Console pages of the audit log: the search page and its CSV export (administrators only)."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from typing import Any

from django.contrib.auth.models import Permission
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.handlers.asgi import ASGIRequest
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from tiski.audit.actions import ACTION_LABELS, ACTION_TONES, DETAIL_LABELS, action_label
from tiski.audit.models import AuditEntry
from tiski.audit.selectors import VIEW_AUDIT, AuditFilter, AuditFilterError, audit_actors, audit_entries
from tiski.audit.services import audit_record
from tiski.console.views import _activate_time_zone
from tiski.reports.exports import CSV_TYPE, BatchedCsv, safe_text

PER_PAGE = 50
EXPORT_LIMIT = 1_000_000
EXPORT_BATCH = 2_000
CSV_HEADER = ["at", "actor", "action", "target_type", "target_id", "target", "ip", "user_agent", "request_id", "detail"]


def audit_viewer_required(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Let administrators in: anonymous users go to the login page, everyone else gets 403."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not request.user.has_perm(VIEW_AUDIT):
            raise PermissionDenied(_("Only administrators can read the audit log."))
        _activate_time_zone(request)  # times in the administrator's own zone, as on every console page
        return view(request, *args, **kwargs)

    return wrapper


def _page_number(request: HttpRequest) -> int:
    value = request.GET.get("page", "1")
    return max(1, min(int(value), 10_000)) if value.isdigit() else 1


@require_GET
@audit_viewer_required
def audit_log(request: HttpRequest) -> HttpResponse:
    """The log, newest first, filtered by the query; pages of PER_PAGE without counting the whole table."""
    error = ""
    try:
        flt = AuditFilter.from_query(request.GET)
    except AuditFilterError as exc:
        flt, error = AuditFilter(), str(exc)
    number = _page_number(request)
    offset = (number - 1) * PER_PAGE
    rows = list(audit_entries(flt=flt)[offset : offset + PER_PAGE + 1])
    shown = rows[:PER_PAGE]
    names = _permission_names(shown)
    entries = [_row(entry, names) for entry in shown]
    query = flt.to_query()
    context = {
        "flt": flt,
        "error": error,
        "entries": entries,
        "page": number,
        "has_next": len(rows) > PER_PAGE,
        "query": query,
        "actions": [(code, str(label)) for code, label in ACTION_LABELS.items()],
        "actors": audit_actors(),
        "today": timezone.localdate(),
    }
    return render(request, "audit/log.html", context, status=400 if error else 200)


def _permission_names(entries: Sequence[AuditEntry]) -> dict[str, str]:
    """The names of the permissions the permission changes among ENTRIES name ("cases.view_case" -> "Can view
    case"), in one query; the entry keeps the code, which stays true if a permission is renamed."""
    codes = {
        code
        for entry in entries
        if entry.action == "permission.change" and isinstance(entry.detail, dict)
        for value in entry.detail.values()
        if isinstance(value, list)
        for code in value
        if isinstance(code, str) and code.count(".") == 1
    }
    if not codes:
        return {}
    wanted = Q()
    for code in codes:
        app_label, codename = code.split(".")
        wanted |= Q(content_type__app_label=app_label, codename=codename)
    rows = Permission.objects.filter(wanted).values_list("content_type__app_label", "codename", "name")
    return {f"{app_label}.{codename}": name for app_label, codename, name in rows}


def _row(entry: AuditEntry, names: dict[str, str]) -> dict[str, Any]:
    return {
        "entry": entry,
        "label": action_label(entry.action),
        "tone": ACTION_TONES.get(entry.action, "plain"),
        "family": entry.action.split(".", 1)[0],
        "detail": _detail_text(entry.detail, names),
    }


def _detail_text(detail: Any, names: dict[str, str]) -> str:
    """Return DETAIL as short `key: value` pairs for the table, codes shown by NAMES (the full JSON is in the
    export and the API)."""
    if not isinstance(detail, dict) or not detail:
        return ""
    parts = []
    for key, value in detail.items():
        if isinstance(value, list):
            shown = ", ".join(names.get(str(v), str(v)) for v in value[:6]) + (" …" if len(value) > 6 else "")
        elif isinstance(value, dict) and set(value) == {"old", "new"}:
            shown = f"{_plain(value['old'])} → {_plain(value['new'])}"
        elif isinstance(value, dict):
            shown = json.dumps(value, ensure_ascii=False)[:80]
        else:
            shown = str(value)
        parts.append(f"{DETAIL_LABELS.get(key, key)}: {shown}")
    return " · ".join(parts)


def _plain(value: Any) -> str:
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    return "–" if value in (None, "") else str(value)


@require_GET
@audit_viewer_required
def audit_export(request: HttpRequest) -> HttpResponseBase:
    """The entries of the page's filter as a CSV download, streamed newest first (at most EXPORT_LIMIT)."""
    try:
        flt = AuditFilter.from_query(request.GET)
    except AuditFilterError as exc:
        return HttpResponse(str(exc) + "\n", status=400, content_type="text/plain; charset=utf-8")
    audit_record(action="audit.export", actor=request.user, target_label="audit.csv", detail=flt.to_query())
    rows = AuditRows(audit_entries(flt=flt))
    content = rows.alines() if isinstance(request, ASGIRequest) else rows.lines()
    response = StreamingHttpResponse(content, content_type=CSV_TYPE)
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="tiski-audit-{stamp}.csv"'
    response["Cache-Control"] = "private, no-store"
    return response


class AuditRows(BatchedCsv):
    """The entries of QS newest first as CSV cells, fetched in batches by key (no cursor held between them)."""

    header = CSV_HEADER

    def __init__(self, qs: QuerySet[AuditEntry], limit: int = EXPORT_LIMIT) -> None:
        self.qs = qs.order_by("-at", "-id")
        self.zone = timezone.get_current_timezone()
        self.limit = limit
        self.last: AuditEntry | None = None
        self.sent = 0

    def batch(self) -> list[list[str]]:
        size = min(EXPORT_BATCH, self.limit - self.sent)
        if size <= 0:
            return []
        qs = self.qs
        if self.last is not None:
            qs = qs.filter(Q(at__lt=self.last.at) | Q(at=self.last.at, id__lt=self.last.pk))
        entries = list(qs[:size])
        if entries:
            self.last = entries[-1]
            self.sent += len(entries)
        return [self._cells(entry) for entry in entries]

    def _cells(self, entry: AuditEntry) -> list[str]:
        return [
            entry.at.astimezone(self.zone).isoformat(),
            safe_text(entry.actor_label),
            entry.action,
            entry.target_type.model if entry.target_type else "",
            entry.target_id,
            safe_text(entry.target_label),
            entry.ip,
            safe_text(entry.user_agent),
            entry.request_id,
            safe_text(json.dumps(entry.detail, ensure_ascii=False, sort_keys=True)),
        ]
