"""Never twice: clocks in two processes, or a request retried while the first is still running, make one case
per rule, customer and record (or event occurrence). Needs PostgreSQL: SQLite lets one writer in at a time."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, connections

from tiski.cases.models import Case
from tiski.proactive.models import ExternalEvent, ProactiveHit, ProactiveRule
from tiski.proactive.services import external_event_receive, proactive_rules_run, rule_run
from tiski.routing.models import WorkItem

pytestmark = pytest.mark.django_db(transaction=True)
THREADS = 4


@pytest.fixture(autouse=True)
def _postgres_only() -> None:
    if connection.vendor == "sqlite":
        pytest.skip("SQLite serialises writers; the race needs PostgreSQL (covered in the PostgreSQL pass)")


def _race(work: Callable[[], Any]) -> list[Any]:
    barrier = threading.Barrier(THREADS)
    results: list[Any] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait()
            results.append(work())
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    return results


def test_rule_runs_at_the_same_time_make_one_case_per_record(
    tyre_rule: ProactiveRule, channels, make_customer, make_record
) -> None:
    for _ in range(10):
        make_record(make_customer(), attributes={"tyre_tread_mm": 1})
    results = _race(lambda: rule_run(rule=tyre_rule)[0])  # no claim: every thread tries every record
    assert sum(results) == 10
    assert Case.objects.count() == 10 and ProactiveHit.objects.count() == 10 and WorkItem.objects.count() == 10


def test_clocks_at_the_same_time_run_a_rule_once(
    tyre_rule: ProactiveRule, channels, make_customer, make_record
) -> None:
    for _ in range(5):
        make_record(make_customer(), attributes={"tyre_tread_mm": 1})
    assert sum(_race(proactive_rules_run)) == 5
    assert Case.objects.count() == 5


def test_the_same_event_sent_at_once_is_acted_on_once(icy_rule: ProactiveRule, channels, make_customer) -> None:
    for n in range(6):
        make_customer(f"Fan {n}", interests="neliveto")
    results = _race(lambda: external_event_receive(name="icy_evening", occurrence="2026-11-23"))
    assert sum(new for _event, new in results) == 1
    assert ExternalEvent.objects.count() == 1
    assert Case.objects.count() == 6 and ProactiveHit.objects.count() == 6
