"""How the knowledge base hears of cases: a case solved or reopened settles the articles used on it."""

from __future__ import annotations

from tiski import events
from tiski.cases.models import Case, CaseEvent
from tiski.knowledge.models import ArticleUse
from tiski.knowledge.services import article_uses_settle

_DONE = (Case.Status.SOLVED, Case.Status.CLOSED)


def connect() -> None:
    """Subscribe to case events inside the writing transaction (from ready())."""
    events.subscribe(
        events.CaseEventRecorded,
        on_case_status,
        when=lambda e: e.kind in (CaseEvent.Kind.STATUS_CHANGED, CaseEvent.Kind.REOPENED),
        inside=True,
    )


def on_case_status(event: events.CaseEventRecorded) -> None:
    """Settle the case's article uses when it becomes solved (or closed unsolved), or is reopened."""
    if not ArticleUse.objects.filter(case_id=event.case_id).exists():
        return
    data = CaseEvent.objects.filter(pk=event.event_id).values_list("data", flat=True).first() or {}
    old, new = data.get("old"), data.get("new")
    if new in _DONE and old not in _DONE:
        article_uses_settle(case_id=event.case_id, solved=True)
    elif old in _DONE and new not in _DONE:
        article_uses_settle(case_id=event.case_id, solved=False)
