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
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import SimpleLazyObject
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect, reswap, retarget

from tiski.accounts.roles import ASSIGN_ANY, MANAGE_TOKENS, WORK_CASES, can_read_cases
from tiski.accounts.scope import case_scope
from tiski.accounts.services import api_token_issue, api_token_revoke
from tiski.cases.exceptions import CaseClosedError, CaseError, CaseNotFoundError, CasePermissionError
from tiski.cases.models import Attachment, Case, Message
from tiski.cases.selectors import (
    attachment_get_for_agent,
    case_get_for_agent,
    case_list,
    case_timeline,
)
from tiski.cases.services import case_split, case_update, message_reply, note_add
from tiski.channels.email.inbound import Outcome, QuarantineResolvedError, quarantine_dismiss, quarantine_reprocess
from tiski.channels.models import ChannelKind, QuarantinedMail
from tiski.console import forms
from tiski.console.email_html import CSP_BLOCKED, CSP_REMOTE, cid_rewrite, inline_token, inline_token_valid
from tiski.console.selectors import (
    ConsoleNotFoundError,
    ConsolePermissionError,
    api_token_get_for,
    api_tokens_for,
    case_chat_state,
    case_page,
    customer_panel,
    filter_choices,
    inbox_signals,
    inline_image_get,
    local_mailbox_enabled,
    message_get_for,
    message_splits,
    messages_with_source,
    quarantine_get,
    quarantine_list,
    quarantine_unresolved_count,
    reply_channel_for,
    sent_mail_get,
    sent_mail_list,
    timeline_pending,
    token_owner_for,
)
from tiski.core.files import file_response
from tiski.customers.selectors import customer_timeline
from tiski.notifications.selectors import is_following

P = ParamSpec("P")
View = Callable[Concatenate[HttpRequest, P], HttpResponseBase]
TZ_COOKIE = "tiski_tz"


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def agent_required(view: View[P]) -> View[P]:
    """Let agents in: anonymous users go to the login page, users who may not see cases get 403.

    A read-only user (VIEW_CASES without WORK_CASES) may read; any other method gets 403 unless the view is
    marked with :func:`viewer_may_post` (following). Also activate the time zone the browser reported, so
    times read in the agent's own zone.
    """

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: P.args, **kwargs: P.kwargs) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not can_read_cases(request.user):
            raise PermissionDenied(_("Your account cannot work on cases. Ask an administrator for the agent role."))
        if (
            request.method not in SAFE_METHODS
            and not getattr(view, "viewer_may_post", False)
            and not request.user.has_perm(WORK_CASES)
        ):
            raise PermissionDenied(_("Your account can read cases but not change them."))
        _activate_time_zone(request)
        return view(request, *args, **kwargs)

    return wrapper


def worker_required(view: View[P]) -> View[P]:
    """Like :func:`agent_required`, but for pages only those who work cases use (macros): read-only users get 403."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: P.args, **kwargs: P.kwargs) -> HttpResponseBase:
        if request.user.is_authenticated and can_read_cases(request.user) and not request.user.has_perm(WORK_CASES):
            raise PermissionDenied(_("Your account can read cases but not change them."))
        return agent_required(view)(request, *args, **kwargs)

    return wrapper


def viewer_may_post(view: View[P]) -> View[P]:
    """Mark VIEW as one a read-only user may post to too (following a case or customer, reading notifications)."""
    view.viewer_may_post = True  # type: ignore[attr-defined]
    return view


def _require_work(request: HttpRequest) -> None:
    """Refuse a read-only user (403: they may see the case, not change it)."""
    if not request.user.has_perm(WORK_CASES):
        raise PermissionDenied(_("Your account can read cases but not change them."))


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
        "signals": inbox_signals(user=_user(request), cases=page.cases),
        "filters": filters,
        "query": query.urlencode(),
        "choices": filter_choices(user=_user(request)),
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
        "with_source": messages_with_source(case=case),
        "splits": message_splits(case=case),
        "related": list(case.related.filter(case_scope(user)).order_by("-created_at")),
        "pending": timeline_pending(case=case),
        "can_assign": user.has_perm(ASSIGN_ANY),
        "can_work": user.has_perm(WORK_CASES),
        # Read only by the header, so the timeline's polling does not pay for it.
        "case_follow": SimpleLazyObject(
            lambda: {
                "target": "case",
                "url": reverse("console:case-follow", args=[case.reference]),
                "on": is_following(user=user, case=case),
            }
        ),
        "choices": filter_choices(user=user),
        "statuses": Case.Status.choices,
        "priorities": Case.Priority.choices,
    }


@require_GET
@agent_required
def case_detail(request: HttpRequest, reference: str) -> HttpResponse:
    case = _case_or_404(request, reference)
    context = _case_context(request, case)
    context |= case_pane_context(request, case, related=context["related"])
    context |= {
        "reply_form": forms.ReplyForm(),
        "note_form": forms.NoteForm(),
        "chat": case_chat_state(case=case),
        "reply_channel": reply_channel_for(case=case),
    }
    return render(request, "console/case.html", context)


EARLIER_CONTACTS = 3


def case_pane_context(request: HttpRequest, case: Case, *, related: list[Case] | None = None) -> dict[str, Any]:
    """Return what the customer pane beside CASE shows: a compact 360° of the case's customer."""
    user = _user(request)
    customer = case.customer
    panel = customer_panel(user=user, customer=customer, case=case, records_latest=2, cases_shown=(10, 5))
    earlier = customer_timeline(
        user=user, customer=customer, kinds={"messages"}, limit=EARLIER_CONTACTS, exclude_case_id=case.pk
    )
    return {
        "case": case,
        "panel": panel,
        "related": related
        if related is not None
        else list(case.related.filter(case_scope(user)).order_by("-created_at")),
        "earlier": earlier.entries,
        "follow": {
            "target": "customer",
            "url": reverse("console:customer-follow", args=[customer.pk]),
            "on": panel.following,
        },
    }


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
            channel=reply_channel_for(case=case),
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
def attachment_download(request: HttpRequest, pk: int, filename: str) -> HttpResponseBase:
    """Serve an attachment to an agent; an inline image of a formatted email may carry a signed token instead.

    The formatted email is shown in a sandboxed frame with an opaque origin, whose image requests carry no
    session cookie, so the frame's cid: images are links signed for that one attachment.
    """
    token = request.GET.get("inline")
    if token is not None:
        return _inline_image(pk, filename, token)
    return _attachment_for_agent(request, pk, filename)


