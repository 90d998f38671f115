"""Hand-over between teams: the receiving team sees the case whole; internal notes never reach the customer;
a case takes the team of the queue it is accepted from and of the channel it arrives on."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core import mail
from django.urls import reverse

from tests.access.partner_world import World
from tests.conftest import PASSWORD
from tiski.accounts.models import Team
from tiski.accounts.services import agent_create
from tiski.cases.models import CaseEvent
from tiski.cases.services import message_reply, note_add
from tiski.channels.chat.services import chat_transcript_email
from tiski.channels.interface import InboundMessage
from tiski.channels.models import Channel, ChannelKind
from tiski.channels.services import message_receive
from tiski.customers.services import Handle
from tiski.routing.models import AgentState, Presence, WorkItem
from tiski.routing.router import route_pending
from tiski.routing.services import presence_set, work_accept, work_enqueue


def test_a_case_handed_to_the_partners_team_arrives_with_its_whole_context(world: World) -> None:
    lead = agent_create(username="minna", password=PASSWORD, role="team lead")
    sanna = world.client_for(world.sanna)
    url = reverse("console:case", args=[world.c_mail.reference])
    assert sanna.get(url).status_code == 404
    response = world.client_for(lead).post(
        reverse("console:case-update", args=[world.c_mail.reference]), {"team": str(world.t_partner.pk)}
    )
    assert response.status_code in (200, 302)
    world.c_mail.refresh_from_db()
    assert world.c_mail.team_id == world.t_partner.pk
    assert CaseEvent.objects.filter(case=world.c_mail, kind=CaseEvent.Kind.TEAM_CHANGED).exists()
    html = sanna.get(url).content.decode()
    assert "secret-invoice-text" in html  # the customer's message
    assert "internal-mail-note" in html  # the note written before the hand-over
    assert world.t_partner.name in html  # the timeline's team change
    customer_html = sanna.get(reverse("console:customer", args=[world.anssi.pk])).content.decode()
    assert world.c_mail.reference in customer_html


def test_a_case_handed_to_billing_is_seen_whole_by_the_read_only_billing_colleague(world: World) -> None:
    world.c_mail.team = world.t_billing
    world.c_mail.save()
    html = world.client_for(world.bea).get(reverse("console:case", args=[world.c_mail.reference])).content.decode()
    assert "secret-invoice-text" in html and "internal-mail-note" in html


def test_a_case_accepted_from_a_queue_joins_the_queues_team(world: World) -> None:
    state, _ = AgentState.objects.get_or_create(user=world.maija, defaults={"capacity": 10})
    state.queues.set([world.q_chat])
    presence_set(user=world.maija, presence=Presence.ONLINE)
    case = world.c_other
    assert case.team_id is None
    work_enqueue(case=case, queue=world.q_chat, channel_kind="email")
    route_pending()
    item = WorkItem.objects.get(case=case, status=WorkItem.Status.OFFERED)
    work_accept(item=item, agent=world.maija)
    case.refresh_from_db()
    assert case.team_id == world.q_chat.team_id and case.owner_id == world.maija.pk


def test_a_case_created_on_a_channel_gets_the_channels_team(db: Any) -> None:
    team = Team.objects.create(name="Field service")
    channel = Channel.objects.create(kind=ChannelKind.WEBFORM, name="Service form", address="s@x.example", team=team)
    receipt = message_receive(
        inbound=InboundMessage(
            handles=[Handle("email", "kalle@example.com")],
            body_text="The boiler leaks",
            subject="Leak",
            sender_name="Kalle",
            channel=channel,
        )
    )
    assert receipt.case.team_id == team.pk


def test_internal_notes_never_reach_the_reply_email(world: World, run_tasks: Callable[[], None]) -> None:
    note_add(case=world.c_mail, actor=world.maija, body="note-never-to-customer")
    message_reply(case=world.c_mail, actor=world.maija, body="Your invoice is corrected.")
    run_tasks()
    sent = [m for m in mail.outbox if "anssi@example.com" in m.to]
    assert sent, [m.to for m in mail.outbox]
    for message in sent:
        text = message.body + "".join(str(alt[0]) for alt in getattr(message, "alternatives", []))
        assert "Your invoice is corrected." in text
        assert "note-never-to-customer" not in text and "internal-mail-note" not in text


def test_internal_notes_never_reach_the_chat_transcript(world: World, run_tasks: Callable[[], None]) -> None:
    note_add(case=world.c_chat, actor=world.maija, body="chat-note-never-to-customer")
    chat_transcript_email(case=world.c_chat, to="anssi@example.com")
    run_tasks()
    sent = [m for m in mail.outbox if "anssi@example.com" in m.to]
    assert sent
    for message in sent:
        text = message.body + "".join(str(alt[0]) for alt in getattr(message, "alternatives", []))
        assert "helmet size" in text  # the transcript itself
        assert "chat-note-never-to-customer" not in text and "internal-chat-note" not in text
