"""The demo company's history as the reports count it.

demo_load() plays each demo contact through the real pipeline and writes the conversation that followed in bulk.
What those conversations imply but the bulk writing leaves out is added here, true to each case's timeline:
service-level targets that ended met or missed (replayed from the messages and status changes with the service's
own clock rules), transfers between queues, reopenings, the chat sessions and phone calls behind the chat and
phone cases (some chats abandoned, some calls missed and called back), the agents' presence over the last four
weeks, macro and article uses, the help centre's deflections and NPS answers. All of it is drawn from the demo's
seeded random generator, so two loads give the same history.
"""

from __future__ import annotations

import hashlib
import random
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any

from django.contrib.auth.models import User
from django.db import connection
from django.db.models import F, Field, Model, Q
from django.utils import timezone

from tiski.cases.models import Case, CaseEvent, Message, Note
from tiski.channels.chat.models import ChatSession
from tiski.channels.voice.models import Call, CallbackAttempt, CallbackRequest
from tiski.customers.models import Customer, Identity
from tiski.knowledge.models import Article, ArticleTranslation, ArticleUse, Deflection
from tiski.macros.models import Macro, MacroRun, MacroUse
from tiski.reports.facts import reporting_calendar
from tiski.routing.models import AgentState, Presence, PresenceLog, Queue, WorkItem
from tiski.routing.services import units_for
from tiski.sla.models import SlaClock, SlaPolicy
from tiski.surveys.models import Kind, SurveyInvitation, SurveyResponse
from tiski.surveys.services import survey_answer

if TYPE_CHECKING:
    from tiski.core.demo import DemoBase

Event = CaseEvent.Kind
CLOSED = (Case.Status.SOLVED, Case.Status.CLOSED)
CONVERSATIONS = frozenset({"chat", "phone"})
PRESENCE_DAYS = 28
TRANSFER_SHARE = 0.06  # of the cases
REOPEN_SHARE = 0.04  # of the solved cases
MISSED_CALL_SHARE = 0.12  # of the answered calls: missed first, called back
ABANDONED_CHAT_SHARE = 0.09  # extra sessions, on top of the chat cases: ~8 % of all sessions
ARTICLE_USE_SHARE = 0.18  # of the answered cases with an article for their category
DEFLECTION_DAYS = 45
NPS_DAYS = 30  # the NPS survey was switched on this long ago
NPS_SHARE = 0.25  # of the customers (the survey's sample)
# How long the agent worked on a written reply before sending it, in minutes (low, high).
WRITING_MINUTES = {"email": (3, 14), "webform": (3, 14)}
MESSAGING_MINUTES = (1, 5)
NPS_SCORES = (10, 9, 10, 8, 9, 7, 10, 6, 9, 8, 10, 3, 9, 10, 7, 9, 5, 10, 8, 9)
NPS_COMMENTS = {
    "fi": {
        "promoter": ["Hyvä valikoima ja osaava palvelu.", "Suosittelen jo kavereille!", ""],
        "passive": ["Ihan hyvä, toimitus voisi olla nopeampi.", ""],
        "detractor": ["Asian selvittäminen kesti liian kauan.", "Hinnat ovat kalliimpia kuin muualla."],
    },
    "en": {
        "promoter": ["Great selection and people who know bikes.", ""],
        "passive": ["Fine, delivery could be faster.", ""],
        "detractor": ["It took far too long to sort out my problem."],
    },
}
TRANSFER_NOTES = ("Kuuluu toiseen jonoon, siirretty.", "Siirretty oikeaan jonoon.", "")
CALL_REASONS = {"orders": "order", "returns": "return", "billing": "invoice", "repairs": "service"}


@dataclass(frozen=True)
class ReportsDemo:
    """How many rows of each kind the demo's report history has."""

    clocks: int
    transfers: int
    reopens: int
    chats: int
    calls: int
    callbacks: int
    presence: int
    macro_uses: int
    article_uses: int
    deflections: int
    nps: int


@dataclass
class _Demo:
    """What the parts share: the cases, their first work items, messages and the rows waiting to be written."""

    base: DemoBase
    rng: random.Random
    now: datetime
    cases: list[Case]
    items: dict[int, WorkItem]
    messages: dict[int, list[Message]]
    events: list[CaseEvent] = field(default_factory=list)
    reopened: set[int] = field(default_factory=set)
    scripted: set[int] = field(default_factory=set)  # the reference journey's cases: left as scripted

    def random_cases(self) -> list[Case]:
        """The cases whose history may be varied at random (not the reference journey's)."""
        return [c for c in self.cases if c.pk not in self.scripted]

    def event(self, case: Case | int, kind: str, at: datetime, actor: User | int | None = None, **data: Any) -> None:
        case_id = case if isinstance(case, int) else case.pk
        actor_id = actor if actor is None or isinstance(actor, int) else actor.pk
        self.events.append(CaseEvent(case_id=case_id, kind=kind, actor_id=actor_id, data=data, created_at=at))

    def inbound(self, case: Case) -> list[Message]:
        return [m for m in self.messages.get(case.pk, []) if m.direction == Message.Direction.IN]

    def replies(self, case: Case) -> list[Message]:
        return [m for m in self.messages.get(case.pk, []) if m.author == Message.Author.AGENT]


