"""Routing rules and language detection: which queue new work waits in, what skills it needs, how urgent it is.

Cases and messages are real rows; classify() is called on them as the intake subscriber calls it.
"""

from __future__ import annotations

import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tiski.cases.models import Case, Category, Message
from tiski.channels.models import Channel, ChannelKind
from tiski.customers.models import Customer
from tiski.routing import rules
from tiski.routing.defaults import queue_default_ensure
from tiski.routing.language import detect_language, unknown_language_codes
from tiski.routing.models import Queue, RoutingRule, RuleSkill, Skill
from tiski.routing.rules import classify, keywords_match

pytestmark = pytest.mark.django_db


@pytest.fixture
def general(db) -> Queue:  # type: ignore[no-untyped-def]
    """The default queue every database has after migrating (routing/defaults.py)."""
    return Queue.objects.get(is_default=True)


@pytest.fixture
def incidents(db) -> Queue:  # type: ignore[no-untyped-def]
    return Queue.objects.create(name="Incidents", name_fi="Häiriöt", priority=9)


@pytest.fixture
def orders(db) -> Queue:  # type: ignore[no-untyped-def]
    return Queue.objects.create(name="Orders", priority=5)


@pytest.fixture
def mailbox(db) -> Channel:  # type: ignore[no-untyped-def]
    return Channel.objects.create(kind=ChannelKind.EMAIL, name="Support mail", address="tuki@shop.example")


@pytest.fixture
def english(db) -> Skill:  # type: ignore[no-untyped-def]
    return Skill.objects.create(name="English", name_fi="Englanti", kind=Skill.Kind.LANGUAGE, language="en")


@pytest.fixture
def finnish(db) -> Skill:  # type: ignore[no-untyped-def]
    return Skill.objects.create(name="Finnish", name_fi="Suomi", kind=Skill.Kind.LANGUAGE, language="fi")


@pytest.fixture
def bikes(db) -> Skill:  # type: ignore[no-untyped-def]
    return Skill.objects.create(name="Bikes", name_fi="Pyörät", kind=Skill.Kind.PRODUCT)


def contact(
    channel: Channel,
    *,
    body: str = "Which size fits me?",
    subject: str = "Size",
    language: str = "",
    tier: str = Customer.Tier.STANDARD,
    type: str = Case.Type.QUESTION,
    category: Category | None = None,
    priority: int = Case.Priority.NORMAL,
) -> tuple[Case, Message]:
    customer = Customer.objects.create(name="Anssi Asiakas", language=language, tier=tier)
    case = Case.objects.create(
        subject=subject or body[:50],
        customer=customer,
        channel=channel,
        type=type,
        category=category,
        priority=priority,
    )
    message = Message.objects.create(
        case=case,
        channel=channel,
        direction=Message.Direction.IN,
        author=Message.Author.CUSTOMER,
        subject=subject,
        body_text=body,
    )
    return case, message


def queue_of(channel: Channel, **kwargs) -> Queue:  # type: ignore[no-untyped-def]
    case, message = contact(channel, **kwargs)
    return classify(case, message).queue


# ── queues ────────────────────────────────────────────────────────────────────────────────────────────────────


def test_work_no_rule_places_waits_in_the_default_queue(mailbox, general, incidents):
    RoutingRule.objects.create(name="Outages", keywords="outage", queue=incidents)
    found = classify(*contact(mailbox, body="Where is my parcel?"))
    assert found.queue == general
    assert found.skills == []
    assert found.priority is None
    assert found.rule_ids == ()


def test_without_a_default_queue_the_first_active_queue_takes_the_work(mailbox, general, incidents, orders):
    Queue.objects.filter(pk=general.pk).update(is_default=False, active=False)
    rules.rules_invalidate()  # .update() sends no signals
    assert queue_of(mailbox) == incidents  # priority 9 comes first
    Queue.objects.filter(pk=incidents.pk).update(active=False)
    rules.rules_invalidate()
    assert queue_of(mailbox) == orders


def test_without_any_active_queue_the_work_still_gets_one(mailbox, general):
    Queue.objects.update(active=False)
    rules.rules_invalidate()
    assert queue_of(mailbox) == general
    Queue.objects.all().delete()
    assert queue_of(mailbox).name == "General"  # created again, rather than losing the work


