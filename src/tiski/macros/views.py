"""Console pages of macros: the list and editor, the case page's macro menu, and bulk runs from the inbox."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from tiski.automation.actions import ACTIONS
from tiski.automation.templating import PLACEHOLDERS
from tiski.cases.exceptions import CaseNotFoundError
from tiski.cases.models import Case
from tiski.cases.selectors import case_get_for_agent
from tiski.console.forms import inbox_filters
from tiski.console.views import worker_required
from tiski.macros import forms
from tiski.macros.exceptions import (
    MacroInvalidError,
    MacroNotApplicableError,
    MacroNotFoundError,
    MacroPermissionError,
)
from tiski.macros.models import Macro, MacroRun, MacroUse
from tiski.macros.selectors import (
    can_manage_shared,
    macro_get_for,
    macro_preview_bulk,
    macro_preview_case,
    macros_for,
    run_get_for,
    run_outcomes,
    run_reasons,
    runs_recent_for,
    selection_case_ids,
    selection_visible_ids,
)
from tiski.macros.services import (
    MAX_BULK_CASES,
    macro_apply,
    macro_can_edit,
    macro_create,
    macro_delete,
    macro_run_start,
    macro_update,
)

FILTER_KEYS = ("status", "priority", "channel", "team", "owner", "q", "sla")


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _macro_or_404(request: HttpRequest, pk: int) -> Macro:
    try:
        return macro_get_for(user=_user(request), macro_id=pk)
    except MacroNotFoundError:
        raise Http404(_("No such macro.")) from None


def _case_or_404(request: HttpRequest, reference: str) -> Case:
    try:
        return case_get_for_agent(user=_user(request), reference=reference)
    except CaseNotFoundError:
        raise Http404(_("No case %(reference)s.") % {"reference": reference}) from None


def _is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


# ── the list and the editor ───────────────────────────────────────────────────────────────────────────────────


@require_GET
@worker_required
def macro_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    macros = list(macros_for(user=user))
    return render(
        request,
        "macros/list.html",
        {
            "shared": [m for m in macros if m.owner_id is None],
            "personal": [m for m in macros if m.owner_id is not None],
            "can_manage": can_manage_shared(user=user),
            "runs": runs_recent_for(user=user, limit=5),
        },
    )


def _editor_context(
    request: HttpRequest, *, macro: Macro | None, rows: list[forms.ActionRow], errors: list[str], data: Any = None
) -> dict[str, Any]:
    user = _user(request)
    actions_json = (
        data.get("actions_json")
        if data is not None and data.get("use_json")
        else json.dumps(
            macro.actions if macro and not rows else [_row_action(r) for r in rows], ensure_ascii=False, indent=2
        )
    )
    return {
        "macro": macro,
        "rows": rows or [forms.ActionRow(index=0, action="", values={})],
        "next_index": max([r.index for r in rows], default=0) + 1,
        "errors": errors,
        "actions": ACTIONS.values(),
        "placeholders": PLACEHOLDERS,
        "can_share": can_manage_shared(user=user) and (macro is None or macro.owner_id is None),
        "data": data,
        "name": data.get("name", "") if data is not None else (macro.name if macro else ""),
        "description": data.get("description", "") if data is not None else (macro.description if macro else ""),
        "active": bool(data.get("active")) if data is not None else (macro.active if macro else True),
        "shared": bool(data.get("shared")) if data is not None else (macro is not None and macro.owner_id is None),
        "actions_json": actions_json,
    }


def _row_action(row: forms.ActionRow) -> dict[str, Any]:
    return {"action": row.action, **{k: v for k, v in row.values.items() if str(v).strip()}}


@require_http_methods(["GET", "POST"])
@worker_required
def macro_new(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if request.method == "GET":
        return render(request, "macros/edit.html", _editor_context(request, macro=None, rows=[], errors=[]))
    rows: list[forms.ActionRow] = []
    try:
        raw, rows = forms.actions_from_post(request.POST)
        macro = macro_create(
            actor=user,
            name=request.POST.get("name", ""),
            description=request.POST.get("description", ""),
            actions=raw,
            shared=bool(request.POST.get("shared")),
            active=bool(request.POST.get("active")),
        )
    except MacroPermissionError as error:
        raise PermissionDenied(str(error)) from None
    except MacroInvalidError as error:
        context = _editor_context(request, macro=None, rows=rows, errors=error.errors, data=request.POST)
        return render(request, "macros/edit.html", context, status=400)
    messages.success(request, _("Macro “%(name)s” saved.") % {"name": macro.name})
    return redirect("macros:list")


@require_http_methods(["GET", "POST"])
@worker_required
def macro_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    macro = _macro_or_404(request, pk)
    if not macro_can_edit(user=user, macro=macro):
        raise PermissionDenied(_("Only team leads and administrators can change shared macros."))
    if request.method == "GET":
        context = _editor_context(request, macro=macro, rows=forms.rows_from_actions(macro.actions), errors=[])
        return render(request, "macros/edit.html", context)
    rows: list[forms.ActionRow] = []
    try:
        raw, rows = forms.actions_from_post(request.POST)
        macro = macro_update(
            macro=macro,
            actor=user,
            name=request.POST.get("name", ""),
            description=request.POST.get("description", ""),
            actions=raw,
            active=bool(request.POST.get("active")),
        )
    except MacroPermissionError as error:
        raise PermissionDenied(str(error)) from None
    except MacroInvalidError as error:
        context = _editor_context(request, macro=macro, rows=rows, errors=error.errors, data=request.POST)
        return render(request, "macros/edit.html", context, status=400)
    messages.success(request, _("Macro “%(name)s” saved.") % {"name": macro.name})
    return redirect("macros:list")


@require_POST
@worker_required
def macro_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    macro = _macro_or_404(request, pk)
    try:
        macro_delete(macro=macro, actor=_user(request))
    except MacroPermissionError as error:
        raise PermissionDenied(str(error)) from None
    messages.success(request, _("Macro “%(name)s” deleted.") % {"name": macro.name})
    return redirect("macros:list")


@require_GET
@worker_required
def action_row(request: HttpRequest) -> HttpResponse:
    """Return one editor row: a new empty one (after the posted indexes), or row INDEX with another action."""
    if request.GET.get("index", "").isdigit():
        row = forms.row_from_post(request.GET, int(request.GET["index"]))
    else:
        row = forms.ActionRow(index=max(forms.row_indexes(request.GET), default=-1) + 1, action="", values={})
    return render(request, "macros/_action_row.html", {"row": row, "actions": ACTIONS.values()})


# ── one case ──────────────────────────────────────────────────────────────────────────────────────────────────


@require_GET
@worker_required
def case_menu(request: HttpRequest, reference: str) -> HttpResponse:
    case = _case_or_404(request, reference)
    macros = list(macros_for(user=_user(request), active_only=True))
    return render(request, "macros/_case_menu_list.html", {"case": case, "macros": macros})


@require_GET
@worker_required
def case_preview(request: HttpRequest, reference: str, pk: int) -> HttpResponse:
    case = _case_or_404(request, reference)
    macro = _macro_or_404(request, pk)
    preview = macro_preview_case(macro=macro, case=case, actor=_user(request))
    return render(request, "macros/_case_preview.html", {"case": case, "macro": macro, "preview": preview})


@require_POST
@worker_required
def case_apply(request: HttpRequest, reference: str, pk: int) -> HttpResponseBase:
    case = _case_or_404(request, reference)
    macro = _macro_or_404(request, pk)
    try:
        macro_apply(macro=macro, case=case, actor=_user(request))
    except MacroNotApplicableError as error:
        if _is_htmx(request):
            preview = macro_preview_case(macro=macro, case=case, actor=_user(request))
            context = {"case": case, "macro": macro, "preview": preview, "error": str(error)}
            return render(request, "macros/_case_preview.html", context, status=409)
        messages.error(request, str(error))
        return redirect("console:case", reference=case.reference)
    messages.success(request, _("Macro “%(name)s” applied.") % {"name": macro.name})
    url = reverse("console:case", args=[case.reference])
    return HttpResponseClientRedirect(url) if _is_htmx(request) else redirect(url)


# ── many cases ────────────────────────────────────────────────────────────────────────────────────────────────


@require_GET
@worker_required
def bulk_options(request: HttpRequest) -> HttpResponse:
    """Return the inbox bulk bar's macro choices (loaded when the first case is selected, not with the inbox)."""
    macros = list(macros_for(user=_user(request), active_only=True))
    return render(request, "macros/_bulk_options.html", {"macros": macros})


