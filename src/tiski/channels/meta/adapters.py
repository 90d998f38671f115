"""The adapters of WhatsApp (Cloud API), Messenger and Instagram behind the one webhook view.

Channel settings (admin → Channels → settings, JSON):

    WhatsApp:  {"phone_number_id": "1122…", "waba_id": "5467…", "secrets": {…}}
    Messenger: {"page_id": "1234…", "secrets": {…}}
    Instagram: {"ig_user_id": "1784…", "page_id": "1234…", "secrets": {…}}

with "secrets": {"app_secret": "ENV_VAR", "access_token": "ENV_VAR", "verify_token": "ENV_VAR"} naming the
environment variables that hold them. One Meta app may serve several numbers or pages: a body about another
channel of the same app goes to that channel; a body about a number or page Tiski does not know is logged and
ignored (as Chatwoot does).

Signatures: X-Hub-Signature-256 (HMAC-SHA256 of the raw body with the app secret); the legacy X-Hub-Signature
(SHA-1) is accepted only when no SHA-256 header is sent. Replies: WhatsApp and Messenger/Instagram refuse free-form
replies outside the 24-hour window (reply_check, called by cases.services.message_reply); WhatsApp then takes an
approved template (services.whatsapp_template_send). An Instagram comment case is answered with one private
reply to the comment within seven days; a mention cannot be answered from Tiski.
"""

from __future__ import annotations

import hmac
import json
import logging
import mimetypes
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import urlsplit

from tiski.cases.exceptions import CaseReplyError
from tiski.cases.models import Case
from tiski.channels.exceptions import ChannelConfigError, DeliveryPermanentError, InboundInvalidError
from tiski.channels.interface import (
    DeliveryResult,
    InboundAttachment,
    InboundMessage,
    OutboundMessage,
    StatusUpdate,
    Threading,
    WebhookAdapter,
    WebhookBatch,
    WebhookRequest,
    adapter_register,
)
from tiski.channels.meta import graph
from tiski.channels.meta.selectors import (
    case_is_social,
    comment_private_reply_open,
    customer_last_wrote_at,
    keywords_active,
    outbound_sent_before,
    window_open,
)
from tiski.channels.models import Channel, ChannelKind
from tiski.channels.outbox import outbound_reference
from tiski.channels.secrets import channel_secret
from tiski.customers.services import Handle

logger = logging.getLogger(__name__)

WINDOW = timedelta(hours=24)
PRIVATE_REPLY_WINDOW = timedelta(days=7)  # Instagram: one private reply to a comment within seven days
MEDIA_TYPES = ("image", "video", "audio", "document", "sticker", "voice")
STATUS_MAP = {"sent": "sent", "delivered": "delivered", "read": "read", "played": "read", "failed": "failed"}


