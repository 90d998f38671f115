"""How surveys hear of solved cases: the status change's event enqueues the scheduling task in its transaction."""

from __future__ import annotations

from django.apps import apps
from django.db.models.signals import post_migrate

from tiski import events
from tiski.cases.models import Case, CaseEvent


def connect() -> None:
    """Subscribe to status changes (from ready())."""
    events.subscribe(
        events.CaseEventRecorded,
        on_status_changed,
        when=lambda e: e.kind == CaseEvent.Kind.STATUS_CHANGED,
        inside=True,
    )
    post_migrate.connect(_settings_ensure, sender=apps.get_app_config("surveys"), dispatch_uid="tiski.surveys.settings")


def on_status_changed(event: events.CaseEventRecorded) -> None:
    """Enqueue the scheduling of a case's surveys when it becomes solved (only then: one query per change)."""
    data = CaseEvent.objects.filter(pk=event.event_id).values_list("data", flat=True).first() or {}
    if data.get("new") != Case.Status.SOLVED:
        return
    from tiski.surveys.models import SurveySettings

    if not SurveySettings.objects.filter(enabled=True).exists():
        return
    from tiski.surveys.tasks import survey_schedule

    survey_schedule.enqueue(case_id=event.case_id)


def _settings_ensure(**_kwargs: object) -> None:
    """Give a database emptied by a flush its settings rows back (off, with the defaults)."""
    from tiski.surveys.services import survey_settings_all

    survey_settings_all()
