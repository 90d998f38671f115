"""Reads the console needs beside the case selectors: paging, filter choices, tokens, the demo mailbox, the
customer panel."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db.models import F, Max, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Length

from tiski.accounts.models import ApiToken, Team
from tiski.accounts.roles import (
    CHANGE_CUSTOMERS,
    CHANGE_QUARANTINE,
    ERASE_CUSTOMERS,
    EXPORT_CUSTOMERS,
    MANAGE_TOKENS,
    MERGE_CUSTOMERS,
    VIEW_QUARANTINE,
    VIEW_SENT_MAIL,
    can_read_cases,
)
from tiski.accounts.scope import can_see_full_customer, case_scope, user_partner
from tiski.accounts.selectors import agent_list
from tiski.cases.models import Attachment, CannedReply, Case, CaseEvent, Message
from tiski.channels.models import Channel, ChannelKind, QuarantinedMail
from tiski.channels.services import written_channel_for
from tiski.customers.models import Customer, Identity, MatchSuggestion
from tiski.customers.records import KindSummary, records_summary
from tiski.customers.selectors import CustomerCases, customer_cases, suggestions_open
from tiski.customers.signal_rules import Signal, signals_for
from tiski.notifications.models import Notification
from tiski.notifications.selectors import is_following

COUNT_CAP = 1000
QUARANTINE_PAGE = 200
LOCAL_MAIL_BACKEND = "tiski.core.mail.LocalMailboxBackend"
_EML_NAME = re.compile(r"^[0-9A-Za-z_-]{1,80}\.eml$")


class ConsoleNotFoundError(LookupError):
    """The thing asked for does not exist or is not the asker's to see."""


class ConsolePermissionError(PermissionError):
    """The user lacks the permission for this part of the console."""


@dataclass(frozen=True)
class CasePage:
    """One page of the inbox. The total is counted up to COUNT_CAP only, so it stays cheap on 100k cases."""

    cases: list[Case]
    number: int
    per_page: int
    has_next: bool
    total: int
    total_capped: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def previous_number(self) -> int:
        return self.number - 1

    @property
    def next_number(self) -> int:
        return self.number + 1

    @property
    def start_index(self) -> int:
        return (self.number - 1) * self.per_page + 1 if self.cases else 0

    @property
    def end_index(self) -> int:
        return (self.number - 1) * self.per_page + len(self.cases)


def case_page(*, cases: QuerySet[Case], number: int, per_page: int) -> CasePage:
    """Return page NUMBER (from 1) of CASES, reading one extra row to know whether another page follows."""
    number = max(1, number)
    offset = (number - 1) * per_page
    rows = list(cases[offset : offset + per_page + 1])
    capped_total = cases.order_by()[: COUNT_CAP + 1].count()
    return CasePage(
        cases=rows[:per_page],
        number=number,
        per_page=per_page,
        has_next=len(rows) > per_page,
        total=min(capped_total, COUNT_CAP),
        total_capped=capped_total > COUNT_CAP,
    )


@dataclass(frozen=True)
class FilterChoices:
    channels: list[Channel]
    teams: list[Team]
    agents: list[User]


def filter_choices(*, user: User | None = None) -> FilterChoices:
    """Return the channels, teams and agents the inbox filters and the case controls offer.

    A partner agent (USER) is offered only the partner's channels, its teams and the teams of its queues, and
    the partner's own agents: the names of the rest of the company are none of theirs.
    """
    partner = user_partner(user) if user is not None else None
    if partner is not None:
        teams = Team.objects.filter(Q(partner=partner) | Q(queue__in=partner.queues.all())).distinct()
        return FilterChoices(
            channels=list(partner.channels.order_by("kind", "name")),
            teams=list(teams.order_by("name")),
            agents=list(agent_list().filter(agent__partner=partner)),
        )
    return FilterChoices(
        channels=list(Channel.objects.order_by("kind", "name")),
        teams=list(Team.objects.order_by("name")),
        agents=list(agent_list()),
    )


def agent_get(*, user_id: int) -> User:
    """Return the active user USER_ID; raise ConsoleNotFoundError."""
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        raise ConsoleNotFoundError(f"No user {user_id}.")
    return user


def team_get(*, team_id: int) -> Team:
    """Return team TEAM_ID; raise ConsoleNotFoundError."""
    team = Team.objects.filter(pk=team_id).first()
    if team is None:
        raise ConsoleNotFoundError(f"No team {team_id}.")
    return team


