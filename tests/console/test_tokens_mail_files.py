"""API tokens, the local demo mailbox and attachment downloads."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from django.contrib.auth.models import User
from django.core.mail import EmailMessage
from django.test import Client
from django.urls import reverse

from tiski.accounts.models import ApiToken
from tiski.accounts.selectors import api_token_user
from tiski.accounts.services import api_token_issue
from tiski.cases.models import Attachment
from tiski.channels.interface import InboundAttachment
from tiski.channels.services import Receipt
from tiski.core.mail import LocalMailboxBackend

LOCAL = "tiski.core.mail.LocalMailboxBackend"


def test_agent_creates_a_token_and_sees_the_raw_value_exactly_once(agent_client: Client, agent: User) -> None:
    response = agent_client.post(
        reverse("console:tokens"), {"name": "Order sync", "scopes": ["cases:read", "cases:write"]}
    )
    assert response.status_code == 200
    raw = response.context["issued"].raw
    assert raw.startswith("tsk_") and raw in response.content.decode()
    token = ApiToken.objects.get(name="Order sync")
    assert token.user == agent and api_token_user(raw=raw) == agent
    again = agent_client.get(reverse("console:tokens")).content.decode()
    assert raw not in again and "Order sync" in again and token.prefix in again


def test_agent_revokes_their_own_token(agent_client: Client, agent: User) -> None:
    issued = api_token_issue(user=agent, name="Old script", scopes=["cases:read"])
    response = agent_client.post(reverse("console:token-revoke", args=[issued.token.pk]), follow=True)
    assert response.status_code == 200
    assert "revoked" in response.content.decode()
    assert api_token_user(raw=issued.raw) is None


def test_agent_cannot_see_or_revoke_someone_elses_token(agent_client: Client, other_agent: User) -> None:
    issued = api_token_issue(user=other_agent, name="Matti's script", scopes=["cases:read"])
    assert "Matti&#x27;s script" not in agent_client.get(reverse("console:tokens")).content.decode()
    assert agent_client.post(reverse("console:token-revoke", args=[issued.token.pk])).status_code == 404
    assert api_token_user(raw=issued.raw) == other_agent


def test_agent_cannot_issue_a_token_for_someone_else(agent_client: Client, other_agent: User) -> None:
    response = agent_client.post(
        reverse("console:tokens"), {"name": "Sneaky", "user": other_agent.pk, "scopes": ["cases:read"]}
    )
    assert response.status_code == 403
    assert not ApiToken.objects.exists()


def test_administrator_issues_and_revokes_tokens_for_any_user(admin_client_: Client, other_agent: User) -> None:
    response = admin_client_.post(
        reverse("console:tokens"), {"name": "Matti's CRM", "user": other_agent.pk, "scopes": ["customers:read"]}
    )
    assert response.status_code == 200
    token = ApiToken.objects.get()
    assert token.user == other_agent
    assert admin_client_.post(reverse("console:token-revoke", args=[token.pk])).status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_token_without_a_name_is_refused(agent_client: Client) -> None:
    response = agent_client.post(reverse("console:tokens"), {"name": "", "scopes": ["cases:read"]})
    assert response.status_code == 400
    assert not ApiToken.objects.exists()


def _write_mail(settings, tmp_path: Path, subject: str, body: str) -> None:  # type: ignore[no-untyped-def]
    settings.TISKI_LOCAL_MAIL_DIR = tmp_path / "sent-mail"
    LocalMailboxBackend().send_messages(
        [EmailMessage(subject=subject, body=body, from_email="Tiski <support@shop.example>", to=["anssi@example.com"])]
    )


def test_sent_mail_needs_its_permission(agent_client: Client, settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings.EMAIL_BACKEND = LOCAL
    _write_mail(settings, tmp_path, "[TSK-1001] Re: Shirt size", "Size L.")
    assert agent_client.get(reverse("console:sent-mail")).status_code == 403
    assert "Sent mail" not in agent_client.get(reverse("console:inbox")).content.decode()


def test_sent_mail_lists_newest_first_and_shows_one_parsed(admin_client_: Client, settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings.EMAIL_BACKEND = LOCAL
    _write_mail(settings, tmp_path, "[TSK-1001] Re: Shirt size", "Size L fits you.")
    _write_mail(settings, tmp_path, "[TSK-1002] Re: Hyvä kysymys", "Kiitos viestistä, ääkköset toimivat.")
    response = admin_client_.get(reverse("console:sent-mail"))
    assert response.status_code == 200
    files = response.context["files"]
    assert len(files) == 2 and files[0].name > files[1].name
    content = response.content.decode()
    assert "[TSK-1002] Re: Hyvä kysymys" in content  # the newest is opened
    assert "Kiitos viestistä, ääkköset toimivat." in content
    assert "anssi@example.com" in content and "support@shop.example" in content
    older = admin_client_.get(reverse("console:sent-mail"), {"m": files[1].name}).content.decode()
    assert "Size L fits you." in older
    assert 'href="/console/sent-mail/"' in content  # in the nav with the local backend


def test_sent_mail_refuses_paths_outside_the_mailbox(admin_client_: Client, settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings.EMAIL_BACKEND = LOCAL
    _write_mail(settings, tmp_path, "Hello", "Body")
    (tmp_path / "secret.eml").write_text("From: x\n\nsecret")
    assert admin_client_.get(reverse("console:sent-mail"), {"m": "../secret.eml"}).status_code == 404


def test_sent_mail_is_not_in_the_nav_with_smtp(admin_client_: Client, settings) -> None:  # type: ignore[no-untyped-def]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    assert 'href="/console/sent-mail/"' not in admin_client_.get(reverse("console:inbox")).content.decode()


def _case_with_attachment(receive: Callable[..., Receipt]) -> Attachment:
    receipt = receive(
        attachments=[
            InboundAttachment(filename="receipt.html", content_type="text/html", content=b"<script>x</script>")
        ]
    )
    return Attachment.objects.get(message=receipt.message)


def test_agent_downloads_an_attachment_as_a_file(agent_client: Client, receive: Callable[..., Receipt]) -> None:
    attachment = _case_with_attachment(receive)
    response = agent_client.get(reverse("console:attachment", args=[attachment.pk, attachment.filename]))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert "receipt.html" in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == b"<script>x</script>"  # type: ignore[attr-defined]


def test_attachment_download_needs_the_agent_role_and_the_right_name(
    client: Client, receive: Callable[..., Receipt], agent: User
) -> None:
    attachment = _case_with_attachment(receive)
    url = reverse("console:attachment", args=[attachment.pk, attachment.filename])
    assert client.get(url).status_code == 302
    client.force_login(User.objects.create_user(username="visitor", password="x" * 20))
    assert client.get(url).status_code == 403
    client.force_login(agent)
    assert client.get(reverse("console:attachment", args=[attachment.pk, "other.html"])).status_code == 404
    assert client.get(reverse("console:attachment", args=[attachment.pk + 100, "receipt.html"])).status_code == 404
