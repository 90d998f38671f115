"""A read-only user (a billing or field-service colleague): sees every case and customer and follows them; every
write is refused with 403 and changes nothing, and the case page shows no write controls."""

from __future__ import annotations

from django.urls import reverse

from tests.access.partner_world import World
from tiski.cases.models import Case, Message, Note
from tiski.notifications.models import Follow


def test_read_only_user_sees_every_case_and_customer(world: World) -> None:
    client = world.client_for(world.bea)
    response = client.get(reverse("console:inbox"))
    assert response.status_code == 200
    assert response.context["page"].total == Case.objects.count()
    for case in [*world.visible, *world.invisible]:
        assert client.get(reverse("console:case", args=[case.reference])).status_code == 200
    html = client.get(reverse("console:customer", args=[world.anssi.pk])).content.decode()
    assert "ORD-778" in html and "+358401111111" in html


def test_the_case_page_has_no_write_controls(world: World) -> None:
    html = world.client_for(world.bea).get(reverse("console:case", args=[world.c_mail.reference])).content.decode()
    assert "data-read-only" in html
    assert reverse("console:case-reply", args=[world.c_mail.reference]) not in html
    assert reverse("console:case-note", args=[world.c_mail.reference]) not in html
    assert reverse("console:case-update", args=[world.c_mail.reference]) not in html
    assert reverse("console:case-follow", args=[world.c_mail.reference]) in html  # following is allowed
    html = world.client_for(world.maija).get(reverse("console:case", args=[world.c_mail.reference])).content.decode()
    assert reverse("console:case-reply", args=[world.c_mail.reference]) in html


def test_a_callback_request_shows_to_a_read_only_user_without_its_forms(world: World) -> None:
    from tiski.channels.voice.callbacks import callback_request

    request, _new = callback_request(customer=world.anssi, number="+358401111111", source="api", case=world.c_mail)
    page = reverse("console:case", args=[world.c_mail.reference])
    attempt = reverse("console:callback-attempt", args=[request.pk])
    html = world.client_for(world.bea).get(page).content.decode()
    assert 'id="callback"' in html and attempt not in html and "callback__dial" not in html
    assert attempt in world.client_for(world.maija).get(page).content.decode()


def test_every_write_is_403_and_changes_nothing(world: World) -> None:
    client = world.client_for(world.bea)
    case = world.c_mail
    ref = case.reference
    message = case.messages.get()
    for url, data in (
        (reverse("console:case-reply", args=[ref]), {"body": "hello"}),
        (reverse("console:case-note", args=[ref]), {"body": "note"}),
        (reverse("console:case-update", args=[ref]), {"status": "solved", "priority": "4"}),
        (reverse("console:case-transfer", args=[ref]), {"target": f"queue:{world.q_general.pk}"}),
        (reverse("console:message-split", args=[message.pk]), {"subject": "x", "type": "question"}),
        (reverse("console:customer-export", args=[world.anssi.pk]), {}),
        (reverse("console:presence"), {"presence": "online"}),
    ):
        assert client.post(url, data).status_code == 403, url
    assert client.get(reverse("console:message-split", args=[message.pk])).status_code == 403
    case.refresh_from_db()
    assert case.status == Case.Status.NEW and case.priority == Case._meta.get_field("priority").default
    assert not Message.objects.filter(case=case, direction=Message.Direction.OUT).exists()
    assert Note.objects.filter(case=case).count() == 1


def test_read_only_user_follows_a_case_and_a_customer(world: World) -> None:
    client = world.client_for(world.bea)
    response = client.post(reverse("console:case-follow", args=[world.c_mail.reference]), {"action": "follow"})
    assert response.status_code in (200, 302)
    response = client.post(reverse("console:customer-follow", args=[world.anssi.pk]), {"action": "follow"})
    assert response.status_code in (200, 302)
    assert Follow.objects.filter(user=world.bea, case=world.c_mail).exists()
    assert Follow.objects.filter(user=world.bea, customer=world.anssi).exists()
    assert client.post(reverse("console:notifications"), {}).status_code in (200, 302)


def test_a_user_without_any_case_permission_still_gets_403(world: World) -> None:
    from django.contrib.auth.models import User

    nobody = User.objects.create_user(username="kirjanpito", password="x")
    assert world.client_for(nobody).get(reverse("console:inbox")).status_code == 403
