"""The WhatsApp template picker: a partial the case view includes on WhatsApp cases (list, fill in, send)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required, permission_required
from django.contrib.auth.models import User
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from tiski.accounts.roles import WORK_CASES
from tiski.cases.exceptions import CaseClosedError, CaseError, CaseNotFoundError, CasePermissionError
from tiski.cases.models import Case
from tiski.cases.selectors import case_get_for_agent
from tiski.channels.meta.selectors import templates_for_case
from tiski.channels.meta.services import whatsapp_template_send


def _case(request: HttpRequest, reference: str) -> Case:
    try:
        return case_get_for_agent(user=_user(request), reference=reference)
    except CaseNotFoundError:
        raise Http404(reference) from None


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _picker(request: HttpRequest, case: Case, *, notice: str = "", error: str = "", status: int = 200) -> HttpResponse:
    templates = list(templates_for_case(case=case))
    rows = [(template, range(1, template.parameter_count + 1)) for template in templates]
    context = {"case": case, "rows": rows, "notice": notice, "error": error}
    return render(request, "meta/_template_picker.html", context, status=status)


@require_GET
@login_required
@permission_required(WORK_CASES, raise_exception=True)
def template_picker(request: HttpRequest, reference: str) -> HttpResponse:
    return _picker(request, _case(request, reference))


@require_POST
@login_required
@permission_required(WORK_CASES, raise_exception=True)
def template_send(request: HttpRequest, reference: str, template_id: int) -> HttpResponse:
    case = _case(request, reference)
    template = templates_for_case(case=case).filter(pk=template_id).first()
    if template is None:
        return _picker(request, case, error=_("That template is not an approved template of this number."), status=400)
    parameters = [request.POST.get(f"p{number}", "") for number in range(1, template.parameter_count + 1)]
    try:
        whatsapp_template_send(case=case, actor=_user(request), template=template, parameters=parameters)
    except CaseError as exc:
        status = 403 if isinstance(exc, CasePermissionError) else 409 if isinstance(exc, CaseClosedError) else 400
        return _picker(request, case, error=str(exc), status=status)
    response = _picker(request, case, notice=_("Template queued for sending."))
    response["HX-Trigger"] = "case-changed"
    return response
