"""The public survey page, /survey/<token>/: no login, the signed link is the key; the customer's language.

GET shows the question (with ?score=N from the email's buttons already chosen: a GET never stores an answer, so
a mail scanner opening every link answers nothing); POST stores the answer (CSRF-checked) and redirects to the
thank-you page. A changed or foreign token answers 400, an expired one 410, each with a page saying so. The page
shows the company's name and the case reference, nothing else of the case.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils import formats, timezone, translation
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from tiski.channels.webform.services import company_name
from tiski.surveys.links import SurveyLinkError, survey_token_open
from tiski.surveys.models import SCALE, SurveyInvitation, SurveyResponse
from tiski.surveys.services import SurveyInvalidError, question_text, scale_labels, survey_answer

LANGUAGES = dict(settings.LANGUAGES)


def _language(request: HttpRequest, default: str) -> str:
    asked = request.GET.get("lang", "")
    if asked in LANGUAGES:
        return asked
    return default if default in LANGUAGES else settings.LANGUAGE_CODE


def _switch(request: HttpRequest, language: str) -> list[dict[str, Any]]:
    return [
        {"code": code, "name": name, "url": f"{request.path}?lang={code}", "current": code == language}
        for code, name in (("fi", "Suomi"), ("en", "English"))
    ]


def _finish(response: HttpResponse, language: str) -> HttpResponse:
    response["Content-Language"] = language
    response["Referrer-Policy"] = "same-origin"  # the token is in the address: never sent elsewhere
    response["X-Robots-Tag"] = "noindex"
    return response


def _link_error(request: HttpRequest, error: SurveyLinkError) -> HttpResponse:
    language = _language(request, (error.invitation.language if error.invitation else "") or "")
    with translation.override(language):
        context = {
            "company_name": company_name(),
            "language": language,
            "language_switch": _switch(request, language),
            "expired": error.code == "expired",
            "reference": error.invitation.case.reference if error.invitation else "",
        }
        response = render(request, "surveys/link_error.html", context, status=410 if error.code == "expired" else 400)
    return _finish(response, language)


@never_cache
@require_http_methods(["GET", "POST"])
def survey_page(request: HttpRequest, token: str) -> HttpResponse:
    """Show the survey of TOKEN, take its answer, or thank the customer."""
    try:
        invitation = survey_token_open(token)
    except SurveyLinkError as error:
        return _link_error(request, error)
    language = _language(request, invitation.language)
    problem = ""
    chosen: Any = request.GET.get("score", "")
    comment = ""
    with translation.override(language):
        if request.method == "POST":
            chosen, comment = request.POST.get("score", ""), request.POST.get("comment", "")
            try:
                survey_answer(invitation=invitation, score=chosen, comment=comment)
            except SurveyLinkError as link_error:
                return _link_error(request, link_error)
            except SurveyInvalidError as invalid:
                problem = str(invalid)
            else:
                return HttpResponseRedirect(f"{request.path}?lang={language}&done=1")
        response_row = SurveyResponse.objects.filter(invitation=invitation).first()
        if (
            request.method == "GET"
            and request.GET.get("done")
            and invitation.status == SurveyInvitation.Status.ANSWERED
        ):
            response = render(request, "surveys/thanks.html", _context(request, invitation, language, response_row))
            return _finish(response, language)
        if not chosen and response_row is not None:
            chosen, comment = response_row.score, response_row.comment
        context = _context(request, invitation, language, response_row, chosen=chosen, comment=comment, error=problem)
        response = render(request, "surveys/answer.html", context, status=400 if problem else 200)
    return _finish(response, language)


def _context(
    request: HttpRequest,
    invitation: SurveyInvitation,
    language: str,
    answered: SurveyResponse | None,
    **extra: Any,
) -> dict[str, Any]:
    low, high = SCALE[invitation.kind]
    low_label, high_label = scale_labels(invitation.kind)
    chosen = str(extra.pop("chosen", "") or "")
    expires = invitation.expires_at or timezone.now()
    return {
        "company_name": company_name(),
        "language": language,
        "language_switch": _switch(request, language),
        "reference": invitation.case.reference,
        "kind": invitation.kind,
        "question": question_text(invitation.kind, reference=invitation.case.reference),
        "scores": [{"value": n, "chosen": str(n) == chosen} for n in range(low, high + 1)],
        "low_label": low_label,
        "high_label": high_label,
        "answered": answered,
        "until": formats.date_format(timezone.localtime(expires), "DATE_FORMAT"),
        "change_url": f"{request.path}?lang={language}",
        **extra,
    }
