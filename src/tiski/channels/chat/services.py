"""Writes of the chat channel: sessions, customer messages through the one inbound pipeline, notices, pushes,
the transcript by email, and the offline forms (leave a message, ask for a callback).

Services for the agent side (the console): ``chat_agent_typing`` (and ``achat_agent_typing`` from async code),
``chat_notice``, ``chat_transcript_email``, ``chat_session_for_case`` and ``chat_is_live``.
Channel-layer groups: ``case.<case id>`` (agents' consoles) and ``chatcase.<case id>`` (the customer's widgets).
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
from collections.abc import Sequence
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from tiski.cases.models import Case, Message, Tag
from tiski.cases.services import FileIn
from tiski.channels.chat.exceptions import (
    ChatMessageInvalidError,
    ChatNoEmailError,
    ChatOfflineUnavailableError,
    ChatPrechatInvalidError,
    ChatSessionEndedError,
)
from tiski.channels.chat.identity import identity_token_verify
from tiski.channels.chat.models import ChatSession
from tiski.channels.chat.selectors import (
    chat_is_live,
    chat_message_out,
    chat_session_for_case,
    token_hash,
)
from tiski.channels.interface import InboundAttachment, InboundMessage, Threading
from tiski.channels.models import Channel, ChannelKind
from tiski.channels.services import Receipt, message_receive
from tiski.customers.exceptions import IdentityInvalidError
from tiski.customers.models import Identity
from tiski.customers.normalize import identity_key
from tiski.customers.services import Handle

__all__ = [
    "achat_agent_typing",
    "case_group",
    "chat_agent_typing",
    "chat_attachment_post",
    "chat_callback_request",
    "chat_is_live",
    "chat_message_post",
    "chat_notice",
    "chat_offline_message",
    "chat_session_connected",
    "chat_session_end",
    "chat_session_for_case",
    "chat_session_start",
    "chat_sessions_seen",
    "chat_state_push",
    "chat_transcript_email",
    "widget_group",
]

logger = logging.getLogger(__name__)

MAX_TEXT = 5000
CLIENT_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
CALLBACK_TAG = "callback-request"


def case_group(case_id: int) -> str:
    """Return the group of the agents' consoles showing case CASE_ID."""
    return f"case.{case_id}"


def widget_group(case_id: int) -> str:
    """Return the group of the customer's widget sockets of case CASE_ID."""
    return f"chatcase.{case_id}"


_pending: set[asyncio.Task[None]] = set()  # pushes started from event-loop code, kept alive until sent


def _group_send(group: str, payload: dict[str, Any]) -> None:
    """Send PAYLOAD to GROUP now, from a plain thread or from code running on an event loop; never raise."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        try:
            loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is not None:  # on an event loop async_to_sync refuses to run: send from a task
            task = loop.create_task(layer.group_send(group, payload))
            _pending.add(task)
            task.add_done_callback(_pending.discard)
        else:
            async_to_sync(layer.group_send)(group, payload)
    except Exception:  # a push is a courtesy: the data is stored, a reload shows it
        logger.exception("chat push to %s failed", group)


def _push_after_commit(group: str, payload: dict[str, Any]) -> None:
    transaction.on_commit(lambda: _group_send(group, payload))


def chat_message_push(*, message: Message) -> None:
    """Push stored MESSAGE to the customer's widgets and tell the agents' consoles (call after commit)."""
    message = Message.objects.select_related("author_user").prefetch_related("attachments").get(pk=message.pk)
    _group_send(widget_group(message.case_id), {"type": "chat.message", "message": chat_message_out(message)})
    _group_send(
        case_group(message.case_id), {"type": "chat.message", "case_id": message.case_id, "message_id": message.pk}
    )


def chat_message_received(event: Any) -> None:
    """Push a customer's message received on a chat channel (a MessageReceived subscriber, after commit)."""
    message = Message.objects.filter(pk=event.message_id).first()
    if message is not None:
        chat_message_push(message=message)


