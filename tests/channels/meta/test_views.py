"""The WhatsApp template picker partial: list the approved templates, fill in the parameters, send."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from tiski.cases.models import Case, Message
from tiski.channels.meta.models import TemplateSend, WhatsAppTemplate
from tiski.channels.models import Channel
from tiski.simulators.meta import MetaSimulator

from .conftest import deliver

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.channels.meta.urls_for_tests")]


@pytest.fixture
def case(client: Client, whatsapp: Channel, meta: MetaSimulator) -> Case:
    deliver(client, whatsapp, meta.whatsapp_body(from_="358401234567", text="Hei"), meta=meta)
    return Case.objects.get()


@pytest.fixture
def template(whatsapp: Channel) -> WhatsAppTemplate:
    return WhatsAppTemplate.objects.create(
        channel=whatsapp,
        name="order_update",
        body="Hei {{1}}, tilauksesi {{2}} on lähetetty.",
        status=WhatsAppTemplate.Status.APPROVED,
    )


def test_picker_lists_only_approved_templates_with_a_field_per_parameter(
    client: Client, agent: User, case: Case, template: WhatsAppTemplate, whatsapp: Channel
) -> None:
    WhatsAppTemplate.objects.create(channel=whatsapp, name="promo_pending", body="Ale!")
    client.force_login(agent)
    response = client.get(f"/meta/cases/{case.reference}/whatsapp-templates/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "order_update" in html
    assert "promo_pending" not in html
    assert 'name="p1"' in html and 'name="p2"' in html and 'name="p3"' not in html


def test_sending_a_template_queues_it_with_its_parameters(
    client: Client, agent: User, case: Case, template: WhatsAppTemplate
) -> None:
    client.force_login(agent)
    url = f"/meta/cases/{case.reference}/whatsapp-templates/{template.pk}/send/"
    response = client.post(url, {"p1": "Anssi", "p2": "1042"})
    assert response.status_code == 200
    assert response["HX-Trigger"] == "case-changed"
    message = Message.objects.get(direction=Message.Direction.OUT)
    assert message.body_text == "Hei Anssi, tilauksesi 1042 on lähetetty."
    assert TemplateSend.objects.get(message=message).parameters == ["Anssi", "1042"]


def test_missing_parameter_is_a_clear_error_and_sends_nothing(
    client: Client, agent: User, case: Case, template: WhatsAppTemplate
) -> None:
    client.force_login(agent)
    response = client.post(f"/meta/cases/{case.reference}/whatsapp-templates/{template.pk}/send/", {"p1": "Anssi"})
    assert response.status_code == 400
    assert "takes 2 parameter(s)" in response.content.decode()
    assert not Message.objects.filter(direction=Message.Direction.OUT).exists()


def test_picker_needs_a_signed_in_agent(client: Client, case: Case, template: WhatsAppTemplate) -> None:
    url = f"/meta/cases/{case.reference}/whatsapp-templates/{template.pk}/send/"
    assert client.post(url, {"p1": "a", "p2": "b"}).status_code == 302  # to the login page
    outsider = User.objects.create_user("outsider", password="x" * 12)
    client.force_login(outsider)
    assert client.post(url, {"p1": "a", "p2": "b"}).status_code == 403
    assert client.get(f"/meta/cases/{case.reference}/whatsapp-templates/").status_code == 403
    assert not Message.objects.filter(direction=Message.Direction.OUT).exists()
