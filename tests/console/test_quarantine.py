"""The quarantine page: administrators see mail that could not be stored, download, re-process or dismiss it."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from tiski.cases.models import Message
from tiski.channels.email.inbound import Outcome, email_receive
from tiski.channels.models import Channel, QuarantinedMail

HX = {"HTTP_HX_REQUEST": "true"}
NO_SENDER = b"Subject: Lasku\r\nMessage-ID: <q-1@example.fi>\r\n\r\nLasku puuttuu."
FIXED = b"From: Liisa Laine <liisa@example.fi>\r\n" + NO_SENDER


@pytest.fixture
def quarantined(email_channel: Channel) -> QuarantinedMail:
    result = email_receive(raw=NO_SENDER, mailbox=email_channel, source="imap")
    assert result.outcome is Outcome.QUARANTINED and result.quarantined is not None
    return result.quarantined


def test_agents_cannot_open_the_quarantine(agent_client: Client, quarantined: QuarantinedMail) -> None:
    assert agent_client.get(reverse("console:quarantine")).status_code == 403
    assert agent_client.get(reverse("console:quarantine-raw", args=[quarantined.pk])).status_code == 403
    assert agent_client.post(reverse("console:quarantine-reprocess", args=[quarantined.pk])).status_code == 403
    assert agent_client.post(reverse("console:quarantine-dismiss", args=[quarantined.pk])).status_code == 403
    quarantined.refresh_from_db()
    assert quarantined.resolved_at is None
    assert reverse("console:quarantine") not in agent_client.get(reverse("console:inbox")).content.decode()


def test_administrator_sees_the_waiting_mail_with_its_reason(
    admin_client_: Client, quarantined: QuarantinedMail
) -> None:
    response = admin_client_.get(reverse("console:quarantine"))
    content = response.content.decode()
    assert response.status_code == 200
    assert escape(quarantined.reason) in content and "sender address" in content
    assert "Support mailbox" in content and "imap" in content
    assert f"{len(NO_SENDER)} bytes" in content
    assert reverse("console:quarantine-reprocess", args=[quarantined.pk]) in content
    nav = content[content.index('id="quarantine-count"') :]
    assert nav.startswith('id="quarantine-count">1<')  # the nav badge counts the waiting mail


def test_empty_quarantine_says_all_mail_was_stored(admin_client_: Client) -> None:
    content = admin_client_.get(reverse("console:quarantine")).content.decode()
    assert "All mail was stored" in content
    assert 'id="quarantine-count" hidden' in content


def test_raw_download_is_the_original_bytes(admin_client_: Client, quarantined: QuarantinedMail) -> None:
    response = admin_client_.get(reverse("console:quarantine-raw", args=[quarantined.pk]))
    assert response.content == NO_SENDER
    assert response["Content-Disposition"] == f'attachment; filename="quarantined-{quarantined.pk}.eml"'


def test_reprocess_still_failing_keeps_the_mail_and_shows_the_reason(
    admin_client_: Client, quarantined: QuarantinedMail
) -> None:
    response = admin_client_.post(reverse("console:quarantine-reprocess", args=[quarantined.pk]), **HX)
    content = response.content.decode()
    assert response.status_code == 200
    assert "Still failing:" in content and "sender address" in content
    assert QuarantinedMail.objects.filter(resolved_at__isnull=True).count() == 1
    assert Message.objects.count() == 0


def test_reprocess_after_a_fix_stores_the_mail_as_a_case(admin_client_: Client, quarantined: QuarantinedMail) -> None:
    QuarantinedMail.objects.filter(pk=quarantined.pk).update(raw=FIXED)  # an administrator fixed the cause

    response = admin_client_.post(reverse("console:quarantine-reprocess", args=[quarantined.pk]), **HX)

    quarantined.refresh_from_db()
    message = Message.objects.get()
    assert quarantined.resolved_at is not None and quarantined.message == message
    content = response.content.decode()
    reference = message.case.reference
    assert f'Stored as <a href="{reverse("console:case", args=[reference])}">{reference}</a>' in content
    assert 'id="quarantine-count" hx-swap-oob="true" hidden' in content  # the nav badge empties
    assert "All mail was stored" in admin_client_.get(reverse("console:quarantine")).content.decode()


def test_reprocess_without_htmx_tells_the_outcome_as_a_message(
    admin_client_: Client, quarantined: QuarantinedMail
) -> None:
    QuarantinedMail.objects.filter(pk=quarantined.pk).update(raw=FIXED)
    response = admin_client_.post(reverse("console:quarantine-reprocess", args=[quarantined.pk]), follow=True)
    reference = Message.objects.get().case.reference
    assert f"Stored as {reference}." in response.content.decode()


def test_dismiss_asks_first_then_resolves_without_storing(admin_client_: Client, quarantined: QuarantinedMail) -> None:
    url = reverse("console:quarantine-dismiss", args=[quarantined.pk])
    confirm = admin_client_.get(url, **HX).content.decode()
    assert "Dismiss without storing?" in confirm and f'hx-post="{url}"' in confirm
    assert "Dismiss quarantined mail" in admin_client_.get(url).content.decode()  # the same without JavaScript
    quarantined.refresh_from_db()
    assert quarantined.resolved_at is None

    response = admin_client_.post(url, **HX)

    assert "Dismissed; the mail was not stored." in response.content.decode()
    quarantined.refresh_from_db()
    assert quarantined.resolved_at is not None and quarantined.message is None
    assert bytes(quarantined.raw) == NO_SENDER  # the original is kept
    assert Message.objects.count() == 0
    again = admin_client_.post(url, follow=True)
    assert "This mail was already handled." in again.content.decode()


def test_quarantine_page_in_finnish(admin_client_: Client, quarantined: QuarantinedMail) -> None:
    content = admin_client_.get(reverse("console:quarantine"), HTTP_ACCEPT_LANGUAGE="fi").content.decode()
    for label in ("Karanteeni", "1 posti odottaa", "Postilaatikko", "Syy", "Käsittele uudelleen", "Hylkää"):
        assert label in content, label
    assert "Re-process" not in content
