"""The demo company: loaded once, complete, consistent, and nothing of its history is sent again."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from tiski.accounts.models import Team
from tiski.cases.models import Case, Category, Message, Note
from tiski.channels.models import Channel, ChannelKind, Delivery
from tiski.core.demo import ANSSI_EMAIL, DEMO_PASSWORD, DEMO_USERS, HISTORY_DAYS, demo_load
from tiski.customers.models import Customer, Identity


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):  # type: ignore[no-untyped-def]
    """Load the demo once for this module, inside a transaction rolled back afterwards."""
    with django_db_blocker.unblock(), transaction.atomic():
        result = demo_load()
        yield result
        transaction.set_rollback(True)


def counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (User, Team, Category, Channel, Customer, Identity, Case, Message, Note)
    }


def test_loading_twice_changes_nothing(demo, db):  # type: ignore[no-untyped-def]
    assert demo.created
    before = counts()
    again = demo_load()
    assert not again.created
    assert counts() == before


def test_demo_loads_quickly(demo, db):  # type: ignore[no-untyped-def]
    # A guard against a pathological slowdown, not a measurement (about 15 s on a quiet machine): the suite runs
    # its two database passes side by side on two shared cores.
    assert demo.seconds < 40


def test_demo_has_every_channel_kind_with_cases(demo, db):  # type: ignore[no-untyped-def]
    kinds_with_cases = set(Case.objects.values_list("channel__kind", flat=True))
    assert kinds_with_cases == set(ChannelKind.values)
    assert Channel.objects.get(kind=ChannelKind.WEBFORM).address.startswith("support@")


def test_demo_has_cases_in_every_status_and_a_few_hundred_of_each_record(demo, db):  # type: ignore[no-untyped-def]
    assert set(Case.objects.values_list("status", flat=True)) == set(Case.Status.values)
    assert Case.objects.count() >= 300
    assert Customer.objects.count() >= 300
    assert Note.objects.exists()
    assert Customer.objects.filter(organization__isnull=False).exists()


def test_demo_speaks_finnish_and_english(demo, db):  # type: ignore[no-untyped-def]
    assert Customer.objects.filter(language="fi").count() > Customer.objects.filter(language="en").count() > 0
    assert Message.objects.filter(body_text__contains="Kiitos").exists()
    assert Message.objects.filter(body_text__contains="Thanks").exists()
    assert Category.objects.get(name="Returns").name_fi == "Palautukset"


def test_demo_users_log_in_with_the_demo_password(demo, db):  # type: ignore[no-untyped-def]
    for demo_user in DEMO_USERS:
        assert User.objects.get(username=demo_user.username).groups.filter(name=demo_user.role).exists()
    for username in ("admin", "maija"):  # hashing is slow on purpose: two are enough
        assert User.objects.get(username=username).check_password(DEMO_PASSWORD)
    assert User.objects.get(username="admin").is_superuser
    assert {"minna", "maija", "matti"} <= set(User.objects.values_list("username", flat=True))


def test_history_is_stored_as_sent_and_nothing_is_queued(demo, db):  # type: ignore[no-untyped-def]
    replies = Message.objects.filter(direction=Message.Direction.OUT)
    assert replies.exists()
    assert not replies.exclude(delivery_status=Message.Delivery.SENT).exists()
    assert not replies.filter(sent_at=None).exists()
    assert not Delivery.objects.exists()
    assert not DBTaskResult.objects.exists()


def test_timestamps_are_consistent_and_in_the_last_60_days(demo, db):  # type: ignore[no-untyped-def]
    now = timezone.now()
    assert not Case.objects.filter(created_at__lt=now - timedelta(days=HISTORY_DAYS + 1)).exists()
    assert not Case.objects.filter(created_at__gt=now).exists()
    assert not Case.objects.filter(first_response_at__lt=F("created_at")).exists()
    assert not Case.objects.filter(solved_at__lt=F("created_at")).exists()
    assert not Case.objects.filter(status__in=["solved", "closed"], solved_at=None).exists()
    assert not Case.objects.filter(status="closed", closed_at=None).exists()
    assert not Case.objects.filter(Q(status__in=Case.OPEN_STATUSES) & ~Q(solved_at=None)).exists()
    assert not Case.objects.filter(status="new").exclude(first_response_at=None).exists()
    assert not Message.objects.filter(created_at__lt=F("case__created_at")).exists()
    # The spread is real: cases from the first and the last week.
    assert Case.objects.filter(created_at__lt=now - timedelta(days=45)).exists()
    assert Case.objects.filter(created_at__gt=now - timedelta(days=2)).exists()


def test_anssi_journey_runs_across_channels(demo, db):  # type: ignore[no-untyped-def]
    anssi = Customer.objects.get(identities__kind="email", identities__value=ANSSI_EMAIL)
    cases = list(anssi.cases.order_by("created_at"))
    assert [case.channel.kind for case in cases if case.channel] == ["chat", "phone", "email", "instagram"]
    chat, callback, email, mention = cases
    assert "koko" in chat.subject.lower()
    assert chat.owner and chat.owner.username == "maija"
    assert chat.first_response_at is not None
    assert chat.first_response_at - chat.created_at < timedelta(minutes=10)
    assert "värinen paita" in callback.subject
    assert callback.owner and callback.owner.username == "matti"
    assert callback.first_response_at is not None
    assert callback.first_response_at - callback.created_at < timedelta(minutes=10)
    assert chat in callback.related.all()
    assert chat.reference in callback.notes.get().body
    assert email.owner and email.owner.username == "minna"
    assert email.messages.filter(channel__kind="sms", direction="out").exists()
    assert mention.status == Case.Status.NEW
    # Every contact was recognised as the same customer.
    # Recognised by his address on every channel; an unverified chat session id is not added to his record.
    assert {identity.kind for identity in anssi.identities.all()} >= {"email", "phone", "instagram"}


def test_demo_routing_has_queues_skills_rules_and_agents_profiles(demo, db):  # type: ignore[no-untyped-def]
    from tiski.routing.models import AgentSkill, AgentState, Presence, Queue, RoutingRule, Skill

    incidents = Queue.objects.get(name="Incidents")
    assert (incidents.name_fi, incidents.priority) == ("Häiriöt", 9)
    assert Queue.objects.get(is_default=True).name == "General"
    assert set(Skill.objects.exclude(language="").values_list("language", flat=True)) == {"fi", "en", "sv"}
    outage_rule = RoutingRule.objects.get(queue=incidents)
    assert "outage" in outage_rule.keywords and "häiriö" in outage_rule.keywords and not outage_rule.channel_kinds
    maija = AgentState.objects.get(user__username="maija")
    assert (maija.presence, maija.capacity, maija.load) == (Presence.OFFLINE, 100, 0)
    assert maija.queues.filter(pk=incidents.pk).exists()
    levels = dict(AgentSkill.objects.filter(skill__language="en").values_list("user__username", "level"))
    assert levels["maija"] == 9 and levels["minna"] == 5


def test_demo_work_items_agree_with_the_history(demo, db):  # type: ignore[no-untyped-def]
    from tiski.channels.voice.models import CallbackRequest
    from tiski.routing.models import AgentState, WorkItem

    # One item per case, made by the routing rules — except a callback asked for tomorrow morning: it waits.
    later = Case.objects.filter(callback_requests__status="scheduled").count()
    assert later == 1
    assert WorkItem.objects.count() == Case.objects.count() - later
    # Callbacks waiting: the caller's in the queue just now, and those missed calls left (tiski.reports.demo).
    waiting = CallbackRequest.objects.filter(status=CallbackRequest.Status.QUEUED).count()
    assert WorkItem.objects.filter(channel_kind="callback", status=WorkItem.Status.QUEUED).count() == waiting >= 1
    active = WorkItem.objects.filter(status__in=WorkItem.ACTIVE).exclude(channel_kind="callback")
    assert active.exists()
    # Only new cases nobody owns still wait; nothing of a solved, closed or pending case is active.
    assert not active.exclude(status=WorkItem.Status.QUEUED).exists()
    assert not active.exclude(case__status=Case.Status.NEW).exists()
    assert not active.filter(case__owner__isnull=False).exists()
    assert not active.exclude(enqueued_at=F("case__created_at")).exists()
    assert not AgentState.objects.exclude(load=0).exists()
    done = WorkItem.objects.filter(status=WorkItem.Status.DONE)
    assert not done.filter(Q(agent=None) | Q(closed_at=None)).exists()
    assert set(WorkItem.objects.values_list("queue__name", flat=True)) >= {"Incidents", "Chat and messaging", "General"}
    assert WorkItem.objects.filter(language="sv").exists()  # Swedish-speaking customers need the Swedish skill


def test_demo_has_automation_rules_that_act_on_new_contacts_only(demo, db):  # type: ignore[no-untyped-def]
    from tiski.automation.models import Rule, RuleRun

    rules = dict(Rule.objects.values_list("name", "enabled"))
    assert rules["VIP-asiakkaat ensin"] is True and rules["Sulje hiljaiset tapaukset"] is False
    assert not RuleRun.objects.exists()  # created after the history: the demo's past is as written
