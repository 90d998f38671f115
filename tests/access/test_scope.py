"""tiski.accounts.scope: what a partner agent, a read-only user and an agent may see."""

from __future__ import annotations

import pytest

from tests.access.partner_world import World
from tiski.accounts.roles import PARTNER_AGENT, READ_ONLY, VIEW_CASES, WORK_CASES, can_read_cases
from tiski.accounts.scope import (
    can_see_full_customer,
    case_scope,
    case_visible,
    customer_scope,
    scope_forget,
    user_partner,
)
from tiski.accounts.services import agent_create
from tiski.cases.models import Case
from tiski.customers.models import Customer


def _ids(cases: list[Case]) -> set[int]:
    return {case.pk for case in cases}


def test_partner_agent_sees_granted_channel_own_team_and_granted_queue_cases(world: World) -> None:
    seen = set(Case.objects.filter(case_scope(world.sanna)).values_list("pk", flat=True))
    assert seen == _ids(world.visible)
    for case in world.visible:
        assert case_visible(user=world.sanna, case=case)
    for case in world.invisible:
        assert not case_visible(user=world.sanna, case=case)


def test_case_of_a_team_owning_a_granted_queue_is_visible(world: World) -> None:
    world.c_mail.team = world.q_chat.team
    world.c_mail.save()
    assert case_visible(user=world.sanna, case=world.c_mail)


def test_partner_customers_are_those_with_a_visible_case(world: World) -> None:
    seen = set(Customer.objects.filter(customer_scope(world.sanna)).values_list("pk", flat=True))
    assert seen == {world.anssi.pk, world.olli.pk}
    assert not can_see_full_customer(world.sanna)


def test_unrestricted_users_see_everything(world: World) -> None:
    everything = Case.objects.count()
    for user in (world.maija, world.bea):
        assert case_scope(user) == type(case_scope(user))()
        assert Case.objects.filter(case_scope(user)).count() == everything
        assert can_see_full_customer(user)
        assert user_partner(user) is None


def test_inactive_partner_and_partner_without_grants_see_nothing(world: World) -> None:
    world.partner.active = False
    world.partner.save()
    scope_forget(world.sanna)
    assert not Case.objects.filter(case_scope(world.sanna)).exists()
    world.partner.active = True
    world.partner.save()
    world.partner.channels.clear()
    world.partner.queues.clear()
    world.t_partner.partner = None
    world.t_partner.save()
    scope_forget(world.sanna)
    assert not Case.objects.filter(case_scope(world.sanna)).exists()
    assert not Customer.objects.filter(customer_scope(world.sanna)).exists()


def test_a_case_assigned_to_the_partner_agent_is_theirs_to_see(world: World) -> None:
    world.c_other.owner = world.sanna
    world.c_other.save()
    assert case_visible(user=world.sanna, case=world.c_other)


def test_roles_hold_their_permissions(world: World) -> None:
    assert world.sanna.has_perm(WORK_CASES) and world.sanna.has_perm(VIEW_CASES)
    assert not world.sanna.has_perm("reports.view_reports")
    assert not world.sanna.has_perm("routing.supervise")
    assert not world.sanna.has_perm("customers.merge_customer")
    assert not world.sanna.has_perm("customers.export_customer")
    assert world.sanna.has_perm("knowledge.view_partner_articles")
    assert not world.sanna.has_perm("knowledge.view_article")
    assert world.bea.has_perm(VIEW_CASES) and not world.bea.has_perm(WORK_CASES)
    assert can_read_cases(world.bea) and can_read_cases(world.maija)
    assert not world.bea.has_perm("reports.view_reports")


def test_agent_create_wants_a_partner_exactly_for_partner_agents(world: World) -> None:
    with pytest.raises(ValueError):
        agent_create(username="x1", password=None, role=PARTNER_AGENT)
    with pytest.raises(ValueError):
        agent_create(username="x2", password=None, role=READ_ONLY, partner=world.partner)
    user = agent_create(username="x3", password=None, role=PARTNER_AGENT, partner=world.partner)
    assert user_partner(user) == world.partner


def test_user_partner_is_cached_on_the_user(world: World, django_assert_num_queries) -> None:  # type: ignore[no-untyped-def]
    scope_forget(world.sanna)
    with django_assert_num_queries(1):
        user_partner(world.sanna)
        user_partner(world.sanna)


def test_the_demo_has_a_partner_with_an_agent_and_a_read_only_user(db: object) -> None:
    from django.contrib.auth import authenticate

    from tiski.core.demo import DEMO_PASSWORD, PARTNER_CHANNELS, demo_base_ensure

    base = demo_base_ensure()
    demo_base_ensure()  # twice: nothing doubles
    chatly = base.users["chatly"]
    partner = user_partner(chatly)
    assert partner is not None and partner.name == "Chatly Oy"
    assert {channel.kind for channel in partner.channels.all()} == set(PARTNER_CHANNELS)
    assert list(partner.queues.all()) == [base.queues["chat"]]
    assert partner.teams.get().name == "Chatly Oy"
    assert chatly.routing.queues.get() == base.queues["chat"]
    billing = base.users["billing"]
    assert billing.has_perm(VIEW_CASES) and not billing.has_perm(WORK_CASES)
    for username in ("chatly", "billing"):
        assert authenticate(username=username, password=DEMO_PASSWORD) is not None


def test_routing_offers_a_partner_agent_only_work_of_the_partners_queues(world: World) -> None:
    from tiski.routing.models import AgentState, Presence, WorkItem
    from tiski.routing.router import route_pending
    from tiski.routing.services import presence_set, work_enqueue

    state, _created = AgentState.objects.get_or_create(user=world.sanna, defaults={"capacity": 10})
    state.queues.set([world.q_chat, world.q_general])  # an administrator added a queue not granted to Chatly
    presence_set(user=world.sanna, presence=Presence.ONLINE)
    outside = work_enqueue(case=world.c_other, queue=world.q_general, channel_kind="email")
    inside = work_enqueue(case=world.c_olli, queue=world.q_chat, channel_kind="email")
    route_pending()
    outside.refresh_from_db()
    inside.refresh_from_db()
    assert outside.status == WorkItem.Status.QUEUED and outside.agent_id is None
    assert inside.status == WorkItem.Status.OFFERED and inside.agent_id == world.sanna.pk
