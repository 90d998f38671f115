"""Writes of proactive service: evaluate the rules and turn each hit into an outbound case with routed work.

Date and threshold rules are evaluated by the router loop's clock (proactive_clock), at most every
TISKI_PROACTIVE_EVERY_MINUTES (5) per process and per rule across processes: a rule is claimed by moving its
last_run_at with a conditional UPDATE, and its candidates are found in SQL (the records of the rule's kind
whose date is in the window, or whose attribute compares as asked, that have no hit of the rule yet). Event
rules run when an event arrives through the API (external_event_receive): at once for a few customers, in a
background task for many.

Every hit is one transaction: the hit row first (unique per rule, customer and key, so a second clock or a
retried request finds it and does nothing), then the case, its system note and timeline event, and the work
item. Who is left out, and why (a mature product's answer):

- erased customers: never contacted, and no hit is stored about them;
- customers who must not be marketed to (``marketing_suppressed``: an open complaint): left out of rules
  marked *marketing contact* (an offer from an interest), not of service rules (a contract renewing, worn
  tyres in storage) — telling a customer about their own contract or property is service, not marketing;
- a call rule for a customer without a phone number, and a message rule for one with no email address or
  phone number: a hit that says so, visible in the admin, and no case.

Records that belong to an organisation only (no customer) are not contacted by these rules.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, NotSupportedError, transaction
from django.db.models import Exists, F, FloatField, Func, OuterRef, Q, QuerySet
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from tiski.cases.models import Case, CaseEvent, Note
from tiski.cases.services import case_create, case_event_record
from tiski.channels.models import Channel, ChannelKind
from tiski.channels.services import written_channel_for
from tiski.customers.models import Customer, ExternalRecord, Identity
from tiski.proactive.models import EVENT_NAME_RE, OUTBOUND_CALL, ExternalEvent, ProactiveHit, ProactiveRule
from tiski.routing.defaults import queue_fallback
from tiski.routing.models import Queue
from tiski.routing.services import work_enqueue

logger = logging.getLogger(__name__)

BATCH = 200  # hits one rule makes in one run; the rest in the next run, at once
EVENT_INLINE = 50  # an event reaching at most this many customers is handled in the request
Trigger = ProactiveRule.Trigger
Outcome = ProactiveHit.Outcome


class ProactiveError(Exception):
    """A proactive action that cannot be taken; the message says why."""


class EventUnknownError(ProactiveError):
    """No rule listens for an event of this name."""


class EventInvalidError(ProactiveError):
    """The event's name or occurrence is not usable."""


def every_minutes() -> float:
    return float(getattr(settings, "TISKI_PROACTIVE_EVERY_MINUTES", 5))


# ── the attribute as a number, in SQL ──────────────────────────────────────────────────────────────────────────


class JsonNumber(Func):
    """The number at KEY of a JSON column: a JSON number, or a string holding one ("3.5", "3,5", "-2"); NULL
    for anything else (missing, text, true, a list). KEY must match models.ATTRIBUTE_RE."""

    output_field = FloatField()

    def __init__(self, expression: str, key: str) -> None:
        super().__init__(F(expression))
        self.key = key

    def as_sql(
        self,
        compiler: Any,
        connection: Any,
        function: str | None = None,
        template: str | None = None,
        arg_joiner: str | None = None,
        **extra_context: Any,
    ) -> tuple[str, tuple[Any, ...]]:
        raise NotSupportedError("Threshold rules need SQLite or PostgreSQL.")

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, tuple[Any, ...]]:
        column, params = compiler.compile(self.source_expressions[0])
        text = f"btrim(({column} ->> %s))"
        sql = (
            f"(CASE jsonb_typeof(({column} -> %s)) WHEN 'number' THEN ({column} ->> %s)::double precision "
            f"WHEN 'string' THEN (CASE WHEN {text} ~ '^-?[0-9]+([.,][0-9]+)?$' "
            f"THEN replace({text}, ',', '.')::double precision END) END)"
        )
        key = self.key
        return sql, (*params, key, *params, key, *params, key, *params, key)

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, tuple[Any, ...]]:
        column, params = compiler.compile(self.source_expressions[0])
        path = f'$."{self.key}"'
        value = f"trim(json_extract({column}, %s))"
        numeric = (
            f"({value} GLOB '[0-9]*' OR {value} GLOB '-[0-9]*') AND {value} GLOB '*[0-9]' "
            f"AND {value} NOT GLOB '*[^0-9.,-]*' AND {value} NOT GLOB '?*-*' AND {value} NOT GLOB '*[.,]*[.,]*'"
        )
        sql = (
            f"(CASE json_type({column}, %s) WHEN 'integer' THEN json_extract({column}, %s) "
            f"WHEN 'real' THEN json_extract({column}, %s) "
            f"WHEN 'text' THEN (CASE WHEN {numeric} THEN CAST(replace({value}, ',', '.') AS REAL) END) END)"
        )
        sql_params = [*params, path, *params, path, *params, path]
        sql_params += [*params, path] * 6 + [*params, path]
        return sql, tuple(sql_params)