def test_post_migrate_creates_the_default_queue_only_when_there_is_none(general):
    assert (general.name, general.name_fi) == ("General", "Yleinen")
    Queue.objects.filter(pk=general.pk).update(name="Asiakaspalvelu")
    queue_default_ensure()
    assert list(Queue.objects.values_list("name", flat=True)) == ["Asiakaspalvelu"]
    Queue.objects.all().delete()
    queue_default_ensure()
    assert Queue.objects.get().is_default


@pytest.mark.parametrize(
    ("condition", "matching", "other"),
    [
        ("channel_kinds", {}, {"channel": "chat"}),
        ("channels", {}, {"channel": "second mailbox"}),
        ("case_types", {"type": Case.Type.INCIDENT}, {"type": Case.Type.QUESTION}),
        ("categories", {"category": "Orders"}, {"category": "Returns"}),
        ("tiers", {"tier": Customer.Tier.VIP}, {"tier": Customer.Tier.GOLD}),
        ("languages", {"language": "sv"}, {"language": "fi"}),
        ("keywords", {"body": "The app shows an Outage!"}, {"body": "The app shows a timeout"}),
    ],
)
def test_each_condition_decides_alone(mailbox, general, incidents, condition, matching, other):
    chat = Channel.objects.create(kind=ChannelKind.CHAT, name="Chat", address="shop")
    second = Channel.objects.create(kind=ChannelKind.EMAIL, name="Second", address="second@shop.example")
    category = {name: Category.objects.create(name=name) for name in ("Orders", "Returns")}
    rule = RoutingRule.objects.create(name=condition, queue=incidents)
    if condition == "channel_kinds":
        rule.channel_kinds = ["email", "webform"]
    elif condition == "channels":
        rule.channels.set([mailbox])
    elif condition == "case_types":
        rule.case_types = [Case.Type.INCIDENT, Case.Type.PROBLEM]
    elif condition == "categories":
        rule.categories.set([category["Orders"]])
    elif condition == "tiers":
        rule.tiers = [Customer.Tier.VIP]
    elif condition == "languages":
        rule.languages = ["sv"]
    else:
        rule.keywords = "outage\nhäiriö"
    rule.save()

    def resolve(values: dict) -> dict:  # type: ignore[type-arg]
        values = dict(values)
        channel = {"chat": chat, "second mailbox": second}.get(values.pop("channel", ""), mailbox)
        if "category" in values:
            values["category"] = category[values["category"]]
        return {"channel": channel, **values}

    match = resolve(matching)
    assert queue_of(match.pop("channel"), **match) == incidents
    miss = resolve(other)
    assert queue_of(miss.pop("channel"), **miss) == general


def test_every_condition_of_a_rule_must_hold(mailbox, general, incidents):
    RoutingRule.objects.create(name="VIP outages", keywords="outage", tiers=[Customer.Tier.VIP], queue=incidents)
    assert queue_of(mailbox, body="Outage again", tier=Customer.Tier.VIP) == incidents
    assert queue_of(mailbox, body="Outage again", tier=Customer.Tier.STANDARD) == general
    assert queue_of(mailbox, body="All fine", tier=Customer.Tier.VIP) == general


@pytest.mark.parametrize(
    ("text", "matches"),
    [
        ("Outage!", True),
        ("two outages this week", True),
        ("OUTAGE in Tampere", True),
        ("(outage) again", True),
        ("the request ran into a timeout", False),
        ("netti EI  toimi taas", True),  # a phrase, across any whitespace
        ("ei toimineet eilen", True),  # at word starts: inflected Finnish matches
        ("hei toimi nyt", False),  # "ei" inside "hei" is no word start
        ("Häiriöitä koko päivän", True),
        ("sähköhäiriö", False),  # not at a word start
    ],
)
def test_keywords_match_at_word_starts_ignoring_case(text, matches):
    assert keywords_match("outage\nhäiriö\n  ei  Toimi  \n\n", text) is matches


def test_keywords_are_found_in_the_subject_too(mailbox, general, incidents):
    RoutingRule.objects.create(name="Outages", keywords="outage", queue=incidents)
    assert queue_of(mailbox, subject="Outage at the shop", body="Please call me.") == incidents


