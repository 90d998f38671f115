"""The customer 360° page and the case's customer pane: what they show, filters, paging, query counts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tiski.cases.models import Case, CaseEvent, Message, Note
from tiski.channels.models import Channel
from tiski.console.customer_views import TIMELINE_PAGE
from tiski.customers.models import (
    Customer,
    CustomerEvent,
    ExternalRecord,
    Identity,
    MatchSuggestion,
    Organization,
    SourceSystem,
)


@pytest.fixture
def anssi(db: object) -> Customer:
    org = Organization.objects.create(name="Pohjolan Pyörä Oy", domain="pohjolanpyora.example")
    customer = Customer.objects.create(
        name="Anssi Asiakas",
        organization=org,
        tier=Customer.Tier.VIP,
        language="fi",
        interests="Looking at four-wheel-drive cars",
        address="Hämeenkatu 1\n33100 Tampere",
        notes="Prefers email.",
    )
    Identity.objects.create(customer=customer, kind="email", value="anssi@example.com", verified=True)
    Identity.objects.create(customer=customer, kind="phone", value="+358401234567")
    return customer


def _records(customer: Customer) -> None:
    SourceSystem.objects.create(slug="shop", name="Shop", url_template="https://shop.example/{kind}/{external_id}")
    today = timezone.localdate()
    ExternalRecord.objects.create(
        kind="order",
        source="shop",
        external_id="48213",
        customer=customer,
        title="Winter jacket",
        status="shipped",
        date=today - timedelta(days=10),
        due_date=today - timedelta(days=2),
        amount=Decimal("1189.50"),
        currency="EUR",
    )
    ExternalRecord.objects.create(
        kind="invoice",
        source="erp",
        external_id="900233",
        customer=customer,
        title="Invoice 900233",
        status="in_collection",
        date=today - timedelta(days=60),
        amount=Decimal("94.80"),
        currency="EUR",
    )
    ExternalRecord.objects.create(
        kind="contract",
        source="erp",
        external_id="KA-1",
        customer=customer,
        title="Service contract",
        status="active",
        renewal_date=today + timedelta(days=12),
    )


def _history(customer: Customer, channel: Channel, agent: User, *, cases: int, messages: int) -> list[Case]:
    made = []
    start = timezone.now() - timedelta(days=400)
    for c in range(cases):
        case = Case.objects.create(subject=f"Question {c}", customer=customer, channel=channel)
        rows = [
            Message(
                case=case,
                channel=channel,
                direction="in" if m % 2 == 0 else "out",
                author="customer" if m % 2 == 0 else "agent",
                body_text=f"case {c} message {m}",
            )
            for m in range(messages)
        ]
        Message.objects.bulk_create(rows)
        Note.objects.create(case=case, author=agent, body=f"note on case {c}")
        CaseEvent.objects.create(case=case, kind=CaseEvent.Kind.STATUS_CHANGED, actor=agent, data={"new": "solved"})
        made.append(case)
    for i, message in enumerate(Message.objects.filter(case__customer=customer).order_by("pk")):
        Message.objects.filter(pk=message.pk).update(created_at=start + timedelta(minutes=i))
    return made


def test_360_page_shows_who_the_customer_is(agent_client: Client, anssi: Customer, email_channel: Channel) -> None:
    Customer.objects.filter(pk=anssi.pk).update(marketing_suppressed=True)
    _records(anssi)
    response = agent_client.get(reverse("console:customer", args=[anssi.pk]))
    assert response.status_code == 200
    content = response.content.decode()
    for text in (
        "Anssi Asiakas",
        "Pohjolan Pyörä Oy",
        "VIP",
        "anssi@example.com",
        "+358401234567",
        "Looking at four-wheel-drive cars",
        "Hämeenkatu 1",
        "Prefers email.",
        "Do not market",
    ):
        assert text in content, text
    assert reverse("console:organization", args=[anssi.organization_id]) in content


def test_360_page_shows_signals_as_lights_with_labels(agent_client: Client, anssi: Customer) -> None:
    _records(anssi)
    content = agent_client.get(reverse("console:customer", args=[anssi.pk])).content.decode()
    for label, level in (("Order late", "red"), ("Invoice in collection", "red"), ("VIP", "green")):
        assert f'class="signal signal--{level}"' in content
        assert label in content
    assert 'class="light light--red"' in content


def test_360_page_groups_records_by_kind_with_amounts_and_links(agent_client: Client, anssi: Customer) -> None:
    _records(anssi)
    content = agent_client.get(reverse("console:customer", args=[anssi.pk])).content.decode()
    assert content.index("Orders") < content.index("Invoices") < content.index("Contracts")
    assert "€1,189.50" in content
    assert 'href="https://shop.example/order/48213"' in content
    assert "in collection" in content
    assert "renews" in content and "in 12 days" in content


def test_amounts_follow_the_language(agent_client: Client, anssi: Customer) -> None:
    _records(anssi)
    agent_client.cookies["django_language"] = "fi"
    content = agent_client.get(reverse("console:customer", args=[anssi.pk])).content.decode()
    assert "1\xa0189,50\xa0€" in content


def test_360_page_shows_open_and_recent_cases(
    agent_client: Client, anssi: Customer, make_case: Callable[..., Case]
) -> None:
    open_case = make_case(customer=anssi, subject="Still broken")
    solved = make_case(customer=anssi, subject="Was fixed", status="solved")
    content = agent_client.get(reverse("console:customer", args=[anssi.pk])).content.decode()
    assert content.index("Open cases") < content.index(open_case.reference) < content.index("Recent cases")
    assert content.index("Recent cases") < content.index(solved.reference)


def test_360_timeline_merges_every_case_and_pages_older_entries(
    agent_client: Client, anssi: Customer, email_channel: Channel, agent: User
) -> None:
    _history(anssi, email_channel, agent, cases=3, messages=30)
    response = agent_client.get(reverse("console:customer", args=[anssi.pk]))
    page = response.context["timeline"]
    assert len(page.entries) == TIMELINE_PAGE and page.next_cursor
    content = response.content.decode()
    assert "case 2 message 29" in content and "Load older" in content
    older = agent_client.get(
        reverse("console:customer-timeline", args=[anssi.pk]), {"before": page.next_cursor}, HTTP_HX_REQUEST="true"
    )
    assert older.status_code == 200
    text = older.content.decode()
    # The first page: three notes and three events (written now), then the newest messages, of case 2.
    last_shown = 30 - (TIMELINE_PAGE - 6)
    assert "<html" not in text and "case 2 message 29" not in text and f"case 2 message {last_shown}<" not in text
    assert f"case 2 message {last_shown - 1}<" in text and "Load older" in text


def test_360_timeline_filters_by_kind_and_channel(
    agent_client: Client, anssi: Customer, email_channel: Channel, phone_channel: Channel, agent: User
) -> None:
    _history(anssi, email_channel, agent, cases=1, messages=2)
    call = Case.objects.create(subject="Phoned", customer=anssi, channel=phone_channel)
    Message.objects.create(case=call, channel=phone_channel, direction="in", author="customer", body_text="Called us")
    url = reverse("console:customer-timeline", args=[anssi.pk])
    notes = agent_client.get(url, {"kind": "notes"}, HTTP_HX_REQUEST="true").content.decode()
    assert "note on case 0" in notes and "case 0 message" not in notes
    phone = agent_client.get(url, {"channel": "phone"}, HTTP_HX_REQUEST="true").content.decode()
    assert "Called us" in phone and "case 0 message" not in phone and "note on case" not in phone
    assert 'value="phone" selected' in phone


def test_a_forged_cursor_is_refused_with_a_clear_error(agent_client: Client, anssi: Customer) -> None:
    response = agent_client.get(reverse("console:customer-timeline", args=[anssi.pk]), {"before": "x.message.1"})
    assert response.status_code == 400
    assert "not a timeline position" in response.content.decode()
    # The full page never fails on a bad cursor: it starts from the newest entries.
    assert agent_client.get(reverse("console:customer", args=[anssi.pk]), {"before": "junk"}).status_code == 200


def test_360_page_costs_the_same_queries_for_a_long_history(
    agent_client: Client,
    anssi: Customer,
    email_channel: Channel,
    agent: User,
    django_assert_max_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    _records(anssi)
    _history(anssi, email_channel, agent, cases=3, messages=3)
    url = reverse("console:customer", args=[anssi.pk])
    with django_assert_max_num_queries(100) as small:
        agent_client.get(url)
    _history(anssi, email_channel, agent, cases=40, messages=25)
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = agent_client.get(url)
    assert response.status_code == 200
    # session, user, permissions (2), customer, identities, signals (2), suggestions, cases (2),
    # records (3), follow, bell, the screen-pop (the agent's calls), and the timeline: 4 narrow reads per time
    # window (at most 3 windows when the history is old and sparse, as here), then the entries (3 kinds,
    # attachments, cases); and the user's partner, if any (tiski.accounts.scope).
    assert len(small.captured_queries) <= 14 + 1 + 1 + 4 * 3 + 5 + 1


def test_provisional_customer_shows_suggestions_with_link_buttons(agent_client: Client, anssi: Customer) -> None:
    unknown = Customer.objects.create(name="Anssi Asiakas", provisional=True)
    Identity.objects.create(customer=unknown, kind="phone", value="+358409999999")
    suggestion = MatchSuggestion.objects.create(
        customer=unknown, candidate=anssi, score=92, reasons=[{"kind": "name", "detail": "Anssi Asiakas = Anssi"}]
    )
    content = agent_client.get(reverse("console:customer", args=[unknown.pk])).content.decode()
    assert "Unconfirmed" in content
    assert "92 %" in content and "Name: Anssi Asiakas = Anssi" in content
    assert reverse("console:suggestion-link", args=[suggestion.pk]) in content
    assert reverse("console:suggestion-reject", args=[suggestion.pk]) in content


def test_erased_customer_page_says_so(admin_client_: Client, anssi: Customer) -> None:
    Customer.objects.filter(pk=anssi.pk).update(name="", erased_at=timezone.now())
    content = admin_client_.get(reverse("console:customer", args=[anssi.pk])).content.decode()
    assert f"Erased customer #{anssi.pk}" in content
    assert "Erase…" not in content and "Merge…" not in content


def test_customer_events_read_as_sentences(agent_client: Client, anssi: Customer, team_lead: User) -> None:
    CustomerEvent.objects.create(
        customer=anssi,
        kind=CustomerEvent.Kind.MERGED,
        actor=team_lead,
        data={"merged": {"id": 99, "name": "A. Asiakas"}, "identities": []},
    )
    CustomerEvent.objects.create(
        customer=anssi,
        kind=CustomerEvent.Kind.SPLIT,
        actor=team_lead,
        data={"identity": {"kind": "phone", "value": "+358401111111"}, "to_customer": 77},
    )
    content = agent_client.get(reverse("console:customer", args=[anssi.pk])).content.decode()
    assert "Minna Korhonen merged customer A. Asiakas into this one" in content
    assert "Minna Korhonen split +358401111111 off to a new customer" in content
    assert reverse("console:customer", args=[77]) in content


# The case's customer pane ---------------------------------------------------------------------------------------


def test_case_pane_is_a_compact_360(
    agent_client: Client, anssi: Customer, make_case: Callable[..., Case], email_channel: Channel
) -> None:
    _records(anssi)
    earlier = make_case(customer=anssi, channel=email_channel, message="My old order never came", status="solved")
    case = make_case(customer=anssi, channel=email_channel, message="Hello again")
    content = agent_client.get(reverse("console:case", args=[case.reference])).content.decode()
    pane = content[content.index('id="customer-pane"') :]
    assert "Order late" in pane and 'class="light light--red"' in pane
    assert "Winter jacket" in pane and "€1,189.50" in pane  # the last order, without scrolling
    assert "My old order never came" in pane and earlier.reference in pane  # earlier contacts
    assert reverse("console:customer", args=[anssi.pk]) in pane
    assert reverse("console:customer-follow", args=[anssi.pk]) in pane
    assert reverse("console:case-follow", args=[case.reference]) in content


def test_case_page_with_history_costs_a_bounded_number_of_queries(
    agent_client: Client,
    anssi: Customer,
    email_channel: Channel,
    agent: User,
    django_assert_max_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    _records(anssi)
    cases = _history(anssi, email_channel, agent, cases=20, messages=10)
    # signals: 2 queries whatever the number of rules; calls: the screen-pop's, whether one can dial out, and the
    # case's callback request; service levels: its clocks; surveys: the feedback panel's invitations and answers;
    # the user's partner, if any (tiski.accounts.scope)
    with django_assert_max_num_queries(43):
        response = agent_client.get(reverse("console:case", args=[cases[0].reference]))
    assert response.status_code == 200


# The inbox --------------------------------------------------------------------------------------------------------


def test_inbox_rows_show_the_customers_signals_with_accessible_labels(
    agent_client: Client, anssi: Customer, make_case: Callable[..., Case]
) -> None:
    make_case(customer=anssi, subject="Complaint about the jacket", type=Case.Type.COMPLAINT)
    plain = make_case(subject="Plain question")
    content = agent_client.get(reverse("console:inbox")).content.decode()
    row = content[content.index("Complaint about the jacket") :]
    row = row[: row.index("</tr>")]
    assert 'class="light light--red"' in row and 'class="light light--green"' in row
    assert "Signals: Complaint open" in row and "VIP" in row
    other = content[content.index(plain.subject) :]
    assert "signal-mini" not in other[: other.index("</tr>")]
