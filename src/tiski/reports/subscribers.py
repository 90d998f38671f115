"""How the facts hear of changes: every timeline entry and every contact marks its case stale, in its transaction."""

from __future__ import annotations

from tiski import events


def connect() -> None:
    """Subscribe (from ready()); register the clock that works the stale cases off."""
    from tiski.reports.facts import facts_clock
    from tiski.routing.router import clock_register

    events.subscribe(events.CaseEventRecorded, on_case_changed, inside=True)
    events.subscribe(events.MessageReceived, on_case_changed, inside=True)
    clock_register(facts_clock)


def on_case_changed(event: events.CaseEventRecorded | events.MessageReceived) -> None:
    from tiski.reports.facts import cases_mark_stale

    cases_mark_stale([event.case_id])
