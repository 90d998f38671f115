"""The routing admin: skills, queues, rules (with their skills), agents' profiles and skills; history read-only.

Forms are submitted as a browser would: the page is fetched, every field the form shows is sent back with the
values it shows, and only the fields under test are changed.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from tiski.cases.models import Case, Category, Message
from tiski.channels.models import Channel, ChannelKind
from tiski.customers.models import Customer
from tiski.routing.models import AgentSkill, AgentState, Presence, PresenceLog, Queue, RoutingRule, Skill, WorkItem
from tiski.routing.services import presence_set

pytestmark = pytest.mark.django_db

Data = dict[str, list[str]]


class _FormReader(HTMLParser):
    """Collect what a browser would submit from each POST form of a page (with the values shown)."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Data] = []
        self.data: Data | None = None
        self.select: str | None = None
        self.textarea: str | None = None
        self.text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {key: value or "" for key, value in attrs}
        if tag == "form" and a.get("method", "").lower() == "post":
            self.data = {}
            self.forms.append(self.data)
        data = self.data
        name = a.get("name")
        if data is None:
            return
        if tag == "input" and name:
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    data.setdefault(name, []).append(a.get("value", "on"))
            elif kind not in ("submit", "button", "file", "image"):
                data.setdefault(name, []).append(a.get("value", ""))
        elif tag == "select" and name:
            self.select = name
            data.setdefault(name, [])
        elif tag == "option" and self.select and "selected" in a:
            data[self.select].append(a.get("value", ""))
        elif tag == "textarea" and name:
            self.textarea, self.text = name, ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.data = None
        elif tag == "select":
            self.select = None
        elif tag == "textarea" and self.textarea and self.data is not None:
            self.data[self.textarea] = [self.text.removeprefix("\n")]
            self.textarea = None

    def handle_data(self, data: str) -> None:
        if self.textarea:
            self.text += data


def form_on(client: Client, url: str) -> Data:
    """Return what the page's main form (the POST form with the most fields, not the log-out form) submits."""
    response = client.get(url)
    assert response.status_code == 200, url
    reader = _FormReader()
    reader.feed(response.content.decode())
    return max(reader.forms, key=len)


def submit(client: Client, url: str, data: Data, **changes: Any) -> Any:
    """POST DATA with CHANGES (a list for several values, None to untick or leave out) to URL."""
    posted = dict(data)
    for name, value in changes.items():
        if value is None:
            posted.pop(name, None)
        else:
            posted[name] = [str(v) for v in value] if isinstance(value, list | tuple) else [str(value)]
    return client.post(url, posted)


def errors_of(response: Any) -> str:
    """Return the error messages on a form page that was shown again (for assertion messages)."""
    if response.status_code == 302:
        return ""
    page = response.content.decode()
    return " | ".join(re.findall(r'<ul class="errorlist[^"]*"[^>]*>(.*?)</ul>', page, re.DOTALL)) or page[:2000]


@pytest.fixture
def admin_client(administrator: Any) -> Client:
    client = Client()
    client.force_login(administrator)
    return client


@pytest.fixture
def english(db) -> Skill:  # type: ignore[no-untyped-def]
    return Skill.objects.create(name="English", kind=Skill.Kind.LANGUAGE, language="en")


# ── skills and queues ─────────────────────────────────────────────────────────────────────────────────────────


def test_a_language_skill_is_saved_with_its_code(admin_client):
    url = "/admin/routing/skill/add/"
    response = submit(admin_client, url, form_on(admin_client, url), name="Swedish", kind="language", language=" SV ")
    assert response.status_code == 302, errors_of(response)
    assert Skill.objects.get(name="Swedish").language == "sv"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"kind": "language", "language": ""}, "A language skill needs the code of its language"),
        ({"kind": "product", "language": "en"}, "Only language skills have a language code"),
        ({"kind": "language", "language": "english"}, "two-letter code"),
    ],
)
def test_a_skill_with_a_wrong_language_is_refused_with_the_reason(admin_client, changes, message):
    url = "/admin/routing/skill/add/"
    response = submit(admin_client, url, form_on(admin_client, url), name="Skill", **changes)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Skill.objects.filter(name="Skill").exists()