def demo_reports_create(
    *, base: DemoBase, customers: Sequence[Customer], rng: random.Random, now: datetime
) -> ReportsDemo:
    """Write the report history of the demo CUSTOMERS' cases (the reference customer first, whose scripted
    journey is not varied at random). Call after the demo's history, surveys and macros are in; the caller
    rebuilds the facts afterwards. Return how much was written."""
    from tiski.core.demo import historical_timestamps  # core.demo calls this module

    # The demo's cases: its customers', and those of the customers the pipeline made for unknown handles.
    cases = list(
        Case.objects.filter(Q(customer__in=customers) | Q(customer__created_at__gte=now))
        .select_related("channel", "customer", "owner", "category")
        .order_by("created_at", "pk")
    )
    ids = [c.pk for c in cases]
    items: dict[int, WorkItem] = {}
    for item in WorkItem.objects.filter(case__in=ids).select_related("queue").order_by("pk"):
        items.setdefault(item.case_id, item)
    messages: dict[int, list[Message]] = defaultdict(list)
    for message in Message.objects.filter(case__in=ids).order_by("created_at", "pk"):
        messages[message.case_id].append(message)
    demo = _Demo(base=base, rng=rng, now=now, cases=cases, items=items, messages=messages)
    demo.scripted = {c.pk for c in cases if customers and c.customer_id == customers[0].pk}
    models = (CaseEvent, Note, ChatSession, Call, CallbackRequest, CallbackAttempt, MacroRun, MacroUse)
    with historical_timestamps(*models, Deflection, ArticleUse):
        _work_times(demo)
        calls, callbacks = _calls_create(demo)  # phone work is taken when the call is answered
        transfers = _transfers_create(demo)  # before the work was taken
        _work_save(demo)
        reopens = _reopens_create(demo)
        macro_uses = _macros_use(demo)
        chats = _chats_create(demo)
        article_uses, deflections = _knowledge_create(demo)
        presence = _presence_create(demo)
        CaseEvent.objects.bulk_create(demo.events, batch_size=500)
    nps = _nps_create(demo)  # through the survey service, which records its events now
    _survey_events_date(ids)
    with historical_timestamps(CaseEvent):
        clocks = _clocks_replay(cases, now=now)
    return ReportsDemo(
        clocks, transfers, reopens, chats, calls, callbacks, presence, macro_uses, article_uses, deflections, nps
    )


# ── routed work ───────────────────────────────────────────────────────────────────────────────────────────────


def _work_times(demo: _Demo) -> None:
    """Have each agent take their work shortly before answering it (the history has them take it on arrival):
    the wait in the queue and the handling become what the handle-time and occupancy figures count."""
    by_id = {c.pk: c for c in demo.cases}
    for item in demo.items.values():
        case = by_id[item.case_id]
        if item.status != WorkItem.Status.DONE or item.agent_id is None or item.closed_at is None:
            continue
        if item.channel_kind in CONVERSATIONS and case.first_response_at is not None:
            taken = case.first_response_at - timedelta(seconds=demo.rng.uniform(10, 50))
        else:
            low, high = WRITING_MINUTES.get(item.channel_kind, MESSAGING_MINUTES)
            taken = item.closed_at - timedelta(minutes=demo.rng.uniform(low, high))
        _take(item, taken)


def _take(item: WorkItem | None, at: datetime) -> None:
    """The agent took ITEM (done work) at AT: not before it arrived, nor after it was finished."""
    if item is not None and item.status == WorkItem.Status.DONE and item.closed_at is not None:
        item.assigned_at = min(max(at, item.enqueued_at), item.closed_at)


def _work_save(demo: _Demo) -> None:
    """Store when the agents took their work, and date each owner's "assigned" entry then."""
    changed = [item for item in demo.items.values() if item.status == WorkItem.Status.DONE and item.agent_id]
    _column_set(WorkItem, "assigned_at", {item.pk: item.assigned_at for item in changed})
    taken_at = {item.case_id: (item.agent_id, item.assigned_at) for item in changed}
    dated = {}
    assigned = CaseEvent.objects.filter(case__in=list(taken_at), kind=Event.ASSIGNED)
    for pk, case_id, actor_id in assigned.values_list("pk", "case_id", "actor_id"):
        agent_id, at = taken_at[case_id]
        if actor_id == agent_id and at is not None:  # the owner's "assigned" entry is when they took the work
            dated[pk] = at
    _column_set(CaseEvent, "created_at", dated)


def _column_set(model: type[Model], name: str, values: dict[int, Any]) -> None:
    """Set column NAME of the rows of MODEL whose ids VALUES maps to their new values: one UPDATE per row, sent
    with executemany (bulk_update's CASE … WHEN expressions cost far more to build than the rows to write)."""
    field, key_field = model._meta.get_field(name), model._meta.pk
    assert isinstance(field, Field) and field.column and key_field is not None and key_field.column
    quote = connection.ops.quote_name
    table, column, pk = quote(model._meta.db_table), quote(field.column), quote(key_field.column)
    rows = [(field.get_db_prep_save(value, connection), key) for key, value in values.items()]
    with connection.cursor() as cursor:
        cursor.executemany(f"UPDATE {table} SET {column} = %s WHERE {pk} = %s", rows)  # noqa: S608  (names, no input)


def _transfers_create(demo: _Demo) -> int:
    """Hand ~6 % of the answered cases on from the queue the rules chose to another its owner serves, before the
    owner took them: the team lead moved them (as a supervisor may), sometimes with a note."""
    lead = demo.base.users.get("minna")
    served: dict[int, list[int]] = defaultdict(list)
    for user_id, queue_id in AgentState.queues.through.objects.values_list("agentstate_id", "queue_id"):
        served[user_id].append(queue_id)
    queues = {q.pk: q for q in Queue.objects.filter(active=True)}
    candidates = [
        c
        for c in demo.random_cases()
        if c.first_response_at is not None
        and c.owner_id is not None
        and c.pk in demo.items
        and demo.items[c.pk].status == WorkItem.Status.DONE
        and demo.items[c.pk].assigned_at is not None
    ]
    chosen = demo.rng.sample(candidates, min(len(candidates), round(TRANSFER_SHARE * len(demo.cases))))
    moved = []
    for case in sorted(chosen, key=lambda c: c.pk):
        item = demo.items[case.pk]
        assert item.assigned_at is not None and case.owner_id is not None
        options = [q for q in served.get(case.owner_id, []) if q != item.queue_id and q in queues]
        options = options or [q for q in queues if q != item.queue_id]
        if not options:
            continue
        target = queues[demo.rng.choice(sorted(options))]
        at = case.created_at + (item.assigned_at - case.created_at) * demo.rng.uniform(0.2, 0.8)
        at = max(at, case.created_at + timedelta(seconds=5))
        note_id = None
        text = demo.rng.choice(TRANSFER_NOTES)
        if text and lead is not None:
            note_id = Note.objects.bulk_create([Note(case=case, author=lead, body=text, created_at=at)])[0].pk
            demo.event(case, Event.NOTE_ADDED, at, lead, note_id=note_id)
        data = {"from": item.queue.name, "to": target.name, "to_queue": target.pk, "to_agent": None, "note_id": note_id}
        demo.event(case, Event.TRANSFERRED, at, lead, **data)
        item.queue, item.queue_priority = target, target.priority
        moved.append(item)
    WorkItem.objects.bulk_update(moved, ["queue", "queue_priority"])
    return len(moved)


