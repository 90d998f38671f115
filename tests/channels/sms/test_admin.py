"""The channel admin shows the webhook URL to give Twilio and explains the SMS settings."""

from __future__ import annotations

import pytest
from django.test import Client

from tiski.channels.models import Channel

pytestmark = pytest.mark.django_db


def test_the_change_page_shows_the_webhook_url_and_the_settings_help(
    admin_client: Client, sms_channel: Channel, settings
) -> None:  # type: ignore[no-untyped-def]
    settings.TISKI_WEBHOOK_BASE_URL = "https://tuki.example.fi"
    page = admin_client.get(f"/admin/tiski_channels/channel/{sms_channel.pk}/change/").content.decode()

    assert f"https://tuki.example.fi/hooks/sms/{sms_channel.pk}/" in page
    assert "messaging_service_sid" in page
    assert "TISKI_TWILIO_AUTH_TOKEN" in page


def test_an_email_channel_has_no_webhook_url(admin_client: Client) -> None:
    mailbox = Channel.objects.create(kind="email", name="Mail", address="tuki@example.fi")
    page = admin_client.get(f"/admin/tiski_channels/channel/{mailbox.pk}/change/").content.decode()
    assert "/hooks/email/" not in page