def timeline_pending(*, case: Case) -> bool:
    """Return whether a reply on CASE is still on its way (queued or retrying)."""
    return Message.objects.filter(
        case=case, delivery_status__in=[Message.Delivery.QUEUED, Message.Delivery.RETRYING]
    ).exists()


def api_tokens_for(*, user: User) -> QuerySet[ApiToken]:
    """Return the tokens USER may see: their own, or every token with the manage-tokens permission."""
    tokens = ApiToken.objects.select_related("user").order_by("revoked_at", "-created_at")
    return tokens if user.has_perm(MANAGE_TOKENS) else tokens.filter(user=user)


def api_token_get_for(*, user: User, token_id: int) -> ApiToken:
    """Return token TOKEN_ID if USER may revoke it; raise ConsoleNotFoundError otherwise."""
    token = api_tokens_for(user=user).filter(pk=token_id).first()
    if token is None:
        raise ConsoleNotFoundError("No such token.")
    return token


def token_owner_for(*, user: User, owner_id: int | None) -> User:
    """Return whom USER issues a token for: themself, or OWNER_ID with the manage-tokens permission."""
    if owner_id is None or owner_id == user.pk:
        return user
    if not user.has_perm(MANAGE_TOKENS):
        raise ConsolePermissionError("Only an administrator can issue tokens for other users.")
    return agent_get(user_id=owner_id)


def local_mailbox_enabled() -> bool:
    """Return whether outgoing mail is kept in the local demo mailbox."""
    return bool(settings.EMAIL_BACKEND == LOCAL_MAIL_BACKEND)


@dataclass(frozen=True)
class SentMailFile:
    name: str
    written_at: datetime | None
    subject: str
    to: str


@dataclass(frozen=True)
class SentMail:
    name: str
    sender: str
    to: str
    subject: str
    date: datetime | None
    text: str


def _require_sent_mail(user: User) -> None:
    if not user.has_perm(VIEW_SENT_MAIL):
        raise ConsolePermissionError("You do not have permission to read the local mailbox.")


def _written_at(name: str) -> datetime | None:
    try:
        return datetime.strptime(name[:21] + "+0000", "%Y%m%dT%H%M%S%f%z")
    except ValueError:
        return None


def _headers(path: Path) -> Any:
    with path.open("rb") as file:
        return BytesParser(policy=policy.default).parse(file, headersonly=True)


def sent_mail_list(*, user: User, limit: int = 100) -> list[SentMailFile]:
    """Return the newest LIMIT .eml files of the local mailbox with subject and recipient, newest first."""
    _require_sent_mail(user)
    directory = Path(settings.TISKI_LOCAL_MAIL_DIR)
    if not directory.is_dir():
        return []
    names = sorted((p.name for p in directory.iterdir() if _EML_NAME.match(p.name)), reverse=True)[:limit]
    files = []
    for name in names:
        headers = _headers(directory / name)
        files.append(
            SentMailFile(
                name=name,
                written_at=_written_at(name),
                subject=str(headers["Subject"] or ""),
                to=str(headers["To"] or ""),
            )
        )
    return files


def sent_mail_get(*, user: User, name: str) -> SentMail:
    """Return the parsed mail NAME of the local mailbox; raise ConsoleNotFoundError."""
    _require_sent_mail(user)
    path = Path(settings.TISKI_LOCAL_MAIL_DIR) / name
    if not _EML_NAME.match(name) or not path.is_file():
        raise ConsoleNotFoundError("No such mail.")
    parsed: Any = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
    assert isinstance(parsed, EmailMessage)
    body = parsed.get_body(preferencelist=("plain",))
    text = body.get_content() if body is not None else ""
    try:
        date = parsedate_to_datetime(str(parsed["Date"])) if parsed["Date"] else None
    except (TypeError, ValueError):
        date = None
    if date is not None and date.tzinfo is None:  # "-0000": UTC with the zone unknown to the sender
        date = date.replace(tzinfo=UTC)
    return SentMail(
        name=name,
        sender=str(parsed["From"] or ""),
        to=str(parsed["To"] or ""),
        subject=str(parsed["Subject"] or ""),
        date=date,
        text=str(text),
    )