def _reopens_create(demo: _Demo) -> int:
    """On ~4 % of the solved cases the agent solved the case with the first answer and the customer's follow-up
    reopened it (as the pipeline does); the later solving is the history's own."""
    solved = [c for c in demo.random_cases() if c.status in CLOSED and c.first_response_at and c.solved_at]
    candidates = []
    for case in solved:
        assert case.first_response_at is not None and case.solved_at is not None
        later = [m for m in demo.inbound(case) if case.first_response_at < m.created_at < case.solved_at]
        if later and later[0].created_at - case.first_response_at > timedelta(minutes=4):
            candidates.append((case, later[0]))
    chosen = demo.rng.sample(candidates, min(len(candidates), round(REOPEN_SHARE * len(solved))))
    for case, follow_up in chosen:
        assert case.first_response_at is not None
        solved_at = case.first_response_at + min(
            timedelta(minutes=2), (follow_up.created_at - case.first_response_at) / 3
        )
        demo.event(case, Event.STATUS_CHANGED, solved_at, case.owner_id, old=Case.Status.OPEN, new=Case.Status.SOLVED)
        demo.event(case, Event.REOPENED, follow_up.created_at, None, old=Case.Status.SOLVED, new=Case.Status.OPEN)
        demo.reopened.add(case.pk)
    return len(chosen)


# ── macros ────────────────────────────────────────────────────────────────────────────────────────────────────


def _macros_use(demo: _Demo) -> int:
    """Maija closes her Finnish cases with her "Kiitos ja ratkaistu" macro (the closing reply becomes its text);
    agents escalate some high-priority complaints and faults to the team lead with the shared macro."""
    from tiski.automation.actions import action_summary
    from tiski.automation.templating import placeholder_values, render

    macros = {m.name: m for m in Macro.objects.filter(name__in=("Kiitos ja ratkaistu", "Escalate to team lead"))}
    uses: list[tuple[Macro, Case, User, datetime]] = []
    thanks, maija = macros.get("Kiitos ja ratkaistu"), demo.base.users.get("maija")
    if thanks is not None and maija is not None:
        body = next(a["body"] for a in thanks.actions if a["action"] == "reply")
        closing = []
        for case in demo.random_cases():
            replies = demo.replies(case)
            mine = case.owner_id == maija.pk and case.status in CLOSED and len(replies) > 1
            if mine and replies[-1].created_at == case.solved_at and _language(demo, case) == "fi":
                closing.append((case, replies[-1]))
        for case, reply in demo.rng.sample(closing, min(len(closing), 12)):
            reply.body_text = render(body, placeholder_values(case=case, actor=maija))
            Message.objects.filter(pk=reply.pk).update(body_text=reply.body_text)
            uses.append((thanks, case, maija, reply.created_at))
    escalate = macros.get("Escalate to team lead")
    if escalate is not None:
        kinds = (Case.Type.COMPLAINT, Case.Type.INCIDENT)
        serious = [
            c
            for c in demo.random_cases()
            if c.type in kinds
            and c.priority == Case.Priority.HIGH
            and c.owner is not None
            and c.first_response_at
            and c.pk not in demo.reopened
        ]
        note = next(a["body"] for a in escalate.actions if a["action"] == "note")
        for case in sorted(demo.rng.sample(serious, min(len(serious), 6)), key=lambda c: c.pk):
            assert case.owner is not None and case.first_response_at is not None
            at = min(case.first_response_at + timedelta(minutes=demo.rng.uniform(2, 20)), demo.now)
            if case.solved_at is not None:
                at = min(at, case.solved_at - timedelta(seconds=30))
            source = {"macro": escalate.pk}
            Case.objects.filter(pk=case.pk).update(priority=Case.Priority.URGENT)
            demo.event(
                case,
                Event.PRIORITY_CHANGED,
                at,
                case.owner,
                old=case.priority,
                new=int(Case.Priority.URGENT),
                source=source,
            )
            case.priority = Case.Priority.URGENT
            text = render(note, placeholder_values(case=case, actor=case.owner))
            note_id = Note.objects.bulk_create([Note(case=case, author=case.owner, body=text, created_at=at)])[0].pk
            demo.event(case, Event.NOTE_ADDED, at, case.owner, note_id=note_id, source=source)
            uses.append((escalate, case, case.owner, at))
    _macro_sources(demo, [(macro, case, at) for macro, case, _actor, at in uses if macro == thanks])
    for macro, case, actor, at in uses:
        finished = at + timedelta(milliseconds=demo.rng.uniform(30, 160))
        run = MacroRun.objects.create(
            macro=macro,
            macro_name=macro.name,
            actions=macro.actions,
            actor=actor,
            case_ids=[case.pk],
            status=MacroRun.Status.DONE,
            total=1,
            done_count=1,
            created_at=at,
            started_at=at,
            finished_at=finished,
        )
        MacroUse.objects.create(
            run=run,
            macro=macro,
            case=case,
            actor=actor,
            outcome=MacroUse.Outcome.APPLIED,
            summaries=[action_summary(a) for a in macro.actions],
            duration_ms=(finished - at).total_seconds() * 1000,
            created_at=at,
        )
    return len(uses)


