"""The screen-pop of calls in the agent's console: pick the case a call is logged on, wrap up an ended call.

The screen-pop itself arrives over the console's WebSocket (tiski.routing.consumers: "call.changed") and is
drawn on every page load too (templatetags.console: screen_pop), so a lost push loses nothing.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.models import User
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from django_htmx.http import reswap, retarget

from tiski.accounts.roles import ASSIGN_ANY
from tiski.channels.voice.callbacks import CallbackError, callback_attempt_record, callback_cancel
from tiski.channels.voice.models import Call, CallbackRequest
from tiski.channels.voice.selectors import screen_pops_for
from tiski.channels.voice.services import CallError, call_case_pick, call_start, call_wrap_up
from tiski.console.views import _case_or_404, _is_htmx, _user, agent_required

REASON_CODES = (
    ("question", gettext_lazy("Question answered")),
    ("order", gettext_lazy("Order or delivery")),
    ("billing", gettext_lazy("Billing")),
    ("complaint", gettext_lazy("Complaint")),
    ("technical", gettext_lazy("Technical problem")),
    ("callback", gettext_lazy("Call back later")),
    ("other", gettext_lazy("Other")),
)


class WrapUpForm(forms.Form):
    reason_code = forms.ChoiceField(choices=(("", "—"), *REASON_CODES), required=False)
    note = forms.CharField(required=False, max_length=5000, widget=forms.Textarea)


def screen_pop_html(*, request: HttpRequest | None, user: User, oob: bool = False) -> str:
    """Return the #screen-pop region with USER's calls (as an out-of-band swap when OOB)."""
    return render_to_string(
        "console/_screen_pop.html",
        {"pops": screen_pops_for(user=user), "oob": oob, "reason_codes": REASON_CODES},
        request,
    )


def _call(request: HttpRequest, call_id: int) -> Call:
    """Return the call connected to the requesting agent (any call, for a team lead); 404 otherwise."""
    user = _user(request)
    calls = Call.objects.select_related("case", "customer")
    call = calls.filter(pk=call_id).first()
    if call is None or (call.agent_id != user.pk and not user.has_perm(ASSIGN_ANY)):
        raise Http404
    return call


def _answer(request: HttpRequest, error: str = "", *, case_reference: str = "") -> HttpResponse:
    if _is_htmx(request):
        response = HttpResponse(screen_pop_html(request=request, user=_user(request)))
        if error:
            # Escaped: the text may quote the telephony system's own answer.
            response = HttpResponse(format_html('<p class="screen-pop__error" role="alert">{}</p>', error), status=400)
            return reswap(retarget(response, "#screen-pop-errors"), "innerHTML")
        return retarget(reswap(response, "outerHTML"), "#screen-pop")
    if error:
        messages.error(request, error)
    return redirect("console:case", reference=case_reference) if case_reference else redirect("console:inbox")


@require_POST
@agent_required
def call_case(request: HttpRequest, call_id: int) -> HttpResponse:
    """Log the call on the case the agent picked in the screen-pop."""
    call = _call(request, call_id)
    case = _case_or_404(request, str(request.POST.get("case", ""))[:40])
    try:
        call_case_pick(call=call, case=case, actor=_user(request))
    except CallError as error:
        return _answer(request, str(error))
    return _answer(request)


@require_POST
@agent_required
def call_wrap_up_view(request: HttpRequest, call_id: int) -> HttpResponse:
    """Save the wrap-up of an ended call: its reason code, and the note on its case."""
    call = _call(request, call_id)
    form = WrapUpForm(request.POST)
    if not form.is_valid():
        return _answer(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
    try:
        data = form.cleaned_data
        call_wrap_up(call=call, actor=_user(request), note=data["note"], reason_code=data["reason_code"])
    except CallError as error:
        return _answer(request, str(error))
    return _answer(request)


@require_POST
@agent_required
def case_dial(request: HttpRequest, reference: str) -> HttpResponse:
    """Click-to-call: have the telephony system call the number for the agent; the call shows in the screen-pop."""
    case = _case_or_404(request, reference)
    try:
        call_start(case=case, actor=_user(request), number=str(request.POST.get("number", ""))[:40])
    except CallError as error:
        return _answer(request, str(error), case_reference=case.reference)
    return _answer(request, case_reference=case.reference)


# --- callback requests ------------------------------------------------------------------------------------------


def _callback(request: HttpRequest, request_id: int) -> CallbackRequest:
    """Return the callback request on a case the agent may see; 404 otherwise."""
    callback = CallbackRequest.objects.select_related("case").filter(pk=request_id).first()
    if callback is None:
        raise Http404
    _case_or_404(request, callback.case.reference)
    return callback


@require_POST
@agent_required
def callback_attempt_view(request: HttpRequest, request_id: int) -> HttpResponse:
    """Record how a callback attempt went (and the agent's note on the case)."""
    callback = _callback(request, request_id)
    outcome, note = str(request.POST.get("outcome", "")), str(request.POST.get("note", ""))[:5000]
    try:
        callback_attempt_record(request=callback, actor=_user(request), outcome=outcome, note=note)
    except CallbackError as error:
        messages.error(request, str(error))
    else:
        callback.refresh_from_db()
        messages.success(request, _callback_said(callback))
    return redirect("console:case", reference=callback.case.reference)


@require_POST
@agent_required
def callback_cancel_view(request: HttpRequest, request_id: int) -> HttpResponse:
    """Close a callback request without calling (the customer was helped otherwise)."""
    callback = _callback(request, request_id)
    try:
        callback_cancel(request=callback, actor=_user(request), reason=str(request.POST.get("note", ""))[:200])
    except CallbackError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("Callback request cancelled."))
    return redirect("console:case", reference=callback.case.reference)


def _callback_said(callback: CallbackRequest) -> str:
    if callback.status == CallbackRequest.Status.DONE:
        return _("Callback done: the customer was reached.")
    if callback.status == CallbackRequest.Status.SCHEDULED:
        return _("Attempt recorded; the callback is offered again %(when)s.") % {
            "when": formats.date_format(timezone.localtime(callback.next_attempt_at), "SHORT_DATETIME_FORMAT")
        }
    if callback.customer_told_at:
        return _("Attempts used up: the customer was told in writing that we could not reach them.")
    return _("Attempts used up: the customer could not be reached or told in writing; follow up on the case.")
