"""Service levels in the console: the case's milestones (due, at risk, missed, paused, met) and the inbox's
"due soonest / due within an hour / missed" views with their badges, on the real pipeline's clocks."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tiski.cases.models import Case
from tiski.channels.services import Receipt
from tiski.sla.models import SlaClock, SlaPolicy
from tiski.sla.services import clocks_on_status, policies_forget

pytestmark = pytest.mark.django_db


@pytest.fixture
def policy(db: None) -> SlaPolicy:
    SlaPolicy.objects.all().delete()
    made = SlaPolicy.objects.create(name="Test", first_response_minutes=60, resolution_minutes=480, warn_percent=50)
    policies_forget()
    return made


def _due_in(case: Case, minutes: float) -> None:
    """Move CASE's running first-response clock so that it falls due MINUTES from now (negative: missed)."""
    due = timezone.now() + timedelta(minutes=minutes)
    SlaClock.objects.filter(case=case, metric="first_response").update(due_at=due, warn_at=due - timedelta(minutes=30))
    Case.objects.filter(pk=case.pk).update(sla_due_at=due)


def test_the_case_shows_its_milestones(
    agent_client: Client, receive: Callable[..., Receipt], policy: SlaPolicy
) -> None:
    case = receive().case
    page = agent_client.get(reverse("console:case", args=[case.reference]), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'class="sla-m sla-m--ok"' in page and "First response" in page and "Resolution" in page
    assert "in 59 min" in page or "in 1 h" in page

    _due_in(case, -5)
    page = agent_client.get(reverse("console:case", args=[case.reference]), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "sla-m--late" in page and "5 min late" in page

    clocks_on_status(case_id=case.pk, old="open", new="pending")
    page = agent_client.get(reverse("console:case", args=[case.reference]), HTTP_ACCEPT_LANGUAGE="fi").content.decode()
    assert "sla-m--paused" in page and "odottaa asiakasta" in page


def test_the_inbox_sorts_by_due_and_filters_soon_and_missed(
    agent_client: Client, receive: Callable[..., Receipt], policy: SlaPolicy
) -> None:
    later = receive(email="later@example.com", subject="Later").case
    soon = receive(email="soon@example.com", subject="Soon").case
    late = receive(email="late@example.com", subject="Late").case
    none = receive(email="none@example.com", subject="Nothing due").case
    _due_in(later, 300)
    _due_in(soon, 20)
    _due_in(late, -15)
    SlaClock.objects.filter(case=none).delete()
    Case.objects.filter(pk=none.pk).update(sla_due_at=None)

    def subjects(view: str) -> list[str]:
        page = agent_client.get(reverse("console:inbox"), {"sla": view}, HTTP_ACCEPT_LANGUAGE="en")
        text = page.content.decode()
        return [s for s in ("Late", "Soon", "Later", "Nothing due") if f">{s}<" in text and text.index(f">{s}<")]

    page = agent_client.get(reverse("console:inbox"), {"sla": "due"}, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    order = [page.index(f">{s}<") for s in ("Late", "Soon", "Later")]
    assert order == sorted(order) and ">Nothing due<" not in page
    assert "sla-due--late" in page and "sla-due--soon" in page and "15 min late" in page and "in 19 min" in page
    default = agent_client.get(reverse("console:inbox"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "sla-badge--late" in default and "sla-badge--soon" in default and "Service level missed" in default
    assert subjects("soon") == ["Soon"]
    assert subjects("late") == ["Late"]
    assert set(subjects("")) == {"Late", "Soon", "Later", "Nothing due"}
    assert subjects("bogus") == subjects("")  # an unknown view is the default one


def test_the_inbox_with_a_service_level_view_costs_no_more_queries(
    agent_client: Client,
    receive: Callable[..., Receipt],
    policy: SlaPolicy,
    django_assert_max_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    for n in range(30):
        receive(email=f"c{n}@example.com")
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    agent_client.get(reverse("console:inbox"))
    with CaptureQueriesContext(connection) as default_view:
        agent_client.get(reverse("console:inbox"))
    with django_assert_max_num_queries(len(default_view.captured_queries)):
        agent_client.get(reverse("console:inbox"), {"sla": "due"})
