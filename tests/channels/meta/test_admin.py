"""The admin of templates and social keywords, in English and Finnish."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.utils import translation

from tiski.channels.meta.models import SocialKeyword, WhatsAppTemplate
from tiski.channels.models import Channel

pytestmark = pytest.mark.django_db


@pytest.fixture
def administrator(administrator: User) -> User:
    """The administrator, with the Meta app's admin permissions (accounts.roles.ADMIN_APPS lacks "meta" so far)."""
    administrator.user_permissions.add(*Permission.objects.filter(content_type__app_label="meta"))
    return User.objects.get(pk=administrator.pk)  # a fresh permission cache


def test_admin_pages_open_and_a_template_is_added(client: Client, administrator: User, whatsapp: Channel) -> None:
    client.force_login(administrator)
    for url in ("/admin/meta/whatsapptemplate/", "/admin/meta/whatsapptemplate/add/", "/admin/meta/socialkeyword/add/"):
        assert client.get(url).status_code == 200, url
    response = client.post(
        "/admin/meta/whatsapptemplate/add/",
        {
            "channel": whatsapp.pk,
            "name": "order_update",
            "language": "fi",
            "category": "UTILITY",
            "body": "Hei {{1}}",
            "status": "approved",
        },
    )
    assert response.status_code == 302
    assert WhatsAppTemplate.objects.get().parameter_count == 1


def test_template_with_gaps_in_its_placeholders_is_refused(
    client: Client, administrator: User, whatsapp: Channel
) -> None:
    client.force_login(administrator)
    data = {"channel": whatsapp.pk, "name": "x", "language": "fi", "category": "UTILITY", "body": "{{1}} {{3}}"}
    response = client.post("/admin/meta/whatsapptemplate/add/", {**data, "status": "pending"})
    assert response.status_code == 200
    assert "without gaps" in response.content.decode()
    assert not WhatsAppTemplate.objects.exists()


def test_finnish_names() -> None:
    with translation.override("fi"):
        assert str(WhatsAppTemplate._meta.verbose_name_plural) == "WhatsApp-viestipohjat"
        assert str(SocialKeyword._meta.verbose_name) == "somen avainsana"