# --- sessions ---------------------------------------------------------------------------------------------


def chat_prechat_config(*, channel: Channel) -> dict[str, bool]:
    """Return CHANNEL's pre-chat settings: {"enabled": bool, "require_email": bool}."""
    prechat = (channel.config or {}).get("prechat") or {}
    if not isinstance(prechat, dict):
        prechat = {}
    return {"enabled": bool(prechat.get("enabled")), "require_email": bool(prechat.get("require_email"))}


def _email(value: str) -> str:
    try:
        return identity_key(Identity.Kind.EMAIL, value)[1]
    except IdentityInvalidError:
        raise ChatPrechatInvalidError(_("Please give a valid email address.")) from None


def chat_session_start(
    *,
    channel: Channel,
    language: str = "",
    prechat: dict[str, Any] | None = None,
    identity_token: str = "",
) -> tuple[ChatSession, str]:
    """Start a chat on CHANNEL and return the session with its public token (shown once, stored hashed).

    A shop's IDENTITY_TOKEN identifies the customer (verified: their chat continues their open chat case);
    else the PRECHAT form's email does (unverified: the chat opens a case of its own); else the visitor is
    anonymous, known by a generated chat handle. Raise ChatIdentityInvalidError / ChatIdentityExpiredError for
    a bad token and ChatPrechatInvalidError when the form lacks what the channel requires.
    """
    prechat = prechat or {}
    config = chat_prechat_config(channel=channel)
    name = str(prechat.get("name") or "").strip()[:200]
    topic = str(prechat.get("topic") or "").strip()[:200]
    if identity_token:
        shop = identity_token_verify(channel=channel, token=identity_token)
        kind, value, identified = Identity.Kind.EMAIL, _email(shop.email), ChatSession.Identified.TOKEN
        name = shop.name or name
    elif str(prechat.get("email") or "").strip():
        kind, value, identified = Identity.Kind.EMAIL, _email(str(prechat["email"])), ChatSession.Identified.PRECHAT
    elif config["enabled"] and config["require_email"]:
        raise ChatPrechatInvalidError(_("Please give your email address to start the chat."))
    else:
        kind, value = Identity.Kind.CHAT, f"visitor-{secrets.token_hex(12)}"
        identified = ChatSession.Identified.PRECHAT if name else ChatSession.Identified.ANONYMOUS
    token = secrets.token_urlsafe(32)
    session = ChatSession.objects.create(
        channel=channel,
        token_hash=token_hash(token),
        identified_by=identified,
        handle_kind=kind,
        handle_value=value,
        name=name,
        topic=topic,
        language=_language(language),
    )
    return session, token


def _language(language: str) -> str:
    code = (language or "").lower()[:2]
    return code if code in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE


def chat_session_connected(*, session: ChatSession, connected: bool) -> None:
    """Count a customer's socket in (CONNECTED) or out; tell the agents' consoles when it leaves (the consumer
    tells them it is connected once it has joined the case)."""
    sessions = ChatSession.objects.filter(pk=session.pk)
    if connected:
        sessions.update(connections=F("connections") + 1, last_seen_at=timezone.now())
    else:
        sessions.filter(connections__gt=0).update(connections=F("connections") - 1, last_seen_at=timezone.now())
    if session.case_id is not None and not connected:
        _group_send(
            case_group(session.case_id), {"type": "chat.state", "case_id": session.case_id, "state": "disconnected"}
        )


def chat_sessions_seen(*, session_ids: list[int]) -> None:
    """Record that the customers of SESSION_IDS still have a socket open (one statement for all of them)."""
    if session_ids:
        ChatSession.objects.filter(pk__in=session_ids).update(last_seen_at=timezone.now())


def chat_state_push(*, case_id: int, state: str) -> None:
    """Tell the agents' consoles of case CASE_ID that the customer's widget is "connected", "disconnected" or
    "ended"."""
    _group_send(case_group(case_id), {"type": "chat.state", "case_id": case_id, "state": state})


