"""Other projects' recorded webhook bodies (../shared/corpus/external/webhooks, see its README) parsed to sensible
outcomes: every body is answered 200 (never a 500 that Meta would retry forever), messages are stored as
readable text, and everything that is not a customer's message (statuses, echoes, account and template updates,
calls, reactions) stores nothing.

Placeholders (Chatwoot's "<ruby:…>", integer ids) are replaced by real-looking values, and every URL in a body is
pointed at the simulator, so nothing leaves the machine.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from tiski.cases.models import Case, Message
from tiski.channels.models import Channel, ChannelKind, QuarantinedMail
from tiski.simulators.meta import MetaSimulator

from .conftest import IG_USER_ID, SECRETS, deliver

pytestmark = pytest.mark.django_db

CORPUS = Path(__file__).resolve().parents[4] / "shared" / "corpus" / "external" / "webhooks"
SENDER = "1784000111222333"


def corpus(path: str) -> Path:
    folder = CORPUS / path
    if not folder.exists():
        pytest.skip(f"{folder} is not present")
    return folder


def localised(payload: Any, meta: MetaSimulator) -> Any:
    """Return PAYLOAD with every URL on the simulator and Chatwoot's placeholders filled in."""
    text = json.dumps(payload)
    text = re.sub(r"https?://[^/\"]+", meta.url, text)
    text = text.replace("<ruby:sender_id>", SENDER).replace("<ruby:ig_entry_id>", IG_USER_ID)
    return json.loads(text)


def outcome(client: Client, channel: Channel, payload: Any, meta: MetaSimulator) -> list[str]:
    """Deliver PAYLOAD and return the texts it stored (the database is emptied of messages first)."""
    Message.objects.all().delete()
    Case.objects.all().delete()
    response = deliver(client, channel, payload, meta=meta)
    assert response.status_code == 200, response.content
    return list(Message.objects.order_by("pk").values_list("body_text", flat=True))


# pywa's WhatsApp bodies: name → the start of each stored text (none: nothing is stored)
WHATSAPP_MESSAGES = {
    "text": ["Body Text"],
    "image": ["[image 65463453 could not be downloaded from WhatsApp"],
    "media_with_url": ["[image 65463453 could not be downloaded from WhatsApp"],
    "video": ["caption\n[video 765756756 could not be downloaded"],
    "document": ["caption\n[document "],
    "audio": ["[audio "],
    "voice": ["[audio "],
    "static_sticker": ["[sticker "],
    "animated_sticker": ["[sticker "],
    "reaction": [],
    "unreaction_empty": [],
    "unreaction_no_emoji": [],
    "current_location": ["📍 Location (12.25089, 43.90539) https://maps.google.com/?q=12.25089,43.90539"],
    "chosen_location": ["📍 Location: Facebook HQ, 1 Hacker Way, Menlo Park, CA 94025 (37.4611978, -122.2164385)"],
    "contacts": ["Shared contact(s):\nChandler Bing +1 555-555-5555\nMonica +1 666-666-6666\nRachel Green"],
    "order": ["Order: 3 × HAMBURGER, 2 × FRENCH_FRIES, 2 × SODA"],
    "unsupported": ["[unsupported WhatsApp message (unsupported): Message type is currently not supported.]"],
    "unsupported_with_type": ["[unsupported WhatsApp message"],
    "reply": ["replied text"],
    "forwarded": ["forwarded text"],
    "forwarded_many_times": ["text forwarded many times"],
    "interactive_message_with_err": ["[unsupported WhatsApp message (interactive)"],
    "referral": ["BODY"],
}


def test_pywa_whatsapp_messages(client: Client, meta: MetaSimulator) -> None:
    bodies = json.loads((corpus("whatsapp-cloud/pywa/tests/data/updates") / "message.json").read_text())
    channel = Channel.objects.create(
        kind=ChannelKind.WHATSAPP, name="pywa", config={"phone_number_id": "1122334455667", "secrets": SECRETS}
    )
    assert set(bodies) == set(WHATSAPP_MESSAGES)
    for name, payload in bodies.items():
        texts = outcome(client, channel, localised(payload, meta), meta)
        expected = WHATSAPP_MESSAGES[name]
        assert len(texts) == len(expected), name
        for text, start in zip(texts, expected, strict=True):
            assert text.startswith(start), (name, text)
            assert text.strip(), name  # never an empty message
    assert not QuarantinedMail.objects.exists()


def test_pywa_whatsapp_updates_that_are_not_messages_store_nothing_and_buttons_are_text(
    client: Client, meta: MetaSimulator
) -> None:
    folder = corpus("whatsapp-cloud/pywa/tests/data/updates")
    channel = Channel.objects.create(
        kind=ChannelKind.WHATSAPP, name="pywa", config={"phone_number_id": "1122334455667", "secrets": SECRETS}
    )
    stored: dict[str, list[str]] = {}
    for path in sorted(folder.glob("*.json")):
        if path.name == "message.json":
            continue
        for name, payload in json.loads(path.read_text()).items():
            stored[f"{path.stem}/{name}"] = outcome(client, channel, localised(payload, meta), meta)
    with_messages = {key: texts for key, texts in stored.items() if texts}
    assert set(with_messages) == {
        "call_permission_update/accept",
        "call_permission_update/reject",
        "callback_button/button",
        "callback_button/quick_reply",
        "callback_button/quick_reply_without_context",
        "callback_selection/callback",
        "callback_selection/description",
        "flow_completion/completion",
        "flow_completion/without_flow_token",
    }
    assert all(len(texts) == 1 and texts[0].strip() for texts in with_messages.values())
    assert not QuarantinedMail.objects.exists()