def test_a_queue_is_saved_and_becoming_the_default_takes_the_mark_from_the_old_one(admin_client):
    url = "/admin/routing/queue/add/"
    response = submit(
        admin_client,
        url,
        form_on(admin_client, url),
        name="Incidents",
        name_fi="Häiriöt",
        priority=9,
        offer_timeout=45,
        fallback_after=120,
        response_target=60,
        return_margin=300,
        is_default="on",
        auto_accept="on",
    )
    assert response.status_code == 302, errors_of(response)
    queue = Queue.objects.get(name="Incidents")
    assert (queue.priority, queue.offer_timeout, queue.fallback_after, queue.response_target) == (9, 45, 120, 60)
    assert queue.auto_accept and queue.is_default
    assert list(Queue.objects.filter(is_default=True)) == [queue]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"priority": 11}, "less than or equal to 10"),
        ({"priority": 0}, "greater than or equal to 1"),
        ({"offer_timeout": 3}, "at least 10 seconds"),
        ({"response_target": 5, "return_margin": 300}, "must be shorter than the response target"),
        ({"is_default": "on", "active": None}, "The default queue must be active"),
    ],
)
def test_a_queue_with_impossible_settings_is_refused_with_the_reason(admin_client, changes, message):
    url = "/admin/routing/queue/add/"
    response = submit(admin_client, url, form_on(admin_client, url), name="Odd", **changes)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Queue.objects.filter(name="Odd").exists()


# ── routing rules ─────────────────────────────────────────────────────────────────────────────────────────────


def test_a_rule_is_saved_from_checkboxes_with_its_skills_and_places_the_next_contact(admin_client, english):
    incidents = Queue.objects.create(name="Incidents", priority=9)
    mailbox = Channel.objects.create(kind=ChannelKind.EMAIL, name="Support", address="tuki@shop.example")
    orders = Category.objects.create(name="Orders")
    url = "/admin/routing/routingrule/add/"
    data = form_on(admin_client, url)
    assert "channel_kinds" not in data  # nothing ticked on a new rule
    response = submit(
        admin_client,
        url,
        data,
        name="English outages",
        position=10,
        channel_kinds=["email", "webform"],
        channels=[mailbox.pk],
        case_types=["incident", "problem"],
        categories=[orders.pk],
        tiers=["gold", "vip"],
        languages=["en"],
        keywords="  outage \n\n not   working\noutage\n",
        queue=incidents.pk,
        priority=4,
        **{"skills-0-skill": english.pk, "skills-0-min_level": 6, "skills-0-optional": "on"},
    )
    assert response.status_code == 302, errors_of(response)
    rule = RoutingRule.objects.get(name="English outages")
    assert rule.channel_kinds == ["email", "webform"]
    assert rule.case_types == ["incident", "problem"]
    assert rule.tiers == ["gold", "vip"]
    assert rule.languages == ["en"]
    assert rule.keywords == "outage\nnot working"
    assert list(rule.channels.all()) == [mailbox] and list(rule.categories.all()) == [orders]
    assert (rule.queue, rule.priority) == (incidents, 4)
    [need] = rule.skills.all()
    assert (need.skill, need.min_level, need.optional) == (english, 6, True)

    # the change page shows the ticks back
    again = form_on(admin_client, f"/admin/routing/routingrule/{rule.pk}/change/")
    assert again["channel_kinds"] == ["email", "webform"] and again["languages"] == ["en"]

    from tiski.routing.rules import classify

    customer = Customer.objects.create(name="James", language="en", tier="vip")
    case = Case.objects.create(subject="Down", customer=customer, channel=mailbox, type="incident", category=orders)

    message = Message.objects.create(
        case=case, channel=mailbox, direction="in", author="customer", body_text="Outages!"
    )
    found = classify(case, message)
    assert (found.queue, found.priority) == (incidents, 4)
    assert found.skills == [{"skill": english.pk, "level": 6, "optional": True}]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"skills-0-min_level": 11}, "less than or equal to 10"),
        ({"skills-0-min_level": 0}, "greater than or equal to 1"),
        ({"keywords": "outage\nx"}, "Too short to be a keyword: x"),
        ({"channel_kinds": ["fax"]}, "Select a valid choice"),
    ],
)
def test_a_rule_with_wrong_values_is_refused_with_the_reason(admin_client, english, changes, message):
    url = "/admin/routing/routingrule/add/"
    changes = {"skills-0-skill": english.pk, "skills-0-min_level": 3, **changes}
    response = submit(admin_client, url, form_on(admin_client, url), name="Odd", **changes)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not RoutingRule.objects.filter(name="Odd").exists()


def test_the_rule_list_says_what_each_rule_does(admin_client, english):
    queue = Queue.objects.create(name="Incidents", priority=9)
    rule = RoutingRule.objects.create(name="Outages", keywords="outage", channel_kinds=["chat"], queue=queue)
    rule.skills.create(skill=english, min_level=7)
    RoutingRule.objects.create(name="Catch-all")
    page = admin_client.get("/admin/routing/routingrule/").content.decode()
    assert "“outage”" in page and "Chat" in page and "English ≥ 7" in page
    assert "every contact" in page


# ── agents ────────────────────────────────────────────────────────────────────────────────────────────────────