def _inline_image(pk: int, filename: str, token: str) -> FileResponse:
    if not inline_token_valid(token, pk):
        raise PermissionDenied(_("This image link has expired. Reload the case."))
    try:
        attachment = inline_image_get(attachment_id=pk, filename=filename)
    except ConsoleNotFoundError:
        raise Http404(_("No such attachment.")) from None
    return _file_response(attachment, as_attachment=False)


@agent_required
def _attachment_for_agent(request: HttpRequest, pk: int, filename: str) -> FileResponse:
    try:
        attachment = attachment_get_for_agent(user=_user(request), attachment_id=pk)
    except CaseNotFoundError:
        raise Http404(_("No such attachment.")) from None
    if attachment.filename != filename:
        raise Http404(_("No such attachment."))
    return _file_response(attachment, as_attachment=True)


def _file_response(attachment: Attachment, *, as_attachment: bool) -> FileResponse:
    return file_response(
        file=attachment.file.open("rb"),
        filename=attachment.filename,
        content_type=attachment.content_type,
        inline=not as_attachment,
    )


def _message_or_404(request: HttpRequest, pk: int) -> Message:
    try:
        return message_get_for(user=_user(request), message_id=pk)
    except ConsoleNotFoundError:
        raise Http404(_("No such message.")) from None


@require_http_methods(["GET", "POST"])
@agent_required
def message_split(request: HttpRequest, pk: int) -> HttpResponse:
    """ "New case from this message": GET the inline form, POST it to open the new case and go there."""
    message = _message_or_404(request, pk)
    _require_work(request)
    old = message.case
    if message.direction != Message.Direction.IN:
        error = _("Only a message from the customer can start a new case.")
        return _case_failed(request, old, error, 400, f"split-{pk}")
    form = forms.SplitForm(request.POST if request.method == "POST" else None, initial=forms.split_initial(message))
    context = {"message": message, "case": old, "form": form, "types": Case.Type.choices}
    if request.method == "GET":
        return render(request, "console/_split_form.html" if _is_htmx(request) else "console/split.html", context)
    if not form.is_valid():
        return _split_failed(request, context, _form_error(form))
    try:
        new = case_split(
            message=message, actor=_user(request), subject=form.cleaned_data["subject"], type=form.cleaned_data["type"]
        )
    except CaseError as exc:
        return _split_failed(request, context, str(exc), status=_status_for(exc))
    messages.success(
        request, _("%(new)s opened from a message of %(old)s.") % {"new": new.reference, "old": old.reference}
    )
    url = reverse("console:case", args=[new.reference])
    return HttpResponseClientRedirect(url) if _is_htmx(request) else redirect(url)


def _split_failed(request: HttpRequest, context: dict[str, Any], error: str, status: int = 400) -> HttpResponse:
    if _is_htmx(request):
        return render(request, "console/_split_form.html", context | {"error": error}, status=status)
    messages.error(request, error)
    return redirect("console:case", reference=context["case"].reference)


