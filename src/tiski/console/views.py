"""The agent console: thin views over the case selectors and services, rendering pages and htmx partials."""

from __future__ import annotations

import functools
import zoneinfo
from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.models import User
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import reswap, retarget

from tiski.accounts.roles import ASSIGN_ANY, MANAGE_TOKENS, WORK_CASES
from tiski.accounts.services import api_token_issue, api_token_revoke
from tiski.cases.exceptions import CaseClosedError, CaseError, CaseNotFoundError, CasePermissionError
from tiski.cases.models import Case
from tiski.cases.selectors import (
    attachment_get_for_agent,
    case_get_for_agent,
    case_list,
    case_timeline,
    customer_other_cases,
)
from tiski.cases.services import case_update, message_reply, note_add
from tiski.console import forms
from tiski.console.selectors import (
    ConsoleNotFoundError,
    ConsolePermissionError,
    api_token_get_for,
    api_tokens_for,
    case_page,
    filter_choices,
    local_mailbox_enabled,
    sent_mail_get,
    sent_mail_list,
    timeline_pending,
    token_owner_for,
)

P = ParamSpec("P")
View = Callable[Concatenate[HttpRequest, P], HttpResponseBase]
TZ_COOKIE = "tiski_tz"


def agent_required(view: View[P]) -> View[P]:
    """Let agents in: anonymous users go to the login page, users without WORK_CASES get 403.

    Also activate the time zone the browser reported, so times read in the agent's own zone.
    """

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: P.args, **kwargs: P.kwargs) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not request.user.has_perm(WORK_CASES):
            raise PermissionDenied(_("Your account cannot work on cases. Ask an administrator for the agent role."))
        _activate_time_zone(request)
        return view(request, *args, **kwargs)

    return wrapper


def _activate_time_zone(request: HttpRequest) -> None:
    name = request.COOKIES.get(TZ_COOKIE, "")
    try:
        timezone.activate(zoneinfo.ZoneInfo(name)) if name else timezone.deactivate()
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        timezone.deactivate()


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _is_htmx(request: HttpRequest) -> bool:
    """Return whether htmx sent REQUEST (django-htmx's middleware sets request.htmx)."""
    return bool(getattr(request, "htmx", False))


def _status_for(exc: CaseError) -> int:
    if isinstance(exc, CasePermissionError):
        return 403
    if isinstance(exc, CaseNotFoundError):
        return 404
    if isinstance(exc, CaseClosedError):
        return 409
    return 400


def _case_or_404(request: HttpRequest, reference: str) -> Case:
    try:
        return case_get_for_agent(user=_user(request), reference=reference)
    except CaseNotFoundError:
        raise Http404(_("No case %(reference)s.") % {"reference": reference}) from None


@require_GET
@agent_required
def inbox(request: HttpRequest) -> HttpResponse:
    filters = forms.inbox_filters(request.GET)
    page = case_page(
        cases=case_list(user=_user(request), filters=filters),
        number=forms.page_number(request.GET),
        per_page=settings.TISKI_INBOX_PAGE_SIZE,
    )
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "page": page,
        "filters": filters,
        "query": query.urlencode(),
        "choices": filter_choices(),
        "priorities": list(Case.Priority.choices)[::-1],
        "statuses": Case.Status.choices,
    }
    if _is_htmx(request) and getattr(request, "htmx").target == "case-list":  # noqa: B009
        return render(request, "console/_inbox_list.html", context)
    return render(request, "console/inbox.html", context)


def _case_context(request: HttpRequest, case: Case) -> dict[str, Any]:
    user = _user(request)
    return {
        "case": case,
        "timeline": case_timeline(case=case),
        "pending": timeline_pending(case=case),
        "can_assign": user.has_perm(ASSIGN_ANY),
        "choices": filter_choices(),
        "statuses": Case.Status.choices,
        "priorities": Case.Priority.choices,
    }


@require_GET
@agent_required
def case_detail(request: HttpRequest, reference: str) -> HttpResponse:
    case = _case_or_404(request, reference)
    context = _case_context(request, case)
    context |= {
        "other_cases": customer_other_cases(case=case),
        "identities": list(case.customer.identities.all()),
        "reply_form": forms.ReplyForm(),
        "note_form": forms.NoteForm(),
    }
    return render(request, "console/case.html", context)


@require_GET
@agent_required
def case_timeline_partial(request: HttpRequest, reference: str) -> HttpResponse:
    case = _case_or_404(request, reference)
    return render(request, "console/_timeline.html", _case_context(request, case))


def _case_changed(request: HttpRequest, case: Case, notice: str) -> HttpResponse:
    """Answer a successful post: fresh header and timeline for htmx, else back to the case page."""
    if _is_htmx(request):
        case = _case_or_404(request, case.reference)
        return render(request, "console/_case_fragments.html", _case_context(request, case) | {"notice": notice})
    messages.success(request, notice)
    return redirect("console:case", reference=case.reference)