# ── candidates ────────────────────────────────────────────────────────────────────────────────────────────────


def _records(rule: ProactiveRule) -> QuerySet[ExternalRecord]:
    records = ExternalRecord.objects.filter(
        kind=rule.record_kind, customer__isnull=False, customer__erased_at__isnull=True
    )
    if rule.statuses():
        records = records.filter(status__in=rule.statuses())
    if rule.marketing:  # left out without a hit: they are contacted once the complaint is closed, if still due
        records = records.filter(customer__marketing_suppressed=False)
    return records


def date_candidates(rule: ProactiveRule, *, today: date) -> QuerySet[ExternalRecord]:
    """Return RULE's records whose date falls from TODAY to days_ahead days later, without a hit for that date."""
    field = rule.date_field
    window = {f"{field}__gte": today, f"{field}__lte": today + timedelta(days=rule.days_ahead)}
    done = ProactiveHit.objects.filter(rule=rule, record=OuterRef("pk"), record_date=OuterRef(field))
    return _records(rule).filter(**window).filter(~Exists(done)).order_by(field, "pk")


def threshold_candidates(rule: ProactiveRule) -> QuerySet[ExternalRecord]:
    """Return RULE's records whose attribute is a number comparing as the rule asks, without a hit yet."""
    if rule.threshold is None or not rule.comparison:
        return ExternalRecord.objects.none()
    done = ProactiveHit.objects.filter(rule=rule, record=OuterRef("pk"))
    lookup = {"eq": "exact"}.get(rule.comparison, rule.comparison)
    records = _records(rule).annotate(proactive_value=JsonNumber("attributes", rule.attribute))
    if rule.comparison == ProactiveRule.Comparison.NE:
        compared = records.filter(proactive_value__isnull=False).exclude(proactive_value=rule.threshold)
    else:
        compared = records.filter(**{f"proactive_value__{lookup}": rule.threshold})
    return compared.filter(~Exists(done)).order_by("pk")


def interest_candidates(rule: ProactiveRule, *, event: ExternalEvent) -> QuerySet[Customer]:
    """Return the customers whose interests may contain one of RULE's keywords, without a hit for EVENT.

    SQL's case-insensitive LIKE folds only ASCII on SQLite, so each keyword is asked for as written, in lower
    case, upper case and capitalised; interest_matches() decides for each candidate.
    """
    words = rule.keywords()
    match = Q()
    for word in words:
        for variant in {word, word.lower(), word.upper(), word.capitalize()}:
            match |= Q(interests__icontains=variant)
    customers = Customer.objects.filter(match, erased_at__isnull=True) if words else Customer.objects.none()
    if rule.marketing:
        customers = customers.filter(marketing_suppressed=False)
    done = ProactiveHit.objects.filter(rule=rule, customer=OuterRef("pk"), event=event)
    return customers.filter(~Exists(done)).order_by("pk")


def interest_matches(rule: ProactiveRule, interests: str) -> str:
    """Return the first of RULE's keywords found in INTERESTS (any case), or ""."""
    folded = interests.casefold()
    return next((word for word in rule.keywords() if word.casefold() in folded), "")


# ── one hit → one outbound case ──────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class Why:
    """What a hit is about: the record (and its date), or the event; and what the agent is shown of it."""

    key: str
    record: ExternalRecord | None = None
    record_date: date | None = None
    event: ExternalEvent | None = None
    value: str = ""
    context: dict[str, Any] | None = None


