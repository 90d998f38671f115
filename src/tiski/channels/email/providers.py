"""Mail that an email service provider receives for a mailbox and posts to Tiski, through django-anymail.

One endpoint per provider. Anymail checks the provider's proof (Mailgun's HMAC signature, or the HTTP basic
auth of ANYMAIL["WEBHOOK_SECRET"] for SendGrid, Postmark and Amazon SES), parses the post and sends its
`inbound` signal; the receiver here stores the original MIME through email_receive(), like every other way
mail arrives. The endpoint answers 200 only after the mail is committed, and 5xx when it could not be stored,
so the provider retries.

An endpoint whose provider has no secret configured refuses every post: anymail alone would accept unsigned
posts when WEBHOOK_SECRET is unset (it only warns).
"""

from __future__ import annotations

import importlib.util
import logging
from base64 import b64decode
from collections.abc import Callable
from dataclasses import dataclass
from email import policy
from email.parser import BytesParser
from email.utils import parseaddr
from typing import Any
from urllib.parse import parse_qsl

from anymail.exceptions import AnymailWebhookValidationFailure
from anymail.inbound import AnymailInboundMessage
from anymail.signals import AnymailInboundEvent, inbound
from anymail.utils import get_anymail_setting, get_request_basic_auth
from anymail.webhooks.amazon_ses import AmazonSESInboundWebhookView
from anymail.webhooks.mailgun import MailgunInboundWebhookView
from anymail.webhooks.postmark import PostmarkInboundWebhookView
from anymail.webhooks.sendgrid import SendGridInboundWebhookView
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse
from django.http.request import RawPostDataException
from django.utils.crypto import constant_time_compare
from django.views.decorators.csrf import csrf_exempt

from tiski.channels.email.inbound import EmailReceipt, email_receive
from tiski.channels.email.mailbox import mailbox_default, mailbox_for_address
from tiski.channels.models import Channel

logger = logging.getLogger(__name__)


def _form_field_bytes(request: HttpRequest, name: str) -> bytes | None:
    """Return form field NAME exactly as posted (Django hands fields over decoded as UTF-8 text)."""
    content_type = request.META.get("CONTENT_TYPE", "")
    try:
        body = request.body
    except RawPostDataException:
        value = request.POST.get(name)
        return value.encode("utf-8") if value is not None else None
    if content_type.startswith("multipart/form-data"):
        head = b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n"
        form = BytesParser(policy=policy.default).parsebytes(head + body)
        for part in form.iter_parts():
            if part.get_param("name", header="content-disposition") == name:
                payload = part.get_payload(decode=True)
                return payload if isinstance(payload, bytes) else None
        return None
    # application/x-www-form-urlencoded: Latin-1 maps each percent-escaped byte back to itself.
    fields = parse_qsl(body.decode("ascii", errors="replace"), encoding="latin-1", keep_blank_values=True)
    return next((value.encode("latin-1") for key, value in fields if key == name), None)


def _mailgun_raw(event: AnymailInboundEvent) -> bytes | None:
    """The "body-mime" field, posted to a route URL containing "mime" (…/mailgun/inbound_mime/)."""
    return _form_field_bytes(event.esp_event, "body-mime")


def _sendgrid_raw(event: AnymailInboundEvent) -> bytes | None:
    """The "email" field, posted when the Inbound Parse setting "POST the raw, full MIME message" is on."""
    return _form_field_bytes(event.esp_event, "email")


def _postmark_raw(event: AnymailInboundEvent) -> bytes | None:
    """The "RawEmail" field, posted when the server's inbound setting "Include raw email content" is on."""
    raw = event.esp_event.get("RawEmail")
    return raw.encode("utf-8") if isinstance(raw, str) and raw else None


def _amazon_ses_raw(event: AnymailInboundEvent) -> bytes | None:
    """The "content" of a receipt rule's SNS action (an S3 action leaves the mail in the bucket)."""
    content = event.esp_event.get("content")
    if not isinstance(content, str):
        return None
    action = event.esp_event.get("receipt", {}).get("action", {})
    return b64decode(content) if action.get("encoding") == "BASE64" else content.encode("utf-8")


@dataclass(frozen=True)
class InboundProvider:
    """An email service provider whose inbound webhook Tiski serves, and what that endpoint needs."""

    slug: str  # the URL segment, as in anymail's own URLs
    view: Callable[..., HttpResponse]
    view_class: type
    setting: str  # the ANYMAIL setting (a signing key or WEBHOOK_SECRET) without which the endpoint refuses posts
    basic_auth: bool  # the provider proves itself by the HTTP basic auth in the URL it posts to
    raw: Callable[[AnymailInboundEvent], bytes | None]
    requires: str | None = None  # a module the anymail view cannot work without

    def configured(self) -> bool:
        value = get_anymail_setting(self.setting.lower(), default="")
        return bool(value) and (not isinstance(value, list | tuple) or all(value))