def _macro_sources(demo: _Demo, uses: Sequence[tuple[Macro, Case, datetime]]) -> None:
    """Mark the reply and the solving the macro did on each case's timeline as the macro's."""
    marked = []
    for macro, case, at in uses:
        for event in CaseEvent.objects.filter(
            case=case,
            kind__in=(Event.REPLY_SENT, Event.STATUS_CHANGED),
            created_at__gte=at,
            created_at__lte=at + timedelta(seconds=2),
        ):
            event.data = {**event.data, "source": {"macro": macro.pk}}
            marked.append(event)
    CaseEvent.objects.bulk_update(marked, ["data"])


# ── chats and calls ───────────────────────────────────────────────────────────────────────────────────────────


def _token_hash(rng: random.Random) -> str:
    return hashlib.sha256(f"{rng.getrandbits(128):032x}".encode()).hexdigest()


def _chats_create(demo: _Demo) -> int:
    """A chat session behind each chat case, from the visitor's first message to the last message before the
    chat ended (an unanswered chat ended when the visitor left), and some visitors who opened the chat and left
    without writing."""
    rng, now = demo.rng, demo.now
    handles = dict(
        Identity.objects.filter(kind=Identity.Kind.CHAT, customer__in={c.customer_id for c in demo.cases})
        .order_by("pk")
        .values_list("customer_id", "value")
    )
    sessions = []
    chat_cases = [c for c in demo.cases if c.channel is not None and c.channel.kind == "chat"]
    for case in chat_cases:
        assert case.channel is not None
        created = case.created_at - timedelta(seconds=rng.uniform(10, 60))
        messages = [
            m for m in demo.messages.get(case.pk, []) if case.solved_at is None or m.created_at <= case.solved_at
        ]
        answered = any(m.author == Message.Author.AGENT for m in messages)
        if answered:
            left = max(m.created_at for m in messages) + timedelta(minutes=rng.uniform(1, 4))
        else:
            left = created + timedelta(minutes=rng.uniform(2, 12))
        waiting = left >= now and not answered  # still there, waiting for an agent
        ended = None if waiting else min(left, now - timedelta(seconds=30))
        sessions.append(
            ChatSession(
                channel=case.channel,
                customer=case.customer,
                case=case,
                token_hash=_token_hash(rng),
                status=ChatSession.Status.WAITING if waiting else ChatSession.Status.ENDED,
                identified_by=ChatSession.Identified.TOKEN,
                handle_kind="chat",
                handle_value=handles.get(case.customer_id) or f"chat-{rng.getrandbits(48):012x}",
                name=case.customer.name,
                language=case.customer.language,
                created_at=created,
                last_seen_at=ended or now,
                ended_at=ended,
            )
        )
    channel = demo.base.channels.get("chat")
    customers = sorted({c.customer for c in demo.cases}, key=lambda c: c.pk)
    if channel is not None and chat_cases:
        for _n in range(round(ABANDONED_CHAT_SHARE * len(chat_cases))):
            created = _daytime(now, rng, days=60)
            left = created + timedelta(minutes=rng.uniform(1, 6))
            signed_in = rng.random() < 0.5
            customer = rng.choice(customers) if signed_in else None
            sessions.append(
                ChatSession(
                    channel=channel,
                    customer=customer,
                    token_hash=_token_hash(rng),
                    status=ChatSession.Status.ENDED,
                    identified_by=ChatSession.Identified.TOKEN if signed_in else ChatSession.Identified.ANONYMOUS,
                    handle_kind="chat",
                    handle_value=f"chat-{rng.getrandbits(48):012x}",
                    name=customer.name if customer else "",
                    language=(customer.language if customer else rng.choice(("fi", "fi", "en"))) or "fi",
                    created_at=created,
                    last_seen_at=left,
                    ended_at=left,
                )
            )
    ChatSession.objects.bulk_create(sessions, batch_size=500)
    return len(sessions)


def _daytime(now: datetime, rng: random.Random, *, days: int) -> datetime:
    """A moment in the last DAYS days, in the day's busy hours (more of them recently)."""
    from tiski.core.demo import HOUR_WEIGHTS

    moment = timezone.localtime(now - timedelta(days=days * rng.random() ** 1.2))
    hour = rng.choices(range(24), weights=HOUR_WEIGHTS)[0]
    moment = moment.replace(hour=hour, minute=rng.randrange(60), second=rng.randrange(60))
    return min(moment, now - timedelta(minutes=rng.randrange(5, 90)))


@dataclass
class _Calls:
    calls: list[Call] = field(default_factory=list)
    requests: list[tuple[CallbackRequest, Call | None]] = field(default_factory=list)


