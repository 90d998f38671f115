"""Stale marks: the transaction that changes a case marks it, and two such transactions never wait on each other.

A unique key on the marked case made two transactions marking the same cases in opposite order deadlock (one
was seen in the routing concurrency test, between a router and an agent accepting work). Marks are only
inserted now, so the same interleaving goes through.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction

from tiski.reports.facts import cases_mark_stale, facts_refresh_stale
from tiski.reports.models import StaleMark

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_two_transactions_marking_the_same_cases_in_opposite_order_never_wait_on_each_other() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (SQLite runs one writer at a time): run with DATABASE_URL=postgres://…")
    both_marked_their_first = threading.Barrier(2, timeout=10)
    errors: list[BaseException] = []

    def mark(first: int, second: int) -> None:
        try:
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL lock_timeout = '5s'")
                cases_mark_stale([first])
                both_marked_their_first.wait()
                cases_mark_stale([second])
        except BaseException as error:  # reported by the assertion below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=mark, args=order) for order in ((101, 102), (102, 101))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert sorted(StaleMark.objects.values_list("case_id", flat=True)) == [101, 101, 102, 102]

    assert facts_refresh_stale() == 2  # each case once, however many marks it has; the cases are gone: no facts
    assert not StaleMark.objects.exists()


def test_a_refresh_takes_the_oldest_cases_and_leaves_the_rest_marked() -> None:
    for case_id in (5, 6, 5, 7, 8):
        cases_mark_stale([case_id])
    assert facts_refresh_stale(limit=2) == 2
    assert sorted(StaleMark.objects.values_list("case_id", flat=True)) == [7, 8]
    assert facts_refresh_stale(limit=2) == 2
    assert facts_refresh_stale(limit=2) == 0