def test_blank_keywords_are_no_condition(mailbox, general, incidents):
    RoutingRule.objects.create(name="Blank lines", keywords="\n  \n", queue=incidents)
    assert queue_of(mailbox, body="Anything") == incidents


def test_rules_are_tried_in_position_order_and_the_first_with_a_queue_wins(mailbox, general, incidents, orders):
    RoutingRule.objects.create(name="Orders", position=20, keywords="order", queue=orders)
    RoutingRule.objects.create(name="Skills only", position=5, keywords="order")  # no queue: does not decide
    RoutingRule.objects.create(name="Outages", position=10, keywords="outage", queue=incidents)
    found = classify(*contact(mailbox, body="Outage: my order page is down"))
    assert found.queue == incidents
    assert len(found.rule_ids) == 3
    RoutingRule.objects.filter(name="Orders").update(position=1)
    rules.rules_invalidate()
    assert queue_of(mailbox, body="Outage: my order page is down") == orders


def test_inactive_rules_and_rules_into_inactive_queues_do_not_place_work(mailbox, general, incidents, orders):
    RoutingRule.objects.create(name="Off", position=1, keywords="outage", queue=orders, active=False)
    RoutingRule.objects.create(name="Closed queue", position=2, keywords="outage", queue=incidents)
    Queue.objects.filter(pk=incidents.pk).update(active=False)
    rules.rules_invalidate()
    assert queue_of(mailbox, body="Outage") == general


# ── skills, language, priority ────────────────────────────────────────────────────────────────────────────────


def test_skills_of_every_matching_rule_merge_higher_level_and_required_win(mailbox, incidents, bikes, english):
    a = RoutingRule.objects.create(name="Bikes", position=1, keywords="bike", queue=incidents)
    b = RoutingRule.objects.create(name="E-bikes", position=2, keywords="e-bike")
    c = RoutingRule.objects.create(name="English please", position=3, keywords="bike")
    RuleSkill.objects.create(rule=a, skill=bikes, min_level=3, optional=True)
    RuleSkill.objects.create(rule=b, skill=bikes, min_level=7, optional=True)
    RuleSkill.objects.create(rule=c, skill=bikes, min_level=2, optional=False)
    RuleSkill.objects.create(rule=c, skill=english, min_level=4, optional=True)
    found = classify(*contact(mailbox, body="My e-bike battery is dead", language="en"))
    assert found.skills == [
        {"skill": bikes.pk, "level": 7, "optional": False},
        # the English skill comes from a rule: the rule's level and optionality stand
        {"skill": english.pk, "level": 4, "optional": True},
    ]


def test_given_language_wins_over_the_detected_one(mailbox, english, finnish):
    found = classify(*contact(mailbox, body="Hi, is the Trek in stock?", subject="", language="fi-FI"))
    assert found.language == "fi"
    assert found.skills == [{"skill": finnish.pk, "level": 1, "optional": False}]


@pytest.mark.parametrize(
    ("body", "language"),
    [("Hi, is the Trek in stock?", "en"), ("Moi, onko tämä varastossa?", "fi"), ("Hej, finns den i lager?", "sv")],
)
def test_language_is_detected_when_not_given(mailbox, english, finnish, body, language):
    found = classify(*contact(mailbox, body=body, subject=""))
    assert found.language == language
    wanted = {"en": english.pk, "fi": finnish.pk}.get(language)
    assert found.skills == ([{"skill": wanted, "level": 1, "optional": False}] if wanted else [])


def test_detected_language_matches_rules_on_language(mailbox, general, orders):
    RoutingRule.objects.create(name="Swedish", languages=["sv"], queue=orders)
    assert queue_of(mailbox, body="Hej! Jag beställde en cykel förra veckan men den har inte kommit.") == orders
    assert queue_of(mailbox, body="Hei! Tilasin pyörän viime viikolla, mutta se ei ole tullut.") == general


def test_language_is_not_detected_when_nothing_depends_on_it(mailbox):
    found = classify(*contact(mailbox, body="Hi, is the Trek in stock?"))
    assert found.language == ""  # no language skill, no rule on language: detection is skipped