def _case_failed(request: HttpRequest, case: Case, error: str, status: int, target: str) -> HttpResponse:
    """Answer a refused post with the reason, in the form's error slot (htmx) or as a message."""
    if _is_htmx(request):
        response = render(request, "console/_form_error.html", {"error": error}, status=status)
        return reswap(retarget(response, f"#{target}"), "innerHTML")
    messages.error(request, error)
    response = redirect("console:case", reference=case.reference)
    return response


def _form_error(form: Any) -> str:
    return " ".join(str(e) for errors in form.errors.values() for e in errors)


@require_POST
@agent_required
def case_reply(request: HttpRequest, reference: str) -> HttpResponse:
    case = _case_or_404(request, reference)
    form = forms.ReplyForm(request.POST)
    if not form.is_valid():
        return _case_failed(request, case, _form_error(form), 400, "reply-errors")
    try:
        message_reply(
            case=case,
            actor=_user(request),
            body=form.cleaned_data["body"],
            files=form.files_in(request.FILES.getlist("files")),
            status_after=form.cleaned_data["status_after"] or None,
        )
    except CaseError as exc:
        return _case_failed(request, case, str(exc), _status_for(exc), "reply-errors")
    return _case_changed(request, case, _("Reply queued for sending."))


@require_POST
@agent_required
def case_note(request: HttpRequest, reference: str) -> HttpResponse:
    case = _case_or_404(request, reference)
    form = forms.NoteForm(request.POST)
    if not form.is_valid():
        return _case_failed(request, case, _form_error(form), 400, "note-errors")
    try:
        note_add(case=case, actor=_user(request), body=form.cleaned_data["body"])
    except CaseError as exc:
        return _case_failed(request, case, str(exc), _status_for(exc), "note-errors")
    return _case_changed(request, case, _("Internal note added."))


@require_POST
@agent_required
def case_update_view(request: HttpRequest, reference: str) -> HttpResponse:
    case = _case_or_404(request, reference)
    form = forms.CaseUpdateForm(request.POST)
    try:
        if not form.is_valid():
            return _case_failed(request, case, _form_error(form), 400, "update-errors")
        case_update(case=case, actor=_user(request), **form.changes())
    except ValidationError as exc:
        return _case_failed(request, case, " ".join(exc.messages), 400, "update-errors")
    except CaseError as exc:
        return _case_failed(request, case, str(exc), _status_for(exc), "update-errors")
    return _case_changed(request, case, _("Case updated."))


@require_GET
@agent_required
def attachment_download(request: HttpRequest, pk: int, filename: str) -> FileResponse:
    try:
        attachment = attachment_get_for_agent(user=_user(request), attachment_id=pk)
    except CaseNotFoundError:
        raise Http404(_("No such attachment.")) from None
    if attachment.filename != filename:
        raise Http404(_("No such attachment."))
    response = FileResponse(
        attachment.file.open("rb"),
        as_attachment=True,
        filename=attachment.filename,
        content_type=attachment.content_type or "application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@agent_required
def tokens(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    issued = None
    form = forms.TokenCreateForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                owner = token_owner_for(user=user, owner_id=form.cleaned_data["user"])
            except ConsolePermissionError as exc:
                raise PermissionDenied(str(exc)) from None
            except ConsoleNotFoundError:
                raise Http404(_("No such user.")) from None
            issued = api_token_issue(user=owner, name=form.cleaned_data["name"])
            form = forms.TokenCreateForm()
        else:
            status = 400
    context = {
        "tokens": api_tokens_for(user=user),
        "form": form,
        "issued": issued,
        "can_manage": user.has_perm(MANAGE_TOKENS),
        "agents": filter_choices().agents if user.has_perm(MANAGE_TOKENS) else [],
    }
    return render(request, "console/tokens.html", context, status=status)


@require_POST
@agent_required
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        token = api_token_get_for(user=_user(request), token_id=pk)
    except ConsoleNotFoundError:
        raise Http404(_("No such token.")) from None
    api_token_revoke(token=token)
    messages.success(request, _("Token “%(name)s” revoked; it no longer works.") % {"name": token.name})
    return redirect("console:tokens")


@require_GET
@agent_required
def sent_mail(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    name = request.GET.get("m", "")
    try:
        files = sent_mail_list(user=user)
        selected = sent_mail_get(user=user, name=name or files[0].name) if (name or files) else None
    except ConsolePermissionError as exc:
        raise PermissionDenied(str(exc)) from None
    except ConsoleNotFoundError:
        raise Http404(_("No such mail.")) from None
    context = {"files": files, "selected": selected, "enabled": local_mailbox_enabled()}
    return render(request, "console/sent_mail.html", context)