class MetaAdapter(WebhookAdapter):
    """What the three Meta channels share: the handshake, the signature, routing a body to its channel."""

    provider: ClassVar[str]
    route_setting: ClassVar[str]  # the channel setting that a body names its number or account by
    body_object: ClassVar[tuple[str, ...]]  # the "object" values this channel's bodies carry
    reply_window: ClassVar[timedelta | None] = WINDOW

    def handshake(self, *, channel: Channel, request: WebhookRequest) -> str | None:
        """Answer Meta's subscription check: hub.challenge when hub.verify_token is the channel's verify token."""
        query = request.query
        if query.get("hub.mode") != "subscribe" or not query.get("hub.challenge"):
            return None
        expected = channel_secret(channel, "verify_token")
        given = query.get("hub.verify_token", "")
        if not given or not hmac.compare_digest(given.encode(), expected.encode()):
            logger.warning("%s webhook %s: subscription check with a wrong verify token", self.kind, channel.pk)
            return None
        return query["hub.challenge"]

    def verify(self, *, channel: Channel, request: WebhookRequest) -> bool:
        """Check X-Hub-Signature-256 (or, when only it is sent, the legacy X-Hub-Signature) over the raw body."""
        return graph.signature_valid(
            secret=channel_secret(channel, "app_secret"),
            body=request.body,
            sha256=request.headers.get("x-hub-signature-256", ""),
            sha1=request.headers.get("x-hub-signature", ""),
        )

    def acknowledgement(self) -> tuple[str, str]:
        return "EVENT_RECEIVED", "text/plain"

    def _body(self, request: WebhookRequest) -> dict[str, Any]:
        try:
            body = json.loads(request.body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise InboundInvalidError(f"The {self.provider} webhook body is not JSON: {exc}") from exc
        if not isinstance(body, dict):
            raise InboundInvalidError(f"The {self.provider} webhook body is not a JSON object.")
        kind = body.get("object")
        if kind is not None and kind not in self.body_object:
            raise InboundInvalidError(f"A {kind!r} webhook body was sent to a {self.provider} channel.")
        return body

    def route(self, *, channel: Channel, identifier: Any) -> Channel | None:
        """Return the channel a body about IDENTIFIER (a phone number id, page id, Instagram account id) is for:
        CHANNEL itself, another active channel of this kind signed with the same app secret, or None."""
        value = str(identifier or "")
        own = str((channel.config or {}).get(self.route_setting, "") or "")
        if not value or not own or value == own or value in self._other_ids(channel):
            return channel
        secret = channel_secret(channel, "app_secret")
        for other in Channel.objects.filter(kind=self.kind, active=True).exclude(pk=channel.pk):
            if value not in self._ids(other):
                continue
            try:
                same_app = hmac.compare_digest(channel_secret(other, "app_secret").encode(), secret.encode())
            except ChannelConfigError:
                same_app = False
            if same_app:
                return other
            logger.warning("%s webhook: %s belongs to channel %s of another app: ignored", self.kind, value, other.pk)
            return None
        logger.warning("%s webhook for unknown %s %s: ignored", self.kind, self.route_setting, value)
        return None

    def _ids(self, channel: Channel) -> set[str]:
        config = channel.config or {}
        return {str(config.get(self.route_setting, "") or ""), *self._other_ids(channel)} - {""}

    def _other_ids(self, channel: Channel) -> set[str]:
        return set()

    def _token(self, channel: Channel) -> str:
        return channel_secret(channel, "access_token")


def _timestamp(value: Any, *, milliseconds: bool = False) -> datetime | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return datetime.fromtimestamp(number / 1000 if milliseconds else number, tz=UTC)


def _filename(*, url: str = "", name: str = "", kind: str, content_type: str) -> str:
    if name:
        return name
    path_name = urlsplit(url).path.rsplit("/", 1)[-1] if url else ""
    if path_name and "." in path_name:
        return path_name
    extension = mimetypes.guess_extension(content_type or "") or ""
    return f"{kind}{extension}"


def _split(text: str, limit: int) -> list[str]:
    """Return TEXT in pieces of at most LIMIT characters, cut at whitespace where possible."""
    pieces: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        cut = rest.rfind(" ", 0, limit)
        cut = cut if cut > limit // 2 else limit
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    return [*pieces, rest] if rest else pieces


def _window_refusal(provider: str) -> str:
    if provider == "WhatsApp":
        return (
            "The customer last wrote more than 24 hours ago (or never), so this is outside WhatsApp's 24-hour "
            "window: send an approved template."
        )
    return (
        f"The customer last wrote more than 24 hours ago (or never), so this is outside {provider}'s 24-hour "
        "messaging window: wait until the customer writes again."
    )


@adapter_register
class WhatsAppAdapter(MetaAdapter):
    """WhatsApp Business Cloud API: one channel per business phone number."""

    kind = ChannelKind.WHATSAPP
    provider = "WhatsApp"
    route_setting = "phone_number_id"
    body_object = ("whatsapp_business_account",)
    recipient_kinds = ("phone",)
    TEXT_LIMIT = 4096

    def reply_check(self, *, case: Case) -> None:
        """Refuse a free-form reply outside WhatsApp's 24-hour customer-service window (raise CaseReplyError)."""
        if not window_open(case=case, window=WINDOW):
            raise CaseReplyError(_window_refusal("WhatsApp"))

    def parse(self, *, channel: Channel, request: WebhookRequest) -> WebhookBatch:
        body = self._body(request)
        messages: list[InboundMessage] = []
        statuses: list[StatusUpdate] = []
        for entry in _dicts(body.get("entry")):
            for change in _dicts(entry.get("changes")):
                value = change.get("value")
                if change.get("field", "messages") != "messages" or not isinstance(value, dict):
                    logger.info("whatsapp webhook: %s update ignored", change.get("field"))
                    continue
                metadata = as_dict(value.get("metadata"))
                target = self.route(channel=channel, identifier=metadata.get("phone_number_id"))
                if target is None:
                    continue
                names = {
                    str(contact.get("wa_id", "")): str((contact.get("profile") or {}).get("name", ""))
                    for contact in _dicts(value.get("contacts"))
                }
                for item in _dicts(value.get("messages")):
                    inbound = self._message(channel=target, item=item, names=names, metadata=metadata)
                    if inbound is not None:
                        messages.append(inbound)
                for status in _dicts(value.get("statuses")):
                    update = self._status(status)
                    if update is not None:
                        statuses.append(update)
        return WebhookBatch(messages=messages, statuses=statuses)

    def _message(
        self, *, channel: Channel, item: dict[str, Any], names: Mapping[str, str], metadata: Mapping[str, Any]
    ) -> InboundMessage | None:
        kind = str(item.get("type", ""))
        sender = str(item.get("from", ""))
        if kind in ("reaction", "request_welcome", "system", "revoke") or not sender:
            logger.info("whatsapp webhook: %s message ignored", kind or "senderless")
            return None
        if kind == "edit":  # the customer edited an earlier message: the new version is a message of its own
            edited = as_dict(as_dict(item.get("edit")).get("message"))
            text, attachments = self._content(channel=channel, kind=str(edited.get("type", "")), item=edited)
            text = f"(edited) {text}"
        else:
            text, attachments = self._content(channel=channel, kind=kind, item=item)
        context = as_dict(item.get("context"))
        replied = str(context.get("id", "")) if context else ""
        return InboundMessage(
            channel=channel,
            handles=handles_for("whatsapp", sender),
            body_text=text,
            external_id=str(item.get("id", "")) or None,
            sender_name=names.get(sender, ""),
            attachments=attachments,
            raw=json.dumps({"metadata": dict(metadata), "message": item}, ensure_ascii=False).encode(),
            in_reply_to=[replied] if replied else (),
            threading=Threading.CONVERSATION,
        )

    def _content(self, *, channel: Channel, kind: str, item: dict[str, Any]) -> tuple[str, list[InboundAttachment]]:
        """Return the readable text and downloaded files of one WhatsApp message of type KIND."""
        part = as_dict(item.get(kind))
        if kind == "text":
            return str(part.get("body", "")), []
        if kind in MEDIA_TYPES:
            caption = str(part.get("caption", ""))
            try:
                attachment = self._media(channel=channel, kind=kind, media=part)
            except (graph.MediaError, ChannelConfigError) as exc:
                note = f"[{kind} {part.get('id', '')} could not be downloaded from WhatsApp: {exc}]"
                return (f"{caption}\n{note}" if caption else note), []
            return caption, [attachment]
        if kind == "location":
            where = ", ".join(str(part[key]) for key in ("name", "address") if part.get(key))
            latitude, longitude = part.get("latitude"), part.get("longitude")
            link = f"https://maps.google.com/?q={latitude},{longitude}"
            return f"📍 Location{': ' + where if where else ''} ({latitude}, {longitude}) {link}", []
        if kind == "contacts":
            lines = []
            for contact in _dicts(item.get("contacts")):
                name = str((contact.get("name") or {}).get("formatted_name", ""))
                phones = ", ".join(str(phone.get("phone", "")) for phone in _dicts(contact.get("phones")))
                emails = ", ".join(str(email.get("email", "")) for email in _dicts(contact.get("emails")))
                lines.append(" ".join(part for part in (name, phones, emails) if part))
            return "Shared contact(s):\n" + "\n".join(lines), []
        if kind == "button":
            return str(part.get("text") or part.get("payload") or "[button]"), []
        reply = (part.get("button_reply") or part.get("list_reply") or part.get("nfm_reply")) if part else None
        if kind == "interactive" and isinstance(reply, dict) and reply:
            title = reply.get("title") or reply.get("body") or json.dumps(reply, ensure_ascii=False)
            return str(title), []
        if kind == "order":
            products = ", ".join(
                f"{product.get('quantity', '?')} × {product.get('product_retailer_id', '?')}"
                for product in _dicts(part.get("product_items"))
            )
            return f"Order: {products} {part.get('text', '')}".strip(), []
        errors = "; ".join(
            str((error.get("error_data") or {}).get("details") or error.get("title") or error.get("message") or "")
            for error in _dicts(item.get("errors"))
        )
        return f"[unsupported WhatsApp message ({kind or 'unknown type'}){': ' + errors if errors else ''}]", []

    def _media(self, *, channel: Channel, kind: str, media: Mapping[str, Any]) -> InboundAttachment:
        """Fetch the media's URL from the Graph API by its id, then the file, both with the access token."""
        media_id = str(media.get("id", ""))
        if not media_id:
            raise graph.MediaError("the message names no media id")
        token = self._token(channel)
        info = graph.graph_get_json(path=media_id, token=token)
        url = str(info.get("url") or "")
        if not url:
            raise graph.MediaError("the Graph API gave no download URL")
        content, content_type = graph.download(url, token=token)
        content_type = str(info.get("mime_type") or media.get("mime_type") or content_type).split(";")[0].strip()
        filename = _filename(name=str(media.get("filename", "")), kind=kind, content_type=content_type)
        return InboundAttachment(filename=filename, content_type=content_type, content=content)

    def _status(self, status: Mapping[str, Any]) -> StatusUpdate | None:
        mapped = STATUS_MAP.get(str(status.get("status", "")))
        external_id = str(status.get("id", ""))
        if mapped is None or not external_id:
            return None
        error = ""
        if mapped == "failed":
            errors = [_status_error(item) for item in _dicts(status.get("errors"))]
            error = "; ".join(errors) or "WhatsApp reported the message failed"
        reference = str(status.get("biz_opaque_callback_data") or "")
        return StatusUpdate(external_id=external_id, status=mapped, error=error, reference=reference)

    def send(self, *, message: OutboundMessage) -> DeliveryResult:
        """POST the reply (a text, or the template it was sent with) to {graph}/{phone_number_id}/messages."""
        from tiski.channels.meta.models import TemplateSend

        if not message.recipients:
            raise DeliveryPermanentError("The customer has no WhatsApp number.")
        channel = message.channel
        phone_number_id = (channel.config or {}).get("phone_number_id")
        if not phone_number_id:
            raise DeliveryPermanentError(f'Channel "{channel}" has no "phone_number_id" in its settings.')
        token = self._token(channel)
        to = message.recipients[0].lstrip("+")
        base: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": to,
            # Echoed in the status webhooks: a "sent" report confirms a reply whose id a dead worker did not
            # store, so that it is not sent again (channels.outbox.outbox_confirm).
            "biz_opaque_callback_data": outbound_reference(message.message_id),
        }
        sent = TemplateSend.objects.select_related("template").filter(message_id=message.message_id).first()
        if sent is not None:
            parameters = [{"type": "text", "text": str(value)} for value in sent.parameters]
            template: dict[str, Any] = {"name": sent.template.name, "language": {"code": sent.template.language}}
            if parameters:
                template["components"] = [{"type": "body", "parameters": parameters}]
            payloads = [{**base, "type": "template", "template": template}]
        else:
            payloads = [
                {**base, "type": "text", "text": {"preview_url": False, "body": piece}}
                for piece in _split(message.body_text, self.TEXT_LIMIT)
            ]
            # Files are uploaded before anything is sent, so that a failed upload repeats no text when retried.
            for attachment in message.attachments:
                kind = _whatsapp_media_kind(attachment.content_type)
                uploaded = graph.graph_upload(
                    path=f"{phone_number_id}/media",
                    token=token,
                    filename=attachment.filename,
                    content_type=attachment.content_type or "application/octet-stream",
                    content=attachment.content,
                    provider="WhatsApp",
                )
                media: dict[str, Any] = {"id": str(uploaded.get("id", ""))}
                if kind == "document":
                    media["filename"] = attachment.filename
                payloads.append({**base, "type": kind, kind: media})
            if not payloads:
                raise DeliveryPermanentError("The reply is empty.")
        external_id = ""
        for payload in payloads:
            answer = graph.graph_post(
                path=f"{phone_number_id}/messages", token=token, payload=payload, provider="WhatsApp"
            )
            ids = [str(item.get("id", "")) for item in _dicts(answer.get("messages"))]
            external_id = external_id or next((value for value in ids if value), "")
        return DeliveryResult(external_id=external_id)


