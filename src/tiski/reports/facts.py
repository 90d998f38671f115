"""Keep each case's facts (CaseFact, CaseKeyword) true to its timeline.

Every change to a case marks it stale in the changing transaction (subscribers.py); the router loop's clock
recomputes the stale cases in batches a few times a second (facts_clock), and ``tiski reports-rebuild``
recomputes every case. A batch costs a fixed handful of queries, whatever its size.
"""

from __future__ import annotations

import re
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Count, Min, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from tiski.cases.models import Case, CaseEvent, Message
from tiski.channels.voice.models import Call
from tiski.knowledge.search import stem
from tiski.knowledge.stopwords import STOP_WORDS
from tiski.reports.models import CaseDimensions, CaseFact, CaseKeyword, StaleMark, TargetFact
from tiski.routing.models import WorkItem
from tiski.sla.calendar import Calendar
from tiski.sla.models import BusinessCalendar, SlaClock

BATCH = 500
CLOCK_BUDGET_S = 0.2
KEYWORDS_PER_CASE = 5
_WORD = re.compile(r"[^\W\d_]{4,40}")
_CLOSED = (Case.Status.SOLVED, Case.Status.CLOSED)
_FACT_FIELDS = [f.name for f in CaseFact._meta.concrete_fields if f.name != "case"]
# The case's dimensions a TargetFact carries (the same names as CaseFact's).
_TARGET_DIMENSIONS = [f.attname for f in CaseDimensions._meta.fields]


def clock_ended_q() -> Q:
    """The clocks whose target has ended: met, missed, or still running (or paused) but already past due."""
    return Q(status__in=(SlaClock.Status.MET, SlaClock.Status.MISSED)) | Q(
        status__in=SlaClock.LIVE, breached_at__isnull=False
    )


def reporting_calendar() -> Calendar:
    """The calendar business times are counted in: the default business calendar, else every hour."""
    calendar = BusinessCalendar.objects.filter(is_default=True).first()
    return Calendar.of(calendar) if calendar is not None else Calendar.always()


def cases_mark_stale(case_ids: Iterable[int]) -> None:
    """Have the facts of CASE_IDS computed again (part of the caller's transaction; never waits on another)."""
    ids = sorted(set(case_ids))
    if ids:
        StaleMark.objects.bulk_create([StaleMark(case_id=pk) for pk in ids])


def facts_clock(*, now: datetime | None = None) -> int:
    """Recompute stale cases for at most CLOCK_BUDGET_S (a router-loop clock); return how many were done."""
    deadline = time.monotonic() + CLOCK_BUDGET_S
    done = 0
    while time.monotonic() < deadline:
        count = facts_refresh_stale(limit=BATCH)
        done += count
        if count < BATCH:
            break
    return done


def facts_refresh_stale(*, limit: int = BATCH) -> int:
    """Recompute up to LIMIT stale cases, oldest marks first; return how many."""
    marks = list(StaleMark.objects.order_by("id").values_list("id", "case_id")[: limit * 4])
    if not marks:
        return 0
    cases: set[int] = set()
    read: list[int] = []  # the marks of the chosen cases, all committed before the refresh below reads
    for mark_id, case_id in marks:
        if case_id in cases or len(cases) < limit:
            cases.add(case_id)
            read.append(mark_id)
    with transaction.atomic():
        facts_refresh(sorted(cases))
        # Only the marks read: one committed meanwhile stays, and is worked off next time.
        StaleMark.objects.filter(id__in=read).delete()
    return len(cases)


def facts_rebuild(*, batch: int = 2000) -> int:
    """Recompute the facts of every case; return how many."""
    total = 0
    last = 0
    while True:
        ids = list(Case.objects.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:batch])
        if not ids:
            break
        with transaction.atomic():
            facts_refresh(ids)
        total += len(ids)
        last = ids[-1]
    StaleMark.objects.all().delete()
    return total


