"""Writes for cases: create, update, reply, note. Each records its timeline event in the same transaction."""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import SuspiciousFileOperation
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.text import get_valid_filename
from django.utils.translation import gettext as _

from tiski import events
from tiski.accounts.roles import ASSIGN_ANY, WORK_CASES
from tiski.cases.exceptions import (
    CaseClosedError,
    CaseInvalidError,
    CasePermissionError,
    CaseReplyError,
    MessageImmutableError,
    MessageNotSentError,
)
from tiski.cases.models import Attachment, Case, CaseEvent, Category, Message, Note, Tag
from tiski.customers.models import Customer


@dataclass(frozen=True)
class FileIn:
    """A file handed to a service: a reply attachment or an uploaded form file."""

    filename: str
    content_type: str
    content: bytes


_via: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("case_events_via", default=None)


@contextlib.contextmanager
def case_events_via(**source: Any) -> Iterator[None]:
    """Mark the timeline events recorded inside the block as done by SOURCE (e.g. rule=3, rule_name="VIP")."""
    token = _via.set({**(_via.get() or {}), **source})
    try:
        yield
    finally:
        _via.reset(token)


def case_events_source() -> dict[str, Any]:
    """Return what the events recorded now are marked as done by (see case_events_via)."""
    return _via.get() or {}


def case_event_record(*, case: Case, kind: str, actor: User | None = None, **data: Any) -> CaseEvent:
    """Append an event to CASE's timeline (marked with the source of case_events_via, if any)."""
    via = _via.get()
    event = CaseEvent.objects.create(case=case, kind=kind, actor=actor, data={**data, "source": via} if via else data)
    events.publish(
        events.CaseEventRecorded(
            event_id=event.pk,
            case_id=case.pk,
            customer_id=case.customer_id,
            kind=kind,
            actor_id=actor.pk if actor else None,
        )
    )
    return event


def attachment_store(*, message: Message, file: FileIn, content_id: str = "") -> Attachment:
    """Store FILE with the storage API under its checksum and attach it to MESSAGE."""
    digest = hashlib.sha256(file.content).hexdigest()
    filename = _storable_name(file.filename)
    attachment = Attachment(
        message=message,
        filename=filename[:255],
        content_type=(file.content_type or "application/octet-stream")[:255],
        size=len(file.content),
        sha256=digest,
        content_id=content_id[:255],
    )
    attachment.file.save(filename, ContentFile(file.content), save=False)
    attachment.save()
    return attachment


MAX_NAME_BYTES = 200  # file systems allow 255 bytes per name; "ä" takes two


def _storable_name(name: str) -> str:
    """Return NAME without a path, made safe for the file system and at most MAX_NAME_BYTES bytes long."""
    try:
        cleaned = get_valid_filename(name.replace("\x00", "").replace("\\", "/").rsplit("/", 1)[-1])
    except SuspiciousFileOperation:  # "", ".", ".."
        cleaned = "attachment"
    root, dot, extension = cleaned.rpartition(".")
    if not dot or len(extension) > 16:
        root, extension = cleaned, ""
    suffix = f".{extension}" if extension else ""
    while root and len((root + suffix).encode()) > MAX_NAME_BYTES:
        root = root[:-1]
    return (root or "attachment") + suffix


def _person(user: User) -> str:
    return user.get_full_name() or user.get_username()


def _require_agent(actor: User | None) -> None:
    if actor is not None and not actor.has_perm(WORK_CASES):
        raise CasePermissionError("You do not have permission to work on cases.")


def _status_timestamps(case: Case, status: str) -> list[str]:
    """Set the solved/closed timestamps that follow from moving CASE to STATUS; return changed fields."""
    now = timezone.now()
    if status == Case.Status.SOLVED and case.solved_at is None:
        case.solved_at = now
        return ["solved_at"]
    if status == Case.Status.CLOSED:
        case.closed_at = now
        fields = ["closed_at"]
        if case.solved_at is None:
            case.solved_at = now
            fields.append("solved_at")
        return fields
    if status in Case.OPEN_STATUSES and case.solved_at is not None:
        case.solved_at = None
        return ["solved_at"]
    return []


