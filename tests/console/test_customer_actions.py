"""The 360° actions in the console: follow, link or reject a suggestion, merge, split, export, erase,
notifications — and who may do each (anonymous users log in first, unknown ids are 404)."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.conftest import PASSWORD
from tiski.cases.models import Case, Message
from tiski.channels.models import Channel
from tiski.customers.models import Customer, CustomerEvent, Identity, MatchSuggestion, Organization
from tiski.notifications.models import Follow, Notification


@pytest.fixture
def anssi(db: object) -> Customer:
    customer = Customer.objects.create(name="Anssi Asiakas", tier=Customer.Tier.GOLD)
    Identity.objects.create(customer=customer, kind="email", value="anssi@example.com")
    Identity.objects.create(customer=customer, kind="phone", value="+358401234567")
    return customer


@pytest.fixture
def caller(db: object) -> Customer:
    """A provisional customer made by a call from an unknown number."""
    customer = Customer.objects.create(name="Anssi Asiakas", provisional=True)
    Identity.objects.create(customer=customer, kind="phone", value="+358409999999")
    return customer


@pytest.fixture
def suggestion(caller: Customer, anssi: Customer) -> MatchSuggestion:
    return MatchSuggestion.objects.create(
        customer=caller, candidate=anssi, score=92, reasons=[{"kind": "name", "detail": "same name"}]
    )


@pytest.fixture
def outsider(db: object) -> User:
    return User.objects.create_user(username="outsider", password=PASSWORD)


def _posts(anssi: Customer, suggestion: MatchSuggestion, case: Case) -> list[tuple[str, dict[str, str]]]:
    identity = anssi.identities.first()
    assert identity is not None
    return [
        (reverse("console:customer-follow", args=[anssi.pk]), {"action": "follow"}),
        (reverse("console:case-follow", args=[case.reference]), {"action": "follow"}),
        (reverse("console:suggestion-link", args=[suggestion.pk]), {}),
        (reverse("console:suggestion-reject", args=[suggestion.pk]), {}),
        (reverse("console:customer-merge", args=[anssi.pk]), {"other": str(suggestion.customer_id), "keep": "this"}),
        (reverse("console:identity-split", args=[identity.pk]), {}),
        (reverse("console:customer-export", args=[anssi.pk]), {}),
        (reverse("console:customer-erase", args=[anssi.pk]), {"confirm": str(anssi.pk)}),
        (reverse("console:notifications"), {}),
    ]


def _gets(anssi: Customer) -> list[str]:
    org = Organization.objects.create(name="Org")
    return [
        reverse("console:customer", args=[anssi.pk]),
        reverse("console:customer-timeline", args=[anssi.pk]),
        reverse("console:customer-merge", args=[anssi.pk]),
        reverse("console:customer-erase", args=[anssi.pk]),
        reverse("console:organization", args=[org.pk]),
        reverse("console:notifications"),
        reverse("console:notification-open", args=[1]),
    ]


def test_anonymous_users_are_sent_to_login_and_nothing_changes(
    client: Client, anssi: Customer, suggestion: MatchSuggestion, make_case: Callable[..., Case]
) -> None:
    case = make_case(customer=anssi)
    for url in _gets(anssi):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/?next="), url
    for url, data in _posts(anssi, suggestion, case):
        response = client.post(url, data)
        assert response.status_code == 302 and response["Location"].startswith("/login/?next="), url
    assert Customer.objects.filter(pk=suggestion.customer_id).exists()
    assert Customer.objects.get(pk=anssi.pk).erased_at is None
    assert not Follow.objects.exists() and not CustomerEvent.objects.exists()


def test_users_without_the_agent_role_get_403(
    client: Client, outsider: User, anssi: Customer, suggestion: MatchSuggestion, make_case: Callable[..., Case]
) -> None:
    client.force_login(outsider)
    case = make_case(customer=anssi)
    for url in _gets(anssi):
        assert client.get(url).status_code == 403, url
    for url, data in _posts(anssi, suggestion, case):
        assert client.post(url, data).status_code == 403, url
    assert Customer.objects.filter(pk=suggestion.customer_id).exists()


def test_unknown_ids_are_404(agent_client: Client, lead_client: Client, admin_client_: Client) -> None:
    for url in (
        reverse("console:customer", args=[999]),
        reverse("console:customer-timeline", args=[999]),
        reverse("console:organization", args=[999]),
        reverse("console:notification-open", args=[999]),
    ):
        assert agent_client.get(url).status_code == 404, url
    for url in (
        reverse("console:customer-follow", args=[999]),
        reverse("console:organization-follow", args=[999]),
        reverse("console:case-follow", args=["TSK-99999"]),
        reverse("console:suggestion-link", args=[999]),
        reverse("console:suggestion-reject", args=[999]),
    ):
        assert agent_client.post(url).status_code == 404, url
    assert admin_client_.post(reverse("console:customer-export", args=[999])).status_code == 404
    assert admin_client_.get(reverse("console:customer-erase", args=[999])).status_code == 404
    assert admin_client_.get(reverse("console:customer-merge", args=[999])).status_code == 404
    assert admin_client_.post(reverse("console:identity-split", args=[999])).status_code == 404


# Following ------------------------------------------------------------------------------------------------------


def test_follow_and_unfollow_a_customer_with_htmx(agent_client: Client, agent: User, anssi: Customer) -> None:
    url = reverse("console:customer-follow", args=[anssi.pk])
    response = agent_client.post(url, {"action": "follow"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert 'aria-pressed="true"' in response.content.decode() and "Following" in response.content.decode()
    assert Follow.objects.filter(user=agent, customer=anssi).exists()
    response = agent_client.post(url, {"action": "unfollow"}, HTTP_HX_REQUEST="true")
    assert 'aria-pressed="false"' in response.content.decode()
    assert not Follow.objects.filter(user=agent, customer=anssi).exists()


def test_follow_a_case_and_an_organisation_without_javascript(
    agent_client: Client, agent: User, anssi: Customer, make_case: Callable[..., Case]
) -> None:
    case = make_case(customer=anssi)
    org = Organization.objects.create(name="Pohjolan Pyörä Oy")
    back = reverse("console:case", args=[case.reference])
    response = agent_client.post(reverse("console:case-follow", args=[case.reference]), {"next": back})
    assert response.status_code == 302 and response["Location"] == back
    agent_client.post(reverse("console:organization-follow", args=[org.pk]), {"next": "https://evil.example/"})
    assert Follow.objects.filter(user=agent, case=case).exists()
    assert Follow.objects.filter(user=agent, organization=org).exists()
    page = agent_client.get(reverse("console:organization", args=[org.pk])).content.decode()
    assert "Following" in page


def test_follow_redirect_never_leaves_the_site(agent_client: Client, anssi: Customer) -> None:
    response = agent_client.post(reverse("console:customer-follow", args=[anssi.pk]), {"next": "https://evil.example/"})
    assert response.status_code == 302 and not response["Location"].startswith("https://evil")


# Suggestions ----------------------------------------------------------------------------------------------------


def test_agent_links_a_suggestion_from_the_case_and_sees_the_merged_customer(
    agent_client: Client,
    caller: Customer,
    anssi: Customer,
    suggestion: MatchSuggestion,
    make_case: Callable[..., Case],
    email_channel: Channel,
    phone_channel: Channel,
) -> None:
    make_case(customer=anssi, channel=email_channel, message="My order 48213 never came", status="solved")
    call = make_case(customer=caller, channel=phone_channel, message="Calling about my order")
    page = agent_client.get(reverse("console:case", args=[call.reference])).content.decode()
    assert "Probably" in page and "92 %" in page
    response = agent_client.post(
        reverse("console:suggestion-link", args=[suggestion.pk]), {"case": call.reference}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    pane = response.content.decode()
    assert pane.lstrip().startswith('<aside id="customer-pane"')
    assert "Linked: this contact is Anssi Asiakas." in pane
    assert "My order 48213 never came" in pane  # the earlier email case, now the same customer's
    assert "+358409999999" in pane and "Probably" not in pane
    call.refresh_from_db()
    assert call.customer_id == anssi.pk
    assert not Customer.objects.filter(pk=caller.pk).exists()


def test_linking_from_the_360_page_goes_to_the_known_customer(
    agent_client: Client, caller: Customer, anssi: Customer, suggestion: MatchSuggestion
) -> None:
    response = agent_client.post(reverse("console:suggestion-link", args=[suggestion.pk]))
    assert response.status_code == 302 and response["Location"] == reverse("console:customer", args=[anssi.pk])
    response = agent_client.post(reverse("console:suggestion-link", args=[suggestion.pk]), HTTP_HX_REQUEST="true")
    assert response.status_code == 404  # the suggestion went with the provisional customer


def test_not_the_same_closes_the_suggestion(
    agent_client: Client, caller: Customer, suggestion: MatchSuggestion, make_case: Callable[..., Case]
) -> None:
    call = make_case(customer=caller)
    response = agent_client.post(
        reverse("console:suggestion-reject", args=[suggestion.pk]), {"case": call.reference}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200 and "Probably" not in response.content.decode()
    suggestion.refresh_from_db()
    assert suggestion.status == MatchSuggestion.Status.REJECTED
    again = agent_client.post(
        reverse("console:suggestion-reject", args=[suggestion.pk]), {"case": call.reference}, HTTP_HX_REQUEST="true"
    )
    assert again.status_code == 409 and "already" in again.content.decode()


# Merge and split ------------------------------------------------------------------------------------------------


def test_agent_may_not_merge_or_split(agent_client: Client, anssi: Customer, caller: Customer) -> None:
    assert agent_client.get(reverse("console:customer-merge", args=[anssi.pk])).status_code == 403
    response = agent_client.post(reverse("console:customer-merge", args=[anssi.pk]), {"other": caller.pk})
    assert response.status_code == 403
    identity = anssi.identities.get(kind="phone")
    assert agent_client.post(reverse("console:identity-split", args=[identity.pk])).status_code == 403
    assert Customer.objects.filter(pk=caller.pk).exists()
    page = agent_client.get(reverse("console:customer", args=[anssi.pk])).content.decode()
    assert "Merge…" not in page and "Split off" not in page and "Export data" not in page and "Erase…" not in page


def test_team_lead_finds_and_merges_another_customer(
    lead_client: Client, anssi: Customer, make_case: Callable[..., Case]
) -> None:
    other = Customer.objects.create(name="A. Asiakas")
    Identity.objects.create(customer=other, kind="email", value="a.asiakas@work.example")
    their_case = make_case(customer=other)
    url = reverse("console:customer-merge", args=[anssi.pk])
    results = lead_client.get(url, {"q": "a.asiakas@work.example", "results": "1"}, HTTP_HX_REQUEST="true")
    assert f"?other={other.pk}" in results.content.decode()
    assert "Anssi Asiakas" not in results.content.decode()  # never itself
    confirm = lead_client.get(url, {"other": other.pk}, HTTP_HX_REQUEST="true").content.decode()
    assert "Merge customers" in confirm and "a.asiakas@work.example" in confirm and "1 case" in confirm
    response = lead_client.post(url, {"other": other.pk, "keep": "this"})
    assert response.status_code == 302 and response["Location"] == reverse("console:customer", args=[anssi.pk])
    assert not Customer.objects.filter(pk=other.pk).exists()
    their_case.refresh_from_db()
    assert their_case.customer_id == anssi.pk
    assert set(anssi.identities.values_list("value", flat=True)) >= {"a.asiakas@work.example"}
    page = lead_client.get(response["Location"]).content.decode()
    assert "was merged into Anssi Asiakas" in page and "merged customer A. Asiakas into this one" in page


def test_team_lead_may_keep_the_other_customer(lead_client: Client, anssi: Customer) -> None:
    other = Customer.objects.create(name="Anssi A.")
    url = reverse("console:customer-merge", args=[anssi.pk])
    response = lead_client.post(url, {"other": other.pk, "keep": "other"})
    assert response["Location"] == reverse("console:customer", args=[other.pk])
    assert not Customer.objects.filter(pk=anssi.pk).exists()


def test_merge_refusals_are_explained(lead_client: Client, anssi: Customer) -> None:
    url = reverse("console:customer-merge", args=[anssi.pk])
    response = lead_client.post(url, {"other": anssi.pk}, HTTP_HX_REQUEST="true")
    assert response.status_code == 409 and "itself" in response.content.decode()
    response = lead_client.post(url, {}, HTTP_HX_REQUEST="true")
    assert response.status_code == 400 and "Choose the customer" in response.content.decode()
    assert response["HX-Retarget"] == "#merge-errors"


def test_team_lead_splits_a_wrongly_linked_number_off(
    lead_client: Client, anssi: Customer, make_case: Callable[..., Case], phone_channel: Channel
) -> None:
    phone = anssi.identities.get(kind="phone")
    call = make_case(customer=anssi, channel=phone_channel)
    Message.objects.create(
        case=call, channel=phone_channel, direction="in", author="customer", identity=phone, sender_name="Someone"
    )
    confirm = lead_client.get(reverse("console:identity-split", args=[phone.pk]), HTTP_HX_REQUEST="true")
    assert "Move +358401234567 to a new customer?" in confirm.content.decode()
    response = lead_client.post(reverse("console:identity-split", args=[phone.pk]))
    assert response.status_code == 302 and response["Location"] == reverse("console:customer", args=[anssi.pk])
    phone.refresh_from_db()
    call.refresh_from_db()
    assert phone.customer_id != anssi.pk and call.customer_id == phone.customer_id
    page = lead_client.get(response["Location"]).content.decode()
    assert "now belongs to a new customer" in page and "split +358401234567 off" in page


def test_the_only_contact_detail_cannot_be_split_off(lead_client: Client) -> None:
    lonely = Customer.objects.create(name="Lonely")
    only = Identity.objects.create(customer=lonely, kind="email", value="lonely@example.com")
    response = lead_client.post(reverse("console:identity-split", args=[only.pk]), HTTP_HX_REQUEST="true")
    assert response.status_code == 409 and "only identity" in response.content.decode()
    only.refresh_from_db()
    assert only.customer_id == lonely.pk


# Export and erase -----------------------------------------------------------------------------------------------


def test_only_administrators_export_and_erase(agent_client: Client, lead_client: Client, anssi: Customer) -> None:
    for client in (agent_client, lead_client):
        assert client.post(reverse("console:customer-export", args=[anssi.pk])).status_code == 403
        assert client.get(reverse("console:customer-erase", args=[anssi.pk])).status_code == 403
        confirm = {"confirm": str(anssi.pk)}
        assert client.post(reverse("console:customer-erase", args=[anssi.pk]), confirm).status_code == 403
    anssi.refresh_from_db()
    assert anssi.erased_at is None and anssi.name == "Anssi Asiakas"
    assert not CustomerEvent.objects.filter(kind=CustomerEvent.Kind.EXPORTED).exists()


def test_administrator_downloads_the_customers_data(admin_client_: Client, anssi: Customer) -> None:
    response = admin_client_.post(reverse("console:customer-export", args=[anssi.pk]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert f'filename="customer-{anssi.pk}.json"' in response["Content-Disposition"]
    data = json.loads(response.content)
    assert data["customer"]["name"] == "Anssi Asiakas"
    assert {i["value"] for i in data["identities"]} == {"anssi@example.com", "+358401234567"}
    assert CustomerEvent.objects.filter(customer=anssi, kind=CustomerEvent.Kind.EXPORTED).exists()


def test_erase_needs_the_customer_number_typed(admin_client_: Client, anssi: Customer) -> None:
    url = reverse("console:customer-erase", args=[anssi.pk])
    form = admin_client_.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert f"Type {anssi.pk} to confirm" in form
    wrong = admin_client_.post(url, {"confirm": str(anssi.pk + 1)}, HTTP_HX_REQUEST="true")
    assert wrong.status_code == 400 and "That is not this customer" in wrong.content.decode()
    anssi.refresh_from_db()
    assert anssi.erased_at is None
    response = admin_client_.post(url, {"confirm": f"#{anssi.pk}"})
    assert response.status_code == 302
    anssi.refresh_from_db()
    assert anssi.erased_at is not None and anssi.name == "" and not anssi.identities.exists()
    page = admin_client_.get(response["Location"]).content.decode()
    assert f"Erased customer #{anssi.pk}" in page and "was erased" in page
    again = admin_client_.post(url, {"confirm": str(anssi.pk)}, HTTP_HX_REQUEST="true")
    assert again.status_code == 409


# Notifications --------------------------------------------------------------------------------------------------


def test_bell_counts_unread_notifications_and_the_list_opens_them(
    agent_client: Client, agent: User, other_agent: User, anssi: Customer, make_case: Callable[..., Case]
) -> None:
    case = make_case(customer=anssi, subject="Broken bike")
    first = Notification.objects.create(user=agent, kind="contact", case=case, customer=anssi, text="Anssi wrote")
    Notification.objects.create(user=agent, kind="case_changed", case=case, text="Matti solved it")
    Notification.objects.create(user=agent, kind="contact", text="Old one", read_at=timezone.now())
    theirs = Notification.objects.create(user=other_agent, kind="contact", text="Not yours")
    inbox = agent_client.get(reverse("console:inbox")).content.decode()
    assert "2 unread" in inbox
    page = agent_client.get(reverse("console:notifications")).content.decode()
    assert "Anssi wrote" in page and "Matti solved it" in page and "Not yours" not in page
    unread = agent_client.get(reverse("console:notifications"), {"show": "unread"}).content.decode()
    assert "Old one" not in unread
    opened = agent_client.get(reverse("console:notification-open", args=[first.pk]))
    assert opened.status_code == 302 and opened["Location"] == reverse("console:case", args=[case.reference])
    first.refresh_from_db()
    assert first.read_at is not None
    assert agent_client.get(reverse("console:notification-open", args=[theirs.pk])).status_code == 404
    agent_client.post(reverse("console:notifications"))
    assert not Notification.objects.filter(user=agent, read_at__isnull=True).exists()
    assert Notification.objects.filter(user=other_agent, read_at__isnull=True).exists()
    assert "unread" not in agent_client.get(reverse("console:inbox")).content.decode().split("</nav>")[0]


def test_bell_is_one_count_query(
    agent_client: Client,
    agent: User,
    django_assert_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    for i in range(30):
        Notification.objects.create(user=agent, kind="contact", text=f"n{i}")
    from tiski.console.templatetags.console import notifications_in_nav

    user = User.objects.get(pk=agent.pk)
    with django_assert_num_queries(1):
        assert notifications_in_nav(user) == 30
