"""GDPR: export everything about a customer as JSON; erase a customer and keep the statistics."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Q
from django.urls import reverse

from tests.conftest import PASSWORD
from tiski.cases.models import Attachment, Case, CaseEvent, Message, Note
from tiski.cases.services import case_update, message_reply, note_add
from tiski.channels.interface import InboundAttachment
from tiski.channels.models import Delivery
from tiski.customers.exceptions import CustomerErasedError
from tiski.customers.gdpr import ERASED, customer_erase, customer_export
from tiski.customers.models import Customer, CustomerEvent, ExternalRecord, Identity, MatchSuggestion
from tiski.customers.selectors import CustomerPermissionError
from tiski.notifications.models import Follow, Notification
from tiski.notifications.services import follow

EMAIL = "anssi.laaksonen@example.com"
NAME = "Anssi Laaksonen"
PHOTO = b"\xff\xd8\xff\xe0 a photo of a torn sofa"


@pytest.fixture
def history(receive, agent, other_agent, run_tasks):  # type: ignore[no-untyped-def]
    """A customer with two cases, messages both ways, an attachment, a note, a record, a suggestion, a follower."""
    first = receive(
        email=EMAIL,
        name=NAME,
        subject="Torn sofa",
        body=f"The sofa arrived torn. Call me, {NAME}, at {EMAIL}.",
        attachments=[InboundAttachment("sofa.jpg", "image/jpeg", PHOTO)],
    )
    customer = first.case.customer
    customer.notes = "Prefers mornings"
    customer.address = "Kauppakatu 1, Tampere"
    customer.interests = "looking at four-wheel-drive cars"
    customer.field_sources = {"address": "agent"}
    customer.save()
    Identity.objects.create(customer=customer, kind="phone", value="+358401234567")
    follow(user=other_agent, case=first.case)
    follow(user=other_agent, customer=customer)
    note_add(case=first.case, actor=agent, body=f"{NAME} was upset; offered a discount.")
    message_reply(case=first.case, actor=agent, body="Hello Anssi, we are sorry.")
    case_update(case=first.case, actor=agent, subject=f"Torn sofa for {NAME}")
    case_update(case=first.case, actor=agent, status=Case.Status.SOLVED)
    second = receive(email=EMAIL, name=NAME, subject="Invoice", body="Where is my invoice?")
    run_tasks()  # notifications, matching: before the suggestion below, which matching would recompute
    ExternalRecord.objects.create(
        kind="order",
        source="erp",
        external_id="SO-1",
        customer=customer,
        title="Sofa Oslo",
        status="delivered",
        amount=Decimal("1299.00"),
        currency="EUR",
        attributes={"delivery_address": customer.address},
    )
    known = Customer.objects.create(name="Anssi L.")
    MatchSuggestion.objects.create(customer=customer, candidate=known, score=88, reasons=["same name"])
    CustomerEvent.objects.create(
        customer=customer, kind=CustomerEvent.Kind.UPDATED, actor=agent, data={"field": "name", "new": NAME}
    )
    return customer, first.case, second.case


def test_the_export_holds_everything_about_the_customer(history, administrator):
    customer, first, second = history
    data = customer_export(customer=customer, actor=administrator)
    json.dumps(data)  # serialisable as it is
    assert data["customer"]["name"] == NAME
    assert data["customer"]["address"] == "Kauppakatu 1, Tampere"
    assert data["customer"]["interests"] == "looking at four-wheel-drive cars"
    assert {(i["kind"], i["value"]) for i in data["identities"]} == {("email", EMAIL), ("phone", "+358401234567")}
    assert [c["reference"] for c in data["cases"]] == [first.reference, second.reference]
    torn = data["cases"][0]
    assert torn["status"] == "solved"
    inbound, reply = torn["messages"]
    assert inbound["direction"] == "in" and EMAIL in inbound["text"]
    assert inbound["from"] == {"kind": "email", "value": EMAIL}
    [photo] = inbound["attachments"]
    assert (photo["filename"], photo["content_type"], photo["size"]) == ("sofa.jpg", "image/jpeg", len(PHOTO))
    assert len(photo["sha256"]) == 64
    assert reply["direction"] == "out" and reply["text"] == "Hello Anssi, we are sorry."
    assert torn["internal_notes"] == [
        {
            "internal": True,
            "body": f"{NAME} was upset; offered a discount.",
            "author": {"id": torn["internal_notes"][0]["author"]["id"], "username": "maija", "name": "Maija Mäkinen"},
            "created_at": torn["internal_notes"][0]["created_at"],
        }
    ]
    assert {"created", "note_added", "status_changed", "updated"} <= {e["kind"] for e in torn["events"]}
    assert data["external_records"][0]["title"] == "Sofa Oslo"
    assert data["external_records"][0]["amount"] == "1299.00"
    assert data["match_suggestions"][0]["score"] == 88
    assert [f["user"]["username"] for f in data["followed_by"]] == ["matti"]
    assert any(e["kind"] == "updated" for e in data["customer_events"])
    exported = CustomerEvent.objects.get(customer=customer, kind=CustomerEvent.Kind.EXPORTED)
    assert exported.actor == administrator


def test_export_and_erase_need_their_permissions(history, agent, team_lead):
    customer, _first, _second = history
    for user in (agent, team_lead):
        with pytest.raises(CustomerPermissionError):
            customer_export(customer=customer, actor=user)
        with pytest.raises(CustomerPermissionError):
            customer_erase(customer=customer, actor=user)
    customer.refresh_from_db()
    assert customer.erased_at is None
    assert not CustomerEvent.objects.filter(customer=customer, kind=CustomerEvent.Kind.EXPORTED).exists()


def _statistics(customer: Customer) -> list[tuple]:
    return list(
        Case.objects.filter(customer=customer)
        .order_by("pk")
        .values_list("pk", "status", "type", "priority", "channel_id", "owner_id", "created_at", "solved_at")
    )


def test_erasure_removes_the_personal_data_everywhere_and_keeps_the_statistics(
    history, administrator, agent, django_capture_on_commit_callbacks
):
    customer, first, _second = history
    before = _statistics(customer)
    message_count = Message.objects.filter(case__customer=customer).count()
    event_count = CaseEvent.objects.filter(case__customer=customer).count()
    photo = Attachment.objects.get(filename="sofa.jpg")
    storage, stored_name = photo.file.storage, photo.file.name
    assert storage.exists(stored_name)

    with django_capture_on_commit_callbacks(execute=True):
        customer_erase(customer=customer, actor=administrator)

    customer.refresh_from_db()
    assert customer.erased_at is not None
    assert (customer.name, customer.notes, customer.address, customer.interests) == ("", "", "", "")
    assert customer.field_sources == {}
    assert _statistics(customer) == before
    assert Message.objects.filter(case__customer=customer).count() == message_count
    assert CaseEvent.objects.filter(case__customer=customer).count() == event_count
    assert not Identity.objects.filter(customer=customer).exists()
    assert not Attachment.objects.exists()
    assert not storage.exists(stored_name)
    assert not MatchSuggestion.objects.filter(Q(customer=customer) | Q(candidate=customer)).exists()
    assert not Follow.objects.filter(customer=customer).exists()
    assert Follow.objects.filter(case=first).exists()  # the agent still follows the case
    assert set(Case.objects.filter(customer=customer).values_list("subject", flat=True)) == {ERASED}
    assert set(Note.objects.filter(case__customer=customer).values_list("body", flat=True)) == {ERASED}
    record = ExternalRecord.objects.get(customer=customer)
    assert (record.title, record.attributes, record.status, record.amount) == ("", {}, "delivered", Decimal("1299.00"))
    erased = CustomerEvent.objects.get(customer=customer, kind=CustomerEvent.Kind.ERASED)
    assert erased.actor == administrator
    assert erased.data == {"cases": 2, "messages": message_count, "attachments": 1}

    # Nothing that names or reaches the person is left anywhere.
    for needle in (EMAIL, "anssi", "Laaksonen", "+358401234567", "Kauppakatu", "sofa"):
        assert (
            not Customer.objects.filter(
                Q(name__icontains=needle) | Q(notes__icontains=needle) | Q(address__icontains=needle)
            )
            .filter(pk=customer.pk)
            .exists()
        )
        assert not Identity.objects.filter(value__icontains=needle).exists()
        assert not Message.objects.filter(
            Q(subject__icontains=needle)
            | Q(body_text__icontains=needle)
            | Q(full_text__icontains=needle)
            | Q(body_html__icontains=needle)
            | Q(sender_name__icontains=needle)
            | Q(delivery_error__icontains=needle)
            | Q(external_id__icontains=needle)
        ).exists(), needle
        assert not any(needle.encode() in bytes(raw) for raw in Message.objects.values_list("raw", flat=True))
        assert not Case.objects.filter(subject__icontains=needle).exists()
        assert not Note.objects.filter(body__icontains=needle).exists()
        assert not Notification.objects.filter(text__icontains=needle).exists()
        assert not Delivery.objects.filter(last_error__icontains=needle).exists()
        for data in CaseEvent.objects.filter(case__customer=customer).values_list("data", flat=True):
            assert needle.lower() not in json.dumps(data, ensure_ascii=False).lower(), (needle, data)
        for data in CustomerEvent.objects.filter(customer=customer).values_list("data", flat=True):
            assert needle.lower() not in json.dumps(data, ensure_ascii=False).lower(), (needle, data)


def test_the_case_view_still_opens_after_erasure(history, administrator, agent, client):
    customer, first, _second = history
    customer_erase(customer=customer, actor=administrator)
    client.login(username=agent.username, password=PASSWORD)
    response = client.get(reverse("console:case", args=[first.reference]))
    assert response.status_code == 200
    assert ERASED in response.content.decode()
    assert EMAIL not in response.content.decode()


def test_a_second_erasure_is_refused(history, administrator):
    customer, _first, _second = history
    customer_erase(customer=customer, actor=administrator)
    with pytest.raises(CustomerErasedError, match="erased on"):
        customer_erase(customer=customer, actor=administrator)
    assert CustomerEvent.objects.filter(customer=customer, kind=CustomerEvent.Kind.ERASED).count() == 1


def test_a_file_another_customer_also_sent_is_kept(history, receive, administrator, django_capture_on_commit_callbacks):
    customer, _first, _second = history
    other = receive(
        email="kaisa@example.com",
        name="Kaisa",
        body="Same photo",
        attachments=[InboundAttachment("same.jpg", "image/jpeg", PHOTO)],
    )
    kept = Attachment.objects.get(message__case=other.case)
    with django_capture_on_commit_callbacks(execute=True):
        customer_erase(customer=customer, actor=administrator)
    kept.refresh_from_db()
    assert kept.file.storage.exists(kept.file.name)
    assert kept.file.read() == PHOTO


def test_the_commands_export_to_a_file_and_erase_only_when_confirmed(history, tmp_path):
    customer, _first, _second = history
    target = tmp_path / "anssi.json"
    call_command("customer_export", str(customer.pk), "-o", str(target), verbosity=0)
    assert json.loads(target.read_text())["customer"]["name"] == NAME
    assert (target.stat().st_mode & 0o777) == 0o600
    with pytest.raises(CommandError, match="--yes"):
        call_command("customer_erase", str(customer.pk))
    customer.refresh_from_db()
    assert customer.erased_at is None
    call_command("customer_erase", str(customer.pk), "--yes", verbosity=0)
    customer.refresh_from_db()
    assert customer.erased_at is not None
    with pytest.raises(CommandError, match="erased on"):
        call_command("customer_erase", str(customer.pk), "--yes")
    with pytest.raises(CommandError, match="No customer"):
        call_command("customer_export", "999999")


def test_a_command_acting_as_a_user_needs_the_permission(history, agent):
    customer, _first, _second = history
    with pytest.raises(CommandError, match="permission"):
        call_command("customer_erase", str(customer.pk), "--yes", "--user", agent.username)
