"""The reports console: who sees which page, what a bad query says, and that a number's link lists exactly the cases
behind it (SQLite and PostgreSQL alike)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from html import unescape

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from tiski.accounts.models import Team
from tiski.cases.models import Case, Category, Message
from tiski.channels.models import Channel, ChannelKind
from tiski.customers.models import Customer, Organization
from tiski.reports.facts import facts_rebuild
from tiski.reports.filters import ReportFilter
from tiski.reports.templatetags.reports_console import change, duration, unit_value

REPORT_PAGES = ["dashboard", "dashboard-live", "reasons", "agents", "teams", "channels", "organizations", "products"]


@pytest.fixture
def floor(db, agent: User, other_agent: User) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """Cases of the last weeks on email and chat: some this period, one the period before, a burst of invoice
    questions yesterday against a few in the four weeks before, and two open cases nobody owns."""
    zone = ReportFilter.last_days(1).zone
    now = timezone.now()
    today = now.astimezone(zone).date()
    yesterday_10 = datetime.combine(today - timedelta(days=1), datetime.min.time(), tzinfo=zone) + timedelta(hours=10)
    org = Organization.objects.create(name="Pyörä Oy")
    anssi = Customer.objects.create(name="Anssi Asiakas", organization=org)
    liisa = Customer.objects.create(name="Liisa Laine")
    email = Channel.objects.create(kind=ChannelKind.EMAIL, name="Mail", address="help@shop.example")
    chat = Channel.objects.create(kind=ChannelKind.CHAT, name="Chat")
    invoices, returns = Category.objects.create(name="Invoices"), Category.objects.create(name="Returns")
    billing = Team.objects.create(name="Billing")
    made: dict[str, list[Case]] = {"email": [], "chat": [], "open": [], "invoice_burst": [], "invoice_before": []}

    def case(
        subject: str,
        *,
        channel: Channel,
        created: datetime,
        owner: User | None,
        status: str = "solved",
        category: Category | None = None,
        customer: Customer = anssi,
        product: str = "",
    ) -> Case:
        c = Case.objects.create(
            subject=subject,
            customer=customer,
            channel=channel,
            owner=owner,
            status=status,
            category=category,
            team=billing if channel == email else None,
            product=product,
        )
        first = created + timedelta(minutes=20) if status != "new" else None
        solved = created + timedelta(hours=3) if status == "solved" else None
        Case.objects.filter(pk=c.pk).update(created_at=created, first_response_at=first, solved_at=solved)
        Message.objects.create(case=c, channel=channel, direction="in", author="customer", body_text="Hei")
        Message.objects.filter(case=c).update(created_at=created)
        if first:
            Message.objects.create(
                case=c, channel=channel, direction="out", author="agent", author_user=owner, body_text="Kiitos"
            )
        return c

    for days in (2, 3, 5):
        made["email"].append(
            case(
                "Delivery late",
                channel=email,
                created=now - timedelta(days=days),
                owner=agent,
                category=returns,
                product="Trail 29",
            )
        )
    for days in (4, 6):
        made["chat"].append(
            case("Size question", channel=chat, created=now - timedelta(days=days), owner=other_agent, customer=liisa)
        )
    made["old"] = [case("Old question", channel=email, created=now - timedelta(days=40), owner=agent)]
    for n in range(6):
        made["invoice_burst"].append(
            case(
                f"Invoice twice {n}",
                channel=email,
                created=yesterday_10 + timedelta(minutes=n),
                owner=None,
                status="open",
                category=invoices,
            )
        )
    for back in (3, 10, 17):
        made["invoice_before"].append(
            case(
                "Invoice copy",
                channel=email,
                created=yesterday_10 - timedelta(days=back),
                owner=agent,
                category=invoices,
            )
        )
    for n in range(2):
        made["open"].append(
            case(
                f"Where is my parcel {n}",
                channel=chat,
                created=now - timedelta(minutes=30 + n),
                owner=None,
                status="new",
                customer=liisa,
            )
        )
    facts_rebuild()
    return {**made, "billing": billing, "org": org, "invoices": invoices, "email_channel": email}


def login(client: Client, user: User) -> Client:
    client.force_login(user)
    return client


def links_in(html: str) -> list[str]:
    return [unescape(h) for h in re.findall(r'href="([^"]+)"', html)]


def references_on(html: str) -> set[str]:
    return set(re.findall(r'<span class="ref">([^<]+)</span>', html))


# ── who sees what ──────────────────────────────────────────────────────────────────────────────────────────────


def test_team_lead_sees_every_report_page(client: Client, team_lead: User, agent: User, floor) -> None:  # type: ignore[no-untyped-def]
    login(client, team_lead)
    urls = [reverse(f"reports:{name}") for name in REPORT_PAGES]
    urls += [
        reverse("reports:agent", args=[agent.pk]),
        reverse("reports:team", args=[floor["billing"].pk]),
        reverse("reports:channel", args=["email"]),
        reverse("reports:organization", args=[floor["org"].pk]),
        reverse("reports:product", args=["Trail 29"]),
        reverse("reports:me"),
        reverse("reports:figure", args=["contacts_in"]) + "?by=weekday_hour",
        reverse("reports:figure", args=["first_response"]) + "?by=agent&days=90",
        reverse("reports:figure", args=["backlog"]),
        reverse("reports:cases") + "?figure=contacts_in&days=28",
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url


def test_agents_see_their_own_figures_and_nothing_else(
    client: Client,
    agent: User,
    other_agent: User,
    floor,  # type: ignore[no-untyped-def]
) -> None:
    login(client, agent)
    mine = client.get(reverse("reports:me"))
    assert mine.status_code == 200
    assert "Maija Mäkinen" in mine.content.decode()
    assert client.get(reverse("reports:agent", args=[agent.pk])).status_code == 200
    refused = [reverse(f"reports:{name}") for name in REPORT_PAGES]
    refused += [
        reverse("reports:agent", args=[other_agent.pk]),
        reverse("reports:team", args=[floor["billing"].pk]),
        reverse("reports:channel", args=["email"]),
        reverse("reports:figure", args=["contacts_in"]),
        reverse("reports:cases") + "?figure=contacts_in",  # everyone's cases
        reverse("reports:cases") + f"?figure=contacts_in&agent={other_agent.pk}",
    ]
    for url in refused:
        assert client.get(url).status_code == 403, url
    # The numbers on their own page link to their own cases, which they may open.
    own = [u for u in links_in(mine.content.decode()) if u.startswith(reverse("reports:cases"))]
    assert own and all(f"agent={agent.pk}" in u for u in own)
    listed = client.get(own[0])
    assert listed.status_code == 200
    assert references_on(listed.content.decode()) <= {c.reference for c in Case.objects.filter(owner=agent)}


def test_the_nav_leads_team_leads_to_the_dashboard_and_agents_to_their_own_page(
    client: Client, agent: User, team_lead: User
) -> None:
    page = login(client, agent).get(reverse("console:inbox")).content.decode()
    assert f'href="{reverse("reports:me")}"' in page and f'href="{reverse("reports:dashboard")}"' not in page
    page = login(Client(), team_lead).get(reverse("console:inbox")).content.decode()
    assert f'href="{reverse("reports:dashboard")}"' in page


# ── bad queries ────────────────────────────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("/console/reports/agents/?from=2026-13-01", "from: expected a date as YYYY-MM-DD, got &#x27;2026-13-01&#x27;"),
        ("/console/reports/teams/?from=2026-11-20&to=2026-11-01", "to (2026-11-01) is before from (2026-11-20)"),
        ("/console/reports/channels/?days=0&team=abc", "team: expected an id (a whole number), got &#x27;abc&#x27;"),
        ("/console/reports/figures/first_response/?by=weekday", "it can by: none, day"),
        ("/console/reports/reasons/?day=yesterday", "day: expected a date as YYYY-MM-DD"),
        ("/console/reports/reasons/?by=colour", "by: expected one of category, type, tag, keyword"),
        ("/console/reports/cases/?figure=contacts_in&colour=red", "unknown parameters: colour"),
        ("/console/reports/cases/?day=last-monday", "day: expected YYYY-MM-DD"),
    ],
)
def test_a_bad_query_says_what_is_wrong_with_status_400(
    client: Client, team_lead: User, url: str, message: str
) -> None:
    response = login(client, team_lead).get(url)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert "Start over with the defaults" in response.content.decode()
    assert "offers__error" not in response.content.decode()  # said once, in the page, not in the console's dock


def test_an_unknown_figure_or_dimension_value_is_404(client: Client, team_lead: User) -> None:
    login(client, team_lead)
    assert client.get(reverse("reports:figure", args=["happiness"])).status_code == 404
    assert client.get(reverse("reports:channel", args=["telegram"])).status_code == 404
    assert client.get(reverse("reports:team", args=[9999])).status_code == 404


# ── numbers and the cases behind them ──────────────────────────────────────────────────────────────────────────


def test_a_rows_link_lists_exactly_the_cases_behind_it(client: Client, team_lead: User, floor) -> None:  # type: ignore[no-untyped-def]
    login(client, team_lead)
    page = client.get(reverse("reports:figure", args=["contacts_in"]) + "?by=channel_kind&days=28").content.decode()
    email_row = re.search(r'<th scope="row">Email</th>\s*<td class="num"><a href="([^"]+)">(\d+)</a>', page)
    assert email_row is not None
    url, shown = unescape(email_row.group(1)), int(email_row.group(2))
    expected = {c.reference for c in floor["email"] + floor["invoice_burst"] + floor["invoice_before"]}
    assert shown == len(expected) == 12  # the case 40 days ago is outside the range
    listed = client.get(url).content.decode()
    assert references_on(listed) == expected
    assert "12 cases" in listed and "Channel: Email" in listed


def test_a_no_team_row_drills_to_the_cases_without_a_team(client: Client, team_lead: User, floor) -> None:  # type: ignore[no-untyped-def]
    login(client, team_lead)
    page = client.get(reverse("reports:teams") + "?days=28").content.decode()
    row = re.search(
        r'<span class="muted">No team</span></th>\s*<td class="num rank__fig"><span class="rank__value">'
        r'<a href="([^"]+)">(\d+)</a>',
        page,
    )
    assert row is not None
    listed = client.get(unescape(row.group(1)))
    assert listed.status_code == 200
    assert references_on(listed.content.decode()) == {c.reference for c in floor["chat"] + floor["open"]}


def test_rankings_compare_with_the_previous_period_in_words(client: Client, team_lead: User, floor) -> None:  # type: ignore[no-untyped-def]
    login(client, team_lead)
    with translation.override("en"):
        page = client.get(reverse("reports:agents") + "?days=30").content.decode()
    assert "Maija Mäkinen" in page and "Matti Virtanen" in page and "No owner" in page
    # Maija: three deliveries and three invoice copies in the 30 days, one old question in the 30 days before.
    maija = page[page.index("Maija Mäkinen") :]
    assert re.match(
        r'Maija Mäkinen</a></th>\s*<td class="num rank__fig"><span class="rank__value"><a href="[^"]+">6</a>', maija
    )
    assert "500% more than 1" in maija[:2000]  # in words for screen readers; ▲ 500% (1) on screen
    assert '<span class="chg__was">(1)</span>' in maija[:2000]
    assert "compared with" in page


def test_the_dashboard_part_refreshes_on_its_own_and_links_its_numbers(
    client: Client,
    team_lead: User,
    floor,  # type: ignore[no-untyped-def]
) -> None:
    login(client, team_lead)
    full = client.get(reverse("reports:dashboard")).content.decode()
    assert 'id="dash-live"' in full and "When contacts arrive" in full
    part = client.get(reverse("reports:dashboard-live"), HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in part
    assert 'hx-trigger="every 30s"' in part and 'hx-swap="outerHTML"' in part
    unassigned = re.search(r'Unassigned</dt>\s*<dd class="tile__value"><a href="([^"]+)">(\d+)</a>', part)
    assert unassigned is not None and int(unassigned.group(2)) == 8  # the two new chats and the six invoices
    listed = client.get(unescape(unassigned.group(1))).content.decode()
    assert references_on(listed) == {c.reference for c in floor["open"] + floor["invoice_burst"]}


def test_root_causes_say_what_spiked(client: Client, team_lead: User, floor) -> None:  # type: ignore[no-untyped-def]
    login(client, team_lead)
    yesterday = (timezone.now().astimezone(ReportFilter.last_days(1).zone) - timedelta(days=1)).date()
    with translation.override("en"):
        page = client.get(reverse("reports:reasons") + f"?by=category&day={yesterday.isoformat()}").content.decode()
    assert re.search(r"Cases in “Invoices” are [\d.]+× their usual level on ", page)
    link = re.search(r'<li><a href="([^"]+)">Cases in “Invoices”', page)
    assert link is not None
    assert references_on(client.get(unescape(link.group(1))).content.decode()) == {
        c.reference for c in floor["invoice_burst"]
    }
    assert client.get(reverse("reports:reasons") + "?by=keyword").status_code == 200


# ── how values read ────────────────────────────────────────────────────────────────────────────────────────────


def test_durations_and_values_read_in_the_users_language() -> None:
    with translation.override("en"):
        assert [duration(s) for s in (None, 42, 240, 7800, 7200, 97200)] == [
            "–",
            "42 s",
            "4 min",
            "2 h 10 min",
            "2 h",
            "1 d 3 h",
        ]
        assert unit_value(1234, "count") == "1,234" and unit_value(92.5, "percent") == "92.5%"
        assert "▼" in change(600, 900, "seconds", "down") and "5 min faster" in change(600, 900, "seconds", "down")
    with translation.override("fi"):
        assert duration(7800) == "2 t 10 min"
        assert unit_value(1234, "count") == "1\xa0234" and unit_value(92.5, "percent") == "92,5 %"
        assert "enemmän" in change(12, 10, "count", "")