def _selection(request: HttpRequest) -> tuple[list[int], bool, str]:
    """Return the selected case ids, whether "all matching" was chosen, and the filter as a query string."""
    user = _user(request)
    query = request.POST.copy()
    filter_query = query.copy()
    for key in list(filter_query):
        if key not in FILTER_KEYS:
            del filter_query[key]
    if request.POST.get("all") == "1":
        return selection_case_ids(user=user, filters=inbox_filters(filter_query)), True, filter_query.urlencode()
    ids = forms.case_ids_from_post(request.POST)
    return selection_visible_ids(user=user, case_ids=ids), False, filter_query.urlencode()


def _bulk_macro(request: HttpRequest) -> Macro | None:
    raw = request.POST.get("macro", "")
    return _macro_or_404(request, int(raw)) if raw.isdigit() else None


@require_POST
@worker_required
def bulk_preview(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    ids, all_matching, filter_query = _selection(request)
    macro = _bulk_macro(request)
    context: dict[str, Any] = {
        "macro": macro,
        "macros": list(macros_for(user=user, active_only=True)),
        "ids": ids,
        "all_matching": all_matching,
        "filter_query": filter_query,
        "filter_pairs": [(k, v) for k in FILTER_KEYS for v in request.POST.getlist(k)],
        "too_many": len(ids) > MAX_BULK_CASES,
        "max_cases": MAX_BULK_CASES,
    }
    error = ""
    if not ids:
        error = _("Select at least one case in the inbox first.")
    elif macro is None:
        error = _("Choose a macro to apply.")
    elif len(ids) > MAX_BULK_CASES:
        error = _("A macro runs on at most %(max)d cases at once; narrow the filter.") % {"max": MAX_BULK_CASES}
    else:
        context["preview"] = macro_preview_bulk(macro=macro, case_ids=ids, actor=user)
    context["error"] = error
    return render(request, "macros/bulk_preview.html", context, status=400 if error else 200)


@require_POST
@worker_required
def bulk_start(request: HttpRequest) -> HttpResponseBase:
    ids, _all, _query = _selection(request)
    macro = _bulk_macro(request)
    if macro is None:
        messages.error(request, _("Choose a macro to apply."))
        return redirect("console:inbox")
    try:
        run = macro_run_start(macro=macro, actor=_user(request), case_ids=ids)
    except MacroInvalidError as error:
        messages.error(request, " ".join(error.errors))
        return redirect("console:inbox")
    url = reverse("macros:run", args=[run.pk])
    return HttpResponseClientRedirect(url) if _is_htmx(request) else redirect(url)


def _run_context(request: HttpRequest, pk: int) -> dict[str, Any]:
    try:
        run = run_get_for(user=_user(request), run_id=pk)
    except MacroNotFoundError:
        raise Http404(_("No such macro run.")) from None
    finished = run.finished
    return {
        "run": run,
        "reasons": run_reasons(run=run) if finished else [],
        "skipped": run_outcomes(run=run, outcome=MacroUse.Outcome.SKIPPED) if finished else [],
        "failed": run_outcomes(run=run, outcome=MacroUse.Outcome.FAILED) if finished else [],
        "Status": MacroRun.Status,
    }


@require_GET
@worker_required
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return render(request, "macros/run.html", _run_context(request, pk))


@require_GET
@worker_required
def run_progress(request: HttpRequest, pk: int) -> HttpResponse:
    return render(request, "macros/_run_progress.html", _run_context(request, pk))
