"""Intake: contacts from the real pipeline become work items; replies, status and owner changes finish them.

Everything goes through the public entry points (email_receive, message_receive, message_reply, case_update),
so the routing subscribers are exercised exactly as in production, inside the same transactions.
"""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import make_msgid

import pytest

from tiski.cases.models import Case, CaseEvent
from tiski.cases.services import case_update, message_reply
from tiski.channels.email.inbound import email_receive
from tiski.channels.interface import InboundMessage, Threading
from tiski.channels.models import Channel, ChannelKind
from tiski.channels.services import message_receive
from tiski.customers.services import Handle
from tiski.routing.models import AgentState, Presence, Queue, RoutingRule, RuleSkill, Skill, WorkItem
from tiski.routing.router import route_pending
from tiski.routing.services import presence_set, work_accept

pytestmark = pytest.mark.django_db

Status = WorkItem.Status


@pytest.fixture
def general(db) -> Queue:  # type: ignore[no-untyped-def]
    return Queue.objects.get(is_default=True)


@pytest.fixture
def incidents(db) -> Queue:  # type: ignore[no-untyped-def]
    queue = Queue.objects.create(name="Incidents", name_fi="Häiriöt", priority=9)
    RoutingRule.objects.create(name="Outages", keywords="outage\nhäiriö\nkatkos\nei toimi", queue=queue)
    return queue


@pytest.fixture
def skills(db) -> dict[str, Skill]:  # type: ignore[no-untyped-def]
    return {
        "en": Skill.objects.create(name="English", kind=Skill.Kind.LANGUAGE, language="en"),
        "fi": Skill.objects.create(name="Finnish", kind=Skill.Kind.LANGUAGE, language="fi"),
    }


@pytest.fixture
def mailbox(db) -> Channel:  # type: ignore[no-untyped-def]
    return Channel.objects.create(kind=ChannelKind.EMAIL, name="Support", address="tuki@pyora.example")


@pytest.fixture
def chat(db) -> Channel:  # type: ignore[no-untyped-def]
    return Channel.objects.create(kind=ChannelKind.CHAT, name="Chat", address="shop")