@transaction.atomic
def case_create(
    *,
    customer: Customer,
    subject: str,
    actor: User | None,
    channel: Any = None,
    description: str = "",
    priority: int = Case.Priority.NORMAL,
    type: str = Case.Type.QUESTION,
    category: Category | None = None,
    tags: Sequence[str] = (),
) -> Case:
    """Open a case for CUSTOMER on behalf of ACTOR (an agent or an integration).

    A description is stored as the customer's first message on CHANNEL, which it then requires.
    """
    _require_agent(actor)
    subject = subject.strip()
    if not subject:
        raise CaseInvalidError("A case needs a subject.")
    if description.strip() and channel is None:
        raise CaseInvalidError("A description is stored as a message on a channel: give the channel.")
    case = Case.objects.create(
        customer=customer,
        subject=subject[:300],
        channel=channel,
        priority=priority,
        type=type,
        category=category,
        team=(category.team if category else None) or (channel.team if channel else None),
    )
    if tags:
        case.tags.set(_tags_get_or_create(tags))
    case_event_record(case=case, kind=CaseEvent.Kind.CREATED, actor=actor)
    if description.strip():
        Message.objects.create(
            case=case,
            channel=channel,
            direction=Message.Direction.IN,
            author=Message.Author.CUSTOMER,
            sender_name=customer.name,
            subject=case.subject,
            body_text=description.strip(),
        )
    return case


def _tags_get_or_create(names: Sequence[str]) -> list[Tag]:
    from django.utils.text import slugify

    slugs = {slugify(name, allow_unicode=True)[:50] for name in names}
    slugs.discard("")
    existing = {tag.name: tag for tag in Tag.objects.filter(name__in=slugs)}
    return [existing.get(slug) or Tag.objects.get_or_create(name=slug)[0] for slug in sorted(slugs)]


_UNSET: Any = object()