def message_get_for(*, user: User, message_id: int) -> Message:
    """Return message MESSAGE_ID with its case, channel and attachments for an agent; raise ConsoleNotFoundError."""
    if not can_read_cases(user):
        raise ConsolePermissionError("You do not have permission to see cases.")
    message = (
        Message.objects.select_related("case", "channel")
        .prefetch_related("attachments")
        .filter(pk=message_id, case_id__in=Case.objects.filter(case_scope(user)).values("pk"))
        .first()
    )
    if message is None:
        raise ConsoleNotFoundError(f"No message {message_id}.")
    return message


def messages_with_source(*, case: Case) -> set[int]:
    """Return the ids of CASE's messages whose original source (raw) is kept, without reading the bytes."""
    rows = Message.objects.filter(case=case).annotate(raw_size=Length("raw")).filter(raw_size__gt=0)
    return set(rows.values_list("pk", flat=True))


def message_splits(*, case: Case) -> dict[int, str]:
    """Return {message id: reference of the case it was moved to} for CASE's split messages."""
    events = CaseEvent.objects.filter(case=case, kind=CaseEvent.Kind.SPLIT).values_list("data", flat=True)
    return {int(data["message_id"]): str(data["new"]) for data in events if data.get("message_id") and data.get("new")}


def inline_image_get(*, attachment_id: int, filename: str) -> Attachment:
    """Return an image attachment a formatted email shows inline; raise ConsoleNotFoundError."""
    attachment = Attachment.objects.filter(pk=attachment_id, filename=filename).first()
    if attachment is None or not attachment.content_type.lower().startswith("image/"):
        raise ConsoleNotFoundError("No such image.")
    return attachment


def _require_quarantine(user: User, *, change: bool = False) -> None:
    if not user.has_perm(CHANGE_QUARANTINE if change else VIEW_QUARANTINE):
        raise ConsolePermissionError("Only an administrator can see and re-process quarantined mail.")


def quarantine_list(*, user: User) -> QuerySet[QuarantinedMail]:
    """Return the unresolved quarantined mail, newest first, with its size; the raw bytes are not read."""
    _require_quarantine(user)
    return (
        QuarantinedMail.objects.filter(resolved_at__isnull=True)
        .select_related("channel")
        .annotate(size=Length("raw"))
        .defer("raw")
        .order_by("-created_at", "-id")[:QUARANTINE_PAGE]
    )


def quarantine_unresolved_count(*, user: User) -> int | None:
    """Return how many quarantined mails wait for an administrator, or None when USER may not see them."""
    if not user.has_perm(VIEW_QUARANTINE):
        return None
    return QuarantinedMail.objects.filter(resolved_at__isnull=True).count()


def quarantine_get(*, user: User, item_id: int, change: bool = False) -> QuarantinedMail:
    """Return quarantined mail ITEM_ID (raw included); CHANGE asks for the permission to act on it."""
    _require_quarantine(user, change=change)
    item = QuarantinedMail.objects.select_related("channel").filter(pk=item_id).first()
    if item is None:
        raise ConsoleNotFoundError(f"No quarantined mail {item_id}.")
    return item


# The customer 360° view -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CustomerPanel:
    """What the console shows about one customer: on the 360° page, and compactly beside a case."""

    customer: Customer
    identities: list[Identity]
    signals: list[Signal]
    suggestions: list[MatchSuggestion]
    cases: CustomerCases
    records: list[KindSummary]
    following: bool
    can_change: bool
    can_merge: bool
    can_export: bool
    can_erase: bool
    full: bool = True  # False for a partner agent: the reduced view (no records, signals, other cases' data)

    @property
    def erased(self) -> bool:
        return self.customer.erased_at is not None


def customer_panel(
    *,
    user: User,
    customer: Customer,
    case: Case | None = None,
    records_latest: int = 4,
    cases_shown: tuple[int, int] = (20, 8),
) -> CustomerPanel:
    """Return CUSTOMER's panel for USER: identities, signals, open suggestions, cases, records, following.

    Beside CASE, that case is left out of the customer's cases; CASES_SHOWN caps the open and the other
    cases listed. Each part is one query (signals two: the rules, then all their hits), whatever the size of
    the customer's history.
    """
    if not can_see_full_customer(user):
        return _customer_panel_reduced(user=user, customer=customer, case=case, cases_shown=cases_shown)
    return CustomerPanel(
        customer=customer,
        identities=list(customer.identities.all()),
        signals=signals_for(customer_ids=[customer.pk])[customer.pk],
        suggestions=suggestions_open(user=user, customer=customer),
        cases=customer_cases(
            user=user,
            customer=customer,
            open_limit=cases_shown[0],
            recent_limit=cases_shown[1],
            exclude_id=case.pk if case else None,
        ),
        records=records_summary(customer=customer, latest=records_latest, user=user),
        following=is_following(user=user, customer=customer),
        can_change=user.has_perm(CHANGE_CUSTOMERS),
        can_merge=user.has_perm(MERGE_CUSTOMERS),
        can_export=user.has_perm(EXPORT_CUSTOMERS),
        can_erase=user.has_perm(ERASE_CUSTOMERS),
    )


