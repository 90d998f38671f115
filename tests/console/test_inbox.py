"""The inbox: each filter narrows the list, paging, search, and a constant number of queries."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tiski.accounts.models import Team
from tiski.cases.models import Case
from tiski.channels.models import Channel


def _refs(response) -> set[str]:  # type: ignore[no-untyped-def]
    return {case.reference for case in response.context["page"].cases}


def test_default_view_shows_active_cases_only(agent_client: Client, make_case: Callable[..., Case]) -> None:
    active = [make_case(status=s) for s in ("new", "open", "pending", "on_hold")]
    done = [make_case(status=s) for s in ("solved", "closed")]
    response = agent_client.get(reverse("console:inbox"))
    assert response.status_code == 200
    assert _refs(response) == {c.reference for c in active}
    for case in done:
        assert case.reference not in response.content.decode()


def test_status_filter_is_repeatable_and_all_shows_everything(
    agent_client: Client, make_case: Callable[..., Case]
) -> None:
    new, pending, solved = make_case(status="new"), make_case(status="pending"), make_case(status="solved")
    url = reverse("console:inbox")
    assert _refs(agent_client.get(url, {"status": "solved"})) == {solved.reference}
    assert _refs(agent_client.get(f"{url}?status=new&status=pending")) == {new.reference, pending.reference}
    assert _refs(agent_client.get(url, {"status": "all"})) == {new.reference, pending.reference, solved.reference}
    assert _refs(agent_client.get(url, {"status": "active"})) == {new.reference, pending.reference}


def test_priority_filter(agent_client: Client, make_case: Callable[..., Case]) -> None:
    urgent = make_case(priority=Case.Priority.URGENT)
    make_case(priority=Case.Priority.LOW)
    assert _refs(agent_client.get(reverse("console:inbox"), {"priority": "4"})) == {urgent.reference}


def test_channel_filter(
    agent_client: Client, make_case: Callable[..., Case], email_channel: Channel, phone_channel: Channel
) -> None:
    by_phone = make_case(channel=phone_channel)
    make_case(channel=email_channel)
    assert _refs(agent_client.get(reverse("console:inbox"), {"channel": phone_channel.pk})) == {by_phone.reference}


def test_team_filter(agent_client: Client, make_case: Callable[..., Case]) -> None:
    billing, returns = Team.objects.create(name="Billing"), Team.objects.create(name="Returns")
    case = make_case(team=billing)
    make_case(team=returns)
    make_case()
    assert _refs(agent_client.get(reverse("console:inbox"), {"team": billing.pk})) == {case.reference}


def test_owner_filters_mine_unassigned_and_by_user(
    agent_client: Client, agent: User, other_agent: User, make_case: Callable[..., Case]
) -> None:
    mine, theirs, nobody = make_case(owner=agent), make_case(owner=other_agent), make_case()
    url = reverse("console:inbox")
    assert _refs(agent_client.get(url, {"owner": "me"})) == {mine.reference}
    assert _refs(agent_client.get(url, {"owner": "unassigned"})) == {nobody.reference}
    assert _refs(agent_client.get(url, {"owner": other_agent.pk})) == {theirs.reference}


def test_search_by_reference_subject_and_exact_email(agent_client: Client, make_case: Callable[..., Case]) -> None:
    parcel = make_case(subject="Parcel never arrived", email="liisa@example.fi")
    invoice = make_case(subject="Invoice twice")
    url = reverse("console:inbox")
    assert _refs(agent_client.get(url, {"q": invoice.reference})) == {invoice.reference}
    assert _refs(agent_client.get(url, {"q": "parcel"})) == {parcel.reference}
    assert _refs(agent_client.get(url, {"q": "LIISA@example.fi"})) == {parcel.reference}
    assert _refs(agent_client.get(url, {"q": "liisa@example"})) == set()


def test_search_without_match_explains_what_search_covers(agent_client: Client, make_case: Callable[..., Case]) -> None:
    make_case()
    content = agent_client.get(reverse("console:inbox"), {"q": "zzz-nothing"}).content.decode()
    assert "Nothing matches" in content
    assert "exact email address" in content


def test_paging_splits_the_list_and_links_the_next_page(
    agent_client: Client, make_case: Callable[..., Case], settings
) -> None:  # type: ignore[no-untyped-def]
    settings.TISKI_INBOX_PAGE_SIZE = 5
    cases = [make_case(subject=f"Case {i}") for i in range(12)]
    now = timezone.now()
    for i, case in enumerate(cases):  # oldest first, so the list order is known
        Case.objects.filter(pk=case.pk).update(updated_at=now - timedelta(minutes=100 - i))
    newest_first = [c.reference for c in reversed(cases)]
    url = reverse("console:inbox")
    first, second, third = (agent_client.get(url, {"page": n}) for n in (1, 2, 3))
    assert [c.reference for c in first.context["page"].cases] == newest_first[:5]
    assert [c.reference for c in second.context["page"].cases] == newest_first[5:10]
    assert [c.reference for c in third.context["page"].cases] == newest_first[10:]
    assert first.context["page"].has_next and not third.context["page"].has_next
    assert "page=2" in first.content.decode()
    assert "of 12 cases" in first.content.decode()
    assert agent_client.get(url, {"page": 9}).context["page"].cases == []


def test_count_is_capped_so_it_stays_cheap(agent_client: Client, make_case: Callable[..., Case], settings) -> None:  # type: ignore[no-untyped-def]
    from tiski.console import selectors

    settings.TISKI_INBOX_PAGE_SIZE = 2
    for _ in range(4):
        make_case()
    original = selectors.COUNT_CAP
    selectors.COUNT_CAP = 3
    try:
        response = agent_client.get(reverse("console:inbox"))
    finally:
        selectors.COUNT_CAP = original
    assert response.context["page"].total_capped
    assert "of more than 3" in response.content.decode()


def test_htmx_filter_request_gets_only_the_list_partial(agent_client: Client, make_case: Callable[..., Case]) -> None:
    case = make_case()
    response = agent_client.get(
        reverse("console:inbox"), {"status": "new"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="case-list"
    )
    content = response.content.decode()
    assert content.lstrip().startswith('<section id="case-list"')
    assert case.reference in content
    assert "<nav" in content and "<html" not in content


@pytest.mark.parametrize("params", [{}, {"owner": "me", "q": "order"}])
def test_inbox_with_60_cases_uses_a_constant_small_number_of_queries(
    agent_client: Client,
    make_case: Callable[..., Case],
    email_channel: Channel,
    agent: User,
    django_assert_max_num_queries,  # type: ignore[no-untyped-def]
    params: dict[str, str],
) -> None:
    team = Team.objects.create(name="Support")
    for i in range(60):
        make_case(subject=f"Order {i}", channel=email_channel, team=team, owner=agent if i % 2 else None)
    # The signals cost two queries for the whole page (the rules, then all their hits), the bell one COUNT,
    # the screen-pop one (the agent's calls), the user's partner one (tiski.accounts.scope).
    signal_queries = 2
    with django_assert_max_num_queries(10 + signal_queries + 1 + 1 + 1):
        response = agent_client.get(reverse("console:inbox"), params)
    assert response.status_code == 200
    assert len(response.context["page"].cases) == (50 if not params else 30)