@transaction.atomic
def case_update(
    *,
    case: Case,
    actor: User | None,
    status: str = _UNSET,
    priority: int = _UNSET,
    owner: User | None = _UNSET,
    team: Any = _UNSET,
    subject: str = _UNSET,
    type: str = _UNSET,
    category: Category | None = _UNSET,
    tags: Sequence[str] = _UNSET,
) -> Case:
    """Change the given fields of CASE and record one timeline event per change.

    Assigning the case to someone other than the actor needs the "assign any" permission (team lead).
    Raise CaseClosedError for a closed case: it is final, a new contact opens a new case.
    """
    _require_agent(actor)
    case = Case.objects.select_for_update().get(pk=case.pk)
    if case.status == Case.Status.CLOSED:
        raise CaseClosedError(f"{case.reference} is closed; closed cases cannot be changed.")
    changed: list[str] = []
    if status is not _UNSET and status != case.status:
        if status not in Case.Status.values:
            raise CaseInvalidError(f"Unknown status {status!r}.")
        old = case.status
        case.status = status
        changed += ["status", *_status_timestamps(case, status)]
        case_event_record(case=case, kind=CaseEvent.Kind.STATUS_CHANGED, actor=actor, old=old, new=status)
    if priority is not _UNSET and priority != case.priority:
        if priority not in Case.Priority.values:
            raise CaseInvalidError(f"Unknown priority {priority!r}.")
        old_priority = case.priority
        case.priority = priority
        changed.append("priority")
        case_event_record(case=case, kind=CaseEvent.Kind.PRIORITY_CHANGED, actor=actor, old=old_priority, new=priority)
    if owner is not _UNSET and owner != case.owner:
        if owner is not None and not owner.has_perm(WORK_CASES):
            raise CaseInvalidError(f"{owner} is not an agent and cannot own cases.")
        others = owner is not None and owner != actor
        # Unassigning someone else's case is taking it from them, too (else: unassign, then take it).
        taking_from_someone = case.owner_id is not None and (actor is None or case.owner_id != actor.pk)
        if actor is not None and (others or taking_from_someone) and not actor.has_perm(ASSIGN_ANY):
            raise CasePermissionError("Only a team lead can assign cases to others or take them from others.")
        old_owner = case.owner
        case.owner = owner
        changed.append("owner")
        case_event_record(
            case=case,
            kind=CaseEvent.Kind.ASSIGNED,
            actor=actor,
            old=_person(old_owner) if old_owner else None,
            new=_person(owner) if owner else None,
            owner_id=owner.pk if owner else None,  # routing follows the new owner before the case row is saved
        )
    if team is not _UNSET and team != case.team:
        if actor is not None and not actor.has_perm(ASSIGN_ANY):
            raise CasePermissionError("Only a team lead can move cases between teams.")
        old_team = case.team
        case.team = team
        changed.append("team")
        case_event_record(
            case=case,
            kind=CaseEvent.Kind.TEAM_CHANGED,
            actor=actor,
            old=str(old_team) if old_team else None,
            new=str(team) if team else None,
        )
    simple: dict[str, Any] = {"subject": subject, "type": type, "category": category}
    for field, value in simple.items():
        if value is _UNSET or value == getattr(case, field):
            continue
        if field == "subject" and not str(value).strip():
            raise CaseInvalidError("A case needs a subject.")
        if field == "type" and value not in Case.Type.values:
            raise CaseInvalidError(f"Unknown type {value!r}.")
        setattr(case, field, value.strip()[:300] if field == "subject" else value)
        changed.append(field)
        case_event_record(case=case, kind=CaseEvent.Kind.UPDATED, actor=actor, field=field, new=str(value))
    if tags is not _UNSET:
        new_tags = _tags_get_or_create(tags)
        if {t.pk for t in new_tags} != set(case.tags.values_list("pk", flat=True)):
            case.tags.set(new_tags)
            case_event_record(
                case=case,
                kind=CaseEvent.Kind.UPDATED,
                actor=actor,
                field="tags",
                new=[t.name for t in new_tags],
            )
            changed.append("tags")
    if changed:
        case.save(update_fields=[f for f in dict.fromkeys(changed) if f != "tags"] + ["updated_at"])
    return case


@transaction.atomic
def note_add(*, case: Case, actor: User | None, body: str) -> Note:
    """Add an internal note to CASE (ACTOR None: written by Tiski itself, e.g. an automation rule)."""
    _require_agent(actor)
    body = body.strip()
    if not body:
        raise CaseInvalidError("The note is empty.")
    note = Note.objects.create(case=case, author=actor, body=body)
    case_event_record(case=case, kind=CaseEvent.Kind.NOTE_ADDED, actor=actor, note_id=note.pk)
    Case.objects.filter(pk=case.pk).update(updated_at=timezone.now())
    return note


