"""Placeholders in the texts of rules and macros: Django template syntax over plain values, never over models.

A text such as ``Hei {{ customer.first_name }}, viite {{ case.reference }}.`` is compiled once (cached by its
source) and rendered with a small dictionary of strings, so a template can neither reach the database nor call
a method. Unknown placeholders render empty, as in Django.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.template import Context, Engine, Template, TemplateSyntaxError
from django.utils import formats, timezone, translation

from tiski.channels.webform.services import company_name

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from tiski.cases.models import Case

PLACEHOLDERS = (
    "customer.name",
    "customer.first_name",
    "case.reference",
    "case.subject",
    "agent.name",
    "agent.first_name",
    "company",
    "sla.due",
    "survey.score",
    "survey.comment",
)

_engine = Engine(autoescape=False, libraries={}, builtins=["django.template.defaultfilters"])


class TemplateInvalidError(ValueError):
    """The text's placeholders cannot be read."""


@functools.lru_cache(maxsize=512)
def _compiled(source: str) -> Template:
    return _engine.from_string(source)


def template_check(source: str) -> None:
    """Raise TemplateInvalidError when SOURCE is not a readable template."""
    try:
        _compiled(source)
    except TemplateSyntaxError as error:
        raise TemplateInvalidError(str(error)) from None


def _first(name: str) -> str:
    return name.split()[0] if name.strip() else ""


def placeholder_values(*, case: Case, actor: User | None) -> dict[str, Any]:
    """Return the values the placeholders of a text about CASE, sent by ACTOR (None: Tiski), stand for."""
    customer = case.customer
    agent_name = (actor.get_full_name() or actor.get_username()) if actor is not None else ""
    return {
        "customer": {"name": customer.name, "first_name": _first(customer.name)},
        "case": {"reference": case.reference, "subject": case.subject},
        "agent": {"name": agent_name, "first_name": _first(agent_name)},
        "company": company_name(),
        "sla": {"due": _due_text(case, customer.language or settings.LANGUAGE_CODE)},
        "survey": _survey_values(case),
    }


def _survey_values(case: Case) -> dict[str, Any]:
    """The case's latest survey answer (score, comment, kind), or empty values."""
    from tiski.surveys.models import SurveyResponse

    row = (
        SurveyResponse.objects.filter(case_id=case.pk)
        .order_by("-answered_at", "-pk")
        .values("score", "comment", "kind")
        .first()
    )
    return {"score": row["score"], "comment": row["comment"], "kind": row["kind"].upper()} if row else {}


def _due_text(case: Case, language: str) -> str:
    if case.sla_due_at is None:
        return ""
    with translation.override(language):
        return formats.date_format(timezone.localtime(case.sla_due_at), "SHORT_DATETIME_FORMAT")


def render(source: str, values: dict[str, Any]) -> str:
    """Render SOURCE with VALUES; raise TemplateInvalidError for an unreadable template."""
    template_check(source)
    return _compiled(source).render(Context(values, autoescape=False)).strip()
