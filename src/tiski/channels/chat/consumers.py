"""The customer's chat socket, ``/ws/chat/<channel id>/``: the widget on the company's own site talks to it.

The socket is open to anonymous visitors on other sites, so it is not behind Django's host check: its Origin must
be one of the channel's ``allowed_origins`` or Tiski's own (the demo page); otherwise the handshake is refused.
A socket of an unknown, inactive or non-chat channel is refused the same way.

Protocol: JSON text frames, each an object with a ``type``.

Client → server
  ``hello``        {token?, lang?, prechat?: {name?, email?, topic?}, identity_token?} — first frame. A known,
                   unended TOKEN resumes that chat; else IDENTITY_TOKEN (the shop's signed token, see identity.py),
                   else PRECHAT starts one; with neither, an anonymous chat starts, unless the channel requires
                   the pre-chat form: then ``welcome`` comes with token null and the widget shows the form and
                   sends ``hello`` again with PRECHAT. A bad identity token gives ``error`` (identity_invalid or
                   identity_expired) and then the same as without it.
  ``message``      {id, text} — ID: the client's uuid for this message; resending the same ID stores it once.
  ``typing``       {on}
  ``end``          {} — ends the chat (it cannot be resumed; the widget forgets the token).
  ``transcript``   {email?} — e-mail the transcript (to EMAIL, else the customer's known address).
  ``leave_message`` {id?, name, email, text} — no session needed: a case answered by email.
  ``callback``     {id?, name, phone, time?, topic?, email?} — no session needed: a callback request.
  ``deflection`` (on hello with prechat, leave_message, callback): the widget's id for the help-centre articles it
  suggested while the customer typed; the chat or message is then counted as a contact made anyway.
  ``survey_answer`` {token, score, comment?} — the answer to a ``survey`` card (the token is its signed link).

Server → client
  ``welcome``   {token, case (reference or null), history: [message…], online, status, prechat: {enabled,
                require_email}, offline: {leave_message: bool}}
  ``message``   {id ("m<pk>"), client_id, author (customer|agent|system), name, text, at (ISO 8601),
                attachments: [{name, size, url}]} — also the echo of the customer's own message (match client_id).
  ``typing``    {who: "agent", name, on}
  ``queue``     {position (1 = next) or null when an agent has taken the chat, expected_wait_s or null}
  ``online``    {online} — when agents come online or leave while the widget is open
  ``notice``    {text} — a confirmation (transcript sent, message left, callback requested)
  ``ended``     {} — the chat was ended
  ``survey``    {token, kind, question, low, high, low_label, high_label, comment_label, send, thanks, url} — the
                satisfaction survey's end card, after the case is solved (tiski.surveys); answered with
                ``survey_answer``, acknowledged with ``survey_thanks`` {text}
  ``error``     {code, text} — codes: bad_request, session_unknown, session_ended, message_invalid,
                prechat_invalid, identity_invalid, identity_expired, offline_unavailable, no_email, rate_limited
                (more frames than the rate TISKI_RATE_CHAT_FRAME, 30 in 10 s; the frame was dropped), too_large
                (a frame over TISKI_CHAT_MAX_FRAME_KB, 16 KB; dropped)

Attachments are posted over HTTP (see views.attachment_upload) with the session token; the stored message
then arrives as a ``message`` frame like any other.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from typing import Any
from urllib.parse import urlsplit

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from tiski.channels.chat import selectors, services
from tiski.channels.chat.exceptions import ChatError, ChatOfflineUnavailableError, ChatSessionUnknownError
from tiski.channels.chat.models import ChatSession
from tiski.channels.models import Channel, ChannelKind
from tiski.core.net import scope_client_ip
from tiski.core.ratelimit import Rate, rate_ahit, rate_get
from tiski.knowledge.helpcentre.services import deflection_contacted

logger = logging.getLogger(__name__)

QUEUE_REFRESH_S = 3.0
SEEN_EVERY_S = 30.0  # see selectors.chat_is_live


class _Floor:
    """The chat sockets of this process that follow a case, refreshed together every QUEUE_REFRESH_S.

    One read per tick for all of them — queue places of every waiting case, who is online per channel, the
    sessions still open — instead of a few queries per socket every few seconds: thousands of open chats cost
    a handful of queries a tick, not thousands.
    """

    def __init__(self) -> None:
        self.sockets: set[ChatConsumer] = set()
        self.task: asyncio.Task[None] | None = None
        self.seen_at = time.monotonic()

    def join(self, consumer: ChatConsumer) -> None:
        self.sockets.add(consumer)
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._run())

    def leave(self, consumer: ChatConsumer) -> None:
        self.sockets.discard(consumer)

    async def _run(self) -> None:
        while self.sockets:
            await asyncio.sleep(QUEUE_REFRESH_S)
            sockets = [c for c in self.sockets if c.session is not None and c.session.case_id is not None]
            if not sockets:
                continue
            seen = time.monotonic() - self.seen_at >= SEEN_EVERY_S
            if seen:
                self.seen_at = time.monotonic()
            try:
                online, places = await database_sync_to_async(_floor_read)(sockets, seen=seen)
            except Exception:  # keep following; a failed refresh is retried at the next tick
                logger.exception("chat floor refresh failed")
                continue
            for consumer in sockets:
                assert consumer.session is not None and consumer.session.case_id is not None
                try:
                    await consumer.floor_update(
                        online=online[consumer.channel.pk], place=places.get(consumer.session.case_id)
                    )
                except Exception:  # one closed socket must not stop the others' refresh
                    logger.debug("chat floor update of one socket failed", exc_info=True)


def _floor_read(sockets: list[ChatConsumer], *, seen: bool) -> tuple[dict[int, bool], dict[int, selectors.QueuePlace]]:
    """Read what SOCKETS show: who is online per channel, every waiting case's place (and, when SEEN, record
    that their sessions are still open)."""
    channels = {c.channel.pk: c.channel for c in sockets}
    online = {pk: selectors.chat_agents_online(channel=channel) for pk, channel in channels.items()}
    places = selectors.chat_queue_places(
        case_ids={c.session.case_id for c in sockets if c.session and c.session.case_id}
    )
    if seen:
        services.chat_sessions_seen(session_ids=[c.session.pk for c in sockets if c.session is not None])
    return online, places


FLOOR = _Floor()


def origin_allowed(*, channel: Channel, origin: str, host: str) -> bool:
    """Return whether a page at ORIGIN may open CHANNEL's chat socket (HOST: the Host the socket was opened on)."""
    if not origin:
        return False
    allowed = (channel.config or {}).get("allowed_origins") or []
    normalised = origin.rstrip("/").lower()
    if isinstance(allowed, list) and normalised in {str(o).rstrip("/").lower() for o in allowed}:
        return True
    own = {urlsplit(settings.TISKI_BASE_URL).netloc.lower()}
    if host:
        own.add(host.lower())
    return urlsplit(normalised).netloc in own