def chat_session_end(*, session: ChatSession) -> None:
    """End SESSION at the customer's request: it cannot be resumed; the case stays for the agent to finish."""
    with transaction.atomic():
        updated = ChatSession.objects.filter(pk=session.pk).exclude(status=ChatSession.Status.ENDED)
        if not updated.update(status=ChatSession.Status.ENDED, ended_at=timezone.now()):
            return
        session.status = ChatSession.Status.ENDED
        if session.case_id is not None:
            case = Case.objects.get(pk=session.case_id)
            with translation.override(session.language or settings.LANGUAGE_CODE):
                chat_notice(case=case, text=_("The customer ended the chat."))
            _push_after_commit(case_group(case.pk), {"type": "chat.state", "case_id": case.pk, "state": "ended"})


# --- messages ---------------------------------------------------------------------------------------------


def _inbound(
    *,
    session: ChatSession,
    client_id: str,
    text: str,
    attachments: Sequence[InboundAttachment] = (),
) -> InboundMessage:
    if session.status == ChatSession.Status.ENDED:
        raise ChatSessionEndedError(_("This chat has ended. Start a new chat to continue."))
    if not CLIENT_ID.fullmatch(client_id or ""):
        raise ChatMessageInvalidError("A message needs an id (letters, digits, - or _, at most 64).")
    text = (text or "").strip()
    if len(text) > MAX_TEXT:
        raise ChatMessageInvalidError(_("The message is too long (at most %(max)d characters).") % {"max": MAX_TEXT})
    if not text and not attachments:
        raise ChatMessageInvalidError(_("The message is empty."))
    case = session.case
    verified = session.identified_by == ChatSession.Identified.TOKEN or session.handle_kind == Identity.Kind.CHAT
    return InboundMessage(
        channel=session.channel,
        handles=[Handle(session.handle_kind, session.handle_value)],
        body_text=text,
        # Within the session: a client cannot reach another session's message by reusing its id.
        external_id=f"{session.pk}:{client_id}",
        sender_name=session.name,
        subject=session.topic if case is None else "",
        attachments=attachments,
        language=session.language,
        case_reference=case.reference if case is not None else "",
        # An unverified address typed into the pre-chat form must not continue that customer's open chat (and
        # show its history); a shop-verified customer's or an anonymous visitor's own handle may.
        threading=Threading.CONVERSATION if verified or case is not None else Threading.NEW_CASE,
    )


def _after_receipt(*, session: ChatSession, receipt: Receipt) -> None:
    """Point SESSION at the receipt's case, and greet a new case with when to expect an answer (the automatic
    reply of the service levels: the first-response target's due time, or when service opens)."""
    from tiski.sla.autoreplies import autoreply_send

    if receipt.duplicate:
        return
    if session.case_id != receipt.case.pk or session.customer_id != receipt.case.customer_id:
        session.case = receipt.case
        session.customer_id = receipt.case.customer_id
        ChatSession.objects.filter(pk=session.pk).update(case=receipt.case, customer_id=receipt.case.customer_id)
    if receipt.case_created:
        autoreply_send(message_id=receipt.message.pk, case_created=True, language=session.language)


def chat_nobody_online_text() -> str:
    """Return the automatic answer of a new chat in opening hours while no agent is online (active language)."""
    return _("Thank you! No one is online right now; we will answer here as soon as someone is back.")


def chat_message_post(*, session: ChatSession, client_id: str, text: str) -> Receipt:
    """Store the customer's chat message on the session's case through the inbound pipeline; return the receipt.

    A message sent again with the same CLIENT_ID (a resend after a dropped connection) is stored once: the
    receipt says duplicate. Raise ChatSessionEndedError or ChatMessageInvalidError.
    """
    receipt = message_receive(inbound=_inbound(session=session, client_id=client_id, text=text))
    _after_receipt(session=session, receipt=receipt)
    return receipt