def _calls_create(demo: _Demo) -> tuple[int, int]:
    """The call behind each phone case: answered by the owner (talk time, wrap-up), or — on the cases nobody took
    — missed or sent to voicemail with a callback request waiting. Of the answered cases ~10 % were missed first
    and called back from the request the missed call left. Return the calls and the callback requests made."""
    rng = demo.rng
    phone = [  # the customer called (outbound tasks on the phone channel have no call yet)
        c
        for c in demo.cases
        if c.channel is not None
        and c.channel.kind == "phone"
        and demo.messages.get(c.pk)
        and demo.messages[c.pk][0].direction == Message.Direction.IN
    ]
    numbers = dict(
        Identity.objects.filter(kind=Identity.Kind.PHONE, customer__in={c.customer_id for c in phone})
        .order_by("-pk")
        .values_list("customer_id", "value")
    )
    calendar = reporting_calendar()
    out = _Calls()
    requested = set(CallbackRequest.objects.filter(case__in=[c.pk for c in phone]).values_list("case", flat=True))
    for case in phone:
        assert case.channel is not None
        item = demo.items.get(case.pk)
        queue = item.queue.name if item is not None else ""
        number = numbers.get(case.customer_id, "")
        base = {"channel": case.channel, "number": number, "line": case.channel.address, "customer": case.customer}
        base |= {"case": case, "queue": queue, "direction": Call.Direction.INBOUND}
        contacts = demo.inbound(case)
        # Anssi's call from the reference journey: the queue was congested and he asked to be called back.
        congested = bool(contacts) and contacts[0].body_text.startswith("Takaisinsoittopyyntö")
        # The owner answered (and may not have written anything yet), unless the call was missed and called back.
        if (
            case.owner is not None
            and not congested
            and (case.first_response_at is None or rng.random() >= MISSED_CALL_SHARE)
        ):
            call = _answered(base, case=case, agent=case.owner, at=case.created_at, rng=rng)
            _take(item, call.answered_at or case.created_at)
            out.calls.append(call)
            continue
        if case.pk in requested:
            continue  # a request made through the callback service already
        if case.owner is not None and case.first_response_at is not None:
            missed = _missed(base, at=case.created_at, rng=rng, outcome="callback_requested" if congested else "")
            hung_up = missed.ended_at or case.created_at
            if congested:  # called back as the case's first answer
                called = max(case.first_response_at, hung_up)
            else:
                called = hung_up + max((case.first_response_at - hung_up) * rng.uniform(0.2, 0.6), timedelta(minutes=1))
            back = _answered(
                {**base, "direction": Call.Direction.OUTBOUND}, case=case, agent=case.owner, at=called, rng=rng, wait=15
            )
            _take(item, called)
            source = "missed_call" if missed.status == Call.Status.MISSED else "voicemail"
            source = "congestion" if congested else source
            request = _request(missed, source=source, calendar=calendar, status=CallbackRequest.Status.DONE)
            reached = back.ended_at or called
            request.attempts, request.closed_at, request.updated_at = 1, reached, reached
            out.calls += [missed, back]
            out.requests.append((request, back))
        elif item is not None and item.status == WorkItem.Status.QUEUED:
            missed = _missed(base, at=case.created_at, rng=rng)
            source = "missed_call" if missed.status == Call.Status.MISSED else "voicemail"
            request = _request(missed, source=source, calendar=calendar, status=CallbackRequest.Status.QUEUED)
            out.calls.append(missed)
            out.requests.append((request, None))
            # The request is the case's routed work now, as callback_request() makes it.
            item.channel_kind, item.units, item.reason = "callback", units_for("callback"), "callback"
            item.due_at = request.due_at
            item.save(update_fields=["channel_kind", "units", "reason", "due_at"])
        else:
            out.calls.append(_missed(base, at=case.created_at, rng=rng))
    Call.objects.bulk_create(out.calls, batch_size=500)
    for call in out.calls:
        assert call.case is not None
        kind = Event.CALL_ENDED if call.status == Call.Status.ENDED else Event.CALL_MISSED
        demo.event(call.case, kind, call.ended_at or call.created_at, call.agent, **_call_summary(call))
    CallbackRequest.objects.bulk_create([r for r, _back in out.requests])
    attempts = []
    for request, reached_by in out.requests:
        demo.event(
            request.case,
            Event.CALLBACK_REQUESTED,
            request.created_at,
            None,
            request_id=request.pk,
            number=request.number,
            source=request.source,
            topic="",
            preferred_time="",
            window_start="",
            window_end="",
            due=request.due_at.isoformat() if request.due_at else "",
        )
        if reached_by is None or reached_by.ended_at is None:
            continue
        attempts.append(
            CallbackAttempt(
                request=request,
                agent=reached_by.agent,
                call=reached_by,
                outcome="reached",
                created_at=reached_by.ended_at,
            )
        )
        data = {"request_id": request.pk, "number": request.number}
        demo.event(
            request.case,
            Event.CALLBACK_ATTEMPTED,
            reached_by.ended_at,
            reached_by.agent,
            **data,
            attempt=1,
            outcome="reached",
            call_id=reached_by.pk,
        )
        demo.event(
            request.case,
            Event.CALLBACK_CLOSED,
            reached_by.ended_at,
            reached_by.agent,
            request_id=request.pk,
            status=CallbackRequest.Status.DONE,
            reason="reached",
            attempts=1,
            told_by="",
        )
    CallbackAttempt.objects.bulk_create(attempts)
    return len(out.calls), len(out.requests)


def _answered(
    base: dict[str, Any], *, case: Case, agent: User, at: datetime, rng: random.Random, wait: float | None = None
) -> Call:
    answered = at + timedelta(seconds=wait if wait is not None else rng.uniform(8, 100))
    talk = round(rng.uniform(100, 720))
    ended = answered + timedelta(seconds=talk)
    reason = CALL_REASONS.get(case.category.name.lower() if case.category else "", "other")
    return Call(
        **base,
        provider_call_id=f"demo-{rng.getrandbits(64):016x}",
        status=Call.Status.ENDED,
        outcome="completed",
        agent=agent,
        rang_at=at,
        answered_at=answered,
        ended_at=ended,
        talk_s=talk,
        reason_code=reason,
        wrapped_up_at=ended + timedelta(seconds=rng.uniform(15, 200)),
        created_at=at,
        updated_at=ended,
    )


def _missed(base: dict[str, Any], *, at: datetime, rng: random.Random, outcome: str = "") -> Call:
    voicemail = not outcome and rng.random() < 0.4
    ended = at + timedelta(seconds=rng.uniform(30, 150))
    return Call(
        **base,
        provider_call_id=f"demo-{rng.getrandbits(64):016x}",
        status=Call.Status.VOICEMAIL if voicemail else Call.Status.MISSED,
        outcome=outcome or ("voicemail" if voicemail else "abandoned"),
        rang_at=at,
        ended_at=ended,
        created_at=at,
        updated_at=ended,
    )


def _request(call: Call, *, source: str, calendar: Any, status: str) -> CallbackRequest:
    assert call.case is not None and call.customer is not None and call.ended_at is not None
    return CallbackRequest(
        customer=call.customer,
        case=call.case,
        call=call,
        source=source,
        number=call.number,
        queue=call.queue,
        status=status,
        due_at=calendar.add(call.ended_at, seconds=15 * 60),
        created_at=call.ended_at,
        updated_at=call.ended_at,
    )


