"""Send a reply as email through Django's email backend (the company's SMTP relay, or an ESP)."""

from __future__ import annotations

import smtplib
from email.utils import formataddr, parseaddr

from anymail.exceptions import AnymailInvalidAddress, AnymailRecipientsRefused, AnymailRequestsAPIError
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.crypto import salted_hmac

from tiski.channels.exceptions import DeliveryError, DeliveryPermanentError
from tiski.channels.interface import DeliveryResult, OutboundMessage

# An ESP's API answers these for a message it will never take (malformed or refused recipient, too large);
# anything else (5xx, 401/403 while a key is fixed, 429, the network) is retried.
_ESP_PERMANENT_STATUSES = frozenset({400, 406, 413, 422})


def reply_subject(*, subject: str, reference: str) -> str:
    """Return "[TSK-1042] Re: subject", without stacking prefixes or tokens."""
    token = f"[{reference}]"
    base = subject.replace(token, "").strip()
    if not base.lower().startswith(("re:", "vs:", "sv:", "aw:")):
        base = f"Re: {base}"
    return f"{token} {base}"


def reply_message_id(*, message: OutboundMessage, domain: str) -> str:
    """Return the Message-ID of reply MESSAGE: the same on every attempt, so that a copy sent again after a
    crash (the relay took it, the worker died before recording it) is recognisable as the same mail, and
    unguessable (keyed with SECRET_KEY), since an In-Reply-To naming it threads mail onto the case."""
    digest = salted_hmac("tiski.email.message-id", f"{message.message_id}:{message.case_reference}").hexdigest()
    return f"<tiski.{message.message_id}.{digest[:20]}@{domain}>"


def email_send(*, message: OutboundMessage, from_address: str) -> DeliveryResult:
    """Send MESSAGE as a threaded email from FROM_ADDRESS and return its Message-ID.

    Raise DeliveryPermanentError when the relay refuses every recipient, DeliveryError when it cannot be
    reached or fails for now (the outbox retries).
    """
    if not message.recipients:
        raise DeliveryPermanentError("the customer has no email address")
    display, address = parseaddr(from_address)
    domain = address.rpartition("@")[2] or "tiski.localhost"
    message_id = reply_message_id(message=message, domain=domain)
    context = {"message": message, "reference": message.case_reference}
    with translation.override(message.language or settings.LANGUAGE_CODE):
        text = render_to_string("channels/email/reply.txt", context)
        html = render_to_string("channels/email/reply.html", context)
    sender = formataddr((message.sender_name or display, address)) if message.sender_name else from_address
    headers = {"Message-ID": message_id, "Auto-Submitted": "auto-replied" if message.automatic else "no"}
    if message.automatic:
        headers["X-Auto-Response-Suppress"] = "All"  # Exchange: no out-of-office answer to an acknowledgement
    thread = [mid for mid in message.in_reply_to if mid.startswith("<") and mid.endswith(">")]
    if thread:
        headers["In-Reply-To"] = thread[-1]
        headers["References"] = " ".join(thread[-20:])
    mail = EmailMultiAlternatives(
        subject=reply_subject(subject=message.subject, reference=message.case_reference),
        body=text,
        from_email=sender,
        to=list(message.recipients),
        headers=headers,
        reply_to=[from_address],
    )
    mail.attach_alternative(html, "text/html")
    for attachment in message.attachments:
        mail.attach(attachment.filename, attachment.content, attachment.content_type)
    try:
        mail.send(fail_silently=False)
    except smtplib.SMTPRecipientsRefused as exc:
        raise DeliveryPermanentError(f"the mail server refused the recipient: {exc.recipients}") from exc
    except (AnymailRecipientsRefused, AnymailInvalidAddress) as exc:
        raise DeliveryPermanentError(f"the email provider refused the recipient: {exc}") from exc
    except AnymailRequestsAPIError as exc:  # an OSError: must come before the clause below
        if exc.status_code in _ESP_PERMANENT_STATUSES:
            raise DeliveryPermanentError(f"the email provider refused the message: {exc}") from exc
        raise DeliveryError(f"the email provider could not take the message: {exc}") from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryError(f"the mail server could not take the message: {exc}") from exc
    return DeliveryResult(external_id=message_id)
