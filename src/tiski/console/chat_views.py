"""Chat on the agent's side: canned replies for the composer, escalating a chat to a call, the transcript.

The live part (new messages, the customer typing, the widget's connection) arrives over the console's WebSocket
(tiski.routing.consumers); these views are the agent's actions. Every one checks server-side that the user works
cases and may see the case; escalating, ending a call and mailing the transcript also need the case to be the
agent's own (owner or holder of its routing work) unless they may assign any case.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRefresh, reswap, retarget

from tiski.accounts.roles import ASSIGN_ANY
from tiski.cases.exceptions import CaseError
from tiski.cases.models import Case
from tiski.cases.services import case_call_end, case_call_escalate
from tiski.channels.chat.exceptions import ChatError
from tiski.channels.chat.services import chat_transcript_email
from tiski.channels.models import ChannelKind
from tiski.console.selectors import canned_replies_for, canned_reply_fill
from tiski.console.views import _case_or_404, _is_htmx, _status_for, _user, agent_required
from tiski.routing.selectors import case_active_item


class CallForm(forms.Form):
    number = forms.CharField(
        max_length=40,
        strip=True,
        error_messages={"required": gettext_lazy("Give the number to call.")},
    )


class TranscriptForm(forms.Form):
    to = forms.EmailField(
        required=False, error_messages={"invalid": gettext_lazy("Give a valid email address for the transcript.")}
    )


def _may_act(user: User, case: Case) -> bool:
    """Return whether USER may act for CASE's customer: its owner, the agent holding its work, or a lead."""
    if case.owner_id == user.pk or user.has_perm(ASSIGN_ANY):
        return True
    item = case_active_item(case_id=case.pk)
    return item is not None and item.agent_id == user.pk


def _own_case(request: HttpRequest, reference: str) -> Case:
    case = _case_or_404(request, reference)
    if not _may_act(_user(request), case):
        raise PermissionDenied(_("Only the agent who has this case or a team lead can do this."))
    return case


def _done(request: HttpRequest, case: Case, notice: str) -> HttpResponse:
    messages.success(request, notice)
    if _is_htmx(request):
        return HttpResponseClientRefresh()
    return redirect("console:case", reference=case.reference)


def _failed(request: HttpRequest, case: Case, error: str, status: int, target: str = "chat-errors") -> HttpResponse:
    if _is_htmx(request):
        response = render(request, "console/_form_error.html", {"error": error}, status=status)
        return reswap(retarget(response, f"#{target}"), "innerHTML")
    messages.error(request, error)
    return redirect("console:case", reference=case.reference)


def _form_error(form: forms.Form) -> str:
    return " ".join(str(e) for errors in form.errors.values() for e in errors)


@require_GET
@agent_required
def canned_replies(request: HttpRequest, reference: str) -> HttpResponse:
    """Return the canned replies matching ?q= as the composer's picker lists them, filled in for this case."""
    case = _case_or_404(request, reference)
    user = _user(request)
    query = request.GET.get("q", "")[:100]
    replies = [
        {"reply": reply, "text": canned_reply_fill(body=reply.body, case=case, agent=user)}
        for reply in canned_replies_for(query=query, language=get_language() or "")
    ]
    return render(request, "console/_canned_list.html", {"replies": replies, "query": query, "case": case})


@require_POST
@agent_required
def case_call(request: HttpRequest, reference: str) -> HttpResponse:
    """Escalate the chat to a call to the number given: the case continues as a phone case."""
    case = _own_case(request, reference)
    form = CallForm(request.POST)
    if not form.is_valid():
        return _failed(request, case, _form_error(form), 400)
    try:
        event = case_call_escalate(case=case, actor=_user(request), number=form.cleaned_data["number"])
    except CaseError as exc:
        return _failed(request, case, str(exc), _status_for(exc))
    return _done(request, case, _("Call %(number)s now; the chat stays here.") % {"number": event.data["number"]})


@require_POST
@agent_required
def case_call_ended(request: HttpRequest, reference: str) -> HttpResponse:
    """Record that the call on the case ended (its length goes into the timeline)."""
    case = _own_case(request, reference)
    try:
        case_call_end(case=case, actor=_user(request))
    except CaseError as exc:
        return _failed(request, case, str(exc), _status_for(exc), "call-errors")
    return _done(request, case, _("Call ended and recorded."))


@require_POST
@agent_required
def case_transcript(request: HttpRequest, reference: str) -> HttpResponse:
    """Email the chat's transcript to the customer (their email address, or the one given)."""
    case = _own_case(request, reference)
    if not _was_chat(case):
        return _failed(request, case, _("This case has no chat to send."), 409)
    form = TranscriptForm(request.POST)
    if not form.is_valid():
        return _failed(request, case, _form_error(form), 400)
    to = form.cleaned_data["to"] or None
    try:
        chat_transcript_email(case=case, to=to)
    except ChatError as exc:
        return _failed(request, case, str(exc), 400)
    return _done(request, case, _("The chat transcript is on its way to the customer."))


def _was_chat(case: Case) -> bool:
    if case.channel is not None and case.channel.kind == ChannelKind.CHAT:
        return True
    return case.messages.filter(channel__kind=ChannelKind.CHAT).exists()