@pytest.mark.parametrize("name", sorted(p.stem for p in (CORPUS / "whatsapp-cloud" / "chatwoot").glob("*.json")))
def test_chatwoot_whatsapp_bodies_are_answered_and_store_no_junk(
    client: Client, meta: MetaSimulator, name: str
) -> None:
    payload = json.loads((corpus("whatsapp-cloud/chatwoot") / f"{name}.json").read_text())["payload"]
    channel = Channel.objects.create(
        kind=ChannelKind.WHATSAPP, name="chatwoot", config={"phone_number_id": "123456789", "secrets": SECRETS}
    )
    texts = outcome(client, channel, localised(payload, meta), meta)
    assert all(text.strip() for text in texts)
    if "reaction" in name or "request_welcome" in name or "not_enque" in name or "not_throw" in name:
        assert texts == []


MESSENGER = {
    "bottender/request": ["text"],
    "bottender/batchRequest": ["test 1"],  # the second entry is for a page Tiski does not know: ignored
    "bottender/echoRequest": [],  # sent by the page itself
    "fbmessenger/payload_message": ["hello, world!"],
    "fbmessenger/payload_postback": ["USER_DEFINED_PAYLOAD"],
    "fbmessenger/payload_delivered": [],
    "fbmessenger/payload_message_read": [],
    "fbmessenger/payload_optin": [],
    "fbmessenger/payload_account_linking": [],
    "chatwoot/incoming_fb_text_message": ["facebook message"],
    "chatwoot/mocked_message_text": ["facebook message"],
    "chatwoot/message_deliveries": [],
    "chatwoot/message_reads": [],
}
PAGES = {"bottender": "1895382890692545", "fbmessenger": "1234", "chatwoot": "117172741761305"}


@pytest.mark.parametrize("name", sorted(MESSENGER))
def test_messenger_bodies(client: Client, meta: MetaSimulator, name: str) -> None:
    source = json.loads((corpus("facebook-messenger") / f"{name}.json").read_text())
    payload = source.get("payload", source)
    folder = name.split("/")[0]
    if "messaging" in payload and "entry" not in payload:  # Chatwoot keeps one messaging item
        payload = {"object": "page", "entry": [{"id": PAGES[folder], "time": 1, "messaging": [payload["messaging"]]}]}
    if folder == "bottender":
        page = PAGES["bottender"] if "echo" not in name else "1134713619900975"
    else:
        page = PAGES[folder]
    text = json.dumps(payload)
    if folder == "fbmessenger":  # integer ids, the same for page and sender: Meta sends distinct strings
        text = text.replace('"sender": {"id": 1234}', '"sender": {"id": "2468013579"}').replace(": 1234", ': "1234"')
    text = text.replace('"isEcho"', '"is_echo"')  # bottender camel-cases Meta's keys
    channel = Channel.objects.create(
        kind=ChannelKind.MESSENGER, name=name, config={"page_id": page, "secrets": SECRETS}
    )
    assert outcome(client, channel, localised(json.loads(text), meta), meta) == MESSENGER[name]


INSTAGRAM = {
    "incoming_ig_text_message": 0,  # Chatwoot's factory nests "messaging" without "entry": not Meta's shape
    "instagram_message_create_event": 1,
    "instagram_message_attachment_event": 1,
    "instagram_message_reply_event": 1,
    "instagram_message_standby_event": 1,
    "instagram_story_reply_event": 1,
    "instagram_shared_reel_event": 1,
    "instagram_ig_post_event": 1,
    "instagram_ig_story_event": 1,
    "instagram_message_unsupported_event": 1,
    "instagram_story_mention_event": 1,
    "instagram_story_mention_event_with_echo": 0,
    "instagram_message_unsend_event": 0,
    "messaging_seen_event": 0,
    "instagram_test_event": 0,  # account id "0": not a known account
    "instagram_test_text_event": 1,
}


@pytest.mark.parametrize("name", sorted(INSTAGRAM))
def test_instagram_bodies(client: Client, instagram: Channel, meta: MetaSimulator, name: str) -> None:
    source = json.loads((corpus("instagram/chatwoot") / f"{name}.json").read_text())
    payload = {"object": "instagram", **localised(source.get("payload", source), meta)}
    texts = outcome(client, instagram, payload, meta)
    assert len(texts) == INSTAGRAM[name], texts
    assert all(text.strip() for text in texts)
    if name == "instagram_story_mention_event":
        case = Case.objects.get()
        assert case.category is not None and case.category.name == "Social media"
        assert texts[0].startswith("Mentioned the company in an Instagram story.")
    if name == "instagram_message_unsupported_event":
        assert texts == ["[unsupported Instagram message]"]
