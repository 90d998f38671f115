"""Console pages of surveys: the responses with their filters and figures (team leads), the settings (admins)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from tiski.accounts.models import Team
from tiski.console.views import agent_required
from tiski.surveys.forms import SurveySettingsForm
from tiski.surveys.models import Kind
from tiski.surveys.selectors import BANDS, responses_figures, responses_list
from tiski.surveys.services import survey_settings_all

VIEW_RESPONSES = "surveys.view_surveyresponse"
MANAGE_SETTINGS = "surveys.change_surveysettings"
PER_PAGE = 50
PERIODS = {"7": 7, "30": 30, "90": 90, "365": 365}


def _requires(perm: str, refusal: Any) -> Callable[[Callable[..., HttpResponseBase]], Callable[..., HttpResponseBase]]:
    def decorator(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not request.user.has_perm(perm):
                raise PermissionDenied(str(refusal))
            return view(request, *args, **kwargs)

        return agent_required(wrapper)

    return decorator


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


@_requires(VIEW_RESPONSES, gettext_lazy("Only team leads and administrators can see survey responses."))
def responses_page(request: HttpRequest) -> HttpResponse:
    """The responses, newest first, filtered by kind, score band, agent, team and period; the figures above."""
    kind = request.GET.get("kind", "")
    band = request.GET.get("band", "")
    period = request.GET.get("period", "30")
    days = PERIODS.get(period)
    rows = responses_list(
        kind=kind,
        band=band,
        agent_id=_int(request.GET.get("agent")),
        team_id=_int(request.GET.get("team")),
        since=timezone.now() - timedelta(days=days) if days else None,
    )
    page = Paginator(rows, PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "page": page,
        "figures": responses_figures(rows),
        "kinds": Kind.choices,
        "bands": [(b, {"negative": _("Low"), "neutral": _("Neutral"), "positive": _("Good")}[b]) for b in BANDS],
        "periods": [
            ("7", _("7 days")),
            ("30", _("30 days")),
            ("90", _("90 days")),
            ("365", _("a year")),
            ("all", _("all")),
        ],
        "agents": User.objects.filter(agent__isnull=False, is_active=True).order_by("first_name", "username"),
        "teams": Team.objects.order_by("name"),
        "chosen": {
            "kind": kind,
            "band": band,
            "agent": request.GET.get("agent", ""),
            "team": request.GET.get("team", ""),
            "period": period,
        },
        "query": query.urlencode(),
        "can_manage": request.user.has_perm(MANAGE_SETTINGS),
    }
    return render(request, "surveys/responses.html", context)


@require_http_methods(["GET", "POST"])
@_requires(MANAGE_SETTINGS, gettext_lazy("Only administrators can change the survey settings."))
def settings_page(request: HttpRequest) -> HttpResponse:
    """The settings of both kinds, saved together."""
    rows = survey_settings_all()
    data = request.POST if request.method == "POST" else None
    forms = [SurveySettingsForm(data, instance=row, prefix=row.kind) for row in rows]
    if data is not None and all(form.is_valid() for form in forms):
        with transaction.atomic():
            for form in forms:
                row = form.save(commit=False)
                row.channel_kinds = sorted(form.cleaned_data["channel_kinds"])
                row.updated_by = request.user
                row.save()
        messages.success(request, _("Survey settings saved."))
        return redirect("survey_console:settings")
    return render(
        request, "surveys/settings.html", {"forms": forms, "invalid": data is not None}, status=400 if data else 200
    )
