"""The SMS channel through Twilio: signed webhooks in, the Messages API out, status callbacks on the message.

A channel is one Twilio number (or Messaging Service). Its settings (admin → Channels, "settings" JSON):

    {"account_sid": "AC…", "from_number": "+358451112222",        # or "messaging_service_sid": "MG…"
     "secrets": {"auth_token": "TISKI_TWILIO_SUPPORT_TOKEN"},      # the environment variable's name
     "public_url": "https://support.example.com"}                  # optional; else TISKI_WEBHOOK_BASE_URL

Give Twilio the channel's webhook URL, /hooks/sms/<channel id>/ (shown in the admin), as the number's
"A message comes in" webhook (HTTP POST). Several numbers are several channels, each with its team.

Inbound media: every MediaUrl{i} is downloaded (with the account's basic-auth credentials) and stored as an
attachment. A download that fails does not lose the message: Twilio does not retry a messaging webhook
that fails (it calls the fallback URL once), so failing the call would lose the text too. The text is
stored with a line per missing file naming its type and Twilio URL, where the file stays until deleted
from the account; the raw webhook is kept on the message.

Replies are text only: Twilio takes outbound media only as public URLs, which Tiski's attachments are not.
A reply's attachments stay on the message in Tiski and are not sent.
"""

from __future__ import annotations

import logging
import mimetypes
from collections.abc import Mapping
from urllib.parse import parse_qs, urlencode, urlsplit

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext as _
from twilio.request_validator import RequestValidator

from tiski.cases.models import Message
from tiski.channels.exceptions import ChannelConfigError, DeliveryError, DeliveryPermanentError, InboundInvalidError
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
from tiski.channels.models import Channel, ChannelKind
from tiski.channels.outbox import outbound_reference
from tiski.channels.secrets import channel_secret, channel_setting
from tiski.channels.sms.client import (
    MAX_BODY,
    MediaDownloadError,
    error_describe,
    twilio_media_download,
    twilio_message_create,
)
from tiski.customers.exceptions import IdentityInvalidError
from tiski.customers.models import Identity
from tiski.customers.normalize import identity_key, normalize_phone
from tiski.customers.services import Handle

logger = logging.getLogger(__name__)

ACKNOWLEDGEMENT = '<?xml version="1.0" encoding="UTF-8"?><Response/>'

# Twilio's MessageStatus values on a status callback, as Tiski's delivery statuses; the rest
# (queued, accepted, scheduled, sending, partially_delivered) say nothing new.
DELIVERY: dict[str, str] = {
    "sent": Message.Delivery.SENT,
    "delivered": Message.Delivery.DELIVERED,
    "read": Message.Delivery.READ,
    "undelivered": Message.Delivery.FAILED,
    "failed": Message.Delivery.FAILED,
    "canceled": Message.Delivery.FAILED,
}
INBOUND_STATUSES = frozenset({"received", "receiving"})
MAX_MEDIA_BYTES = 20 * 1024 * 1024


class FormParams(dict[str, list[str]]):
    """A decoded form with every value of a repeated name, as the SDK's validator reads a Django QueryDict."""

    def getlist(self, name: str) -> list[str]:
        return self[name]

    def value(self, name: str) -> str:
        """Return the value of NAME (the last one when repeated), or "" when it is absent."""
        values = self.get(name)
        return values[-1] if values else ""


def form_params(request: WebhookRequest) -> FormParams:
    """Return REQUEST's form-encoded body with blank values kept (Twilio signs them, too)."""
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return FormParams()
    return FormParams(parse_qs(request.body.decode("utf-8", errors="replace"), keep_blank_values=True))


def status_callback_url(channel: Channel) -> str:
    """Return the public URL of CHANNEL's webhook for Twilio's status callbacks, or "" when no public base
    URL is configured (the channel's "public_url" setting, else TISKI_WEBHOOK_BASE_URL)."""
    base = str((channel.config or {}).get("public_url") or settings.TISKI_WEBHOOK_BASE_URL or "").rstrip("/")
    if not base:
        return ""
    return base + reverse("channel-webhook", kwargs={"kind": channel.kind, "channel_id": channel.pk})