@require_GET
@never_cache
@xframe_options_sameorigin
@agent_required
def message_html(request: HttpRequest, pk: int) -> HttpResponse:
    """Return a message's HTML as its own document, for a sandboxed frame: no scripts, remote images on request."""
    message = _message_or_404(request, pk)
    if not message.body_html:
        raise Http404(_("This message has no formatted version."))

    def url_for(attachment: Attachment) -> str:
        url = reverse("console:attachment", args=[attachment.pk, attachment.filename])
        return f"{url}?inline={inline_token(attachment.pk)}"

    body = cid_rewrite(message.body_html, message.attachments.all(), url_for)
    # The HTML was sanitised with nh3 when it was stored; the frame's policy also forbids scripts.
    response = render(request, "console/message_html.html", {"body": mark_safe(body)})  # noqa: S308
    response["Content-Security-Policy"] = CSP_REMOTE if request.GET.get("remote") == "1" else CSP_BLOCKED
    response["Referrer-Policy"] = "no-referrer"
    return response


def _source_kind(message: Message, raw: bytes) -> tuple[str, str]:
    """Return the file extension and content type of MESSAGE's original source RAW."""
    if message.channel.kind == ChannelKind.EMAIL:
        return "eml", "message/rfc822"
    if raw.lstrip()[:1] in (b"{", b"["):
        return "json", "application/json"
    return "txt", "text/plain; charset=utf-8"


@require_GET
@agent_required
def message_original(request: HttpRequest, pk: int) -> HttpResponse:
    """Download a message's original source as it arrived: the .eml of a mail, the payload of other channels."""
    message = _message_or_404(request, pk)
    raw = bytes(message.raw or b"")
    if not raw:
        raise Http404(_("The original of this message is not kept."))
    extension, content_type = _source_kind(message, raw)
    return _download(raw, f"message-{message.pk}.{extension}", content_type)


def _download(raw: bytes, filename: str, content_type: str) -> HttpResponse:
    response = HttpResponse(raw, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
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
            issued = api_token_issue(user=owner, name=form.cleaned_data["name"], scopes=form.cleaned_data["scopes"])
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


def _quarantined(request: HttpRequest, pk: int, *, change: bool) -> QuarantinedMail:
    try:
        return quarantine_get(user=_user(request), item_id=pk, change=change)
    except ConsolePermissionError as exc:
        raise PermissionDenied(str(exc)) from None
    except ConsoleNotFoundError:
        raise Http404(_("No such quarantined mail.")) from None


def _quarantine_row(request: HttpRequest, item: QuarantinedMail, outcome: dict[str, Any]) -> HttpResponse:
    """Answer an action on one quarantined mail: its row with the outcome (htmx), else the list with a message."""
    if _is_htmx(request):
        count = quarantine_unresolved_count(user=_user(request))
        context = {"item": item, "size": len(item.raw), "outcome": outcome, "quarantine_count": count, "oob": True}
        return render(request, "console/_quarantine_row.html", context)
    level = messages.error if outcome["kind"] == "failed" else messages.success
    level(request, outcome["text"])
    return redirect("console:quarantine")


@require_GET
@agent_required
def quarantine(request: HttpRequest) -> HttpResponse:
    try:
        items = list(quarantine_list(user=_user(request)))
    except ConsolePermissionError as exc:
        raise PermissionDenied(str(exc)) from None
    return render(request, "console/quarantine.html", {"items": items})


@require_GET
@agent_required
def quarantine_raw(request: HttpRequest, pk: int) -> HttpResponse:
    item = _quarantined(request, pk, change=False)
    return _download(bytes(item.raw), f"quarantined-{item.pk}.eml", "message/rfc822")


@require_POST
@agent_required
def quarantine_reprocess_view(request: HttpRequest, pk: int) -> HttpResponse:
    item = _quarantined(request, pk, change=True)
    if item.resolved_at is not None:
        return _quarantine_row(request, item, {"kind": "done", "text": _("This mail was already handled.")})
    result = quarantine_reprocess(item=item)
    if result.outcome is Outcome.QUARANTINED:
        text = _("Still failing: %(reason)s") % {"reason": item.reason}
        return _quarantine_row(request, item, {"kind": "failed", "text": text})
    if result.receipt is not None:
        case = result.receipt.case
        text = _("Stored as %(reference)s.") % {"reference": case.reference}
        return _quarantine_row(request, item, {"kind": "stored", "text": text, "case": case})
    return _quarantine_row(request, item, {"kind": "stored", "text": _("Recorded as a delivery failure report.")})


@require_http_methods(["GET", "POST"])
@agent_required
def quarantine_dismiss_view(request: HttpRequest, pk: int) -> HttpResponse:
    """GET asks to confirm; POST marks the mail resolved without storing it."""
    item = _quarantined(request, pk, change=True)
    if request.method == "GET":
        template = "console/_quarantine_confirm.html" if _is_htmx(request) else "console/quarantine_confirm.html"
        return render(request, template, {"item": item})
    try:
        item = quarantine_dismiss(item=item)
    except QuarantineResolvedError:
        return _quarantine_row(request, item, {"kind": "done", "text": _("This mail was already handled.")})
    return _quarantine_row(request, item, {"kind": "dismissed", "text": _("Dismissed; the mail was not stored.")})
