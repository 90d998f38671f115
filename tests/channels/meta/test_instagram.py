"""Instagram: direct messages, story mentions, mentions and keyword comments as cases in the social queue."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from tiski.cases.exceptions import CaseReplyError
from tiski.cases.models import Attachment, Case, Category, Message
from tiski.cases.services import message_reply
from tiski.channels.meta.models import SocialKeyword
from tiski.channels.models import Channel, QuarantinedMail
from tiski.customers.models import Customer
from tiski.routing.models import Queue, RoutingRule, WorkItem
from tiski.simulators.meta import MetaSimulator

from .conftest import IG_USER_ID, deliver

pytestmark = pytest.mark.django_db

IGSID = "1784000111222333"
JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256))


def test_direct_message_is_a_conversation(client: Client, instagram: Channel, meta: MetaSimulator) -> None:
    deliver(client, instagram, meta.page_body(kind="instagram", sender=IGSID, text="Hei"), meta=meta)
    deliver(client, instagram, meta.page_body(kind="instagram", sender=IGSID, text="Onko alennuskoodia?"), meta=meta)
    case = Case.objects.get()
    assert case.messages.count() == 2
    assert case.category is None
    message = case.messages.first()
    assert message is not None and message.identity is not None
    assert (message.identity.kind, message.identity.value) == ("instagram", IGSID)


def test_forged_signature_gets_403_and_stores_nothing(client: Client, instagram: Channel, meta: MetaSimulator) -> None:
    body = json.dumps(meta.page_body(kind="instagram", sender=IGSID, text="Hei")).encode()
    response = client.post(
        f"/hooks/instagram/{instagram.pk}/",
        data=body,
        content_type="application/json",
        headers={"X-Hub-Signature-256": meta.sign(b"{}")["X-Hub-Signature-256"]},
    )
    assert response.status_code == 403
    assert not Message.objects.exists()


def test_retry_is_stored_once(client: Client, instagram: Channel, meta: MetaSimulator) -> None:
    payload = meta.page_body(kind="instagram", sender=IGSID, text="Hei")
    for _ in range(2):
        deliver(client, instagram, payload, meta=meta)
    assert Message.objects.count() == 1


def test_direct_message_with_a_photo(client: Client, instagram: Channel, meta: MetaSimulator) -> None:
    deliver(
        client,
        instagram,
        meta.page_body(kind="instagram", sender=IGSID, media=(JPEG, "image/jpeg", "image")),
        meta=meta,
    )
    assert Attachment.objects.get().file.read() == JPEG


def test_seen_event_marks_the_reply_read(
    client: Client, instagram: Channel, meta: MetaSimulator, agent: User, run_tasks: Any
) -> None:
    deliver(client, instagram, meta.page_body(kind="instagram", sender=IGSID, text="Hei"), meta=meta)
    reply = message_reply(case=Case.objects.get(), actor=agent, body="Moi")
    run_tasks()
    reply.refresh_from_db()
    seen = {
        "object": "instagram",
        "entry": [
            {
                "id": IG_USER_ID,
                "time": 1,
                "messaging": [
                    {"sender": {"id": IGSID}, "recipient": {"id": IG_USER_ID}, "read": {"mid": reply.external_id}}
                ],
            }
        ],
    }
    deliver(client, instagram, seen, meta=meta)
    reply.refresh_from_db()
    assert reply.delivery_status == Message.Delivery.READ


def test_story_mention_opens_a_case_in_the_social_queue_with_the_story(
    client: Client, instagram: Channel, meta: MetaSimulator
) -> None:
    deliver(client, instagram, meta.page_body(kind="instagram", sender=IGSID, story_mention=True), meta=meta)
    deliver(client, instagram, meta.page_body(kind="instagram", sender=IGSID, text="Hei"), meta=meta)
    mention = Message.objects.get(external_id__startswith="story_mention:")
    assert mention.body_text == "Mentioned the company in an Instagram story."
    assert mention.attachments.count() == 1
    assert mention.case.category == Category.objects.get(name="Social media")
    assert WorkItem.objects.get(case=mention.case).queue.name == "Social"
    assert mention.case.messages.count() == 2  # the direct message that follows continues the open case


def test_mention_in_a_post_opens_a_case_with_the_post_and_its_image(
    client: Client, instagram: Channel, meta: MetaSimulator
) -> None:
    body = meta.mention_body("pyoraily_anna", "Kiitos @pyorakauppa!", media=(JPEG, "image/jpeg"))
    assert deliver(client, instagram, body, meta=meta).status_code == 200
    case = Case.objects.get()
    assert case.subject == "Instagram: @pyoraily_anna mentioned us in a post"
    message = case.messages.get()
    assert message.body_text.startswith("Kiitos @pyorakauppa!\nhttps://www.instagram.com/p/")
    assert message.attachments.get().file.read() == JPEG
    assert WorkItem.objects.get(case=case).queue == Queue.objects.get(name="Social")
    assert RoutingRule.objects.get(name="Social media mentions and comments").categories.get() == case.category


def test_mention_in_a_comment(client: Client, instagram: Channel, meta: MetaSimulator) -> None:
    body = meta.mention_body("matti.m", "@pyorakauppa katsokaa tätä", in_comment=True)
    deliver(client, instagram, body, meta=meta)
    case = Case.objects.get()
    assert case.subject == "Instagram: @matti.m mentioned us in a comment"
    assert case.messages.get().body_text.startswith("@pyorakauppa katsokaa tätä")


def test_mention_that_cannot_be_read_is_quarantined_not_lost(
    client: Client, instagram: Channel, meta: MetaSimulator
) -> None:
    body = meta.changes_body("mentions", {"media_id": "404404"})
    assert deliver(client, instagram, body, meta=meta).status_code == 200
    assert not Case.objects.exists()
    assert b"404404" in bytes(QuarantinedMail.objects.get().raw)


def test_comment_with_an_active_keyword_opens_a_case_and_others_do_not(
    client: Client, instagram: Channel, meta: MetaSimulator
) -> None:
    returns = Category.objects.create(name="Returns")
    SocialKeyword.objects.create(keyword="#rikki")
    SocialKeyword.objects.create(keyword="palautus", category=returns)
    SocialKeyword.objects.create(keyword="ale", active=False)
    comments = {
        "Ihana pyörä!": None,
        "Ketju on jo #rikki": "Social media",
        "Miten palautus toimii?": "Returns",
        "Milloin on ale?": None,  # inactive keyword
        "#rikkinäinen": None,  # a keyword starts a word: "#rikkinäinen" starts with "#rikki"
    }
    for number, text in enumerate(comments):
        deliver(client, instagram, meta.comment_body(f"user{number}", text, comment_id=str(9000 + number)), meta=meta)
    found = {
        case.messages.get().body_text.split("\n")[0]: case.category.name for case in Case.objects.all() if case.category
    }
    assert found == {
        "Ketju on jo #rikki": "Social media",
        "Miten palautus toimii?": "Returns",
        "#rikkinäinen": "Social media",
    }
    case = Case.objects.get(category__name="Social media", subject__contains="user1")
    assert case.subject == "Instagram comment by @user1: #rikki"
    assert WorkItem.objects.get(case=case).queue.name == "Social"


def test_companys_own_comment_is_not_a_case(client: Client, instagram: Channel, meta: MetaSimulator) -> None:
    SocialKeyword.objects.create(keyword="#rikki")
    deliver(client, instagram, meta.comment_body("pyorakauppa", "Pahoittelut, #rikki?", user_id=IG_USER_ID), meta=meta)
    assert not Case.objects.exists()


def test_comment_case_is_answered_once_as_a_private_reply(
    client: Client, instagram: Channel, meta: MetaSimulator, agent: User, run_tasks: Any
) -> None:
    SocialKeyword.objects.create(keyword="#rikki")
    deliver(client, instagram, meta.comment_body("anna", "Ketju #rikki", comment_id="17900000000000042"), meta=meta)
    case = Case.objects.get()
    reply = message_reply(case=case, actor=agent, body="Pahoittelut! Laitoimme viestin.")
    run_tasks()
    [sent] = meta.sent
    assert sent.payload["recipient"] == {"comment_id": "17900000000000042"}
    reply.refresh_from_db()
    assert reply.delivery_status == Message.Delivery.SENT
    with pytest.raises(CaseReplyError, match="began as a public Instagram comment or mention"):
        message_reply(case=case, actor=agent, body="Toinen vastaus")  # one private reply per comment
    assert Customer.objects.get().identities.get().value == "anna"


def test_mention_case_cannot_be_answered_from_tiski(
    client: Client, instagram: Channel, meta: MetaSimulator, agent: User
) -> None:
    deliver(client, instagram, meta.mention_body("anna", "@pyorakauppa"), meta=meta)
    with pytest.raises(CaseReplyError, match="began as a public Instagram comment or mention"):
        message_reply(case=Case.objects.get(), actor=agent, body="Kiitos!")


def test_direct_reply_outside_the_24_hour_window_is_refused(
    client: Client, instagram: Channel, meta: MetaSimulator, agent: User
) -> None:
    deliver(client, instagram, meta.page_body(kind="instagram", sender=IGSID, text="Hei"), meta=meta)
    Message.objects.update(created_at=timezone.now() - timedelta(hours=24, minutes=1))
    with pytest.raises(CaseReplyError, match="outside Instagram's 24-hour messaging window"):
        message_reply(case=Case.objects.get(), actor=agent, body="Vastaus")
    Message.objects.update(created_at=timezone.now() - timedelta(hours=23))
    message_reply(case=Case.objects.get(), actor=agent, body="Vastaus")  # inside the window: queued