def test_an_agents_profile_is_edited_with_checkboxes_and_presence_and_load_stay(admin_client, agent):
    queue = Queue.objects.create(name="Chat", priority=7)
    presence_set(user=agent, presence=Presence.ONLINE)
    AgentState.objects.filter(user=agent).update(load=33)
    url = f"/admin/routing/agentstate/{agent.pk}/change/"
    data = form_on(admin_client, url)
    response = submit(
        admin_client,
        url,
        data,
        capacity=120,
        queues=[queue.pk],
        channel_kinds=["chat", "whatsapp"],
        presence="offline",
        load=0,
    )
    assert response.status_code == 302, errors_of(response)
    state = AgentState.objects.get(user=agent)
    assert (state.capacity, state.channel_kinds, list(state.queues.all())) == (120, ["chat", "whatsapp"], [queue])
    assert (state.presence, state.load) == (Presence.ONLINE, 33)
    assert PresenceLog.objects.filter(user=agent).count() == 1


def test_capacity_zero_is_refused(admin_client, agent):
    presence_set(user=agent, presence=Presence.ONLINE)
    url = f"/admin/routing/agentstate/{agent.pk}/change/"
    response = submit(admin_client, url, form_on(admin_client, url), capacity=0)
    assert response.status_code == 200
    assert "presence Offline, not capacity 0" in response.content.decode()


def test_skills_and_routing_profile_are_edited_on_the_users_page(admin_client, agent, english):
    bikes = Skill.objects.create(name="Bikes", kind=Skill.Kind.PRODUCT)
    url = f"/admin/auth/user/{agent.pk}/change/"
    data = form_on(admin_client, url)
    assert data["skills-TOTAL_FORMS"] == ["1"] and data["routing-TOTAL_FORMS"] == ["1"]
    response = submit(
        admin_client,
        url,
        data,
        **{
            "skills-TOTAL_FORMS": 2,
            "skills-0-skill": english.pk,
            "skills-0-level": 9,
            "skills-1-skill": bikes.pk,
            "skills-1-level": 4,
            "routing-0-capacity": 80,
            "routing-0-channel_kinds": ["email"],
        },
    )
    assert response.status_code == 302, errors_of(response)
    assert dict(AgentSkill.objects.filter(user=agent).values_list("skill__name", "level")) == {
        "English": 9,
        "Bikes": 4,
    }
    state = AgentState.objects.get(user=agent)
    assert (state.capacity, state.channel_kinds) == (80, ["email"])

    page = admin_client.get(f"/admin/routing/agentstate/{agent.pk}/change/").content.decode()
    assert "English 9" in page and f"/admin/auth/user/{agent.pk}/change/" in page


def test_a_skill_level_outside_1_to_10_is_refused_on_the_users_page(admin_client, agent, english):
    url = f"/admin/auth/user/{agent.pk}/change/"
    response = submit(
        admin_client, url, form_on(admin_client, url), **{"skills-0-skill": english.pk, "skills-0-level": 12}
    )
    assert response.status_code == 200
    assert "less than or equal to 10" in response.content.decode()
    assert not AgentSkill.objects.exists()


def test_a_new_user_is_added_without_the_routing_forms(admin_client):
    page = admin_client.get("/admin/auth/user/add/").content.decode()
    assert "skills-TOTAL_FORMS" not in page


# ── history and access ────────────────────────────────────────────────────────────────────────────────────────


def test_work_and_presence_history_are_shown_and_cannot_be_changed(admin_client, agent):
    presence_set(user=agent, presence=Presence.ONLINE)
    customer = Customer.objects.create(name="Anssi")
    case = Case.objects.create(subject="Helmet", customer=customer)
    item = WorkItem.objects.create(case=case, queue=Queue.objects.get(is_default=True), channel_kind="email", units=10)
    listing = admin_client.get("/admin/routing/workitem/?status__exact=queued")
    assert listing.status_code == 200 and "Helmet" in listing.content.decode()
    assert admin_client.get("/admin/routing/presencelog/").status_code == 200
    assert admin_client.get("/admin/routing/workitem/add/").status_code == 403
    assert admin_client.post(f"/admin/routing/workitem/{item.pk}/change/", {"status": "done"}).status_code == 403
    assert admin_client.post(f"/admin/routing/workitem/{item.pk}/delete/", {"post": "yes"}).status_code == 403
    assert admin_client.get("/admin/routing/presencelog/add/").status_code == 403
    item.refresh_from_db()
    assert item.status == WorkItem.Status.QUEUED


@pytest.mark.parametrize("role", ["agent", "team_lead"])
def test_agents_and_team_leads_do_not_get_into_the_routing_admin(request, role):
    user: User = request.getfixturevalue(role)
    client = Client()
    client.force_login(user)
    for url in ("/admin/routing/queue/", "/admin/routing/routingrule/add/", "/admin/routing/agentstate/"):
        response = client.get(url)
        assert response.status_code == 302 and "/admin/login/" in response["Location"], url
    assert client.post("/admin/routing/queue/add/", {"name": "Sneaky"}).status_code == 302
    assert not Queue.objects.filter(name="Sneaky").exists()
