"""The demo company's routing: queues, skills, routing rules and the agents' routing profiles and skill levels.

The routing rules below place every demo contact in a queue as they would place a real one (demo_work_create,
after the invented history is written): work on cases the history answered, solved or gave an owner is done,
and only the unanswered, unowned new cases are still waiting — the demo's queues, with their real ages. The
agents start offline; logging in brings them online.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.contrib.auth.models import User

from tiski.cases.models import Case, CaseEvent, Category, Message
from tiski.routing.models import AgentSkill, AgentState, Queue, RoutingRule, RuleSkill, Skill, WorkItem
from tiski.routing.rules import classify
from tiski.routing.services import response_due, skills_clean, units_for

CONVERSATION_KINDS = frozenset({"chat", "phone"})
CASE_FIELDS = (
    *("id", "status", "priority", "type", "category_id", "owner_id", "customer_id", "channel_id"),
    *("created_at", "updated_at", "first_response_at", "solved_at"),
)


@dataclass(frozen=True)
class DemoQueue:
    name: str
    name_fi: str
    priority: int
    position: int
    offer_timeout: int = 60
    fallback_after: int = 300
    response_target: int | None = None
    return_margin: int = 600
    is_default: bool = False


QUEUES = {
    "incidents": DemoQueue("Incidents", "Häiriöt", 9, 1, offer_timeout=30, fallback_after=120, response_target=60),
    "chat": DemoQueue("Chat and messaging", "Chat ja viestit", 7, 2, offer_timeout=20, fallback_after=60),
    "orders": DemoQueue("Orders and deliveries", "Tilaukset ja toimitukset", 5, 3),
    "returns": DemoQueue("Returns", "Palautukset", 5, 4),
    "general": DemoQueue("General", "Yleinen", 4, 9, is_default=True),
}

# key: (name, Finnish name, kind, language code)
SKILLS = {
    "fi": ("Finnish", "Suomi", Skill.Kind.LANGUAGE, "fi"),
    "en": ("English", "Englanti", Skill.Kind.LANGUAGE, "en"),
    "sv": ("Swedish", "Ruotsi", Skill.Kind.LANGUAGE, "sv"),
    "bikes": ("Bikes", "Pyörät", Skill.Kind.PRODUCT, ""),
    "outdoor": ("Outdoor gear", "Retkeilyvarusteet", Skill.Kind.PRODUCT, ""),
    "payments": ("Payments", "Maksut", Skill.Kind.TECHNICAL, ""),
}


@dataclass(frozen=True)
class DemoRule:
    name: str
    position: int
    queue: str = ""
    keywords: tuple[str, ...] = ()
    channel_kinds: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    tiers: tuple[str, ...] = ()
    skills: tuple[tuple[str, int, bool], ...] = ()  # (skill key, minimum level, optional)
    priority: int | None = None


# Keywords match at word starts, so a stem catches the Finnish inflections: "tilau" finds tilaus, tilauksen …
RULES = (
    DemoRule(
        "Outages and faults from any channel",
        10,
        queue="incidents",
        keywords=(
            *("outage", "häiriö", "katkos", "ei toimi", "eivät toimi", "not working"),
            *("ei lataudu", "no longer charges"),  # the e-bike batteries of the demo's history
        ),
        priority=Case.Priority.HIGH,
    ),
    DemoRule(
        "Chat and messaging", 20, queue="chat", channel_kinds=("chat", "sms", "whatsapp", "messenger", "instagram")
    ),
    DemoRule("Orders topic on the web form", 30, queue="orders", categories=("orders",)),
    DemoRule(
        "Orders and deliveries",
        31,
        queue="orders",
        keywords=("tilau", "tilasin", "toimitu", "paketti", "seuranta", "order", "delivery", "parcel", "tracking"),
    ),
    DemoRule("Returns topic on the web form", 40, queue="returns", categories=("returns",)),
    DemoRule(
        "Returns, exchanges and warranty",
        41,
        queue="returns",
        keywords=("palautu", "palautt", "vaihto", "reklamaatio", "takuu", "return", "exchang", "warranty", "complaint"),
    ),
    DemoRule("Billing topic needs payments", 50, categories=("billing",), skills=(("payments", 5, False),)),
    DemoRule(
        "Payment words need payments",
        51,
        keywords=("lasku", "maksu", "maksoin", "veloit", "hyvity", "invoice", "payment", "charge", "refund"),
        skills=(("payments", 5, False),),
    ),
    DemoRule("Repairs need a bike mechanic", 60, categories=("repairs",), skills=(("bikes", 6, False),)),
    DemoRule(
        "Bikes: a bike expert if one is free",
        61,
        keywords=("pyör", "fillari", "sähköpyör", "vaihtee", "jarru", "bike", "e-bike", "brake", "gears"),
        skills=(("bikes", 5, True),),
    ),
    DemoRule(
        "Outdoor gear: an expert if one is free",
        70,
        keywords=(
            *("teltta", "takki", "takin", "makuupussi", "kengät", "paita", "paidan", "merino"),
            *("tent", "jacket", "sleeping bag", "boots", "shirt"),
        ),
        skills=(("outdoor", 4, True),),
    ),
    DemoRule("VIP customers first", 80, tiers=("vip",), priority=Case.Priority.HIGH),
)


@dataclass(frozen=True)
class DemoProfile:
    queues: tuple[str, ...]
    skills: dict[str, int] = field(default_factory=dict)
    channel_kinds: tuple[str, ...] = ()  # empty: every channel
    capacity: int = 100


ALL_QUEUES = tuple(QUEUES)
PROFILES = {
    "minna": DemoProfile(ALL_QUEUES, {"fi": 10, "en": 5, "sv": 6, "payments": 6, "bikes": 5, "outdoor": 5}),
    "maija": DemoProfile(
        ("incidents", "chat", "orders", "returns", "general"), {"fi": 10, "en": 9, "sv": 4, "bikes": 5, "outdoor": 8}
    ),
    "matti": DemoProfile(("incidents", "orders", "returns", "general"), {"fi": 10, "en": 6, "bikes": 9, "outdoor": 4}),
    "aino": DemoProfile(("chat", "orders", "returns", "general"), {"en": 10, "fi": 7, "outdoor": 7, "bikes": 3}),
    "juha": DemoProfile(("incidents", "orders", "general"), {"fi": 10, "en": 5, "payments": 9}),
    "emma": DemoProfile(("chat", "orders", "returns", "general"), {"sv": 10, "fi": 9, "en": 8, "payments": 7}),
    "pekka": DemoProfile(
        ("incidents", "general"), {"fi": 10, "en": 3, "bikes": 10}, channel_kinds=("email", "webform", "phone")
    ),
}


def demo_routing_ensure(*, categories: dict[str, Category], users: dict[str, User]) -> dict[str, Queue]:
    """Create the demo's queues, skills, rules and agents' profiles where missing; return the queues by key.

    Only what is missing is created, so what someone changed in the admin of a loaded demo stays.
    """
    queues: dict[str, Queue] = {}
    for key, spec in QUEUES.items():
        queue, created = Queue.objects.get_or_create(
            name=spec.name,
            defaults={
                "name_fi": spec.name_fi,
                "priority": spec.priority,
                "position": spec.position,
                "offer_timeout": spec.offer_timeout,
                "fallback_after": spec.fallback_after,
                "response_target": spec.response_target,
                "return_margin": spec.return_margin,
                "is_default": spec.is_default,
            },
        )
        if key == "general" and not created and (queue.priority, queue.position) == (5, 0):
            # The installation's default queue (routing/defaults.py), as made: served after the others here.
            queue.priority, queue.position = spec.priority, spec.position
            queue.save(update_fields=["priority", "position"])
        queues[key] = queue
    skills: dict[str, Skill] = {}
    for key, (name, name_fi, kind, language) in SKILLS.items():
        lookup = {"language": language} if language else {"name": name}
        skills[key] = Skill.objects.get_or_create(
            **lookup, defaults={"name": name, "name_fi": name_fi, "kind": kind, "language": language}
        )[0]
    for rule_spec in RULES:
        rule, created = RoutingRule.objects.get_or_create(
            name=rule_spec.name,
            defaults={
                "position": rule_spec.position,
                "queue": queues[rule_spec.queue] if rule_spec.queue else None,
                "keywords": "\n".join(rule_spec.keywords),
                "channel_kinds": list(rule_spec.channel_kinds),
                "tiers": list(rule_spec.tiers),
                "priority": rule_spec.priority,
            },
        )
        if created:
            rule.categories.set([categories[key] for key in rule_spec.categories])
            RuleSkill.objects.bulk_create(
                [
                    RuleSkill(rule=rule, skill=skills[key], min_level=level, optional=optional)
                    for key, level, optional in rule_spec.skills
                ]
            )
    for username, profile in PROFILES.items():
        user = users.get(username)
        if user is None:
            continue
        state, created = AgentState.objects.get_or_create(
            user=user, defaults={"capacity": profile.capacity, "channel_kinds": list(profile.channel_kinds)}
        )
        if created:
            state.queues.set([queues[key] for key in profile.queues])
        for key, level in profile.skills.items():
            AgentSkill.objects.get_or_create(user=user, skill=skills[key], defaults={"level": level})
    return queues


def demo_work_create(*, now: datetime) -> int:
    """Give every demo case without work the work item its invented history leaves it with; return how many.

    The contacts came through the pipeline with routing's intake paused (the history written afterwards would
    contradict what it did); here each case is classified by the routing rules as its first message would have
    been, and gets its item in bulk: done by its owner when the history answered it, solved it or gave it an
    owner, still waiting since it arrived when it is new and nobody's. Each gets its "queued" timeline entry.
    Nobody was online, so nobody's load changes. Call with CaseEvent's timestamps writable (historical).
    """
    cases = list(
        Case.objects.filter(work_items__isnull=True)
        .select_related("customer", "channel")
        .only(*CASE_FIELDS, "customer__language", "customer__tier", "channel__kind")
        .order_by("created_at")
    )
    first: dict[int, Message] = {}
    inbound = Message.objects.filter(case__in=cases, direction=Message.Direction.IN).order_by("created_at", "id")
    for message in inbound.only("case_id", "channel_id", "subject", "body_text"):
        first.setdefault(message.case_id, message)
    items: list[WorkItem] = []
    timeline: list[CaseEvent] = []
    for case in cases:
        contact = first.get(case.pk)
        if contact is None or case.channel is None:
            continue
        kind = case.channel.kind
        found = classify(case, contact, channel_kind=kind)
        item = WorkItem(
            case=case,
            queue=found.queue,
            queue_priority=found.queue.priority,
            priority=max(case.priority, found.priority or 0),
            channel_kind=kind,
            language=found.language,
            skills=skills_clean(found.skills),
            units=units_for(kind),
            enqueued_at=case.created_at,
            due_at=response_due(queue=found.queue, channel_kind=kind, now=case.created_at),
            reason="new",
        )
        if case.status != Case.Status.NEW or case.owner_id is not None:
            _done(item, case=case, now=now)
        items.append(item)
        timeline.append(
            CaseEvent(
                case=case,
                kind=CaseEvent.Kind.QUEUED,
                data={"queue": found.queue.name, "queue_id": found.queue.pk, "reason": "new"},
                created_at=case.created_at,
            )
        )
    WorkItem.objects.bulk_create(items, batch_size=500)
    CaseEvent.objects.bulk_create(timeline, batch_size=500)
    return len(items)


def _done(item: WorkItem, *, case: Case, now: datetime) -> None:
    """Close ITEM as CASE's history says: answered, taken by hand or (chat, phone) the case left open."""
    item.status = WorkItem.Status.DONE
    item.agent_id = case.owner_id
    item.assigned_at = case.created_at
    item.acted_at = case.first_response_at
    left_open = case.status in (Case.Status.PENDING, Case.Status.SOLVED, Case.Status.CLOSED)
    if item.channel_kind in CONVERSATION_KINDS and left_open:
        item.closed_at, item.reason = case.solved_at or case.updated_at, str(case.status)
    elif case.first_response_at is not None:
        item.closed_at, item.reason = case.first_response_at, "replied"
    else:  # taken by hand, not answered yet
        item.closed_at, item.reason = min(case.updated_at, now), "reassigned"
    item.closed_at = max(item.closed_at, case.created_at + timedelta(seconds=1))