def facts_refresh(case_ids: Sequence[int], *, now: datetime | None = None) -> None:
    """Compute and store the facts of CASE_IDS (cases gone meanwhile are skipped: their facts went with them)."""
    now = now or timezone.now()
    calendar = reporting_calendar()
    cases = list(
        Case.objects.filter(pk__in=case_ids).values(
            "pk",
            "subject",
            "created_at",
            "channel_id",
            "channel__kind",
            "team_id",
            "owner_id",
            "category_id",
            "type",
            "priority",
            "status",
            "customer_id",
            "customer__organization_id",
            "customer__language",
            "product",
            "first_response_at",
            "solved_at",
        )
    )
    ids = [c["pk"] for c in cases]
    replies = _counts(
        Message.objects.filter(case__in=ids, direction=Message.Direction.OUT, author=Message.Author.AGENT)
    )
    incoming = _counts(
        Message.objects.filter(case__in=ids, direction=Message.Direction.IN, author=Message.Author.CUSTOMER)
    )
    transfers = _counts(CaseEvent.objects.filter(case__in=ids, kind=CaseEvent.Kind.TRANSFERRED))
    reopened_by_agent = Q(
        kind=CaseEvent.Kind.STATUS_CHANGED, data__old__in=list(_CLOSED), data__new__in=list(Case.OPEN_STATUSES)
    )
    reopens = _counts(CaseEvent.objects.filter(Q(kind=CaseEvent.Kind.REOPENED) | reopened_by_agent, case__in=ids))
    first_message = dict(
        Message.objects.filter(case__in=ids).values("case").annotate(first=Min("pk")).values_list("case", "first")
    )
    first_in = set(
        Message.objects.filter(pk__in=first_message.values(), direction=Message.Direction.IN).values_list(
            "case_id", flat=True
        )
    )
    called = set(Call.objects.filter(case__in=ids, direction=Call.Direction.INBOUND).values_list("case_id", flat=True))
    first_queue = dict(
        WorkItem.objects.filter(case__in=ids).values("case").annotate(first=Min("pk")).values_list("case", "first")
    )
    queue_of = dict(WorkItem.objects.filter(pk__in=first_queue.values()).values_list("case_id", "queue_id"))
    handled: Counter[int] = Counter()
    for case_id, assigned_at, closed_at in WorkItem.objects.filter(
        case__in=ids, assigned_at__isnull=False, closed_at__isnull=False
    ).values_list("case_id", "assigned_at", "closed_at"):
        if assigned_at is not None and closed_at is not None:
            handled[case_id] += max(0, round((closed_at - assigned_at).total_seconds()))

    facts, keywords = [], []
    for c in cases:
        pk, created = c["pk"], c["created_at"]
        responded, solved = c["first_response_at"], c["solved_at"] if c["status"] in _CLOSED else None
        facts.append(
            CaseFact(
                case_id=pk,
                created_at=created,
                channel_id=c["channel_id"],
                channel_kind=c["channel__kind"] or "",
                queue_id=queue_of.get(pk),
                team_id=c["team_id"],
                owner_id=c["owner_id"],
                category_id=c["category_id"],
                type=c["type"],
                priority=c["priority"],
                status=c["status"],
                customer_id=c["customer_id"],
                organization_id=c["customer__organization_id"],
                product=c["product"],
                inbound=pk in first_in or (pk not in first_message and pk in called),
                first_response_at=responded,
                first_response_s=_wall(created, responded),
                first_response_bs=_business(calendar, created, responded),
                solved_at=solved,
                resolution_s=_wall(created, solved),
                resolution_bs=_business(calendar, created, solved),
                reopens=min(reopens.get(pk, 0), 32767),
                agent_replies=replies.get(pk, 0),
                customer_messages=incoming.get(pk, 0),
                transfers=min(transfers.get(pk, 0), 32767),
                handle_s=handled.get(pk, 0),
                refreshed_at=now,
            )
        )
        keywords += [
            CaseKeyword(case_id=pk, stem=key, word=word, created_at=created)
            for key, word in subject_keywords(c["subject"], c["customer__language"] or "")
        ]
    CaseFact.objects.bulk_create(facts, update_conflicts=True, unique_fields=["case"], update_fields=_FACT_FIELDS)
    CaseKeyword.objects.filter(case__in=ids).delete()
    CaseKeyword.objects.bulk_create(keywords)
    _targets_refresh(ids, {fact.case_id: fact for fact in facts})


def _targets_refresh(ids: list[int], facts: dict[int, CaseFact]) -> None:
    """Replace the TargetFacts of cases IDS with their ended clocks, each with its case's dimensions from FACTS."""
    targets = []
    clocks = (
        SlaClock.objects.filter(clock_ended_q(), case__in=ids)
        .annotate(ended=Coalesce("stopped_at", "breached_at"))
        .filter(ended__isnull=False)
    )
    for pk, case_id, metric, status, ended in clocks.values_list("pk", "case_id", "metric", "status", "ended"):
        fact = facts[case_id]
        targets.append(
            TargetFact(
                clock_id=pk,
                case_id=case_id,
                metric=metric,
                met=status == SlaClock.Status.MET,
                ended_at=ended,
                **{name: getattr(fact, name) for name in _TARGET_DIMENSIONS},
            )
        )
    TargetFact.objects.filter(case__in=ids).delete()
    TargetFact.objects.bulk_create(targets)


def subject_keywords(subject: str, language: str) -> list[tuple[str, str]]:
    """The (stem, word) pairs of SUBJECT's first KEYWORDS_PER_CASE words that say something: stop words of
    every language and words under four letters left out; stemmed in LANGUAGE (else Finnish and English tried)."""
    stop = frozenset().union(*STOP_WORDS.values())
    seen: dict[str, str] = {}
    for word in _WORD.findall((subject or "").lower()):
        if word in stop or word in _NOISE:
            continue
        key = stem(word, language or "en")[:40]
        if key not in seen:
            seen[key] = word
        if len(seen) == KEYWORDS_PER_CASE:
            break
    return list(seen.items())


# Words of subject lines that name no reason: reply prefixes, greetings, and the everyday verbs and time words
# of Finnish and English that the stop-word lists leave in ("sain", "tänään", "mennyt", "already").
_NOISE_WORDS = (
    "vast fwd fw re aw sv vs wg tr reply question kysymys asia hello hei moi thanks kiitos please help "
    "apua sain saanut tänään eilen huomenna mennyt menee vielä heti pian nyt aina kuitenkin enää voisin "
    "voisitteko voinko voiko pitäisi haluaisin halusin tarvitsen olisi onko miten milloin missä miksi "
    "kuinka paljon today yesterday tomorrow already still again just would could need want wanted please "
    "hi got get"
)
_NOISE = frozenset(_NOISE_WORDS.split())


def _counts(queryset: Any) -> dict[int, int]:
    return dict(queryset.values("case").annotate(n=Count("pk")).values_list("case", "n"))


def _wall(start: datetime, end: datetime | None) -> int | None:
    if end is None:
        return None
    return max(0, round((end - start).total_seconds()))


def _business(calendar: Calendar, start: datetime, end: datetime | None) -> int | None:
    if end is None:
        return None
    return round(calendar.seconds_between(start, end))


def facts_for(case_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """The stored facts of CASE_IDS, for tests and the API."""
    rows = CaseFact.objects.filter(case__in=case_ids).values("case_id", *_FACT_FIELDS)
    out: dict[int, dict[str, Any]] = defaultdict(dict)
    for row in rows:
        out[row.pop("case_id")] = row
    return dict(out)