@transaction.atomic
def message_reply(
    *,
    case: Case,
    actor: User | None,
    body: str,
    files: Sequence[FileIn] = (),
    status_after: str | None = None,
    channel: Any = None,
) -> Message:
    """Queue a reply to the customer on CASE's channel (or on CHANNEL: one the customer wrote on in this case,
    such as the chat of a chat escalated to a call, or any written channel on a phone case) and return it.

    ACTOR None sends an automatic message from Tiski itself (an automation rule): marked automatic, it is no
    response to the customer (the service-level clocks run on) and does not make anyone the case's owner.

    The message and its outbox row are written in one transaction; the worker sends it, retrying with
    backoff, and the message's delivery status follows. Raise CaseReplyError when the customer cannot
    be reached on that channel.
    """
    from tiski.channels.exceptions import ChannelKindUnknownError
    from tiski.channels.interface import adapter_for
    from tiski.channels.outbox import outbox_enqueue

    _require_agent(actor)
    case = Case.objects.select_for_update(of=("self",)).select_related("channel", "customer").get(pk=case.pk)
    if case.status == Case.Status.CLOSED:
        raise CaseClosedError(f"{case.reference} is closed; a new contact opens a new case.")
    body = body.strip()
    if not body:
        raise CaseReplyError("The reply is empty.")
    if channel is not None and channel.pk != case.channel_id:
        # A phone case continues in writing on any channel the customer can be reached on (checked below);
        # other cases only on channels the customer wrote on in them.
        spoken = case.channel is not None and case.channel.kind == "phone"
        if (
            not spoken
            and not Message.objects.filter(case=case, channel=channel, direction=Message.Direction.IN).exists()
        ):
            raise CaseReplyError(f"The customer has not written on {channel} in this case; reply on its channel.")
        case.channel = channel  # for this reply only: the case is saved with update_fields that leave it out
    if case.channel is None:
        raise CaseReplyError("This case has no channel to reply on.")
    try:
        adapter = adapter_for(case.channel.kind)
    except ChannelKindUnknownError:
        raise CaseReplyError(
            f"Replies on {case.channel.get_kind_display()} cannot be sent from Tiski yet; "
            "reply on the customer's channel directly and add an internal note."
        ) from None
    adapter.reply_check(case=case)  # a channel's own rule, e.g. WhatsApp's 24-hour window
    if not case.customer.identities.filter(kind__in=adapter.recipient_kinds).exists():
        raise CaseReplyError(
            f"{case.customer} has no address for {case.channel.get_kind_display()}; add one to the customer."
        )
    now = timezone.now()
    message = Message.objects.create(
        case=case,
        channel=case.channel,
        direction=Message.Direction.OUT,
        author=Message.Author.AGENT if actor is not None else Message.Author.SYSTEM,
        author_user=actor,
        sender_name=_person(actor) if actor is not None else "",
        subject=case.subject,
        body_text=body,
        auto_submitted=actor is None,
        delivery_status=Message.Delivery.QUEUED,
    )
    for file in files:
        attachment_store(message=message, file=file)
    fields = ["updated_at"]
    if case.first_response_at is None and actor is not None:
        case.first_response_at = now
        fields.append("first_response_at")
    new_status = status_after or (Case.Status.OPEN if case.status == Case.Status.NEW else case.status)
    if new_status != case.status:
        if new_status not in Case.Status.values:
            raise CaseInvalidError(f"Unknown status {new_status!r}.")
        case_event_record(case=case, kind=CaseEvent.Kind.STATUS_CHANGED, actor=actor, old=case.status, new=new_status)
        case.status = new_status
        fields += ["status", *_status_timestamps(case, new_status)]
    if case.owner_id is None and actor is not None:
        case.owner = actor  # who answers first owns it, as in every helpdesk
        fields.append("owner")
        case_event_record(
            case=case, kind=CaseEvent.Kind.ASSIGNED, actor=actor, old=None, new=_person(actor), owner_id=actor.pk
        )
    case.save(update_fields=fields)
    automatic = {"automatic": True} if actor is None else {}
    case_event_record(case=case, kind=CaseEvent.Kind.REPLY_QUEUED, actor=actor, message_id=message.pk, **automatic)
    outbox_enqueue(message=message)
    events.publish(events.ReplyQueued(message_id=message.pk, case_id=case.pk))
    return message