def _call_summary(call: Call) -> dict[str, Any]:
    """The call as its timeline entry keeps it (as voice.services logs it)."""
    return {
        "call_id": call.pk,
        "direction": call.direction,
        "number": call.number,
        "agent": call.agent.get_full_name() if call.agent else "",
        "queue": call.queue,
        "started_at": call.rang_at.isoformat() if call.rang_at else "",
        "wait_s": call.wait_s,
        "duration_s": call.talk_s,
        "outcome": call.outcome,
        "recording_url": "",
    }


# ── knowledge ─────────────────────────────────────────────────────────────────────────────────────────────────


def _knowledge_create(demo: _Demo) -> tuple[int, int]:
    """Agents insert articles into some answers; the web form and chat suggest help-centre articles to visitors,
    some of whom find their answer (deflected) while others write anyway — those are the demo's own web form and
    chat cases. Return the article uses and the deflections."""
    from tiski.core.demo import SCENARIOS

    rng, now = demo.rng, demo.now
    published = ArticleTranslation.objects.filter(status=ArticleTranslation.Status.PUBLISHED).select_related("article")
    through = Article.case_categories.through
    categories: dict[int, list[int]] = defaultdict(list)
    for article_id, category_id in through.objects.values_list("article_id", "category_id"):
        categories[category_id].append(article_id)
    by_article: dict[tuple[int, str], ArticleTranslation] = {(t.article_id, t.language): t for t in published}

    def choices(category_id: int | None, language: str, *, public: bool) -> list[ArticleTranslation]:
        found = [by_article.get((a, language)) for a in categories.get(category_id or 0, [])]
        return [t for t in found if t is not None and (not public or t.article.visibility == Article.Visibility.PUBLIC)]

    uses = []
    for case in demo.cases:
        if case.first_response_at is None or case.owner_id is None or rng.random() >= ARTICLE_USE_SHARE:
            continue
        options = choices(case.category_id, _language(demo, case), public=False)
        if not options:
            continue
        translation = rng.choice(options)
        public = translation.article.visibility == Article.Visibility.PUBLIC
        uses.append(
            ArticleUse(
                article_id=translation.article_id,
                translation=translation,
                case=case,
                user_id=case.owner_id,
                how=ArticleUse.How.LINK if public and rng.random() < 0.4 else ArticleUse.How.TEXT,
                suggested_rank=rng.choice((1, 1, 1, 2, 3, None)),
                # As the knowledge service marks it: solved when the case is next solved, undone by a reopening.
                solved=False if case.pk in demo.reopened else True if case.status in CLOSED else None,
                created_at=case.first_response_at - timedelta(seconds=rng.uniform(20, 90)),
            )
        )
    ArticleUse.objects.bulk_create(uses)

    shown = []
    since = now - timedelta(days=DEFLECTION_DAYS)
    contacted = 0
    for case in demo.cases:
        kind = case.channel.kind if case.channel else ""
        if kind not in ("webform", "chat") or case.created_at < since or rng.random() >= 0.55:
            continue
        options = choices(case.category_id, _language(demo, case), public=True)
        if options:
            at = case.created_at - timedelta(minutes=rng.uniform(1, 5))
            opened = rng.choice(options) if rng.random() < 0.5 else None  # read one first, or wrote straight away
            shown.append(_deflection(rng, kind, _language(demo, case), case.subject, opened, "contacted", at))
            contacted += 1
    subjects: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for scenario in SCENARIOS:
        subjects[scenario.category] += [("fi", scenario.fi.subject), ("en", scenario.en.subject)]
    keys = {key: demo.base.categories[key].pk for key in subjects if key in demo.base.categories}
    for outcome, share in (("helped", 0.65), ("opened", 0.25), ("shown", 0.3)):
        for _n in range(round(share * contacted)):
            key = rng.choice(sorted(keys))
            language, subject = rng.choice(subjects[key])
            options = choices(keys[key], language, public=True)
            if options:
                at = _daytime(now, rng, days=DEFLECTION_DAYS)
                opened = rng.choice(options) if outcome != "shown" else None
                shown.append(_deflection(rng, rng.choice(("webform", "chat")), language, subject, opened, outcome, at))
    Deflection.objects.bulk_create(shown)
    # The counters the knowledge services keep: uses (and those solved) per article, readings per translation.
    for article_id, n in Counter(u.article_id for u in uses).items():
        solved = sum(1 for u in uses if u.article_id == article_id and u.solved)
        Article.objects.filter(pk=article_id).update(
            use_count=F("use_count") + n, solved_count=F("solved_count") + solved
        )
    for translation_id, n in Counter(d.translation_id for d in shown if d.translation_id).items():
        ArticleTranslation.objects.filter(pk=translation_id).update(view_count=F("view_count") + n)
    return len(uses), len(shown)


def _deflection(
    rng: random.Random,
    kind: str,
    language: str,
    query: str,
    translation: ArticleTranslation | None,
    outcome: str,
    at: datetime,
) -> Deflection:
    return Deflection(
        session=f"{rng.getrandbits(128):032x}",
        channel_kind=kind,
        language=language,
        query=query.lower()[:300],
        translation=translation,
        outcome=outcome,
        created_at=at,
        updated_at=at + timedelta(seconds=rng.uniform(20, 240)),
    )


def _language(demo: _Demo, case: Case) -> str:
    """The language the case was written in: its answers' (every Finnish answer starts "Hei"), else the
    customer's."""
    replies = demo.replies(case)
    if replies:
        return "fi" if replies[0].body_text.startswith("Hei") else "en"
    return "en" if case.customer.language == "en" else "fi"


# ── presence ──────────────────────────────────────────────────────────────────────────────────────────────────