def _provider(
    slug: str, view_class: Any, raw: Callable[[AnymailInboundEvent], bytes | None], **options: Any
) -> InboundProvider:
    options.setdefault("setting", "WEBHOOK_SECRET")
    options.setdefault("basic_auth", options["setting"] == "WEBHOOK_SECRET")
    return InboundProvider(slug=slug, view=view_class.as_view(), view_class=view_class, raw=raw, **options)


MAILGUN = _provider("mailgun", MailgunInboundWebhookView, _mailgun_raw, setting="MAILGUN_WEBHOOK_SIGNING_KEY")
SENDGRID = _provider("sendgrid", SendGridInboundWebhookView, _sendgrid_raw)
POSTMARK = _provider("postmark", PostmarkInboundWebhookView, _postmark_raw)
AMAZON_SES = _provider("amazon_ses", AmazonSESInboundWebhookView, _amazon_ses_raw, requires="boto3")
PROVIDERS = (MAILGUN, SENDGRID, POSTMARK, AMAZON_SES)
_BY_VIEW = {provider.view_class: provider for provider in PROVIDERS}


def _credentials_match(request: HttpRequest) -> bool:
    given = get_request_basic_auth(request)
    allowed = get_anymail_setting("webhook_secret", default=[])
    allowed = [allowed] if isinstance(allowed, str) else allowed
    return given is not None and any(constant_time_compare(given, secret) for secret in allowed if secret)


def _refusal(request: HttpRequest, provider: InboundProvider) -> HttpResponse:
    """401 with a challenge when the basic auth is missing or wrong (SNS sends it only when challenged), else 403."""
    if provider.basic_auth and not _credentials_match(request):
        response = HttpResponse("Credentials required.", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Basic realm="Tiski inbound mail"'
        return response
    return HttpResponse("The post failed the provider's verification.", status=403, content_type="text/plain")


@csrf_exempt
def inbound_webhook(request: HttpRequest, *, provider: InboundProvider) -> HttpResponse:
    """Hand a provider's post to anymail's view, refusing it unless the provider's secret is configured."""
    if not provider.configured():
        logger.warning("refused a %s inbound post: ANYMAIL[%r] is not set", provider.slug, provider.setting)
        return HttpResponse(f"This endpoint is off until ANYMAIL {provider.setting} is set.", status=403)
    if provider.requires and importlib.util.find_spec(provider.requires) is None:
        extra = provider.slug.replace("_", "-")
        logger.error("cannot take %s inbound mail: install django-anymail[%s]", provider.slug, extra)
        return HttpResponse(f"The {provider.requires} package is not installed.", status=503)
    if request.method == "POST":
        request.body  # noqa: B018 - read the stream now, so the receiver can still get the exact posted bytes
    try:
        return provider.view(request)
    except AnymailWebhookValidationFailure as exc:
        logger.warning("refused a %s inbound post: %s", provider.slug, exc)
        return _refusal(request, provider)


def _addresses(message: AnymailInboundMessage) -> list[str]:
    envelope = parseaddr(message.envelope_recipient or "")[1]
    return [address for address in [envelope, *(a.addr_spec for a in [*message.to, *message.cc])] if address]


def _mailbox(message: AnymailInboundMessage) -> Channel:
    """Return the mailbox the mail was sent to (envelope recipient first), else the default mailbox."""
    for address in _addresses(message):
        mailbox = mailbox_for_address(address)
        if mailbox is not None:
            return mailbox
    mailbox = mailbox_default()
    if mailbox is None:
        raise ImproperlyConfigured("mail arrived by webhook, but no active mailbox exists to store it in")
    return mailbox


def provider_mail_receive(*, event: AnymailInboundEvent, esp_name: str, view_class: type | None = None) -> EmailReceipt:
    """Store the mail of one anymail inbound EVENT on the mailbox it was sent to and return the receipt.

    The original MIME bytes are stored where the provider posts them (Mailgun's MIME route, SendGrid's raw
    mode, Postmark's RawEmail, SES's SNS action); otherwise anymail's parsed message is serialised again.
    Raise when the database fails, so that the webhook answers 5xx and the provider retries.
    """
    message: AnymailInboundMessage = event.message
    provider = _BY_VIEW.get(view_class) if view_class is not None else None
    raw = provider.raw(event) if provider is not None else None
    if raw is None:
        raw = message.as_bytes()
    return email_receive(raw=raw, mailbox=_mailbox(message), source=f"webhook:{esp_name}")


def _on_inbound(sender: type, event: AnymailInboundEvent, esp_name: str, **kwargs: Any) -> None:
    provider_mail_receive(event=event, esp_name=esp_name, view_class=sender)


inbound.connect(_on_inbound, dispatch_uid="tiski.channels.email.providers")