def _customer_panel_reduced(
    *, user: User, customer: Customer, case: Case | None, cases_shown: tuple[int, int]
) -> CustomerPanel:
    """Return the panel a partner agent sees: the name, the identities the customer used on the cases USER may
    see, and those cases; no signals, suggestions, external records or customer actions."""
    visible = Case.objects.filter(case_scope(user), customer_id=customer.pk).values("pk")
    used = Message.objects.filter(case_id__in=visible, identity_id__isnull=False).values("identity_id")
    return CustomerPanel(
        customer=customer,
        identities=list(customer.identities.filter(pk__in=used)),
        signals=[],
        suggestions=[],
        cases=customer_cases(
            user=user,
            customer=customer,
            open_limit=cases_shown[0],
            recent_limit=cases_shown[1],
            exclude_id=case.pk if case else None,
        ),
        records=[],
        following=is_following(user=user, customer=customer),
        can_change=False,
        can_merge=False,
        can_export=False,
        can_erase=False,
        full=False,
    )


def inbox_signals(*, user: User | None = None, cases: list[Case]) -> dict[int, list[Signal]]:
    """Return the signals of the customers of CASES (one page of the inbox), by customer id, in one call.

    A partner agent (USER) sees none: they come from the customer's whole history and records."""
    if user is not None and not can_see_full_customer(user):
        return {}
    return signals_for(customer_ids=[case.customer_id for case in cases])


def notification_get_for(*, user: User, notification_id: int) -> Notification:
    """Return USER's own notification NOTIFICATION_ID; raise ConsoleNotFoundError (also for another's)."""
    notification = Notification.objects.filter(user=user, pk=notification_id).first()
    if notification is None:
        raise ConsoleNotFoundError(f"No notification {notification_id}.")
    return notification


# --- chat in the console: canned replies, "My chats", the chat's live state ---------------------------------

CANNED_SHOWN = 30
MY_CHATS_SHOWN = 12
_PLACEHOLDER = re.compile(r"\{\{\s*(customer|agent)\.(first_name|name)\s*\}\}")


def canned_replies_for(*, query: str = "", language: str = "") -> list[CannedReply]:
    """Return the active canned replies whose title or shortcut contains QUERY (a leading "/" ignored).

    Replies in LANGUAGE and those for any language come first; replies in other languages follow, so a Finnish
    agent answering in English still finds them.
    """
    query = query.strip().lstrip("/").strip()
    replies = CannedReply.objects.filter(active=True)
    if query:
        replies = replies.filter(Q(title__icontains=query) | Q(shortcut__icontains=query))
    short = (language or "")[:2]
    ordered = sorted(
        replies.order_by("title", "id")[: CANNED_SHOWN * 2],
        key=lambda reply: (0 if reply.language in ("", short) else 1, reply.title.casefold()),
    )
    return ordered[:CANNED_SHOWN]


def _first_name(name: str) -> str:
    return name.split()[0] if name.split() else name


def canned_reply_fill(*, body: str, case: Case, agent: User) -> str:
    """Return BODY with {{customer.first_name}}, {{customer.name}}, {{agent.first_name}} and {{agent.name}}
    filled in for CASE's customer and AGENT (an unknown name leaves a blank, not the placeholder)."""
    customer_name = case.customer.name or ""
    agent_name = agent.get_full_name() or agent.get_username()
    values = {
        ("customer", "first_name"): _first_name(customer_name),
        ("customer", "name"): customer_name,
        ("agent", "first_name"): agent.first_name or _first_name(agent_name),
        ("agent", "name"): agent_name,
    }
    return _PLACEHOLDER.sub(lambda match: values[(match.group(1), match.group(2))], body)