def mail(*, subject: str, body: str, sender: str = "James Smith <james@example.com>", **headers: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "tuki@pyora.example"
    msg["Subject"] = subject
    msg["Message-ID"] = make_msgid(domain="example.com")
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return msg.as_bytes()


def work(case: Case) -> WorkItem:
    return WorkItem.objects.get(case=case)


def online(user, *, capacity: int = 100, queues=()) -> AgentState:  # type: ignore[no-untyped-def]
    state = presence_set(user=user, presence=Presence.ONLINE)
    AgentState.objects.filter(pk=state.pk).update(capacity=capacity)
    state.queues.set(queues or Queue.objects.all())
    state.refresh_from_db()
    return state


def test_an_english_email_waits_in_the_default_queue_needing_english(mailbox, general, skills):
    raw = mail(subject="Where is my order?", body="Hi, I ordered a bike last week and it has not arrived yet.")
    receipt = email_receive(raw=raw, mailbox=mailbox).receipt
    assert receipt is not None
    item = work(receipt.case)
    assert (item.status, item.queue, item.channel_kind) == (Status.QUEUED, general, "email")
    assert item.language == "en"
    assert item.skills == [{"skill": skills["en"].pk, "level": 1, "optional": False}]
    assert item.units == 10
    assert item.due_at is not None and item.enqueued_at is not None
    assert round((item.due_at - item.enqueued_at).total_seconds() / 60) == 480  # the email target
    # A first contact's "created" entry says it arrived; the case page shows where its work waits.
    assert not CaseEvent.objects.filter(case=receipt.case, kind=CaseEvent.Kind.QUEUED).exists()


def test_an_outage_on_the_web_form_goes_to_the_incident_queue_served_first(receive, general, incidents):
    question = receive(email="kysyja@example.com", subject="Koko", body="Mikä koko minulle sopii?").case
    outage = receive(email="anna@example.com", subject="Verkkokauppa", body="Kassalla häiriöitä, maksu ei toimi!").case
    assert work(question).queue == general
    item = work(outage)
    assert (item.queue, item.queue_priority) == (incidents, 9)
    assert item.queue_priority > work(question).queue_priority


def test_the_rules_raise_the_priority_and_the_case_priority_is_kept_when_higher(receive, incidents):
    RoutingRule.objects.filter(queue=incidents).update(priority=Case.Priority.URGENT)
    RoutingRule.objects.create(name="Shirts", keywords="shirt", priority=Case.Priority.LOW)
    from tiski.routing.rules import rules_invalidate

    rules_invalidate()  # .update() sent no signal
    assert work(receive(body="Outage at checkout").case).priority == Case.Priority.URGENT
    assert work(receive(email="b@example.com", body="Shirt size?").case).priority == Case.Priority.NORMAL


def test_an_agents_reply_completes_an_email_item_and_frees_their_capacity(mailbox, general, agent):
    online(agent)
    receipt = email_receive(raw=mail(subject="Invoice", body="Please send me a copy of my invoice."), mailbox=mailbox)
    assert receipt.receipt is not None
    case = receipt.receipt.case
    [offer] = route_pending()
    assert offer.agent == agent
    work_accept(item=offer, agent=agent)
    assert AgentState.objects.get(user=agent).load == 10
    message_reply(case=case, actor=agent, body="Here it is.")
    item = work(case)
    assert (item.status, item.reason) == (Status.DONE, "replied")
    assert item.acted_at is not None and item.closed_at is not None
    assert AgentState.objects.get(user=agent).load == 0


def test_a_chat_item_is_done_when_the_case_leaves_open(chat, general, agent):
    online(agent)
    contact = InboundMessage(
        channel=chat, handles=[Handle("email", "liisa@example.com")], body_text="Hei, onko tämä varastossa?"
    )
    case = message_receive(inbound=contact).case
    [offer] = route_pending()
    work_accept(item=offer, agent=agent)
    assert AgentState.objects.get(user=agent).load == 33
    case_update(case=case, actor=agent, status=Case.Status.OPEN)
    assert work(case).status == Status.ASSIGNED  # still open: the conversation goes on
    case_update(case=case, actor=agent, status=Case.Status.SOLVED)
    item = work(case)
    assert (item.status, item.reason) == (Status.DONE, "solved")
    assert AgentState.objects.get(user=agent).load == 0


def test_solving_a_case_still_waiting_abandons_its_work(receive, general, agent):
    case = receive().case
    case_update(case=case, actor=agent, status=Case.Status.SOLVED)
    item = work(case)
    assert (item.status, item.reason) == (Status.CANCELLED, "abandoned")
    assert item.closed_at is not None


def test_a_follow_up_on_an_owned_case_goes_straight_to_its_owner_when_online(receive, general, agent):
    first = receive(subject="Helmet", body="Do you have the Sarastus helmet in L?").case
    case_update(case=first, actor=agent, owner=agent)  # taken by hand: the waiting work is theirs now, done
    assert (work(first).status, work(first).reason) == (Status.DONE, "reassigned")
    message_reply(case=first, actor=agent, body="Yes, two of them.", status_after=Case.Status.PENDING)
    online(agent)
    follow_up = receive(subject="Helmet", body="Great, can you reserve one?", case_reference=first.reference)
    assert follow_up.case == first
    item = WorkItem.objects.get(case=first, status__in=WorkItem.ACTIVE)
    assert (item.status, item.agent, item.reason) == (Status.ASSIGNED, agent, "owner")
    assert AgentState.objects.get(user=agent).load == item.units


def test_a_follow_up_on_an_owned_case_waits_in_the_queue_while_the_owner_is_away(receive, general, agent):
    first = receive(subject="Helmet", body="Do you have the Sarastus helmet in L?").case
    message_reply(case=first, actor=agent, body="Yes.", status_after=Case.Status.PENDING)
    presence_set(user=agent, presence=Presence.AWAY)
    receive(subject="Helmet", body="Can you reserve one?", case_reference=first.reference)
    item = WorkItem.objects.get(case=first, status__in=WorkItem.ACTIVE)
    assert (item.status, item.agent, item.queue) == (Status.QUEUED, None, general)


def test_more_messages_on_a_case_with_work_make_no_second_item(chat, general):
    for text in ("Hei!", "Onko Aalto 7 varastossa?", "Entä sinisenä?"):
        message_receive(
            inbound=InboundMessage(
                channel=chat,
                handles=[Handle("email", "liisa@example.com")],
                body_text=text,
                threading=Threading.CONVERSATION,
            )
        )
    assert Case.objects.count() == 1
    assert WorkItem.objects.count() == 1


def test_an_automatic_reply_needs_nobody(mailbox, general):
    raw = mail(subject="Out of office", body="I am away until Monday.", Auto_Submitted="auto-replied")
    receipt = email_receive(raw=raw, mailbox=mailbox).receipt
    assert receipt is not None and receipt.message.auto_submitted
    assert not WorkItem.objects.filter(case=receipt.case).exists()


def test_a_team_lead_giving_the_case_to_someone_else_finishes_the_agents_work(
    receive, general, agent, other_agent, team_lead
):
    online(agent)
    case = receive().case
    [offer] = route_pending()
    work_accept(item=offer, agent=agent)
    case_update(case=case, actor=team_lead, owner=other_agent)
    item = work(case)
    assert (item.status, item.reason, item.agent) == (Status.DONE, "reassigned", agent)
    assert AgentState.objects.get(user=agent).load == 0


def test_an_agent_replying_to_work_offered_to_them_takes_it(receive, general, agent):
    online(agent)
    case = receive().case
    [offer] = route_pending()
    assert offer.status == Status.OFFERED
    message_reply(case=case, actor=agent, body="Size M fits you.")
    item = work(case)
    assert item.status == Status.DONE and item.agent == agent
    assert AgentState.objects.get(user=agent).load == 0


def test_routings_own_assignment_is_not_taken_for_a_manual_one(receive, general, agent):
    online(agent)
    case = receive().case
    [offer] = route_pending()
    work_accept(item=offer, agent=agent)
    item = work(case)
    assert item.status == Status.ASSIGNED
    assert CaseEvent.objects.filter(case=case, kind=CaseEvent.Kind.ASSIGNED, data__via="routing").exists()
    case.refresh_from_db()
    assert case.owner == agent


def test_the_work_needs_the_skills_of_the_matching_rules(receive, general, skills):
    bikes = Skill.objects.create(name="Bikes", kind=Skill.Kind.PRODUCT)
    rule = RoutingRule.objects.create(name="Bikes", keywords="bike\npyörä")
    RuleSkill.objects.create(rule=rule, skill=bikes, min_level=6)
    item = work(receive(body="Hei, pyöräni vaihteet eivät toimi kunnolla.", subject="Huolto").case)
    assert item.language == "fi"
    assert sorted(item.skills, key=lambda need: need["skill"]) == [
        {"skill": skills["fi"].pk, "level": 1, "optional": False},
        {"skill": bikes.pk, "level": 6, "optional": False},
    ]