def test_rules_raise_the_priority_to_their_highest(mailbox, incidents):
    RoutingRule.objects.create(name="VIP", tiers=[Customer.Tier.VIP], priority=Case.Priority.HIGH)
    RoutingRule.objects.create(name="Outage", keywords="outage", queue=incidents, priority=Case.Priority.URGENT)
    assert classify(*contact(mailbox, body="Outage", tier=Customer.Tier.VIP)).priority == Case.Priority.URGENT
    assert classify(*contact(mailbox, body="Hello", tier=Customer.Tier.VIP)).priority == Case.Priority.HIGH
    assert classify(*contact(mailbox, body="Hello")).priority is None


# ── the compiled rule set ─────────────────────────────────────────────────────────────────────────────────────


def test_a_saved_rule_applies_to_the_next_contact(mailbox, general, incidents):
    assert queue_of(mailbox, body="Outage") == general
    rule = RoutingRule.objects.create(name="Outages", keywords="outage", queue=incidents)
    assert queue_of(mailbox, body="Outage") == incidents
    rule.keywords = "katkos"
    rule.save()
    assert queue_of(mailbox, body="Outage") == general
    rule.delete()
    assert queue_of(mailbox, body="Katkos") == general


def test_rows_written_without_signals_are_noticed_by_the_fingerprint(mailbox, general, incidents):
    assert queue_of(mailbox, body="Outage") == general
    # bulk_create sends no post_save, as a rule added by another process sends none here
    RoutingRule.objects.bulk_create([RoutingRule(name="Outages", keywords="outage", queue=incidents)])
    assert queue_of(mailbox, body="Outage") == incidents


def test_a_classification_with_compiled_rules_costs_one_query(mailbox, incidents, bikes, english):
    for n in range(20):
        rule = RoutingRule.objects.create(name=f"R{n}", position=n, keywords=f"word{n}\nphrase number {n}")
        RuleSkill.objects.create(rule=rule, skill=bikes, min_level=1 + n % 10)
    case, message = contact(mailbox, body="Hi, my bike has an outage, phrase number 7", language="en")
    classify(case, message)  # compiles
    with CaptureQueriesContext(connection) as queries:
        found = classify(case, message)
    assert len(queries) == 1  # the fingerprint
    assert found.skills == [
        {"skill": bikes.pk, "level": 8, "optional": False},
        {"skill": english.pk, "level": 1, "optional": False},
    ]
    runs = 200
    started = time.perf_counter()
    for _ in range(runs):
        classify(case, message)
    per_call_ms = (time.perf_counter() - started) / runs * 1000
    assert per_call_ms < 20, per_call_ms  # a gross regression (compiling every time) fails; the figure is reported


# ── language detection ────────────────────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Hi, is the Trek in stock?", "en"),
        ("Moi, onko tämä varastossa?", "fi"),
        ("Hej, finns den i lager?", "sv"),
        ("Thanks!", "en"),
        ("Kiitos!", "fi"),
        ("Tack!", "sv"),
        ("Re: Syksyn uutuudet – kuoritakin mitoitus", "fi"),
        ("SV: Hur lång är leveranstiden?", "sv"),
        ("Where is my order? I ordered the Virta E5 e-bike last week.", "en"),
        ("Netti ei toimi", "fi"),
    ],
)
def test_short_texts_are_recognised(text, language):
    assert detect_language(text) == language


@pytest.mark.parametrize("text", ["", "   ", "ok", "TSK-1042", "123456", "anssi@example.com https://shop.example/x"])
def test_nothing_is_guessed_without_evidence(text):
    assert detect_language(text) == ""


def test_only_the_configured_languages_are_told_apart(settings):
    settings.TISKI_DETECT_LANGUAGES = ["fi", "sv"]
    assert detect_language("Where is my order? It should have arrived yesterday.") != "en"
    assert detect_language("Missä tilaukseni on? Sen piti tulla eilen.") == "fi"
    settings.TISKI_DETECT_LANGUAGES = ["fi"]
    assert detect_language("Missä tilaukseni on? Sen piti tulla eilen.") == ""  # nothing to tell apart
    settings.TISKI_DETECT_LANGUAGES = []
    assert detect_language("Missä tilaukseni on?") == ""


def test_unknown_language_codes_are_reported():
    assert unknown_language_codes(["fi", "en", "xx", "swedish"]) == ["xx", "swedish"]