def twilio_signed(*, channel: Channel, request: WebhookRequest) -> bool:
    """Return whether REQUEST carries Twilio's valid X-Twilio-Signature for CHANNEL's auth token (the twilio
    SDK's validator; raise ChannelConfigError when the channel's auth token is not configured)."""
    token = channel_secret(channel, "auth_token")
    signature = request.headers.get("x-twilio-signature", "")
    if not signature or request.method != "POST":
        return False
    validator = RequestValidator(token)
    params: FormParams | str = (
        request.body.decode("utf-8", errors="replace") if "bodySHA256" in request.query else form_params(request)
    )
    return any(validator.validate(url, params, signature) for url in _signed_urls(channel, request.url))


@adapter_register
class SmsAdapter(WebhookAdapter):
    kind = ChannelKind.SMS
    recipient_kinds = (Identity.Kind.PHONE,)

    # --- inbound --------------------------------------------------------------------------------------------

    def verify(self, *, channel: Channel, request: WebhookRequest) -> bool:
        """Check X-Twilio-Signature with the twilio SDK's validator and the channel's auth token.

        Form posts are signed over the URL and the sorted parameters; a JSON post carries bodySHA256 in its
        query and is signed over the URL, with the body's hash checked as well.
        """
        return twilio_signed(channel=channel, request=request)

    def parse(self, *, channel: Channel, request: WebhookRequest) -> WebhookBatch:
        """Return the inbound SMS/MMS or the status callback REQUEST carries."""
        form = form_params(request)
        if not form:
            raise InboundInvalidError("Twilio's call has no form-encoded fields (a messaging webhook has).")
        sid = form.value("MessageSid") or form.value("SmsMessageSid") or form.value("SmsSid")
        if not sid:
            raise InboundInvalidError("Twilio's call has no MessageSid.")
        status = form.value("MessageStatus").lower()
        if status and status not in INBOUND_STATUSES and "Body" not in form:
            reference = request.query.get("reference", "")
            return WebhookBatch(statuses=_status_updates(sid=sid, status=status, form=form, reference=reference))
        if Message.objects.filter(channel=channel, external_id=sid).exists():
            return WebhookBatch()  # Twilio retried a message that is stored: acknowledged, media not fetched again
        return WebhookBatch(messages=[self._inbound(channel=channel, request=request, form=form, sid=sid)])

    def _inbound(self, *, channel: Channel, request: WebhookRequest, form: FormParams, sid: str) -> InboundMessage:
        sender = form.value("From").strip()
        if not sender:
            raise InboundInvalidError(f"Twilio's message {sid} has no From number.")
        try:
            normalize_phone(sender)
            handle = Handle(Identity.Kind.PHONE, sender)
        except IdentityInvalidError:
            # A short code or an alphanumeric sender id: kept as it came, so the message is not lost.
            handle = Handle(Identity.Kind.OTHER, sender)
            try:
                identity_key(handle.kind, handle.value)
            except IdentityInvalidError as error:
                raise InboundInvalidError(f"Twilio's message {sid} has an unusable From: {error}") from error
        lines = [form.value("Body").replace("\x00", "")]
        latitude, longitude = form.value("Latitude"), form.value("Longitude")
        if latitude and longitude:
            lines.append(
                _("Location: %(lat)s, %(lon)s") % {"lat": latitude, "lon": longitude}
                + " https://www.openstreetmap.org/?"
                + urlencode({"mlat": latitude, "mlon": longitude})
            )
        attachments, missing = self._media(channel=channel, form=form)
        lines.extend(missing)
        return InboundMessage(
            channel=channel,
            handles=[handle],
            body_text="\n".join(line for line in lines if line).strip(),
            external_id=sid,
            sender_name=form.value("ProfileName").replace("\x00", "").strip(),
            attachments=attachments,
            raw=request.body,
            threading=Threading.CONVERSATION,
        )

    def _media(self, *, channel: Channel, form: FormParams) -> tuple[list[InboundAttachment], list[str]]:
        """Download the message's media; return the attachments and a note for each file that failed."""
        try:
            count = int(form.value("NumMedia") or 0)
        except ValueError:
            count = 0
        if count <= 0:
            return [], []
        account_sid = str((channel.config or {}).get("account_sid") or form.value("AccountSid"))
        token = channel_secret(channel, "auth_token")
        limit = int(getattr(settings, "TISKI_SMS_MAX_MEDIA_BYTES", MAX_MEDIA_BYTES))
        attachments: list[InboundAttachment] = []
        missing: list[str] = []
        for index in range(min(count, 10)):  # Twilio sends at most 10 media per message
            url = form.value(f"MediaUrl{index}")
            declared = form.value(f"MediaContentType{index}")
            if not url:
                continue
            try:
                served, content = twilio_media_download(
                    url=url, account_sid=account_sid, auth_token=token, max_bytes=limit
                )
            except MediaDownloadError as error:
                logger.warning("sms channel %s: media %s not downloaded: %s", channel.pk, url, error)
                missing.append(
                    _("[Attachment %(number)d (%(type)s) was not downloaded (%(error)s); it is at Twilio: %(url)s]")
                    % {"number": index + 1, "type": declared or "?", "error": error, "url": url}
                )
                continue
            content_type = declared or served or "application/octet-stream"
            extension = mimetypes.guess_extension(content_type) or ".bin"
            attachments.append(InboundAttachment(f"media-{index + 1}{extension}", content_type, content))
        return attachments, missing

    def acknowledgement(self) -> tuple[str, str]:
        """Return empty TwiML: take the message, answer nothing."""
        return ACKNOWLEDGEMENT, "text/xml"

    # --- outbound -------------------------------------------------------------------------------------------

    def send(self, *, message: OutboundMessage) -> DeliveryResult:
        """Send the reply as one SMS through Twilio's Messages API (text only) and return its SID."""
        channel = message.channel
        if not message.recipients:
            raise DeliveryPermanentError("The customer has no phone number to send the SMS to.")
        if len(message.body_text) > MAX_BODY:
            raise DeliveryPermanentError(
                f"The reply has {len(message.body_text)} characters; an SMS can carry at most {MAX_BODY}. "
                "Shorten it and send it again."
            )
        try:
            account_sid = channel_setting(channel, "account_sid")
            token = channel_secret(channel, "auth_token")
        except ChannelConfigError as error:
            raise DeliveryError(f"{error} The SMS is retried once it is set.") from error
        config = channel.config or {}
        sender = str(config.get("from_number") or channel.address or "")
        service = str(config.get("messaging_service_sid") or "")
        if not (sender or service):
            raise DeliveryError(
                f'Channel "{channel}" has no number to send from: set its address or "from_number" (or '
                '"messaging_service_sid") in its settings. The SMS is retried once it is set.'
            )
        params = {"To": message.recipients[0], "Body": message.body_text}
        if sender:
            params["From"] = sender
        if service:
            params["MessagingServiceSid"] = service
        callback = status_callback_url(channel)
        if callback:
            # The reference comes back with every status callback (Twilio keeps the URL's query and signs it):
            # a "sent" report confirms a reply whose SID a dead worker did not store, so it is not sent twice.
            params["StatusCallback"] = f"{callback}?{urlencode({'reference': outbound_reference(message.message_id)})}"
        if message.attachments:
            logger.info(
                "sms reply %s: %d attachment(s) not sent (SMS replies are text only)",
                message.message_id,
                len(message.attachments),
            )
        return DeliveryResult(
            external_id=twilio_message_create(account_sid=account_sid, auth_token=token, params=params)
        )


def _signed_urls(channel: Channel, url: str) -> list[str]:
    """Return the URLs Twilio may have signed: the one the request arrived at, and the same path under the
    channel's "public_url" when that is set (the URL given to Twilio, behind a proxy)."""
    urls = [url]
    public = str((channel.config or {}).get("public_url") or "").rstrip("/")
    if public:
        parts = urlsplit(url)
        urls.append(public + parts.path + (f"?{parts.query}" if parts.query else ""))
    return urls


def _status_updates(*, sid: str, status: str, form: Mapping[str, list[str]], reference: str = "") -> list[StatusUpdate]:
    """Return the delivery report of a status callback, or none for a status that says nothing new."""
    delivery = DELIVERY.get(status)
    if delivery is None:
        return []
    error = ""
    if delivery == Message.Delivery.FAILED:
        code = (form.get("ErrorCode") or [""])[-1]
        detail = error_describe(code, (form.get("ErrorMessage") or [""])[-1])
        error = f"{status.capitalize()}: {detail}" if detail else status.capitalize()
    return [StatusUpdate(external_id=sid, status=delivery, error=error, reference=reference)]
