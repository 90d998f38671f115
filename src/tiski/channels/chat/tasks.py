"""Background work of the chat channel: the transcript by email."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django_tasks import task

from tiski.cases.models import Case, Message
from tiski.channels.chat.selectors import chat_session_for_case, chat_transcript_lines


@task()
def chat_transcript_send(case_id: int, to: str, language: str = "") -> str:
    """E-mail the transcript of chat case CASE_ID to TO; return the address it went to."""
    case = Case.objects.select_related("channel").get(pk=case_id)
    session = chat_session_for_case(case=case)
    channel = session.channel if session is not None else case.channel
    lines = []
    for message in chat_transcript_lines(case=case, channel_id=channel.pk if channel else None):
        lines.append(
            {
                "at": timezone.localtime(message.created_at),
                "author": message.author,
                "name": _name(message),
                "text": message.body_text,
                "files": [a.filename for a in message.attachments.all()],
            }
        )
    with translation.override(language or settings.LANGUAGE_CODE):
        subject = render_to_string("chat/transcript_subject.txt", {"case": case}).strip()
        body = render_to_string("chat/transcript.txt", {"case": case, "lines": lines})
    sender = (channel.address if channel is not None and "@" in channel.address else "") or settings.DEFAULT_FROM_EMAIL
    EmailMessage(
        subject=subject, body=body, from_email=sender, to=[to], headers={"Auto-Submitted": "auto-generated"}
    ).send()
    return to


def _name(message: Message) -> str:
    if message.author == Message.Author.AGENT and message.author_user is not None:
        return message.author_user.first_name or message.sender_name
    if message.author == Message.Author.SYSTEM:
        return ""  # shown as "Customer service"
    return message.sender_name