def _presence_create(demo: _Demo) -> int:
    """Each agent's presence over the last four weeks' working days: logged in around eight, online with busy
    stretches and short breaks, lunch, logged out around four; offline since (nobody is online as the demo
    starts, see demo_routing)."""
    rng, now = demo.rng, demo.now
    calendar = reporting_calendar()
    today = timezone.localtime(now).date()
    days = [today - timedelta(days=n) for n in range(PRESENCE_DAYS, 0, -1)]
    workdays = [d for d in days if calendar.spans_on(d)] or [d for d in days if d.weekday() < 5]
    rows: list[PresenceLog] = []
    agents = demo.base.agents_of(None)
    for agent in agents:
        stretches: list[tuple[datetime, str, str]] = []
        for day in workdays:
            if rng.random() < 0.05:
                continue  # a day off
            stretches += _working_day(day, rng, zone=calendar.zone)
        for n, (start, presence, reason) in enumerate(stretches):
            ended = stretches[n + 1][0] if n + 1 < len(stretches) else None
            rows.append(PresenceLog(user=agent, presence=presence, reason=reason, started_at=start, ended_at=ended))
        if stretches:
            AgentState.objects.filter(user=agent, presence=Presence.OFFLINE).update(presence_since=stretches[-1][0])
    PresenceLog.objects.bulk_create(rows, batch_size=1000)
    return len(rows)


def _working_day(day: date, rng: random.Random, *, zone: tzinfo) -> list[tuple[datetime, str, str]]:
    """The presence changes of one agent's working day: (from, presence, reason), the last one the logout."""

    def at(hour: float) -> datetime:
        return datetime.combine(day, datetime.min.time(), tzinfo=zone) + timedelta(hours=hour)

    Reason = PresenceLog.Reason
    t = at(8 + rng.uniform(-0.15, 0.2))
    out = at(16 + rng.uniform(-0.1, 0.4))
    lunch = at(11 + rng.uniform(-0.25, 0.75))
    had_lunch = False
    changes: list[tuple[datetime, str, str]] = [(t, Presence.ONLINE, Reason.LOGIN)]
    while True:
        t += timedelta(minutes=rng.uniform(20, 75))
        if t >= out:
            break
        if not had_lunch and t >= lunch:
            changes.append((t, Presence.AWAY, Reason.MANUAL))
            t += timedelta(minutes=rng.uniform(25, 35))
            had_lunch = True
        elif rng.random() < 0.4:
            changes.append((t, Presence.BUSY, Reason.MANUAL))
            t += timedelta(minutes=rng.uniform(10, 45))
        elif rng.random() < 0.3:
            changes.append((t, Presence.AWAY, rng.choice((Reason.MANUAL, Reason.IDLE))))
            t += timedelta(minutes=rng.uniform(4, 15))
        else:
            continue
        if t >= out:
            break
        changes.append((t, Presence.ONLINE, Reason.MANUAL))
    changes.append((out, Presence.OFFLINE, Reason.LOGOUT))
    return changes


# ── surveys ───────────────────────────────────────────────────────────────────────────────────────────────────


def _nps_create(demo: _Demo) -> int:
    """The NPS survey went, a day after solving, to about a quarter of the customers whose email, web form or
    chat case was solved (at most once per customer); most answered, through the real service."""
    rng, now = demo.rng, demo.now
    asked: set[int] = set(SurveyInvitation.objects.filter(kind=Kind.NPS).values_list("customer", flat=True))
    solved = [
        c
        for c in demo.cases
        if c.status in CLOSED
        and c.solved_at is not None
        and c.channel is not None
        and c.channel.kind in ("email", "webform", "chat")
        and now - timedelta(days=NPS_DAYS) < c.solved_at < now - timedelta(days=1, hours=1)
        and c.customer.erased_at is None
    ]
    made = 0
    for case in sorted(solved, key=lambda c: (c.solved_at, c.pk)):
        assert case.solved_at is not None and case.channel is not None
        if case.customer_id in asked or rng.random() >= NPS_SHARE:
            continue
        asked.add(case.customer_id)
        sent = case.solved_at + timedelta(days=1)
        language = _language(demo, case)
        invitation = SurveyInvitation.objects.create(
            case=case,
            kind=Kind.NPS,
            customer=case.customer,
            agent_id=case.owner_id,
            team_id=case.team_id,
            channel_kind=case.channel.kind,
            via="email",
            channel=case.channel if case.channel.kind != "chat" else demo.base.channels.get("email"),
            language=language,
            status=SurveyInvitation.Status.SENT,
            solved_at=case.solved_at,
            due_at=sent,
            sent_at=sent,
            expires_at=sent + timedelta(days=14),
        )
        SurveyInvitation.objects.filter(pk=invitation.pk).update(created_at=case.solved_at)
        if rng.random() < 0.25:
            continue  # not everyone answers
        score = NPS_SCORES[made % len(NPS_SCORES)]
        group = "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"
        answered = min(sent + timedelta(minutes=rng.uniform(10, 2000)), now - timedelta(minutes=5))
        survey_answer(
            invitation=invitation, score=score, comment=rng.choice(NPS_COMMENTS[language][group]), now=answered
        )
        made += 1
    return made


def _survey_events_date(case_ids: Iterable[int]) -> None:
    """Date each "survey answered" entry of CASE_IDS when the answer was given (the service records it now)."""
    events = list(
        CaseEvent.objects.filter(case__in=list(case_ids), kind=Event.SURVEY_ANSWERED).values_list("pk", "data")
    )
    answered = dict(
        SurveyResponse.objects.filter(pk__in=[data.get("response_id") for _pk, data in events]).values_list(
            "pk", "answered_at"
        )
    )
    dated = {pk: answered[data.get("response_id")] for pk, data in events if data.get("response_id") in answered}
    _column_set(CaseEvent, "created_at", dated)


# ── service levels ────────────────────────────────────────────────────────────────────────────────────────────