def chat_attachment_post(*, session: ChatSession, client_id: str, files: Sequence[FileIn], text: str = "") -> Receipt:
    """Store the customer's files (and TEXT) as one chat message on the session's case; return the receipt."""
    attachments = [InboundAttachment(f.filename, f.content_type, f.content) for f in files]
    if not attachments:
        raise ChatMessageInvalidError(_("Choose a file to send."))
    receipt = message_receive(
        inbound=_inbound(session=session, client_id=client_id, text=text, attachments=attachments)
    )
    _after_receipt(session=session, receipt=receipt)
    return receipt


def chat_notice(*, case: Case, text: str, actor: User | None = None, channel: Channel | None = None) -> Message:
    """Store a system message on the chat CASE and push it to the customer's widget; return it.

    The message is written on the case's chat channel (the latest session's, else CHANNEL, else the case's).
    """
    session = chat_session_for_case(case=case)
    channel = session.channel if session is not None else channel or case.channel
    if channel is None:
        raise ValueError(f"{case.reference} has no channel for a chat notice")
    message = Message.objects.create(
        case=case,
        channel=channel,
        direction=Message.Direction.OUT,
        author=Message.Author.SYSTEM,
        author_user=actor,
        body_text=text.strip(),
        delivery_status=Message.Delivery.SENT,
        sent_at=timezone.now(),
    )
    transaction.on_commit(lambda: chat_message_push(message=message))
    return message


def chat_agent_typing(*, case_id: int, agent: User, on: bool) -> None:
    """Show (ON) or hide the agent's typing indicator in the customer's widget of case CASE_ID.

    Synchronous: from async code (a consumer) await achat_agent_typing() instead.
    """
    _group_send(widget_group(case_id), _agent_typing_event(agent, on))


async def achat_agent_typing(*, case_id: int, agent: User, on: bool) -> None:
    """chat_agent_typing() for async callers."""
    layer = get_channel_layer()
    if layer is not None:
        await layer.group_send(widget_group(case_id), _agent_typing_event(agent, on))


def _agent_typing_event(agent: User, on: bool) -> dict[str, Any]:
    return {"type": "chat.typing", "who": "agent", "name": agent.first_name or agent.get_username(), "on": bool(on)}


# --- transcript -------------------------------------------------------------------------------------------


def chat_transcript_email(*, case: Case, to: str | None = None) -> None:
    """E-mail the chat transcript of CASE to TO, else to the customer's email address, in the background.

    Raise ChatNoEmailError when no address is given or known, ChatPrechatInvalidError for a malformed one.
    """
    from tiski.channels.chat.tasks import chat_transcript_send

    if to:
        address = _email(to)
    else:
        address = (
            Identity.objects.filter(customer_id=case.customer_id, kind=Identity.Kind.EMAIL)
            .order_by("created_at")
            .values_list("value", flat=True)
            .first()
            or ""
        )
    if not address:
        raise ChatNoEmailError(_("No email address is known for the transcript; please give one."))
    session = chat_session_for_case(case=case)
    language = (session.language if session else "") or case.customer.language or settings.LANGUAGE_CODE
    with transaction.atomic():
        chat_transcript_send.enqueue(case_id=case.pk, to=address, language=language)


# --- when nobody is online ----------------------------------------------------------------------------------


def chat_offline_channel(*, channel: Channel) -> Channel:
    """Return the email channel that takes CHANNEL's left messages: the one its settings name, else the first
    active mailbox (then web form); raise ChatOfflineUnavailableError when there is none."""
    configured = (channel.config or {}).get("offline_channel_id")
    kinds = (ChannelKind.EMAIL, ChannelKind.WEBFORM)
    if isinstance(configured, int):
        found = Channel.objects.filter(pk=configured, kind__in=kinds, active=True).first()
        if found is not None:
            return found
    for kind in kinds:
        found = Channel.objects.filter(kind=kind, active=True).order_by("pk").first()
        if found is not None:
            return found
    raise ChatOfflineUnavailableError(_("Leaving a message is not possible right now."))