def record_context(record: ExternalRecord) -> dict[str, Any]:
    """Return what the agent is shown of RECORD (and what is kept on the hit, as it was when it fired)."""
    return {
        "id": record.pk,
        "kind": record.kind,
        "source": record.source,
        "external_id": record.external_id,
        "title": record.title,
        "status": record.status,
        "date": record.date.isoformat() if record.date else None,
        "due_date": record.due_date.isoformat() if record.due_date else None,
        "renewal_date": record.renewal_date.isoformat() if record.renewal_date else None,
        "amount": str(record.amount) if record.amount is not None else None,
        "currency": record.currency,
        "attributes": record.attributes or {},
    }


def hit_record(*, rule: ProactiveRule, customer: Customer, why: Why) -> ProactiveHit | None:
    """Act on RULE firing for CUSTOMER about WHY: store the hit and make the outbound work (or say why not).

    Return the hit, or None when the rule had fired for this already (by another clock, or an earlier try of
    the same request). One transaction: a failure leaves no hit, and the next run tries again.
    """
    with transaction.atomic():
        try:
            with transaction.atomic():
                hit = ProactiveHit.objects.create(
                    rule=rule,
                    customer=customer,
                    key=why.key,
                    record=why.record,
                    record_date=why.record_date,
                    event=why.event,
                    outcome=Outcome.CREATED,
                    context=why.context or {},
                )
        except IntegrityError:
            return None
        customer = Customer.objects.select_for_update().get(pk=customer.pk)
        outcome, channel, number = _reach(rule, customer)
        if outcome != Outcome.CREATED:
            hit.outcome = outcome
            hit.save(update_fields=["outcome"])
            return hit
        hit.context = {**hit.context, **({"number": number} if number else {})}
        hit.case = _outbound_case(rule=rule, customer=customer, why=why, hit=hit, channel=channel)
        hit.save(update_fields=["case", "context"])
    return hit


def _reach(rule: ProactiveRule, customer: Customer) -> tuple[str, Channel | None, str]:
    """Return (outcome, channel, number): how RULE's work reaches CUSTOMER, or why it cannot."""
    if customer.erased_at is not None:
        return Outcome.ERASED, None, ""
    if rule.marketing and customer.marketing_suppressed:
        return Outcome.MARKETING, None, ""
    if rule.work_kind == ProactiveRule.WorkKind.CALL:
        number = (
            customer.identities.filter(kind=Identity.Kind.PHONE)
            .order_by("-verified", "pk")
            .values_list("value", flat=True)
            .first()
        )
        if not number:
            return Outcome.NO_PHONE, None, ""
        phone = Channel.objects.filter(kind=ChannelKind.PHONE, active=True).order_by("pk").first()
        return Outcome.CREATED, phone, number
    channel = written_channel_for(customer, sms=False) or written_channel_for(customer, sms=True)
    if channel is None:
        return Outcome.NO_CHANNEL, None, ""
    return Outcome.CREATED, channel, ""


def _subject(rule: ProactiveRule, customer: Customer, why: Why) -> str:
    when = why.record_date
    values = {
        "customer": str(customer),
        "record": why.record.title if why.record else "",
        "date": day_text(when) if when else "",
        "value": why.value,
        "event": why.event.name if why.event else "",
    }
    try:
        subject = rule.subject_template.format(**values).strip()
    except (KeyError, IndexError, ValueError):
        subject = ""
    return subject or f"{rule.name}: {customer}"


def _outbound_case(
    *, rule: ProactiveRule, customer: Customer, why: Why, hit: ProactiveHit, channel: Channel | None
) -> Case:
    """Open the task case for HIT, note the reason and context on it, and queue its work."""
    with translation.override(settings.LANGUAGE_CODE):  # data, in the company's language
        subject = _subject(rule, customer, why)
        body = note_text(rule=rule, hit=hit)
    case = case_create(
        customer=customer, subject=subject, actor=None, channel=channel, priority=rule.priority, type=Case.Type.TASK
    )
    note = Note.objects.create(case=case, author=None, body=body)
    case_event_record(
        case=case,
        kind=CaseEvent.Kind.UPDATED,
        actor=None,
        field="proactive",
        rule=rule.name,
        rule_id=rule.pk,
        trigger=rule.trigger,
        reason=rule.reason,
        hit_id=hit.pk,
        note_id=note.pk,
        record=why.record.pk if why.record else None,
        event=why.event.name if why.event else None,
    )
    queue = rule.queue if rule.queue_id and rule.queue and rule.queue.active else _default_queue()
    kind = OUTBOUND_CALL if rule.work_kind == ProactiveRule.WorkKind.CALL else (channel.kind if channel else "email")
    work_enqueue(
        case=case,
        queue=queue,
        channel_kind=kind,
        language=customer.language or "",
        priority=rule.priority,
        reason="proactive",
    )
    return case