@transaction.atomic
def case_split(
    *,
    message: Message,
    actor: User,
    subject: str = "",
    type: str = Case.Type.QUESTION,
) -> Case:
    """Open a new case from MESSAGE (a new topic that arrived on an old case, even a closed one).

    The new case gets a copy of the message with its attachments; the two cases are linked both ways and
    the old case's timeline notes the split. Return the new case.
    """
    _require_agent(actor)
    if type not in Case.Type.values:
        raise CaseInvalidError(f"Unknown type {type!r}.")
    old = Case.objects.select_for_update().get(pk=message.case_id)
    new = Case.objects.create(
        subject=(subject.strip() or message.subject.strip() or old.subject)[:300],
        customer=old.customer,
        channel=message.channel,
        type=type,
        priority=old.priority,
        team=old.team,
    )
    new.related.add(old)
    copy = Message.objects.create(
        case=new,
        channel=message.channel,
        direction=message.direction,
        author=message.author,
        author_user=message.author_user,
        identity=message.identity,
        sender_name=message.sender_name,
        subject=message.subject,
        body_text=message.body_text,
        body_html=message.body_html,
        full_text=message.full_text,
        auto_submitted=message.auto_submitted,
        delivery_status=message.delivery_status,
        raw=message.raw,
    )
    Message.objects.filter(pk=copy.pk).update(created_at=message.created_at)  # it arrived then
    for attachment in message.attachments.all():
        # The stored file is content-addressed and immutable: the copy points at the same file.
        Attachment.objects.create(
            message=copy,
            file=attachment.file.name,
            filename=attachment.filename,
            content_type=attachment.content_type,
            size=attachment.size,
            sha256=attachment.sha256,
            content_id=attachment.content_id,
        )
    case_event_record(case=new, kind=CaseEvent.Kind.CREATED, actor=actor, split_from=old.reference, message_id=copy.pk)
    case_event_record(case=old, kind=CaseEvent.Kind.SPLIT, actor=actor, new=new.reference, message_id=message.pk)
    return new


REPORTABLE_DELIVERY = (Message.Delivery.DELIVERED, Message.Delivery.READ, Message.Delivery.FAILED)


@transaction.atomic
def message_delivery_report(*, message: Message, status: str, actor: User | None, error: str = "") -> Message:
    """Record the delivery status an external system reports for an outbound MESSAGE; return it.

    Only a sent message can be reported delivered or failed. Raise MessageImmutableError for an inbound
    message and MessageNotSentError for a reply that is still queued or retrying.
    """
    if status not in REPORTABLE_DELIVERY:
        raise ValueError(f"a delivery report is delivered, read or failed, not {status!r}")
    message = Message.objects.select_for_update(of=("self",)).select_related("case").get(pk=message.pk)
    if message.direction == Message.Direction.IN:
        raise MessageImmutableError(f"Message {message.pk} is inbound; inbound messages cannot be changed.")
    if message.delivery_status not in (Message.Delivery.SENT, *REPORTABLE_DELIVERY):
        raise MessageNotSentError(
            f"Message {message.pk} has not been sent yet ({message.delivery_status}); "
            "report its delivery once it is sent."
        )
    error = error.strip() if status == Message.Delivery.FAILED else ""
    if message.delivery_status == status and message.delivery_error == error:
        return message
    message.delivery_status = status
    message.delivery_error = error
    message.save(update_fields=["delivery_status", "delivery_error"])
    case: Case = message.case
    if status == Message.Delivery.FAILED:
        case_event_record(
            case=case, kind=CaseEvent.Kind.DELIVERY_FAILED, actor=actor, message_id=message.pk, error=error
        )
    else:
        case_event_record(
            case=case,
            kind=CaseEvent.Kind.UPDATED,
            actor=actor,
            field="delivery_status",
            new=status,
            message_id=message.pk,
        )
    return message


# ── escalating a chat to a call ───────────────────────────────────────────────────────────────────────────────


def _phone_channel() -> Any:
    """Return the phone channel calls are recorded on: the first active one, else a new "Phone" channel."""
    from tiski.channels.models import Channel, ChannelKind

    channel = Channel.objects.filter(kind=ChannelKind.PHONE, active=True).order_by("pk").first()
    if channel is None:
        channel, _created = Channel.objects.get_or_create(name="Phone", defaults={"kind": ChannelKind.PHONE})
    return channel


def call_in_progress(*, case: Case) -> CaseEvent | None:
    """Return the event of CASE's call escalation that has not been ended yet, or None."""
    last = (
        CaseEvent.objects.filter(case=case, kind__in=[CaseEvent.Kind.ESCALATED_TO_CALL, CaseEvent.Kind.CALL_ENDED])
        .order_by("-created_at", "-id")
        .first()
    )
    return last if last is not None and last.kind == CaseEvent.Kind.ESCALATED_TO_CALL else None


