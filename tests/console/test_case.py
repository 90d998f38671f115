"""The case page: timeline across channels, reply, note, status/priority/owner changes and their rules."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tiski.accounts.models import Team
from tiski.cases.models import Case, CaseEvent, Message, Note
from tiski.cases.services import note_add
from tiski.channels.models import Channel
from tiski.channels.services import Receipt

HX = {"HTTP_HX_REQUEST": "true"}


def test_case_page_shows_the_conversation_across_channels_oldest_first(
    agent_client: Client, receive: Callable[..., Receipt], phone_channel: Channel, agent: User
) -> None:
    receipt = receive(body="Which size fits me? I am 182 cm.")
    case = receipt.case
    start = timezone.now() - timedelta(hours=3)
    Message.objects.filter(pk=receipt.message.pk).update(created_at=start)
    call = Message.objects.create(
        case=case,
        channel=phone_channel,
        direction=Message.Direction.IN,
        author=Message.Author.CUSTOMER,
        body_text="Called: wants the answer by phone too.",
    )
    Message.objects.filter(pk=call.pk).update(created_at=start + timedelta(hours=1))
    note = note_add(case=case, actor=agent, body="Check the size chart first.")
    Note.objects.filter(pk=note.pk).update(created_at=start + timedelta(hours=2))

    response = agent_client.get(reverse("console:case", args=[case.reference]))

    assert response.status_code == 200
    content = response.content.decode()
    first = content.index("Which size fits me?")
    second = content.index("Called: wants the answer by phone too.")
    third = content.index("Check the size chart first.")
    assert first < second < third
    assert "Web form" in content and "Phone" in content
    assert "Internal note" in content
    assert "anssi@example.com" in content  # the customer panel lists the identities
    assert "Anssi Asiakas" in content


def test_customer_panel_lists_the_customers_other_cases(agent_client: Client, receive: Callable[..., Receipt]) -> None:
    first = receive(subject="Shirt size").case
    Case.objects.filter(pk=first.pk).update(status=Case.Status.SOLVED)
    second = receive(subject="Return the shirt", body="It is too small.").case
    assert first.pk != second.pk
    content = agent_client.get(reverse("console:case", args=[second.reference])).content.decode()
    panel = content[content.index("Other cases") :]
    assert first.reference in panel and "Shirt size" in panel and "Solved" in panel


def test_unknown_reference_is_404(agent_client: Client) -> None:
    assert agent_client.get(reverse("console:case", args=["TSK-999999"])).status_code == 404
    assert agent_client.get(reverse("console:case", args=["nonsense"])).status_code == 404


def test_reply_is_queued_then_sent_by_email_after_the_worker_runs(
    agent_client: Client, agent: User, receive: Callable[..., Receipt], run_tasks: Callable[[], None]
) -> None:
    case = receive().case
    url = reverse("console:case-reply", args=[case.reference])

    response = agent_client.post(url, {"body": "Size L fits 182 cm.", "status_after": "pending"}, **HX)

    assert response.status_code == 200
    reply = Message.objects.get(case=case, direction=Message.Direction.OUT)
    assert reply.delivery_status == Message.Delivery.QUEUED
    assert reply.author_user == agent
    content = response.content.decode()
    assert 'id="timeline"' in content and "Size L fits 182 cm." in content
    assert "Queued" in content
    assert 'hx-trigger="every 5s"' in content  # the timeline polls until the reply is out
    case.refresh_from_db()
    assert case.status == Case.Status.PENDING and case.owner == agent

    run_tasks()

    reply.refresh_from_db()
    assert reply.delivery_status == Message.Delivery.SENT
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["anssi@example.com"]
    assert "Size L fits 182 cm." in mail.outbox[0].body
    timeline = agent_client.get(reverse("console:case-timeline", args=[case.reference])).content.decode()
    assert "Sent" in timeline and 'hx-trigger="every 5s"' not in timeline


def test_reply_with_an_attachment_stores_it_and_shows_its_size(
    agent_client: Client, receive: Callable[..., Receipt]
) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    case = receive().case
    upload = SimpleUploadedFile("size-chart.pdf", b"%PDF-1.4 " + b"x" * 2048, content_type="application/pdf")
    response = agent_client.post(
        reverse("console:case-reply", args=[case.reference]), {"body": "Chart attached.", "files": upload}, **HX
    )
    assert response.status_code == 200
    assert "size-chart.pdf" in response.content.decode()
    assert "2 kB" in response.content.decode()


def test_reply_without_js_redirects_back_with_a_message(agent_client: Client, receive: Callable[..., Receipt]) -> None:
    case = receive().case
    response = agent_client.post(reverse("console:case-reply", args=[case.reference]), {"body": "Hello"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("console:case", args=[case.reference])
    assert "Reply queued for sending." in response.content.decode()


def test_empty_reply_is_refused_with_a_message_not_a_500(agent_client: Client, receive: Callable[..., Receipt]) -> None:
    case = receive().case
    response = agent_client.post(reverse("console:case-reply", args=[case.reference]), {"body": "  "}, **HX)
    assert response.status_code == 400
    assert response["HX-Retarget"] == "#reply-errors"
    assert "required" in response.content.decode()
    assert not Message.objects.filter(case=case, direction=Message.Direction.OUT).exists()


def test_reply_on_a_channel_tiski_cannot_send_on_explains_why(
    agent_client: Client, make_case: Callable[..., Case], phone_channel: Channel
) -> None:
    case = make_case(channel=phone_channel)
    response = agent_client.post(reverse("console:case-reply", args=[case.reference]), {"body": "Hi"}, **HX)
    assert response.status_code == 400
    assert "cannot be sent from Tiski" in response.content.decode()


def test_reply_to_a_closed_case_is_refused(agent_client: Client, receive: Callable[..., Receipt]) -> None:
    case = receive().case
    Case.objects.filter(pk=case.pk).update(status=Case.Status.CLOSED)
    response = agent_client.post(reverse("console:case-reply", args=[case.reference]), {"body": "Hi"}, **HX)
    assert response.status_code == 409
    assert "closed" in response.content.decode()


def test_note_is_added_and_shown_as_internal(
    agent_client: Client, agent: User, receive: Callable[..., Receipt]
) -> None:
    case = receive().case
    response = agent_client.post(
        reverse("console:case-note", args=[case.reference]), {"body": "Customer is a regular."}, **HX
    )
    assert response.status_code == 200
    note = Note.objects.get(case=case)
    assert note.author == agent and note.body == "Customer is a regular."
    content = response.content.decode()
    assert 'class="note"' in content and "Customer is a regular." in content
    assert not Message.objects.filter(case=case, direction=Message.Direction.OUT).exists()
    assert mail.outbox == []


def test_agent_changes_status_and_priority(agent_client: Client, receive: Callable[..., Receipt]) -> None:
    case = receive().case
    response = agent_client.post(
        reverse("console:case-update", args=[case.reference]), {"status": "on_hold", "priority": "4"}, **HX
    )
    assert response.status_code == 200
    case.refresh_from_db()
    assert case.status == Case.Status.ON_HOLD and case.priority == Case.Priority.URGENT
    content = response.content.decode()
    assert 'id="case-header" class="case__head" hx-swap-oob="true"' in content
    assert "changed the status from New to On hold" in content


def test_agent_takes_an_unassigned_case(agent_client: Client, agent: User, receive: Callable[..., Receipt]) -> None:
    case = receive().case
    response = agent_client.post(reverse("console:case-update", args=[case.reference]), {"owner": agent.pk}, **HX)
    assert response.status_code == 200
    case.refresh_from_db()
    assert case.owner == agent


def test_agent_cannot_assign_a_case_to_someone_else(
    agent_client: Client, other_agent: User, receive: Callable[..., Receipt]
) -> None:
    case = receive().case
    response = agent_client.post(reverse("console:case-update", args=[case.reference]), {"owner": other_agent.pk}, **HX)
    assert response.status_code == 403
    assert response["HX-Retarget"] == "#update-errors"
    assert "Only a team lead can assign" in response.content.decode()
    case.refresh_from_db()
    assert case.owner is None


def test_agent_cannot_take_a_case_from_a_colleague(
    agent_client: Client, agent: User, other_agent: User, make_case: Callable[..., Case]
) -> None:
    case = make_case(owner=other_agent)
    response = agent_client.post(reverse("console:case-update", args=[case.reference]), {"owner": agent.pk})
    assert response.status_code == 302  # without htmx: back to the case with the reason as a message
    case.refresh_from_db()
    assert case.owner == other_agent
    page = agent_client.get(response["Location"]).content.decode()
    assert "Only a team lead can assign cases to others" in page


def test_agent_cannot_move_a_case_to_another_team_but_a_team_lead_can(
    client: Client, agent: User, team_lead: User, other_agent: User, receive: Callable[..., Receipt]
) -> None:
    case = receive().case
    team = Team.objects.create(name="Returns")
    url = reverse("console:case-update", args=[case.reference])
    client.force_login(agent)
    assert client.post(url, {"team": team.pk}, **HX).status_code == 403
    case.refresh_from_db()
    assert case.team is None

    client.force_login(team_lead)
    response = client.post(url, {"team": team.pk, "owner": other_agent.pk}, **HX)
    assert response.status_code == 200
    case.refresh_from_db()
    assert case.team == team and case.owner == other_agent
    assert CaseEvent.objects.filter(case=case, kind=CaseEvent.Kind.ASSIGNED, actor=team_lead).exists()


def _owner_select(html: str) -> str:
    start = html.index('name="owner"')
    return html[start : html.index("</select>", start)]


def test_only_a_team_lead_sees_the_full_owner_and_team_choices(
    client: Client, agent: User, team_lead: User, other_agent: User, receive: Callable[..., Receipt]
) -> None:
    case = receive().case
    Team.objects.create(name="Returns")
    url = reverse("console:case", args=[case.reference])
    client.force_login(agent)
    as_agent = client.get(url).content.decode()
    assert f'<option value="{other_agent.pk}"' not in _owner_select(as_agent) and 'name="team"' not in as_agent
    client.force_login(team_lead)
    as_lead = client.get(url).content.decode()
    assert f'<option value="{other_agent.pk}"' in _owner_select(as_lead) and 'name="team"' in as_lead


def test_invalid_owner_or_status_is_a_400(agent_client: Client, receive: Callable[..., Receipt]) -> None:
    case = receive().case
    url = reverse("console:case-update", args=[case.reference])
    assert agent_client.post(url, {"owner": "nobody"}, **HX).status_code == 400
    assert agent_client.post(url, {"owner": "99999"}, **HX).status_code == 400
    assert agent_client.post(url, {"status": "exploded"}, **HX).status_code == 400
    case.refresh_from_db()
    assert case.status == Case.Status.NEW


def test_closed_case_cannot_be_changed(agent_client: Client, make_case: Callable[..., Case]) -> None:
    case = make_case(status=Case.Status.CLOSED)
    response = agent_client.post(reverse("console:case-update", args=[case.reference]), {"status": "open"}, **HX)
    assert response.status_code == 409
    assert "closed" in response.content.decode()
    page = agent_client.get(reverse("console:case", args=[case.reference])).content.decode()
    assert "This case is closed" in page and 'name="status"' not in page


@pytest.mark.parametrize("status", ["queued", "retrying", "failed"])
def test_timeline_shows_delivery_status_and_error(
    agent_client: Client, receive: Callable[..., Receipt], agent: User, status: str
) -> None:
    case = receive().case
    Message.objects.create(
        case=case,
        channel=case.channel,
        direction=Message.Direction.OUT,
        author=Message.Author.AGENT,
        author_user=agent,
        body_text="Our answer",
        delivery_status=status,
        delivery_error="" if status == "queued" else "mail server said 451",
    )
    content = agent_client.get(reverse("console:case-timeline", args=[case.reference])).content.decode()
    assert f"delivery--{status}" in content
    assert ("mail server said 451" in content) == (status != "queued")
    assert ('hx-trigger="every 5s"' in content) == (status != "failed")