def _whatsapp_media_kind(content_type: str) -> str:
    """Return the WhatsApp message type a file of CONTENT_TYPE is sent as (what WhatsApp does not show inline
    goes as a document)."""
    if content_type in ("image/jpeg", "image/png"):
        return "image"
    if content_type in ("video/mp4", "video/3gpp"):
        return "video"
    if content_type in ("audio/aac", "audio/mp4", "audio/mpeg", "audio/amr", "audio/ogg"):
        return "audio"
    return "document"


def _status_error(error: Mapping[str, Any]) -> str:
    code = error.get("code")
    if code == graph.REENGAGEMENT:
        return (
            f"error {code}: more than 24 hours have passed since the customer last wrote; "
            "only an approved template can be sent"
        )
    details = str((error.get("error_data") or {}).get("details") or "")
    title = str(error.get("title") or error.get("message") or "failed")
    return f"error {code}: {title}" + (f" — {details}" if details and details != title else "")


def handles_for(kind: str, value: str) -> list[Handle]:
    """Return [the handle] when VALUE is a valid KIND handle, else [] (the pipeline then quarantines the contact
    with its raw data instead of failing the whole webhook call)."""
    from tiski.customers.exceptions import IdentityInvalidError
    from tiski.customers.normalize import identity_key

    try:
        identity_key(kind, value)
    except IdentityInvalidError:
        logger.warning("meta webhook: %r is not a valid %s handle", value, kind)
        return []
    return [Handle(kind, value)]


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _dicts(value: Any) -> Iterable[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


class PageAdapter(MetaAdapter):
    """Messenger and Instagram messaging: entry[].messaging[] events of a page or Instagram account."""

    identity_kind: ClassVar[str]
    TEXT_LIMIT = 2000

    def reply_check(self, *, case: Case) -> None:
        """Refuse a reply outside the 24-hour standard messaging window (raise CaseReplyError)."""
        if window_open(case=case, window=WINDOW):
            return
        if self.kind == ChannelKind.INSTAGRAM and comment_private_reply_open(case=case, window=PRIVATE_REPLY_WINDOW):
            return  # answered as a private reply to the customer's comment
        if customer_last_wrote_at(case=case) is None and case_is_social(case=case):
            raise CaseReplyError(
                f"This case began as a public {self.provider} comment or mention, which cannot be answered from "
                f"Tiski: answer it on {self.provider}. A reply from here is possible once the customer sends a "
                "direct message."
            )
        raise CaseReplyError(_window_refusal(self.provider))

    def parse(self, *, channel: Channel, request: WebhookRequest) -> WebhookBatch:
        body = self._body(request)
        messages: list[InboundMessage] = []
        statuses: list[StatusUpdate] = []
        for entry in _dicts(body.get("entry")):
            target = self.route(channel=channel, identifier=entry.get("id"))
            if target is None:
                continue
            account = str(entry.get("id", ""))
            for event in [*_dicts(entry.get("messaging")), *_dicts(entry.get("standby"))]:
                if account and str(as_dict(event.get("sender")).get("id", "")) == account:
                    continue  # sent by the page or account itself: an echo of our own message
                inbound = self._event(channel=target, event=event, statuses=statuses)
                if inbound is not None:
                    messages.append(inbound)
            messages.extend(self._changes(channel=target, changes=_dicts(entry.get("changes"))))
        return WebhookBatch(messages=messages, statuses=statuses)

    def _changes(self, *, channel: Channel, changes: Iterable[dict[str, Any]]) -> list[InboundMessage]:
        return []

    def _comment_replied(self, message: OutboundMessage) -> str:
        """Return the id of the latest comment on MESSAGE's case that it may answer privately, or ""."""
        return ""

    def _event(self, *, channel: Channel, event: dict[str, Any], statuses: list[StatusUpdate]) -> InboundMessage | None:
        sender = str(as_dict(event.get("sender")).get("id", ""))
        if isinstance(event.get("delivery"), dict):
            delivery = event["delivery"]
            mids = [str(mid) for mid in delivery.get("mids") or [] if mid]
            if not mids and delivery.get("watermark"):
                mids = self._before_watermark(channel=channel, recipient=sender, watermark=delivery["watermark"])
            statuses.extend(StatusUpdate(external_id=mid, status="delivered") for mid in mids)
            return None
        if isinstance(event.get("read"), dict):
            read = event["read"]
            if read.get("mid"):  # Instagram "seen" events name the message
                statuses.append(StatusUpdate(external_id=str(read["mid"]), status="read"))
            elif read.get("watermark"):
                mids = self._before_watermark(channel=channel, recipient=sender, watermark=read["watermark"])
                statuses.extend(StatusUpdate(external_id=mid, status="read") for mid in mids)
            return None
        message = event.get("message")
        postback = event.get("postback")
        if isinstance(postback, dict) and sender:
            title = str(postback.get("title") or postback.get("payload") or "[button]")
            mid = str(postback.get("mid", ""))
            return self._inbound(channel=channel, event=event, sender=sender, text=title, mid=mid)
        if not isinstance(message, dict) or not sender:
            logger.info("%s webhook: event %s ignored", self.kind, sorted(event))
            return None
        if message.get("is_echo") or message.get("is_deleted"):
            logger.info("%s webhook: echo or deleted message %s ignored", self.kind, message.get("mid"))
            return None
        text = str(message.get("text", ""))
        attachments: list[InboundAttachment] = []
        notes: list[str] = []
        story_mention = False
        for attachment in _dicts(message.get("attachments")):
            kind = str(attachment.get("type", ""))
            payload = as_dict(attachment.get("payload"))
            url = str(payload.get("url", "")) if payload else ""
            story_mention = story_mention or kind == "story_mention"
            if kind == "location":
                coordinates = payload.get("coordinates") or {}
                notes.append(f"📍 Location ({coordinates.get('lat')}, {coordinates.get('long')})")
            elif kind == "fallback" or (kind not in ("image", "video", "audio", "file", "story_mention") and url):
                title = attachment.get("title") or payload.get("title") or ""
                notes.append(" ".join(part for part in (f"[{kind}:", str(title), f"{url}]") if part))
            elif url:
                try:
                    content, content_type = graph.download(url)
                except graph.MediaError as exc:
                    notes.append(f"[{kind} could not be downloaded: {exc}; {url}]")
                    continue
                filename = _filename(url=url, kind=kind, content_type=content_type)
                attachments.append(InboundAttachment(filename=filename, content_type=content_type, content=content))
            else:
                notes.append(f"[{kind or 'attachment'} without content]")
        reply_to = as_dict(message.get("reply_to"))
        if reply_to and reply_to.get("story"):
            notes.append(f"(replying to a story: {(reply_to['story'] or {}).get('url', '')})")
        if story_mention:
            notes.insert(0, f"Mentioned the company in an {self.provider} story.")
        body = "\n".join(part for part in (text, *notes) if part)
        if not body and not attachments:
            body = f"[unsupported {self.provider} message]"
        return self._inbound(
            channel=channel,
            event=event,
            sender=sender,
            text=body,
            mid=str(message.get("mid", "")),
            attachments=attachments,
            replied=str(reply_to.get("mid", "")) if reply_to else "",
            social=story_mention,
        )

    def _inbound(
        self,
        *,
        channel: Channel,
        event: dict[str, Any],
        sender: str,
        text: str,
        mid: str,
        attachments: list[InboundAttachment] | None = None,
        replied: str = "",
        social: bool = False,
    ) -> InboundMessage:
        from tiski.channels.meta.services import social_category_ensure

        return InboundMessage(
            channel=channel,
            handles=handles_for(self.identity_kind, sender),
            body_text=text,
            external_id=(f"story_mention:{mid}" if social and mid else mid) or None,
            subject=f"{self.provider} story mention" if social else "",
            attachments=attachments or (),
            raw=json.dumps(event, ensure_ascii=False).encode(),
            in_reply_to=[replied] if replied else (),
            threading=Threading.NEW_CASE if social else Threading.CONVERSATION,
            category_id=social_category_ensure().pk if social else None,
        )

    def _before_watermark(self, *, channel: Channel, recipient: str, watermark: Any) -> list[str]:
        moment = _timestamp(watermark, milliseconds=True)
        if moment is None or not recipient:
            return []
        from tiski.customers.exceptions import IdentityInvalidError
        from tiski.customers.normalize import identity_key

        try:
            kind, value = identity_key(self.identity_kind, recipient)
        except IdentityInvalidError:
            return []
        return outbound_sent_before(channel=channel, recipient_value=value, kind=kind, before=moment)

    def _send_path(self, channel: Channel) -> str:
        page_id = (channel.config or {}).get("page_id")
        return f"{page_id}/messages" if page_id else "me/messages"

    def send(self, *, message: OutboundMessage) -> DeliveryResult:
        """POST the reply to {graph}/{page_id}/messages (me/messages without a page id) as a RESPONSE."""
        if not message.recipients:
            raise DeliveryPermanentError(f"The customer has no {self.provider} id.")
        recipient: dict[str, str] = {"id": message.recipients[0]}
        if not recipient["id"].isdigit():
            comment_id = self._comment_replied(message)
            if not comment_id:
                raise DeliveryPermanentError(
                    f"{recipient['id']} is an {self.provider} username from a mention, not a conversation: "
                    f"answer it on {self.provider}, or reply once the customer sends a direct message."
                )
            recipient = {"comment_id": comment_id}  # a private reply to the comment
        if message.attachments:
            raise DeliveryPermanentError(
                f"Attachments cannot be sent on {self.provider} from Tiski yet; send the text alone."
            )
        token = self._token(message.channel)
        pieces = _split(message.body_text, self.TEXT_LIMIT)
        if not pieces:
            raise DeliveryPermanentError("The reply is empty.")
        if "comment_id" in recipient and len(pieces) > 1:
            raise DeliveryPermanentError(
                f"A private reply to a comment is one message of at most {self.TEXT_LIMIT} characters; shorten it."
            )
        external_id = ""
        for piece in pieces:
            answer = graph.graph_post(
                path=self._send_path(message.channel),
                token=token,
                payload={"recipient": recipient, "messaging_type": "RESPONSE", "message": {"text": piece}},
                provider=self.provider,
            )
            external_id = external_id or str(answer.get("message_id", ""))
        return DeliveryResult(external_id=external_id)


@adapter_register
class MessengerAdapter(PageAdapter):
    """Facebook Messenger: one channel per Facebook page."""

    kind = ChannelKind.MESSENGER
    provider = "Messenger"
    route_setting = "page_id"
    body_object = ("page",)
    recipient_kinds = ("messenger",)
    identity_kind = "messenger"


@adapter_register
class InstagramAdapter(PageAdapter):
    """Instagram: direct messages, story mentions, and mentions and comments (cases in the social category)."""

    kind = ChannelKind.INSTAGRAM
    provider = "Instagram"
    route_setting = "ig_user_id"
    body_object = ("instagram",)
    recipient_kinds = ("instagram",)
    identity_kind = "instagram"
    TEXT_LIMIT = 1000

    def _send_path(self, channel: Channel) -> str:
        ig_user_id = (channel.config or {}).get("ig_user_id")
        return f"{ig_user_id}/messages" if ig_user_id else super()._send_path(channel)

    def _comment_replied(self, message: OutboundMessage) -> str:
        comments = [value for value in message.in_reply_to if value.startswith("comment:")]
        return comments[-1].removeprefix("comment:") if comments else ""

    def _other_ids(self, channel: Channel) -> set[str]:
        page_id = str((channel.config or {}).get("page_id", "") or "")
        return {page_id} if page_id else set()

    def _changes(self, *, channel: Channel, changes: Iterable[dict[str, Any]]) -> list[InboundMessage]:
        from tiski.channels.meta.social import comment_inbound, mention_inbound

        found: list[InboundMessage] = []
        for change in changes:
            value = change.get("value") if isinstance(change.get("value"), dict) else None
            if value is None:
                continue
            field = change.get("field")
            inbound: InboundMessage | None = None
            if field == "messages":  # Meta's "send test" button and some accounts send DMs as changes
                statuses: list[StatusUpdate] = []
                inbound = self._event(channel=channel, event=value, statuses=statuses)
            elif field == "mentions":
                inbound = mention_inbound(channel=channel, value=value, token=self._token(channel))
            elif field in ("comments", "live_comments"):
                inbound = comment_inbound(channel=channel, value=value, keywords=keywords_active())
            else:
                logger.info("instagram webhook: %s change ignored", field)
            if inbound is not None:
                found.append(inbound)
        return found