def case_call_escalate(*, case: Case, actor: User, number: str) -> CaseEvent:
    """Continue the chat CASE as a phone call by ACTOR to NUMBER; return the timeline's "escalated" event.

    NUMBER is normalised to E.164 (CaseInvalidError when it is not a phone number) and kept as the customer's
    phone identity when no customer has it yet. The case's channel becomes the phone channel, its routing work
    becomes phone work kept by the same agent (its units), and the customer is told in the chat who calls and
    at which number. Raise CaseInvalidError when the case is not a chat or a call is already going on.
    """
    from tiski.channels.chat.services import chat_notice, chat_session_for_case
    from tiski.channels.models import ChannelKind
    from tiski.customers.exceptions import IdentityInvalidError
    from tiski.customers.models import Identity
    from tiski.customers.normalize import normalize_phone
    from tiski.routing.services import work_channel_change

    _require_agent(actor)
    try:
        e164 = normalize_phone(number)
    except IdentityInvalidError:
        raise CaseInvalidError(_("“%(number)s” is not a phone number.") % {"number": number}) from None
    with transaction.atomic():
        case = Case.objects.select_for_update(of=("self",)).select_related("channel", "customer").get(pk=case.pk)
        if case.status == Case.Status.CLOSED:
            raise CaseClosedError(_("%(reference)s is closed.") % {"reference": case.reference})
        if call_in_progress(case=case) is not None:
            raise CaseInvalidError(_("A call on this case is going on already; end it first."))
        if case.channel is None or case.channel.kind != ChannelKind.CHAT:
            raise CaseInvalidError(_("Only a chat can be escalated to a call."))
        chat = case.channel
        if not Identity.objects.filter(kind=Identity.Kind.PHONE, value=e164).exists():
            Identity.objects.create(customer=case.customer, kind=Identity.Kind.PHONE, value=e164)
        case.channel = _phone_channel()
        fields = ["channel", "updated_at"]
        if case.status != Case.Status.OPEN:
            case_event_record(case=case, kind=CaseEvent.Kind.STATUS_CHANGED, actor=actor, old=case.status, new="open")
            case.status = Case.Status.OPEN
            fields.append("status")
        case.save(update_fields=fields)
        event = case_event_record(
            case=case,
            kind=CaseEvent.Kind.ESCALATED_TO_CALL,
            actor=actor,
            number=e164,
            from_channel=chat.pk,
            by=_person(actor),
        )
        work_channel_change(case=case, kind=ChannelKind.PHONE)
        session = chat_session_for_case(case=case)
        language = (session.language if session is not None else "") or case.customer.language
        chat_notice(case=case, text=_call_notice(language, actor, e164), actor=actor, channel=chat)
    return event


def _call_notice(language: str, agent: User, number: str) -> str:
    """Return "<agent> will call you now at <number>" in LANGUAGE (the chat's, else the site's)."""
    from django.conf import settings
    from django.utils.translation import override

    with override(language or settings.LANGUAGE_CODE):
        name = agent.first_name or _person(agent)
        return _("%(agent)s will call you now at %(number)s.") % {"agent": name, "number": number}


def case_call_end(*, case: Case, actor: User) -> CaseEvent:
    """Record that the call going on on CASE ended; return the event, which keeps the number and duration.

    Raise CaseInvalidError when no call is going on.
    """
    _require_agent(actor)
    with transaction.atomic():
        case = Case.objects.select_for_update(of=("self",)).get(pk=case.pk)
        started = call_in_progress(case=case)
        if started is None:
            raise CaseInvalidError(_("No call is going on on this case."))
        now = timezone.now()
        seconds = max(int((now - started.created_at).total_seconds()), 0)
        event = case_event_record(
            case=case,
            kind=CaseEvent.Kind.CALL_ENDED,
            actor=actor,
            number=started.data.get("number", ""),
            started_at=started.created_at.isoformat(),
            duration_s=seconds,
            by=_person(actor),
        )
        Case.objects.filter(pk=case.pk).update(updated_at=now)
    return event
