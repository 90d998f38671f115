"""The agent's side of routing in the console: presence in the nav, offers on every page, accept and decline,
"My work", the case's work state and transfers — with the permission checks each of them makes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.conftest import PASSWORD
from tiski.accounts.services import agent_create
from tiski.cases.models import Case, CaseEvent, Note
from tiski.customers.models import Customer
from tiski.routing import services
from tiski.routing.models import AgentSkill, AgentState, Presence, PresenceLog, Queue, Skill, WorkItem
from tiski.routing.router import route_pending, timers_run
from tiski.routing.services import agent_state, presence_set, work_enqueue

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def _seen_forgotten() -> Any:
    """agent_seen() remembers per process whom it wrote lately; ids repeat between tests."""
    services._seen_cache.clear()
    yield
    services._seen_cache.clear()


@pytest.fixture
def incidents(db: Any) -> Queue:
    return Queue.objects.create(name="Incidents", name_fi="Häiriöt", priority=9, offer_timeout=60)


@pytest.fixture
def billing(db: Any) -> Queue:
    return Queue.objects.create(name="Billing", priority=3)


@pytest.fixture
def english(db: Any) -> Skill:
    return Skill.objects.create(name="English", name_fi="Englanti", kind=Skill.Kind.LANGUAGE, language="en")


def _routable(user: User, *queues: Queue, capacity: int = 100, presence: str = Presence.ONLINE) -> User:
    state = agent_state(user)
    state.capacity = capacity
    state.save(update_fields=["capacity"])
    state.queues.set(queues)
    presence_set(user=user, presence=presence)
    return user


def _case(subject: str = "The site is down") -> Case:
    return Case.objects.create(subject=subject, customer=Customer.objects.create(name="Anssi Asiakas"))


def _offer(queue: Queue, *, subject: str = "The site is down", skills: list[dict[str, Any]] | None = None) -> WorkItem:
    """Queue work on a new case and let the router offer it; return the item as it is now."""
    item = work_enqueue(case=_case(subject), queue=queue, channel_kind="email", skills=skills or [])
    route_pending()
    item.refresh_from_db()
    return item


def _login(client: Client, user: User) -> Client:
    client.force_login(user)
    return client


@pytest.fixture
def maija(agent: User, incidents: Queue) -> User:
    return _routable(agent, incidents)


# --- presence -------------------------------------------------------------------------------------------------


def test_logging_in_through_the_form_puts_an_agent_online_and_out_offline(client: Client, agent: User) -> None:
    response = client.post(reverse("login"), {"username": "maija", "password": PASSWORD})
    assert response.status_code == 302
    state = AgentState.objects.get(user=agent)
    assert state.presence == Presence.ONLINE
    assert PresenceLog.objects.filter(user=agent).last().reason == PresenceLog.Reason.LOGIN  # type: ignore[union-attr]
    client.post(reverse("logout"))
    state.refresh_from_db()
    assert state.presence == Presence.OFFLINE
    assert PresenceLog.objects.filter(user=agent).last().reason == PresenceLog.Reason.LOGOUT  # type: ignore[union-attr]


def test_with_presence_on_login_offline_the_agent_chooses(client: Client, agent: User, settings: Any) -> None:
    settings.TISKI_PRESENCE_ON_LOGIN = "offline"
    client.post(reverse("login"), {"username": "maija", "password": PASSWORD})
    assert not AgentState.objects.filter(user=agent, presence=Presence.ONLINE).exists()


def test_logging_in_again_keeps_the_presence_the_agent_chose(client: Client, agent: User) -> None:
    presence_set(user=agent, presence=Presence.BUSY)
    client.post(reverse("login"), {"username": "maija", "password": PASSWORD})
    assert AgentState.objects.get(user=agent).presence == Presence.BUSY


def test_a_user_who_does_not_work_cases_gets_no_presence(client: Client, db: Any) -> None:
    user = User.objects.create_user("kirjanpito", password=PASSWORD)
    client.post(reverse("login"), {"username": "kirjanpito", "password": PASSWORD})
    client.post(reverse("logout"))
    assert not AgentState.objects.filter(user=user).exists()


def test_presence_is_in_the_nav_of_every_console_page_with_its_four_choices(client: Client, maija: User) -> None:
    content = _login(client, maija).get(reverse("console:inbox")).content.decode()
    assert 'id="presence"' in content
    assert 'class="presence__label">Online<' in content
    for value in ("online", "busy", "away", "offline"):
        assert f'name="presence" value="{value}"' in content
    assert 'value="online" aria-pressed="true"' in content


def test_setting_the_presence_answers_htmx_with_the_control_and_keeps_history(client: Client, maija: User) -> None:
    response = _login(client, maija).post(reverse("console:presence"), {"presence": "busy"}, **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.startswith('<div id="presence"') and 'class="presence__label">Busy<' in html
    assert 'value="busy" aria-pressed="true"' in html
    assert AgentState.objects.get(user=maija).presence == Presence.BUSY
    log = PresenceLog.objects.filter(user=maija).last()
    assert log is not None and log.presence == "busy" and log.reason == PresenceLog.Reason.MANUAL


def test_setting_the_presence_without_javascript_returns_to_the_page(client: Client, maija: User) -> None:
    back = reverse("console:inbox") + "?owner=me"
    response = _login(client, maija).post(reverse("console:presence"), {"presence": "away", "next": back})
    assert response.status_code == 302 and response["Location"] == back
    outside = client.post(reverse("console:presence"), {"presence": "away", "next": "https://evil.example/"})
    assert outside["Location"] == reverse("console:inbox")


def test_an_unknown_presence_is_refused(client: Client, maija: User) -> None:
    response = _login(client, maija).post(reverse("console:presence"), {"presence": "sleeping"})
    assert response.status_code == 400
    assert AgentState.objects.get(user=maija).presence == Presence.ONLINE


def test_presence_needs_a_login_the_agent_role_a_post_and_the_csrf_token(client: Client, db: Any) -> None:
    url = reverse("console:presence")
    assert client.post(url, {"presence": "online"}).status_code == 302  # to the login page
    outsider = User.objects.create_user("kirjanpito", password=PASSWORD)
    assert _login(client, outsider).post(url, {"presence": "online"}).status_code == 403
    agent = agent_create(username="liisa", password=PASSWORD, role="agent")
    strict = _login(Client(enforce_csrf_checks=True), agent)
    presence_set(user=agent, presence=Presence.AWAY)
    assert strict.post(url, {"presence": "online"}).status_code == 403
    assert strict.get(url).status_code == 405
    assert AgentState.objects.get(user=agent).presence == Presence.AWAY


# --- offers ---------------------------------------------------------------------------------------------------


def test_an_offer_shows_on_every_page_load_of_its_agent_only(
    client: Client, maija: User, other_agent: User, incidents: Queue, english: Skill
) -> None:
    AgentSkill.objects.create(user=maija, skill=english, level=9)
    item = _offer(incidents, skills=[{"skill": english.pk, "level": 5, "optional": False}])
    assert item.status == WorkItem.Status.OFFERED and item.agent_id == maija.pk
    content = _login(client, maija).get(reverse("console:inbox")).content.decode()
    assert f'id="offer-{item.pk}"' in content
    assert "The site is down" in content and "Anssi Asiakas" in content and "Incidents" in content
    assert "English ≥ 5" in content
    assert reverse("console:offer-accept", args=[item.pk]) in content
    assert reverse("console:offer-decline", args=[item.pk]) in content
    assert "data-countdown" in content
    assert "<title>(" not in content  # the count in the title is the script's, not the server's
    other = _login(Client(), other_agent).get(reverse("console:inbox")).content.decode()
    assert f'id="offer-{item.pk}"' not in other


def test_the_offers_partial_is_what_the_console_rereads_without_its_socket(
    client: Client, maija: User, incidents: Queue
) -> None:
    item = _offer(incidents)
    html = _login(client, maija).get(reverse("console:offers")).content.decode()
    assert html.startswith('<div id="offers"') and f'id="offer-{item.pk}"' in html


def test_accepting_an_offer_assigns_the_case_and_opens_it(client: Client, maija: User, incidents: Queue) -> None:
    item = _offer(incidents)
    response = _login(client, maija).post(reverse("console:offer-accept", args=[item.pk]), **HTMX)
    assert response.status_code == 200
    assert response["HX-Redirect"] == reverse("console:case", args=[item.case.reference])
    item.refresh_from_db()
    assert item.status == WorkItem.Status.ASSIGNED
    assert Case.objects.get(pk=item.case_id).owner == maija
    # Twice (a double click, a second tab) is still fine, and without htmx it is a plain redirect.
    again = client.post(reverse("console:offer-accept", args=[item.pk]))
    assert again.status_code == 302 and again["Location"] == reverse("console:case", args=[item.case.reference])


def test_nobody_can_accept_or_decline_someone_elses_offer(
    client: Client, maija: User, other_agent: User, incidents: Queue
) -> None:
    item = _offer(incidents)
    thief = _login(client, other_agent)
    for action in ("console:offer-accept", "console:offer-decline"):
        response = thief.post(reverse(action, args=[item.pk]), **HTMX)
        assert response.status_code == 409
        assert "no longer offered to you" in response.content.decode()
        assert response["HX-Retarget"] == "#offers"
    item.refresh_from_db()
    assert item.status == WorkItem.Status.OFFERED and item.agent_id == maija.pk
    assert Case.objects.get(pk=item.case_id).owner is None


def test_an_expired_offer_cannot_be_accepted_and_says_why(client: Client, maija: User, incidents: Queue) -> None:
    item = _offer(incidents)
    timers_run(now=timezone.now() + timedelta(seconds=incidents.offer_timeout + 1))
    response = _login(client, maija).post(reverse("console:offer-accept", args=[item.pk]))
    assert response.status_code == 302
    messages = [str(m) for m in response.wsgi_request._messages]  # type: ignore[attr-defined]
    assert any("expired" in m for m in messages)
    item.refresh_from_db()
    assert item.status != WorkItem.Status.ASSIGNED or item.agent_id != maija.pk
    assert _login(client, maija).post(reverse("console:offer-accept", args=[12345])).status_code == 404


def test_declining_hands_the_work_to_the_next_agent(
    client: Client, maija: User, other_agent: User, incidents: Queue
) -> None:
    item = _offer(incidents)
    _routable(other_agent, incidents)
    response = _login(client, maija).post(reverse("console:offer-decline", args=[item.pk]), **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.startswith('<div id="offers"') and f'id="offer-{item.pk}"' not in html
    item.refresh_from_db()
    assert item.status == WorkItem.Status.QUEUED and maija.pk in item.declined
    route_pending()
    item.refresh_from_db()
    assert item.status == WorkItem.Status.OFFERED and item.agent_id == other_agent.pk


def test_my_work_in_the_nav_lists_the_accepted_cases(client: Client, maija: User, incidents: Queue) -> None:
    first = _offer(incidents, subject="Invoice twice")
    second = _offer(incidents, subject="Password reset")
    _login(client, maija)
    for item in (first, second):
        client.post(reverse("console:offer-accept", args=[item.pk]))
    content = client.get(reverse("console:case", args=[second.case.reference])).content.decode()
    assert 'id="my-work"' in content and "My work" in content
    assert "Invoice twice" in content
    current = f'href="{reverse("console:case", args=[second.case.reference])}" aria-current="page"'
    assert current in content


# --- the case page: work state and transfer -------------------------------------------------------------------


def test_the_case_page_says_where_the_work_waits_and_what_it_needs(
    client: Client, agent: User, incidents: Queue, english: Skill
) -> None:
    item = work_enqueue(case=_case(), queue=incidents, channel_kind="email", skills=[{"skill": english.pk, "level": 5}])
    content = _login(client, agent).get(reverse("console:case", args=[item.case.reference])).content.decode()
    assert "Waiting in Incidents (priority 9) for" in content
    assert "needs English ≥ 5" in content
    assert "Transfer" not in content  # queued work is nobody's: moving it needs a team lead


def test_the_case_page_says_who_has_the_work_and_until_when(client: Client, maija: User, incidents: Queue) -> None:
    item = _offer(incidents)
    _login(client, maija)
    content = client.get(reverse("console:case", args=[item.case.reference])).content.decode()
    assert "Offered to Maija Mäkinen" in content
    client.post(reverse("console:offer-accept", args=[item.pk]))
    content = client.get(reverse("console:case", args=[item.case.reference])).content.decode()
    assert "Maija Mäkinen has it since" in content and "response due" in content
    assert 'name="target"' in content and f'value="queue:{incidents.pk}"' in content


def _accepted(client: Client, maija: User, queue: Queue) -> WorkItem:
    item = _offer(queue)
    _login(client, maija).post(reverse("console:offer-accept", args=[item.pk]))
    item.refresh_from_db()
    return item


def test_an_agent_transfers_their_work_to_another_queue_with_a_note(
    client: Client, maija: User, incidents: Queue, billing: Queue
) -> None:
    item = _accepted(client, maija, incidents)
    url = reverse("console:case-transfer", args=[item.case.reference])
    response = client.post(url, {"target": f"queue:{billing.pk}", "note": "An invoice question after all"}, **HTMX)
    assert response.status_code == 200 and response["HX-Refresh"] == "true"
    item.refresh_from_db()
    assert item.status == WorkItem.Status.QUEUED and item.queue == billing
    case = Case.objects.get(pk=item.case_id)
    assert case.owner is None
    assert CaseEvent.objects.filter(case=case, kind=CaseEvent.Kind.TRANSFERRED).exists()
    assert Note.objects.filter(case=case, body="An invoice question after all").exists()
    page = client.get(reverse("console:case", args=[case.reference])).content.decode()
    assert "Transferred to the queue Billing." in page
    assert "Waiting in Billing (priority 3)" in page


def test_an_agent_transfers_their_work_straight_to_a_colleague(
    client: Client, maija: User, other_agent: User, incidents: Queue
) -> None:
    _routable(other_agent, incidents, presence=Presence.BUSY)
    item = _accepted(client, maija, incidents)
    response = client.post(
        reverse("console:case-transfer", args=[item.case.reference]), {"target": f"agent:{other_agent.pk}"}
    )
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.status == WorkItem.Status.ASSIGNED and item.agent == other_agent
    assert Case.objects.get(pk=item.case_id).owner == other_agent


def test_a_colleague_without_room_is_refused_with_the_reason(
    client: Client, maija: User, other_agent: User, incidents: Queue
) -> None:
    _routable(other_agent, incidents, capacity=5)
    item = _accepted(client, maija, incidents)
    response = client.post(
        reverse("console:case-transfer", args=[item.case.reference]), {"target": f"agent:{other_agent.pk}"}, **HTMX
    )
    assert response.status_code == 409
    assert response["HX-Retarget"] == "#transfer-errors"
    assert "has no room for this work" in response.content.decode()
    item.refresh_from_db()
    assert item.agent == maija


def test_transferring_someone_elses_work_needs_assign_any(
    client: Client, maija: User, other_agent: User, team_lead: User, incidents: Queue, billing: Queue
) -> None:
    item = _accepted(client, maija, incidents)
    url = reverse("console:case-transfer", args=[item.case.reference])
    colleague = _login(Client(), other_agent)
    assert (
        "Transfer this work" not in colleague.get(reverse("console:case", args=[item.case.reference])).content.decode()
    )
    assert colleague.post(url, {"target": f"queue:{billing.pk}"}).status_code == 403
    item.refresh_from_db()
    assert item.agent == maija and item.queue == incidents
    lead = _login(Client(), team_lead)
    assert "Transfer this work" in lead.get(reverse("console:case", args=[item.case.reference])).content.decode()
    assert lead.post(url, {"target": f"queue:{billing.pk}"}).status_code == 302
    item.refresh_from_db()
    assert item.queue == billing and item.status == WorkItem.Status.QUEUED


def test_a_transfer_needs_a_target_that_exists(client: Client, maija: User, incidents: Queue) -> None:
    item = _accepted(client, maija, incidents)
    url = reverse("console:case-transfer", args=[item.case.reference])
    missing = client.post(url, {"target": ""}, **HTMX)
    assert missing.status_code == 400 and "Choose a queue or an agent" in missing.content.decode()
    gone = client.post(url, {"target": "queue:99999"}, **HTMX)
    assert gone.status_code == 400 and "no longer exists" in gone.content.decode()
    nothing = client.post(reverse("console:case-transfer", args=[_case().reference]), {"target": "queue:1"}, **HTMX)
    assert nothing.status_code == 409


# --- activity -------------------------------------------------------------------------------------------------


def test_a_console_post_counts_as_activity_but_the_timeline_polling_does_not(
    client: Client, maija: User, incidents: Queue
) -> None:
    item = _accepted(client, maija, incidents)
    long_ago = timezone.now() - timedelta(hours=1)
    AgentState.objects.filter(user=maija).update(last_seen_at=long_ago)
    services._seen_cache.clear()
    client.get(reverse("console:case-timeline", args=[item.case.reference]), **HTMX)
    assert AgentState.objects.get(user=maija).last_seen_at == long_ago
    client.post(reverse("console:presence"), {"presence": "busy"}, **HTMX)
    seen = AgentState.objects.get(user=maija).last_seen_at
    assert seen is not None and seen > long_ago


def test_the_console_frame_costs_no_routing_query_for_a_user_without_work(
    client: Client, maija: User, django_assert_max_num_queries: Callable[..., Any]
) -> None:
    _login(client, maija).get(reverse("console:inbox"))  # warm: session, permissions cached per request anyway
    with django_assert_max_num_queries(100) as idle:
        client.get(reverse("console:tokens"))
    routing = [q for q in idle.captured_queries if "routing_" in q["sql"]]
    assert len(routing) == 1  # the presence; holding no work (load 0), no read of work items