def _default_queue() -> Queue:
    return Queue.objects.filter(is_default=True, active=True).first() or queue_fallback()


def trigger_text(*, rule: ProactiveRule, hit: ProactiveHit, with_record: bool = True) -> str:
    """Return one sentence saying what made RULE fire (in the active language); WITH_RECORD, it starts with the
    record's title (the case page shows the record beside it, and leaves it out)."""
    context = hit.context or {}
    record = context.get("record") or {}
    title = str(record.get("title") or record.get("external_id") or "–")
    if rule.trigger == Trigger.DATE:
        field = (
            ProactiveRule.DateField(rule.date_field).label if rule.date_field in ProactiveRule.DateField.values else ""
        )
        when = context.get("date") or ""
        days = context.get("days_left")
        shown = day_text(date.fromisoformat(when)) if when else "–"
        text = _("%(field)s on %(date)s, in %(days)s days") % {
            "field": field,
            "date": shown,
            "days": days if days is not None else "–",
        }
        return f"{title}: {text}" if with_record else text[:1].upper() + text[1:]
    if rule.trigger == Trigger.THRESHOLD:
        symbol = ProactiveRule.Comparison(rule.comparison).label if rule.comparison else ""
        text = _("%(attribute)s is %(value)s (the rule: %(symbol)s %(threshold)s)") % {
            "attribute": rule.attribute,
            "value": _local_number(context.get("value", "–")),
            "symbol": symbol,
            "threshold": _local_number(_number(rule.threshold)),
        }
        return f"{title}: {text}" if with_record else text
    event = context.get("event") or {}
    return _("Event %(event)s (%(occurrence)s); the customer is interested in “%(word)s”") % {
        "event": event.get("name") or rule.event_name,
        "occurrence": event.get("occurrence") or "–",
        "word": context.get("interest") or "–",
    }


def note_text(*, rule: ProactiveRule, hit: ProactiveHit) -> str:
    """Return the system note of HIT's case: the reason, what fired and the record's details."""
    lines = [
        _("Proactive service: %(rule)s") % {"rule": rule.name},
        rule.reason.strip(),
        "",
        _("Why now: %(why)s") % {"why": trigger_text(rule=rule, hit=hit)},
    ]
    record = (hit.context or {}).get("record")
    if record:
        lines.append(
            _("Record: %(kind)s %(source)s:%(id)s, status %(status)s")
            % {
                "kind": record.get("kind"),
                "source": record.get("source"),
                "id": record.get("external_id"),
                "status": record.get("status") or "–",
            }
        )
        for key, value in sorted((record.get("attributes") or {}).items()):
            lines.append(f"· {key}: {value}")
    data = ((hit.context or {}).get("event") or {}).get("data") or {}
    for key, value in sorted(data.items()):
        lines.append(f"· {key}: {value}")
    return "\n".join(line for line in lines if line is not None).strip()


def day_text(day: date) -> str:
    """Return DAY in the active language: "13.12.2026" in Finnish, "13 Dec 2026" in English."""
    finnish = (translation.get_language() or "").startswith("fi")
    return formats.date_format(day, "j.n.Y" if finnish else "j M Y")


def _local_number(text: Any) -> str:
    """Return TEXT as the active language writes the number in it ("2,1" in Finnish), or as it is."""
    try:
        number = float(str(text).replace(",", "."))
    except ValueError:
        return str(text)
    return str(int(number)) if number.is_integer() else formats.number_format(number, use_l10n=True)


def _number(value: float | None) -> str:
    if value is None:
        return "–"
    return str(int(value)) if float(value).is_integer() else str(value)


# ── the clock: date and threshold rules ───────────────────────────────────────────────────────────────────────

_next_check = 0.0  # monotonic time before which proactive_clock() does nothing in this process
CLOCK_BUDGET_S = 0.25  # the router loop's share per tick: a backlog is worked off a slice each second


@dataclass
class RunResult:
    made: int = 0
    more: bool = False  # a rule stopped at its batch or the time budget: run again at once


def proactive_clock(*, now: datetime | None = None) -> int:
    """Run the date and threshold rules due (a router-loop clock, called about once a second): in this process
    at most every TISKI_PROACTIVE_EVERY_MINUTES, for at most CLOCK_BUDGET_S a tick (a backlog goes on at the
    next tick); return how many hits were made."""
    global _next_check
    if time.monotonic() < _next_check:
        return 0
    result = rules_run(now=now, budget_s=CLOCK_BUDGET_S)
    _next_check = time.monotonic() + (0 if result.more else every_minutes() * 60)
    return result.made


def proactive_rules_run(*, now: datetime | None = None) -> int:
    """Run each enabled date and threshold rule not run in the last TISKI_PROACTIVE_EVERY_MINUTES (at most
    BATCH hits each); return how many hits were made."""
    return rules_run(now=now).made


def rules_run(*, now: datetime | None = None, budget_s: float | None = None) -> RunResult:
    """Run the date and threshold rules due, each claimed first so two processes never run it at once; stop
    when BUDGET_S seconds are used. A rule left with more to do is due again at once."""
    now = now or timezone.now()
    cutoff = now - timedelta(minutes=every_minutes())
    deadline = time.monotonic() + budget_s if budget_s is not None else None
    due = ProactiveRule.objects.filter(
        Q(last_run_at__isnull=True) | Q(last_run_at__lte=cutoff),
        enabled=True,
        trigger__in=(Trigger.DATE, Trigger.THRESHOLD),
    )
    result = RunResult()
    ran = 0
    for rule in due.select_related("queue").order_by("last_run_at", "pk"):
        if deadline is not None and ran and time.monotonic() >= deadline:  # each tick runs one rule at least
            result.more = True
            break
        claimed = (
            ProactiveRule.objects.filter(pk=rule.pk)
            .filter(Q(last_run_at__isnull=True) if rule.last_run_at is None else Q(last_run_at=rule.last_run_at))
            .update(last_run_at=now)
        )
        if not claimed:
            continue
        ran += 1
        try:
            count, more = rule_run(rule=rule, now=now, deadline=deadline)
        except Exception:
            logger.exception("proactive rule %s failed", rule.pk)
            continue
        result.made += count
        if more:  # the next run takes the rest at once
            ProactiveRule.objects.filter(pk=rule.pk, last_run_at=now).update(last_run_at=cutoff)
            result.more = True
    return result


def rule_run(
    *, rule: ProactiveRule, now: datetime | None = None, limit: int | None = None, deadline: float | None = None
) -> tuple[int, bool]:
    """Make RULE's hits (date or threshold), at most LIMIT and until DEADLINE (time.monotonic()); return how
    many were made and whether there may be more."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    limit = limit or BATCH
    if rule.trigger == Trigger.DATE:
        records = list(date_candidates(rule, today=today).select_related("customer")[:limit])
    elif rule.trigger == Trigger.THRESHOLD:
        records = list(threshold_candidates(rule).select_related("customer")[:limit])
    else:
        return 0, False
    made = 0
    for n, record in enumerate(records):
        if deadline is not None and n and time.monotonic() >= deadline:  # one record at least
            return made, True
        customer = record.customer
        if customer is None:
            continue
        try:
            hit = hit_record(rule=rule, customer=customer, why=_why_record(rule, record, today=today))
        except Exception:
            logger.exception("proactive rule %s: record %s failed", rule.pk, record.pk)
            continue
        made += hit is not None
    return made, len(records) >= limit


def _why_record(rule: ProactiveRule, record: ExternalRecord, *, today: date) -> Why:
    context: dict[str, Any] = {"record": record_context(record)}
    if rule.trigger == Trigger.DATE:
        when: date = getattr(record, rule.date_field)
        context.update(date=when.isoformat(), days_left=(when - today).days)
        return Why(key=f"r:{record.pk}:{when.isoformat()}", record=record, record_date=when, context=context)
    value = getattr(record, "proactive_value", None)
    shown = _number(value) if value is not None else str((record.attributes or {}).get(rule.attribute, ""))
    context["value"] = shown
    return Why(key=f"r:{record.pk}", record=record, value=shown, context=context)


# ── external events ───────────────────────────────────────────────────────────────────────────────────────────


def external_event_receive(
    *, name: str, occurrence: str = "", data: dict[str, Any] | None = None, actor: Any = None
) -> tuple[ExternalEvent, bool]:
    """Take in event NAME (its OCCURRENCE: today's local date unless given) and act on it; return the event and
    whether it is new. The same name and occurrence again returns the first one and does nothing.

    Raise EventInvalidError for a malformed name, EventUnknownError when no rule (enabled or not) listens for
    NAME — most likely a typo in the sending system. A few customers are handled at once; many in the
    background (the event's status says which).
    """
    name = name.strip()
    if not EVENT_NAME_RE.match(name):
        raise EventInvalidError(
            f"“{name[:100]}” is not an event name: use lower-case letters, digits, _ . - (e.g. icy_evening)."
        )
    occurrence = occurrence.strip() or timezone.localdate().isoformat()
    if len(occurrence) > 100:
        raise EventInvalidError("The occurrence is at most 100 characters.")
    rules = list(ProactiveRule.objects.filter(trigger=Trigger.EVENT, event_name=name).select_related("queue"))
    if not rules:
        known = sorted(set(ProactiveRule.objects.filter(trigger=Trigger.EVENT).values_list("event_name", flat=True)))
        raise EventUnknownError(
            f"No proactive rule listens for the event “{name}”."
            + (f" Known events: {', '.join(known)}." if known else " No rule listens for any event yet.")
        )
    existing = ExternalEvent.objects.filter(name=name, occurrence=occurrence).first()
    if existing is not None:
        return existing, False
    enabled = [rule for rule in rules if rule.enabled]
    try:
        with transaction.atomic():
            event = ExternalEvent.objects.create(
                name=name, occurrence=occurrence, data=data or {}, received_by=actor, rules=len(enabled)
            )
    except IntegrityError:  # the same event, sent twice at once
        return ExternalEvent.objects.get(name=name, occurrence=occurrence), False
    reach = sum(interest_candidates(rule, event=event).count() for rule in enabled)
    if reach <= EVENT_INLINE:
        external_event_process(event_id=event.pk)
        event.refresh_from_db()
    else:
        from tiski.proactive.tasks import external_event_run

        event_id = event.pk
        transaction.on_commit(lambda: external_event_run.enqueue(event_id=event_id))
    return event, True


def external_event_process(*, event_id: int) -> ExternalEvent:
    """Make the hits of every enabled rule listening for event EVENT_ID, then mark it done with the counts."""
    event = ExternalEvent.objects.get(pk=event_id)
    rules = ProactiveRule.objects.filter(trigger=Trigger.EVENT, event_name=event.name, enabled=True)
    matched = created = 0
    try:
        for rule in rules.select_related("queue").order_by("pk"):
            last = 0
            while True:  # pages by primary key: the customers are never all in memory
                page = list(interest_candidates(rule, event=event).filter(pk__gt=last)[:BATCH])
                if not page:
                    break
                last = page[-1].pk
                for customer in page:
                    word = interest_matches(rule, customer.interests)
                    if not word:
                        continue
                    matched += 1
                    context = {
                        "event": {"name": event.name, "occurrence": event.occurrence, "data": event.data},
                        "interest": word,
                        "interests": customer.interests[:500],
                    }
                    why = Why(key=f"e:{event.pk}", event=event, value=word, context=context)
                    hit = hit_record(rule=rule, customer=customer, why=why)
                    created += bool(hit is not None and hit.outcome == Outcome.CREATED)
    except Exception:
        logger.exception("external event %s failed", event.pk)
        ExternalEvent.objects.filter(pk=event.pk).update(status=ExternalEvent.Status.FAILED, finished_at=timezone.now())
        raise
    ExternalEvent.objects.filter(pk=event.pk).update(
        status=ExternalEvent.Status.DONE,
        finished_at=timezone.now(),
        matched=F("matched") + matched,
        created=F("created") + created,
    )
    event.refresh_from_db()
    return event