@dataclass(frozen=True)
class ChatRow:
    case: Case
    last_at: datetime | None
    unanswered: int


def my_chats(*, user: User) -> list[ChatRow]:
    """Return USER's open chat cases, the one with the newest message first, each with the time of its last
    message and how many of the customer's messages came after the agents' last reply."""
    last_reply = (
        Message.objects.filter(case=OuterRef("pk"), direction=Message.Direction.OUT, author=Message.Author.AGENT)
        .order_by("-created_at")
        .values("created_at")[:1]
    )
    cases = (
        Case.objects.filter(owner=user, status__in=Case.OPEN_STATUSES, channel__kind=ChannelKind.CHAT)
        .select_related("customer")
        .annotate(last_at=Max("messages__created_at"), last_reply_at=Subquery(last_reply))
        .order_by(F("last_at").desc(nulls_last=True), "-pk")[:MY_CHATS_SHOWN]
    )
    rows = list(cases)
    waiting: dict[int, int] = {}
    if rows:
        inbound = Message.objects.filter(case__in=[case.pk for case in rows], direction=Message.Direction.IN)
        since = {case.pk: case.last_reply_at for case in rows}
        for case_id, at in inbound.values_list("case_id", "created_at"):
            if since[case_id] is None or at > since[case_id]:
                waiting[case_id] = waiting.get(case_id, 0) + 1
    return [ChatRow(case, case.last_at, waiting.get(case.pk, 0)) for case in rows]


def my_chat_case_ids(*, user: User) -> list[int]:
    """Return the ids of USER's open chat cases (their console hears those cases' chat pushes)."""
    return list(
        Case.objects.filter(owner=user, status__in=Case.OPEN_STATUSES, channel__kind=ChannelKind.CHAT)
        .order_by("-pk")
        .values_list("pk", flat=True)[:50]
    )


def case_chat_state(*, case: Case) -> dict[str, Any] | None:
    """Return what the case page shows of CASE's chat (None when the case never was a chat): whether the
    customer's widget is connected, and the call going on, if any."""
    from tiski.cases.services import call_in_progress

    was_chat = case.channel is not None and case.channel.kind == ChannelKind.CHAT
    call = call_in_progress(case=case)
    escalated = call is not None or CaseEvent.objects.filter(case=case, kind=CaseEvent.Kind.ESCALATED_TO_CALL).exists()
    if not was_chat and not escalated:
        return None
    return {
        "is_chat": was_chat,
        "state": _chat_state(case),
        "call": call,
        "phones": list(case.customer.identities.filter(kind=Identity.Kind.PHONE).values_list("value", flat=True)),
        "email": case.customer.identities.filter(kind=Identity.Kind.EMAIL).values_list("value", flat=True).first(),
    }


def _chat_state(case: Case) -> str:
    """Return "connected" while the customer's chat widget is open, "ended" once they ended the chat, else
    "disconnected"."""
    from tiski.channels.chat.services import chat_is_live, chat_session_for_case

    if chat_is_live(case=case):
        return "connected"
    session = chat_session_for_case(case=case)
    return "ended" if session is not None and session.status == "ended" else "disconnected"


def message_for_push(*, case_id: int, message_id: int) -> Message | None:
    """Return message MESSAGE_ID of case CASE_ID as the timeline shows it, or None when it is not there."""
    return (
        Message.objects.filter(pk=message_id, case_id=case_id)
        .select_related("channel", "author_user", "identity", "delivery", "case__customer")
        .prefetch_related("attachments")
        .defer("raw")
        .first()
    )


def reply_channel_for(*, case: Case) -> Channel | None:
    """Return the channel the composer replies on: the case's, except on a phone case, which has no written
    channel: a chat escalated to a call still replies to the chat the customer is in, and any other phone case
    continues in writing by SMS or email (whichever the customer can be reached on)."""
    if case.channel is None or case.channel.kind != ChannelKind.PHONE:
        return case.channel
    events = CaseEvent.objects.filter(case=case, kind=CaseEvent.Kind.ESCALATED_TO_CALL)
    escalated = events.order_by("-created_at", "-id").first()
    chat_id = escalated.data.get("from_channel") if escalated is not None else None
    chat = Channel.objects.filter(pk=chat_id, kind=ChannelKind.CHAT).first() if chat_id else None
    return chat or written_channel_for(case.customer) or case.channel