def _clocks_replay(cases: Sequence[Case], *, now: datetime) -> int:
    """Give CASES the service-level clocks their timelines would have run, replacing the ones the pipeline
    started when the contacts were played (at load time, never stopped).

    The timeline is replayed with the service's own rules (tiski.sla.services): the customer's messages start
    and resume the targets, agents' replies meet the response targets, pending pauses, solving ends them; the
    warnings and breaches the timers would have fired are dated when they fell due, so the timers fire none of
    them again. The cases' earliest running due time is updated. Return how many clocks there are.
    """
    ids = [c.pk for c in cases]
    timelines: dict[int, list[tuple[datetime, int, int, str, dict[str, Any]]]] = defaultdict(list)
    kinds = dict(Message.objects.filter(case__in=ids).values_list("channel_id", "channel__kind").distinct())
    for case_id, pk, at, direction, author, automatic, channel_id in Message.objects.filter(case__in=ids).values_list(
        "case_id", "pk", "created_at", "direction", "author", "auto_submitted", "channel_id"
    ):
        if direction == Message.Direction.IN and author == Message.Author.CUSTOMER and not automatic:
            timelines[case_id].append((at, 0, pk, "contact", {"channel_kind": kinds.get(channel_id) or ""}))
        elif direction == Message.Direction.OUT and author == Message.Author.AGENT:
            timelines[case_id].append((at, 0, pk, "reply", {}))
    for case_id, pk, at, data in CaseEvent.objects.filter(
        case__in=ids, kind__in=(Event.STATUS_CHANGED, Event.REOPENED)
    ).values_list("case_id", "pk", "created_at", "data"):
        timelines[case_id].append((at, 1, pk, "status", data or {}))
    queues = dict(WorkItem.objects.filter(case__in=ids).order_by("-pk").values_list("case_id", "queue_id"))
    SlaClock.objects.filter(case__in=ids).delete()
    clocks: list[SlaClock] = []
    fired: list[tuple[SlaClock, str, datetime]] = []
    for case in cases:
        replay = _Replay(case=case, queue_id=queues.get(case.pk))
        for at, _order, _pk, what, data in sorted(timelines.get(case.pk, [])):
            replay.timers(at)
            if what == "contact":
                replay.contact(at, channel_kind=data["channel_kind"])
            elif what == "reply":
                replay.reply(at)
            else:
                replay.status(at, old=str(data.get("old", "")), new=str(data.get("new", "")))
        replay.timers(now)
        clocks += replay.clocks
        fired += replay.fired
    SlaClock.objects.bulk_create(clocks, batch_size=500)
    CaseEvent.objects.bulk_create(
        [
            CaseEvent(
                case_id=clock.case_id,
                kind=kind,
                data={
                    "clock_id": clock.pk,
                    "metric": clock.metric,
                    "due": clock.due_at.isoformat() if clock.due_at else "",
                    "target_s": clock.target_s,
                },
                created_at=at,
            )
            for clock, kind, at in fired
        ],
        batch_size=500,
    )
    due: dict[int, datetime] = {}
    for clock in clocks:
        if clock.status == SlaClock.Status.RUNNING and clock.due_at is not None:
            due[clock.case_id] = min(due.get(clock.case_id, clock.due_at), clock.due_at)
    Case.objects.filter(pk__in=ids).exclude(pk__in=list(due)).update(sla_due_at=None)
    _column_set(Case, "sla_due_at", due)
    return len(clocks)


class _Replay:
    """One case's clocks as tiski.sla.services would have moved them, event by event."""

    def __init__(self, *, case: Case, queue_id: int | None) -> None:
        self.case, self.queue_id = case, queue_id
        self.clocks: list[SlaClock] = []
        self.fired: list[tuple[SlaClock, str, datetime]] = []
        self.live: dict[str, SlaClock] = {}
        self.answered = False
        self.contacted = False

    def policy(self, channel_kind: str) -> SlaPolicy | None:
        from tiski.sla.services import Subject, policy_for

        customer = self.case.customer
        subject = Subject(channel_kind, self.case.priority, customer.tier or "", self.case.type, self.queue_id)
        return policy_for(subject)

    def timers(self, until: datetime) -> None:
        """Fire the warnings and breaches that fell due before UNTIL, dated when they did."""
        for clock in self.live.values():
            if clock.status != SlaClock.Status.RUNNING:
                continue
            if clock.warned_at is None and clock.warn_at is not None and clock.warn_at <= until:
                clock.warned_at = clock.warn_at
                self.fired.append((clock, Event.SLA_WARNING, clock.warn_at))
            if clock.breached_at is None and clock.due_at is not None and clock.due_at <= until:
                clock.breached_at = clock.due_at
                self.fired.append((clock, Event.SLA_BREACHED, clock.due_at))

    def contact(self, at: datetime, *, channel_kind: str) -> None:
        from tiski.sla.services import _run_from, _start

        created, self.contacted = not self.contacted, True
        for clock in self.live.values():
            if clock.status == SlaClock.Status.PAUSED:
                _run_from(clock, at)
        Metric = SlaClock.Metric
        wanted = [Metric.RESOLUTION, Metric.NEXT_RESPONSE if self.answered else Metric.FIRST_RESPONSE]
        if all(metric in self.live for metric in wanted):
            return
        policy = self.policy(channel_kind)
        if policy is None:
            return
        for metric in wanted:
            ended_before = (
                not created and metric == Metric.FIRST_RESPONSE and any(c.metric == metric for c in self.clocks)
            )
            if metric not in self.live and not ended_before:
                started = _start(self.case.pk, policy, metric, at)
                if started is not None:
                    self.live[metric] = started
                    self.clocks.append(started)

    def reply(self, at: datetime) -> None:
        from tiski.sla.services import RESPONSES, _stop

        self.answered = True
        for metric in RESPONSES:
            clock = self.live.pop(metric, None)
            if clock is not None:
                _stop(clock, at)

    def status(self, at: datetime, *, old: str, new: str) -> None:
        from tiski.sla.services import _pause, _run_from, _stop

        for metric, clock in list(self.live.items()):
            if new in CLOSED:
                _stop(clock, at, cancel=metric != SlaClock.Metric.RESOLUTION)
                del self.live[metric]
            elif new == Case.Status.PENDING and clock.status == SlaClock.Status.RUNNING:
                _pause(clock, at)
            elif old == Case.Status.PENDING and new != Case.Status.PENDING and clock.status == SlaClock.Status.PAUSED:
                _run_from(clock, at)