def chat_offline_message(
    *, channel: Channel, name: str, email: str, text: str, language: str = "", client_id: str = ""
) -> Receipt:
    """Store a message left in CHANNEL's widget while nobody was online, as a case answered by email.

    The message goes through the pipeline on an email channel (the chat channel's "offline_channel_id", else the
    first mailbox), so routing treats it as email and the agent's reply leaves by email to EMAIL.
    """
    address = _email(email)
    text = (text or "").strip()
    if not text:
        raise ChatMessageInvalidError(_("Please write your message."))
    if len(text) > MAX_TEXT:
        raise ChatMessageInvalidError(_("The message is too long (at most %(max)d characters).") % {"max": MAX_TEXT})
    mailbox = chat_offline_channel(channel=channel)
    with translation.override(_language(language)):
        subject = _("Message left in the chat: %(start)s") % {"start": text.splitlines()[0][:60]}
    return message_receive(
        inbound=InboundMessage(
            channel=mailbox,
            handles=[Handle(Identity.Kind.EMAIL, address)],
            body_text=text,
            external_id=f"chat-offline:{channel.pk}:{client_id}" if CLIENT_ID.fullmatch(client_id) else None,
            sender_name=(name or "").strip()[:200],
            subject=subject,
            language=_language(language) if language else "",
        )
    )


def chat_callback_request(
    *,
    channel: Channel,
    name: str,
    phone: str,
    preferred_time: str = "",
    topic: str = "",
    email: str = "",
    language: str = "",
    client_id: str = "",
) -> Receipt:
    """Store a callback request from CHANNEL's widget: a case of its own, tagged "callback-request", with the
    phone number as the customer's identity (and EMAIL, when given, to reach them otherwise), and the request
    itself, which routing offers to a free agent as callback work (tiski.channels.voice.callbacks)."""
    from tiski.channels.voice.callbacks import callback_request
    from tiski.channels.voice.models import CallbackRequest
    from tiski.routing.subscribers import routing_intake_paused

    try:
        number = identity_key(Identity.Kind.PHONE, phone)[1]
    except IdentityInvalidError:
        raise ChatMessageInvalidError(_("Please give a valid phone number.")) from None
    handles = [Handle(Identity.Kind.PHONE, number)]
    if email.strip():
        handles.append(Handle(Identity.Kind.EMAIL, _email(email)))
    preferred_time, topic = (preferred_time or "").strip()[:100], (topic or "").strip()[:300]
    name = (name or "").strip()[:200]
    with translation.override(_language(language)):
        subject = _("Callback request: %(phone)s") % {"phone": number}
        lines = [_("Please call me back at %(phone)s.") % {"phone": number}]
        if topic:
            lines.append(_("Topic: %(topic)s") % {"topic": topic})
        if preferred_time:
            lines.append(_("Preferred time: %(time)s") % {"time": preferred_time})
        if name:
            lines.append(_("Name: %(name)s") % {"name": name})
    with transaction.atomic():
        with routing_intake_paused():  # the work is the callback, not a chat to answer
            receipt = message_receive(
                inbound=InboundMessage(
                    channel=channel,
                    handles=handles,
                    body_text="\n".join(lines),
                    external_id=f"chat-callback:{client_id}" if CLIENT_ID.fullmatch(client_id) else None,
                    sender_name=name,
                    subject=subject,
                    language=_language(language) if language else "",
                )
            )
        if not receipt.duplicate:
            tag, _created = Tag.objects.get_or_create(name=CALLBACK_TAG)
            receipt.case.tags.add(tag)
            callback_request(
                customer=receipt.case.customer,
                number=number,
                source=CallbackRequest.Source.WIDGET,
                case=receipt.case,
                topic=topic,
                preferred_time=preferred_time,
            )
    return receipt
