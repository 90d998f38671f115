"""End to end over real HTTP: the simulator delivers signed webhooks to the live server, replies leave through
the outbox to the simulator's Graph API, and its status callbacks come back to the webhook."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from tiski.cases.exceptions import CaseReplyError
from tiski.cases.models import Case, Message
from tiski.cases.services import message_reply
from tiski.channels.meta.models import TemplateSend, WhatsAppTemplate
from tiski.channels.meta.services import whatsapp_template_send
from tiski.channels.models import Channel
from tiski.routing.models import WorkItem
from tiski.simulators.meta import MetaSimulator

from .conftest import hook

pytestmark = pytest.mark.django_db(transaction=True)

NUMBER = "358401234567"
DAY = 24 * 3600


@pytest.fixture
def urls(
    live_server: Any, whatsapp: Channel, messenger: Channel, instagram: Channel, meta: MetaSimulator
) -> dict[str, str]:
    """The webhook URLs of the three channels on the live server; status callbacks go there."""
    found = {channel.kind: f"{live_server.url}{hook(channel)}" for channel in (whatsapp, messenger, instagram)}
    meta.webhooks.update(found)
    return found


def reply_and_send(*, case: Case, agent: User, run_tasks: Any, body: str = "Tilauksesi on matkalla.") -> Message:
    reply = message_reply(case=case, actor=agent, body=body)
    run_tasks()
    reply.refresh_from_db()
    return reply


def test_whatsapp_message_reply_and_status_callbacks_over_real_http(
    urls: dict[str, str], meta: MetaSimulator, agent: User, run_tasks: Any
) -> None:
    webhook = meta.send_whatsapp(urls["whatsapp"], NUMBER, "Missä tilaukseni on?", name="Anssi Asiakas")
    assert (webhook.status, webhook.answer) == (200, b"EVENT_RECEIVED")
    case = Case.objects.get()
    reply = reply_and_send(case=case, agent=agent, run_tasks=run_tasks)
    [sent] = meta.sent
    assert sent.payload == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": NUMBER,
        "biz_opaque_callback_data": f"tiski-message-{reply.pk}",
        "type": "text",
        "text": {"preview_url": False, "body": "Tilauksesi on matkalla."},
    }
    assert reply.delivery_status == Message.Delivery.SENT
    assert reply.external_id == sent.message_id
    meta.release_callbacks()
    meta.wait_callbacks()
    assert [hook.status for hook in meta.webhooks_sent[1:]] == [200, 200, 200]  # sent, delivered, read
    reply.refresh_from_db()
    assert reply.delivery_status == Message.Delivery.READ


def test_whatsapp_failed_status_callback_shows_metas_error_on_the_message(
    urls: dict[str, str], meta: MetaSimulator, agent: User, run_tasks: Any
) -> None:
    meta.outcome = "failed"
    meta.send_whatsapp(urls["whatsapp"], NUMBER, "Hei")
    reply = reply_and_send(case=Case.objects.get(), agent=agent, run_tasks=run_tasks)
    meta.release_callbacks()
    meta.wait_callbacks()
    reply.refresh_from_db()
    assert reply.delivery_status == Message.Delivery.FAILED
    assert "131026" in reply.delivery_error
    assert "Message undeliverable" in reply.delivery_error


def test_reply_outside_the_24_hour_window_is_refused_and_a_template_is_sent_instead(
    urls: dict[str, str], meta: MetaSimulator, agent: User, run_tasks: Any, whatsapp: Channel
) -> None:
    meta.send_whatsapp(urls["whatsapp"], NUMBER, "Hei", timestamp=time.time() - DAY - 3600)
    Message.objects.update(created_at=timezone.now() - timedelta(hours=25))
    case = Case.objects.get()
    with pytest.raises(CaseReplyError, match="outside WhatsApp's 24-hour window: send an approved template"):
        message_reply(case=case, actor=agent, body="Hei taas")
    assert Message.objects.filter(direction=Message.Direction.OUT).count() == 0
    template = WhatsAppTemplate.objects.create(
        channel=whatsapp,
        name="order_update",
        language="fi",
        body="Hei {{1}}, tilauksesi {{2}} on lähetetty.",
        status=WhatsAppTemplate.Status.APPROVED,
    )
    message = whatsapp_template_send(case=case, actor=agent, template=template, parameters=["Anssi", "1042"])
    assert message.body_text == "Hei Anssi, tilauksesi 1042 on lähetetty."
    assert TemplateSend.objects.get(message=message).parameters == ["Anssi", "1042"]
    run_tasks()
    [sent] = meta.sent
    assert sent.payload["type"] == "template"
    assert sent.payload["template"] == {
        "name": "order_update",
        "language": {"code": "fi"},
        "components": [
            {"type": "body", "parameters": [{"type": "text", "text": "Anssi"}, {"type": "text", "text": "1042"}]}
        ],
    }
    message.refresh_from_db()
    assert message.delivery_status == Message.Delivery.SENT


def test_template_must_be_approved_and_get_all_its_parameters(
    urls: dict[str, str], meta: MetaSimulator, agent: User, whatsapp: Channel
) -> None:
    meta.send_whatsapp(urls["whatsapp"], NUMBER, "Hei")
    case = Case.objects.get()
    pending = WhatsAppTemplate.objects.create(channel=whatsapp, name="promo", body="Ale {{1}}")
    with pytest.raises(CaseReplyError, match="not approved"):
        whatsapp_template_send(case=case, actor=agent, template=pending, parameters=["-20 %"])
    pending.status = WhatsAppTemplate.Status.APPROVED
    pending.save()
    with pytest.raises(CaseReplyError, match="takes 1 parameter"):
        whatsapp_template_send(case=case, actor=agent, template=pending, parameters=[])
    assert not Message.objects.filter(direction=Message.Direction.OUT).exists()


def test_metas_re_engagement_refusal_131047_fails_the_reply_with_a_clear_error(
    urls: dict[str, str], meta: MetaSimulator, agent: User, run_tasks: Any
) -> None:
    meta.send_whatsapp(urls["whatsapp"], NUMBER, "Hei")
    meta.wrote_at(NUMBER, time.time() - DAY - 60)  # Meta's clock says the window closed
    reply = reply_and_send(case=Case.objects.get(), agent=agent, run_tasks=run_tasks)
    assert reply.delivery_status == Message.Delivery.FAILED
    assert "131047" in reply.delivery_error
    assert "more than 24 hours" in reply.delivery_error
    assert "template" in reply.delivery_error
    assert reply.delivery.attempts == 1  # permanent: not retried
    assert not meta.sent


def test_invalid_access_token_fails_the_reply_saying_so(
    urls: dict[str, str], meta: MetaSimulator, agent: User, run_tasks: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    meta.send_whatsapp(urls["whatsapp"], NUMBER, "Hei")
    monkeypatch.setenv("TEST_META_TOKEN", "EAAG-expired")
    reply = reply_and_send(case=Case.objects.get(), agent=agent, run_tasks=run_tasks)
    assert reply.delivery_status == Message.Delivery.FAILED
    assert "access token is invalid" in reply.delivery_error
    assert "190" in reply.delivery_error


@pytest.mark.parametrize("status", [500, 429])
def test_server_errors_and_rate_limits_are_retried(
    urls: dict[str, str], meta: MetaSimulator, agent: User, run_tasks: Any, status: int
) -> None:
    meta.send_whatsapp(urls["whatsapp"], NUMBER, "Hei")
    meta.fail_next(status)
    reply = reply_and_send(case=Case.objects.get(), agent=agent, run_tasks=run_tasks)
    assert reply.delivery_status == Message.Delivery.RETRYING
    assert f"HTTP {status}" in reply.delivery_error
    assert not meta.sent


def test_messenger_message_reply_delivery_and_read_over_real_http(
    urls: dict[str, str], meta: MetaSimulator, agent: User, run_tasks: Any
) -> None:
    webhook = meta.send_messenger(urls["messenger"], "6543210987654321", "Onko tuotetta varastossa?")
    assert webhook.status == 200
    message = Message.objects.get()
    assert (message.identity.kind, message.identity.value) == ("messenger", "6543210987654321")
    reply = reply_and_send(case=message.case, agent=agent, run_tasks=run_tasks, body="On, kolme kappaletta.")
    [sent] = meta.sent
    assert sent.node == "104560078900001"
    assert sent.payload == {
        "recipient": {"id": "6543210987654321"},
        "messaging_type": "RESPONSE",
        "message": {"text": "On, kolme kappaletta."},
    }
    assert reply.external_id == sent.message_id
    meta.release_callbacks()
    meta.wait_callbacks()
    reply.refresh_from_db()
    assert reply.delivery_status == Message.Delivery.READ  # delivery by mid, then read by watermark


def test_instagram_direct_message_reply_and_read_over_real_http(
    urls: dict[str, str], meta: MetaSimulator, agent: User, run_tasks: Any
) -> None:
    assert meta.send_instagram(urls["instagram"], "1784000111222333", "Hei!").status == 200
    reply = reply_and_send(case=Case.objects.get(), agent=agent, run_tasks=run_tasks, body="Moi!")
    [sent] = meta.sent
    assert sent.node == "17841400000000001"
    meta.release_callbacks()
    meta.wait_callbacks()
    reply.refresh_from_db()
    assert reply.delivery_status == Message.Delivery.READ


def test_messenger_reply_outside_the_24_hour_window_is_refused(
    urls: dict[str, str], meta: MetaSimulator, agent: User
) -> None:
    meta.send_messenger(urls["messenger"], "6543210987654321", "Hei")
    Message.objects.update(created_at=timezone.now() - timedelta(hours=25))
    with pytest.raises(CaseReplyError, match="outside Messenger's 24-hour messaging window"):
        message_reply(case=Case.objects.get(), actor=agent, body="Vastaus")


def test_instagram_mention_over_real_http_opens_a_case_in_the_social_queue(
    urls: dict[str, str], meta: MetaSimulator
) -> None:
    webhook = meta.send_mention(urls["instagram"], "pyoraily_anna", "Uusi pyörä @pyorakauppa 🚲 #onnellinen")
    assert webhook.status == 200
    case = Case.objects.get()
    assert case.subject == "Instagram: @pyoraily_anna mentioned us in a post"
    assert case.category is not None and case.category.name == "Social media"
    assert WorkItem.objects.get(case=case).queue.name == "Social"
    message = case.messages.get()
    assert message.body_text.startswith("Uusi pyörä @pyorakauppa")
    assert (message.identity.kind, message.identity.value) == ("instagram", "pyoraily_anna")