def _channel(channel_id: int) -> Channel | None:
    return Channel.objects.filter(pk=channel_id, kind=ChannelKind.CHAT, active=True).first()


class ChatConsumer(AsyncJsonWebsocketConsumer):
    channel: Channel
    session: ChatSession | None
    token: str
    language: str
    joined: str | None
    _last_queue: tuple[int | None, int | None] | None
    _last_online: bool | None
    _recent: deque[float]
    _frame_rate: Rate

    async def connect(self) -> None:
        self.session, self.token, self.joined = None, "", None
        self._frame_rate = rate_get(name="chat_frame")  # per socket, in memory: a sliding window, no cache trip
        self._recent = deque(maxlen=self._frame_rate.count)
        self._last_queue, self._last_online = None, None
        self.language = settings.LANGUAGE_CODE
        channel_id = int(self.scope["url_route"]["kwargs"]["channel_id"])
        channel = await database_sync_to_async(_channel)(channel_id)
        headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in self.scope["headers"]}
        if channel is None or not origin_allowed(
            channel=channel, origin=headers.get("origin", ""), host=headers.get("host", "")
        ):
            await self.close()  # before accept: the handshake is refused (HTTP 403)
            return
        self.channel = channel
        await self.accept()
        opened = await rate_ahit(name="chat_open", key=scope_client_ip(self.scope))
        if not opened.allowed:  # accepted first, so the widget can say why; it retries with a growing pause
            await self._error("rate_limited", _("Too many chats opened from your address; please wait a moment."))
            await self.close(code=4429)

    async def disconnect(self, code: int) -> None:
        FLOOR.leave(self)
        if self.joined:
            await self.channel_layer.group_discard(self.joined, self.channel_name)
        if self.session is not None:
            await database_sync_to_async(services.chat_session_connected)(session=self.session, connected=False)

    # --- client frames -------------------------------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any) -> None:
        """Drop a frame over TISKI_CHAT_MAX_FRAME_KB or not JSON, with an error frame, before decoding it."""
        size = len(text_data.encode()) if text_data is not None else len(bytes_data or b"")
        if size > int(settings.TISKI_CHAT_MAX_FRAME_KB) * 1024:
            await self._error("too_large", _("This message is too long to send."))
            return
        try:
            content = await self.decode_json(text_data if text_data is not None else (bytes_data or b"").decode())
        except ValueError:
            await self._error("bad_request", "A frame is a JSON object with a type.")
            return
        await self.receive_json(content, **kwargs)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        now = time.monotonic()
        rate = self._frame_rate
        if rate.count == 0 or (len(self._recent) == rate.count and now - self._recent[0] < rate.seconds):
            await self._error("rate_limited", _("Too many messages at once; please wait a moment."))
            return
        self._recent.append(now)
        if not isinstance(content, dict) or not isinstance(content.get("type"), str):
            await self._error("bad_request", "A frame is a JSON object with a type.")
            return
        handler = {
            "hello": self._hello,
            "message": self._message,
            "typing": self._typing,
            "end": self._end,
            "transcript": self._transcript,
            "leave_message": self._leave_message,
            "callback": self._callback,
            "survey_answer": self._survey_answer,
        }.get(content["type"])
        if handler is None:
            await self._error("bad_request", f"Unknown frame type {content['type'][:40]!r}.")
            return
        try:
            with translation.override(self.language):
                await handler(content)
        except ChatError as error:
            await self._error(error.code, str(error))

    async def _hello(self, content: dict[str, Any]) -> None:
        self.language = _language(content.get("lang"))
        token = str(content.get("token") or "")
        session = await database_sync_to_async(self._resume)(token) if token else None
        if session is None:
            identity_token = str(content.get("identity_token") or "")
            prechat = content.get("prechat") if isinstance(content.get("prechat"), dict) else None
            if identity_token:
                try:
                    session, token = await database_sync_to_async(services.chat_session_start)(
                        channel=self.channel, language=self.language, identity_token=identity_token
                    )
                except ChatError as error:
                    await self._error(error.code, str(error))
            if session is None:
                config = services.chat_prechat_config(channel=self.channel)
                if prechat is None and config["enabled"]:
                    await self._welcome()  # no session yet: the widget shows the pre-chat form
                    return
                session, token = await database_sync_to_async(services.chat_session_start)(
                    channel=self.channel, language=self.language, prechat=prechat
                )
                if prechat is not None:
                    await database_sync_to_async(_deflection_contacted)(content)
        await self._attach(session, token)
        await self._welcome()

    def _resume(self, token: str) -> ChatSession | None:
        session = selectors.chat_session_by_token(channel_id=self.channel.pk, token=token)
        return session if session is not None and session.status != ChatSession.Status.ENDED else None

    async def _attach(self, session: ChatSession, token: str) -> None:
        if self.session is not None and self.session.pk != session.pk:  # a new chat after the last one ended
            await database_sync_to_async(services.chat_session_connected)(session=self.session, connected=False)
            await self._leave_case()
        if self.session is None or self.session.pk != session.pk:
            await database_sync_to_async(services.chat_session_connected)(session=session, connected=True)
        self.session, self.token = session, token
        await self._join_case()

    async def _leave_case(self) -> None:
        FLOOR.leave(self)
        if self.joined:
            await self.channel_layer.group_discard(self.joined, self.channel_name)
            self.joined = None
        self._last_queue = None

    async def _join_case(self) -> None:
        """Join the widget group of the session's case once it has one, and start following the queue."""
        if self.session is None or self.session.case_id is None:
            return
        group = services.widget_group(self.session.case_id)
        if self.joined == group:
            return
        if self.joined:
            await self.channel_layer.group_discard(self.joined, self.channel_name)
        await self.channel_layer.group_add(group, self.channel_name)
        self.joined = group
        await database_sync_to_async(services.chat_state_push)(case_id=self.session.case_id, state="connected")
        FLOOR.join(self)

    async def _welcome(self) -> None:
        state = await database_sync_to_async(self._welcome_state)()
        await self.send_json({"type": "welcome", "token": self.token or None, **state})
        await self._send_queue(force=True)

    def _welcome_state(self) -> dict[str, Any]:
        session = self.session
        online = selectors.chat_agents_online(channel=self.channel)
        self._last_online = online
        try:
            services.chat_offline_channel(channel=self.channel)
            can_leave = True
        except ChatOfflineUnavailableError:
            can_leave = False
        return {
            "case": session.case.reference if session is not None and session.case is not None else None,
            "history": selectors.chat_history(session=session) if session is not None else [],
            "online": online,
            "status": session.status if session is not None else None,
            "prechat": services.chat_prechat_config(channel=self.channel),
            "offline": {"leave_message": can_leave},
        }

    async def _message(self, content: dict[str, Any]) -> None:
        session = self._require_session()
        receipt = await database_sync_to_async(services.chat_message_post)(
            session=session, client_id=str(content.get("id") or ""), text=str(content.get("text") or "")
        )
        case_before = self.joined
        await self._join_case()
        if self.joined != case_before:
            # The first message of a case was pushed to its group before this socket could join it: send what
            # the case holds now (the message, the automatic answer). The widget ignores a message it has.
            for frame in await database_sync_to_async(selectors.chat_history)(session=session):
                await self.send_json(frame)
        elif receipt.duplicate:  # stored before: its push went out then, this socket may have missed it
            frame = await database_sync_to_async(selectors.chat_message_out)(receipt.message)
            await self.send_json(frame)
        await self._send_queue()

    async def _typing(self, content: dict[str, Any]) -> None:
        if self.session is None or self.session.case_id is None:
            return
        case_id = self.session.case_id
        await self.channel_layer.group_send(
            services.case_group(case_id),
            {"type": "chat.typing", "case_id": case_id, "who": "customer", "on": bool(content.get("on"))},
        )

    async def _end(self, content: dict[str, Any]) -> None:
        session = self._require_session()
        await database_sync_to_async(services.chat_session_end)(session=session)
        await self.send_json({"type": "ended"})

    async def _transcript(self, content: dict[str, Any]) -> None:
        session = self._require_session()
        if session.case is None:
            await self._error("message_invalid", _("There is nothing to send yet."))
            return
        email = str(content.get("email") or "").strip() or None
        await database_sync_to_async(services.chat_transcript_email)(case=session.case, to=email)
        await self.send_json({"type": "notice", "text": _("The transcript is on its way to your email.")})

    async def _leave_message(self, content: dict[str, Any]) -> None:
        receipt = await database_sync_to_async(services.chat_offline_message)(
            channel=self.channel,
            name=str(content.get("name") or ""),
            email=str(content.get("email") or ""),
            text=str(content.get("text") or ""),
            language=self.language,
            client_id=str(content.get("id") or ""),
        )
        await database_sync_to_async(_deflection_contacted)(content)
        text = _("Thank you! We will answer by email (case %(reference)s).") % {"reference": receipt.case.reference}
        await self.send_json({"type": "notice", "text": text, "case": receipt.case.reference})

    async def _callback(self, content: dict[str, Any]) -> None:
        receipt = await database_sync_to_async(services.chat_callback_request)(
            channel=self.channel,
            name=str(content.get("name") or ""),
            phone=str(content.get("phone") or ""),
            preferred_time=str(content.get("time") or ""),
            topic=str(content.get("topic") or ""),
            email=str(content.get("email") or ""),
            language=self.language,
            client_id=str(content.get("id") or ""),
        )
        await database_sync_to_async(_deflection_contacted)(content)
        text = _("Thank you! We will call you back (case %(reference)s).") % {"reference": receipt.case.reference}
        await self.send_json({"type": "notice", "text": text, "case": receipt.case.reference})

    async def _survey_answer(self, content: dict[str, Any]) -> None:
        from tiski.surveys.links import SurveyLinkError
        from tiski.surveys.services import SurveyInvalidError, survey_answer_by_token, survey_chat_text

        try:
            await database_sync_to_async(survey_answer_by_token)(
                token=str(content.get("token") or ""),
                score=content.get("score"),
                comment=str(content.get("comment") or ""),
                source="chat",
            )
        except SurveyLinkError as error:
            await self._error(f"survey_{error.code}", survey_chat_text(error.code))
            return
        except SurveyInvalidError as error:
            await self._error("survey_invalid", str(error))
            return
        await self.send_json({"type": "survey_thanks", "text": survey_chat_text("thanks")})

    # --- group messages ------------------------------------------------------------------------------------

    async def chat_survey(self, event: dict[str, Any]) -> None:
        await self.send_json(event["survey"])

    async def chat_message(self, event: dict[str, Any]) -> None:
        await self.send_json(event["message"])
        if event["message"].get("author") == "agent" and self._last_queue not in (None, (None, None)):
            await self._send_queue()  # an agent answers: the place shown goes at once (else at the next tick)

    async def chat_typing(self, event: dict[str, Any]) -> None:
        if event.get("who") == "agent":
            await self.send_json({"type": "typing", "who": "agent", "name": event.get("name", ""), "on": event["on"]})

    # --- queue place ---------------------------------------------------------------------------------------

    async def floor_update(self, *, online: bool, place: selectors.QueuePlace | None) -> None:
        """Show what changed since the last tick: whether anyone is online, the place in the queue."""
        if online != self._last_online:
            self._last_online = online
            await self.send_json({"type": "online", "online": online})
        await self._show_place(place)

    async def _send_queue(self, force: bool = False) -> None:
        if self.session is None or self.session.case_id is None:
            return
        place = await database_sync_to_async(selectors.chat_queue_place)(case_id=self.session.case_id)
        await self._show_place(place, force=force)

    async def _show_place(self, place: selectors.QueuePlace | None, *, force: bool = False) -> None:
        current = (place.position, place.expected_wait_s) if place is not None else (None, None)
        if current == self._last_queue and not force:
            return
        shown = self._last_queue not in (None, (None, None))
        self._last_queue = current
        if place is None and not shown:
            return  # nothing waits and no place was shown: nothing to say
        await self.send_json({"type": "queue", "position": current[0], "expected_wait_s": current[1]})

    # --- helpers -------------------------------------------------------------------------------------------

    def _require_session(self) -> ChatSession:
        if self.session is None:
            raise ChatSessionUnknownError("Say hello first: there is no chat on this socket yet.")
        return self.session

    async def _error(self, code: str, text: str) -> None:
        await self.send_json({"type": "error", "code": code, "text": text})


def _deflection_contacted(content: dict[str, Any]) -> None:
    """Count a chat started or a message left after the help centre suggested articles (frame's ``deflection``)."""
    deflection_contacted(session=str(content.get("deflection") or ""))


def _language(value: Any) -> str:
    code = str(value or "").lower()[:2]
    return code if code in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE
