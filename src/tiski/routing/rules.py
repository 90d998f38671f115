"""Routing rules: which queue new work waits in, which skills it needs and how urgent it is.

Rules are tried in position order (active ones only). A rule matches when every condition it sets holds (an
empty condition matches anything): channel kind, the channel itself (mailbox, number, account), the case's type
and category, the customer's tier, the work's language, and keywords. The first matching rule with a queue
decides the queue; every matching rule adds its skills and may raise the priority. Work in a language for
which a language skill exists needs that skill (level 1) unless a rule says otherwise. Work no rule places
waits in the default queue.

Classification runs for every inbound message, inside the pipeline's transaction, so the rule set (with the
active queues) is compiled once per process and kept: a save or delete of a queue, rule or skill in this
process drops it at once; a fingerprint query (row counts and highest ids, one round trip) notices rows added
or removed by other processes or rolled back; edits made in other processes, and bulk .update()s that send no
signals, are picked up after at most RELOAD_AFTER_S seconds (or at once with rules_invalidate()).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import connection
from django.db.models import Model
from django.db.models.signals import m2m_changed, post_delete, post_save

from tiski.core.conditions import allows
from tiski.routing.defaults import queue_fallback
from tiski.routing.language import detect_language
from tiski.routing.models import Queue, RoutingRule, RuleSkill, Skill

if TYPE_CHECKING:
    from tiski.cases.models import Case, Message

RELOAD_AFTER_S = 10.0
KEYWORD_TEXT_CHARS = 20_000  # keywords are looked for in this much of the subject and text


@dataclass(frozen=True)
class Classification:
    """Where new work waits and what it needs: the result of the routing rules for one contact."""

    queue: Queue
    skills: list[dict[str, Any]]  # [{"skill": id, "level": minimum level, "optional": bool}], as on WorkItem
    priority: int | None  # the highest priority a matching rule raises to; None: no rule raises it
    language: str  # given by the customer's profile or detected; "" when unknown
    rule_ids: tuple[int, ...] = ()  # the matching rules, in order (for the timeline and for debugging rules)


@dataclass(frozen=True)
class _Rule:
    id: int
    queue_id: int | None
    channel_kinds: frozenset[str]
    channel_ids: frozenset[int]
    case_types: frozenset[str]
    category_ids: frozenset[int]
    tiers: frozenset[str]
    languages: frozenset[str]
    keywords: tuple[str, ...]  # parsed: case-folded, whitespace collapsed; () is no condition
    skills: tuple[tuple[int, int, bool], ...]  # (skill id, minimum level, optional)
    priority: int | None


@dataclass(frozen=True)
class _RuleSet:
    fingerprint: tuple[Any, ...]
    loaded_at: float
    rules: tuple[_Rule, ...]
    queues: dict[int, Queue]  # the active queues
    default_queue_id: int | None  # the active default queue, else the first active queue
    language_skills: dict[str, int]  # language code → skill id
    uses_language: bool  # whether anything depends on the language (else it is not detected)


_cache: _RuleSet | None = None


@dataclass(frozen=True)
class Contact:
    """What the rules look at in one contact (read from its message, case and customer)."""

    channel_kind: str
    channel_id: int | None
    subject: str
    text: str
    case_type: str
    category_id: int | None
    tier: str
    language: str  # given by the customer's profile; "" when not given


def classify(case: Case, message: Message, *, channel_kind: str | None = None) -> Classification:
    """Return the queue, skills, priority and language for the work MESSAGE brings on CASE.

    The customer's language (CASE.customer.language) wins over the language detected in the subject and text.
    CHANNEL_KIND saves a query when the caller knows it (else MESSAGE.channel is read).
    """
    return classify_contact(
        Contact(
            channel_kind=channel_kind if channel_kind is not None else message.channel.kind,
            channel_id=message.channel_id,
            subject=message.subject,
            text=message.body_text,
            case_type=case.type,
            category_id=case.category_id,
            tier=case.customer.tier,
            language=case.customer.language,
        )
    )


def classify_contact(contact: Contact) -> Classification:
    """Return the queue, skills, priority and language for CONTACT (see classify())."""
    kind = contact.channel_kind
    rule_set = _rule_set()
    given = _language_code(contact.language)
    text = f"{contact.subject}\n{contact.text}" if contact.subject else contact.text
    language = given or (detect_language(text) if rule_set.uses_language else "")
    prepared: str | None = None
    queue_id: int | None = None
    priority: int | None = None
    needs: dict[int, tuple[int, bool]] = {}
    matched: list[int] = []
    for rule in rule_set.rules:
        if not (
            allows(rule.channel_kinds, kind)
            and allows(rule.channel_ids, contact.channel_id)
            and allows(rule.case_types, contact.case_type)
            and allows(rule.category_ids, contact.category_id)
            and allows(rule.tiers, contact.tier)
            and allows(rule.languages, language)
        ):
            continue
        if rule.keywords:
            if prepared is None:
                prepared = keyword_text(text)
            if not keywords_found(rule.keywords, prepared):
                continue
        matched.append(rule.id)
        if queue_id is None and rule.queue_id in rule_set.queues:
            queue_id = rule.queue_id
        if rule.priority is not None:
            priority = max(priority or 0, rule.priority)
        for skill_id, level, optional in rule.skills:
            needs[skill_id] = _need_merge(needs.get(skill_id), (level, optional))
    language_skill = rule_set.language_skills.get(language) if language else None
    if language_skill is not None and language_skill not in needs:
        needs[language_skill] = (1, False)
    return Classification(
        queue=_queue(rule_set, queue_id or rule_set.default_queue_id),
        skills=[
            {"skill": skill_id, "level": level, "optional": optional}
            for skill_id, (level, optional) in sorted(needs.items())
        ],
        priority=priority,
        language=language,
        rule_ids=tuple(matched),
    )


def keywords_parse(keywords: str) -> tuple[str, ...]:
    """Return KEYWORDS (one word or phrase per line) as compared: case-folded, whitespace collapsed."""
    return tuple(dict.fromkeys(" ".join(line.casefold().split()) for line in keywords.splitlines() if line.strip()))


def keyword_text(text: str) -> str:
    """Return TEXT as keywords are looked for in it: case-folded, whitespace collapsed, at most so long."""
    return " ".join(text[:KEYWORD_TEXT_CHARS].casefold().split())


def keywords_found(keywords: Iterable[str], text: str) -> bool:
    """Return whether one of KEYWORDS (parsed) starts a word of TEXT (prepared by keyword_text).

    "outage" is found in "Outage!" and "outages" but not in "timeout"; "ei toimi" in "Netti EI  toimi".
    Plain substring search (with a look at the character before) is far cheaper than a regular expression,
    whose look-behind at every position would cost tens of microseconds per rule.
    """
    for keyword in keywords:
        start = text.find(keyword)
        while start >= 0:
            if start == 0 or not _word_char(text[start - 1]):
                return True
            start = text.find(keyword, start + 1)
    return False


def keywords_match(keywords: str, text: str) -> bool:
    """Return whether a line of KEYWORDS (as typed in a rule) starts a word of TEXT."""
    return keywords_found(keywords_parse(keywords), keyword_text(text))


def _word_char(char: str) -> bool:
    return char.isalnum() or char == "_"


def rules_invalidate(**_kwargs: Any) -> None:
    """Forget the compiled rule set (a signal receiver; call it after bulk .update()s of rules or queues)."""
    global _cache
    _cache = None


def rules_connect() -> None:
    """Drop the compiled rules whenever a queue, rule, rule skill or skill is saved or deleted in this process."""
    for model in (Queue, RoutingRule, RuleSkill, Skill):
        post_save.connect(rules_invalidate, sender=model, dispatch_uid=f"tiski.routing.rules.save.{model.__name__}")
        post_delete.connect(rules_invalidate, sender=model, dispatch_uid=f"tiski.routing.rules.del.{model.__name__}")
    for through in (RoutingRule.channels.through, RoutingRule.categories.through):
        m2m_changed.connect(
            rules_invalidate, sender=through, dispatch_uid=f"tiski.routing.rules.m2m.{through.__name__}"
        )


def _need_merge(old: tuple[int, bool] | None, new: tuple[int, bool]) -> tuple[int, bool]:
    """Two rules need one skill: the higher minimum level wins, and required beats optional."""
    if old is None:
        return new
    return max(old[0], new[0]), old[1] and new[1]


def _language_code(value: str) -> str:
    """Return the primary subtag of a language tag: "fi-FI" and "FI" are "fi"."""
    return value.strip().replace("_", "-").split("-", 1)[0].lower()


def _queue(rule_set: _RuleSet, queue_id: int | None) -> Queue:
    """Return a copy of the compiled queue QUEUE_ID (the caller may change it), or the fallback queue."""
    queue = rule_set.queues.get(queue_id) if queue_id is not None else None
    return copy.copy(queue) if queue is not None else queue_fallback()


def _rule_set() -> _RuleSet:
    global _cache
    cached = _cache
    fingerprint = _fingerprint()
    if (
        cached is not None
        and cached.fingerprint == fingerprint
        and time.monotonic() - cached.loaded_at < RELOAD_AFTER_S
    ):
        return cached
    _cache = _load(fingerprint)
    return _cache


def _tables() -> Iterable[type[Model]]:
    return (Queue, RoutingRule, RuleSkill, Skill, RoutingRule.channels.through, RoutingRule.categories.through)


_fingerprint_sql: str | None = None


def _fingerprint() -> tuple[Any, ...]:
    """Return the row count and highest id of every table the rule set is built from (one query)."""
    global _fingerprint_sql
    if _fingerprint_sql is None:
        quote = connection.ops.quote_name
        parts = []
        for model in _tables():
            table, pk = quote(model._meta.db_table), quote(model._meta.pk.column or "id")
            # Names from the models' meta, quoted: nothing from outside goes into this SQL.
            parts.append(f"(SELECT COUNT(*) FROM {table}), (SELECT MAX({pk}) FROM {table})")  # noqa: S608
        _fingerprint_sql = "SELECT " + ", ".join(parts)
    with connection.cursor() as cursor:
        cursor.execute(_fingerprint_sql)
        row = cursor.fetchone()
    return (connection.alias, *row)


def _load(fingerprint: tuple[Any, ...]) -> _RuleSet:
    """Compile the active rules, their skills, the active queues and the language skills (six queries)."""
    queues = list(Queue.objects.filter(active=True).order_by("-priority", "position", "name"))
    default = next((q.pk for q in queues if q.is_default), queues[0].pk if queues else None)
    channels: dict[int, set[int]] = {}
    for rule_id, channel_id in RoutingRule.channels.through.objects.values_list("routingrule_id", "channel_id"):
        channels.setdefault(rule_id, set()).add(channel_id)
    categories: dict[int, set[int]] = {}
    for rule_id, category_id in RoutingRule.categories.through.objects.values_list("routingrule_id", "category_id"):
        categories.setdefault(rule_id, set()).add(category_id)
    skills: dict[int, list[tuple[int, int, bool]]] = {}
    for rule_id, skill_id, level, optional in RuleSkill.objects.values_list(
        "rule_id", "skill_id", "min_level", "optional"
    ):
        skills.setdefault(rule_id, []).append((skill_id, level, optional))
    rules = []
    for rule in RoutingRule.objects.filter(active=True).order_by("position", "id"):
        rules.append(
            _Rule(
                id=rule.pk,
                queue_id=rule.queue_id,
                channel_kinds=frozenset(rule.channel_kinds or ()),
                channel_ids=frozenset(channels.get(rule.pk, ())),
                case_types=frozenset(rule.case_types or ()),
                category_ids=frozenset(categories.get(rule.pk, ())),
                tiers=frozenset(rule.tiers or ()),
                languages=frozenset(_language_code(code) for code in rule.languages or ()),
                keywords=keywords_parse(rule.keywords),
                skills=tuple(skills.get(rule.pk, ())),
                priority=rule.priority,
            )
        )
    language_skills = {
        _language_code(code): pk for code, pk in Skill.objects.exclude(language="").values_list("language", "pk")
    }
    return _RuleSet(
        fingerprint=fingerprint,
        loaded_at=time.monotonic(),
        rules=tuple(rules),
        queues={queue.pk: queue for queue in queues},
        default_queue_id=default,
        language_skills=language_skills,
        uses_language=bool(language_skills) or any(rule.languages for rule in rules),
    )
