"""One message in the timeline: a new case from it, its formatted HTML (sandboxed), quoted text, the original."""

from __future__ import annotations

from collections.abc import Callable
from email.message import EmailMessage

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from tests.conftest import PASSWORD
from tiski.cases.models import Attachment, Case, CaseEvent, Message
from tiski.channels.email.inbound import Outcome, email_receive
from tiski.channels.models import Channel
from tiski.channels.services import Receipt
from tiski.console.email_html import CSP_BLOCKED, CSP_REMOTE, inline_token
from tiski.customers.models import Customer

HX = {"HTTP_HX_REQUEST": "true"}
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
HTML = (
    '<p>Hei,</p><p>uusi asia: <b>lasku</b> puuttuu.</p><img src="cid:logo@kauppa.example" alt="Logo">'
    '<img src="https://tracker.example/open.gif" alt="">'
)
PLAIN = "Hei,\n\nuusi asia: lasku puuttuu.\n\nOn Mon, Maija wrote:\n> Paketti lähti tänään.\n> <script>x</script>"


@pytest.fixture
def outsider(db: object) -> User:
    return User.objects.create_user(username="outsider", password=PASSWORD)


@pytest.fixture
def html_mail(email_channel: Channel) -> Message:
    """A real MIME mail through the pipeline: text with a quoted reply, HTML with a cid image and a remote one."""
    mail = EmailMessage()
    mail["From"] = "Liisa Laine <liisa@example.fi>"
    mail["To"] = "support@shop.example"
    mail["Subject"] = "Re: [TSK-1001] Lasku puuttuu"
    mail["Message-ID"] = "<html-1@example.fi>"
    mail.set_content(PLAIN)
    mail.add_alternative(HTML, subtype="html")
    mail.get_payload()[1].add_related(PNG, "image", "png", cid="<logo@kauppa.example>", filename="logo.png")
    result = email_receive(raw=mail.as_bytes(), mailbox=email_channel)
    assert result.outcome is Outcome.STORED and result.receipt is not None
    return result.receipt.message


# New case from this message


def test_split_form_is_prefilled_with_the_subject_without_reply_prefix_and_reference(
    agent_client: Client, html_mail: Message
) -> None:
    response = agent_client.get(reverse("console:message-split", args=[html_mail.pk]), **HX)
    content = response.content.decode()
    assert response.status_code == 200
    assert 'value="Lasku puuttuu"' in content
    for value, _label in Case.Type.choices:
        assert f'value="{value}"' in content
    assert "<html" not in content  # the inline form only, not a page


def test_every_inbound_message_offers_a_new_case_even_on_a_closed_case(
    agent_client: Client, receive: Callable[..., Receipt]
) -> None:
    receipt = receive()
    Case.objects.filter(pk=receipt.case.pk).update(status=Case.Status.CLOSED)
    content = agent_client.get(reverse("console:case", args=[receipt.case.reference])).content.decode()
    assert reverse("console:message-split", args=[receipt.message.pk]) in content
    assert "New case from this message" in content


def test_split_opens_a_linked_case_and_redirects_htmx_there(
    agent_client: Client, agent: User, receive: Callable[..., Receipt]
) -> None:
    receipt = receive(subject="Shirt size", body="Also: my invoice is missing.")
    old = receipt.case
    Case.objects.filter(pk=old.pk).update(status=Case.Status.CLOSED)

    response = agent_client.post(
        reverse("console:message-split", args=[receipt.message.pk]),
        {"subject": "Invoice missing", "type": Case.Type.PROBLEM},
        **HX,
    )

    new = Case.objects.exclude(pk=old.pk).get()
    assert response.status_code == 200
    assert response["HX-Redirect"] == reverse("console:case", args=[new.reference])
    assert (new.subject, new.type, new.customer_id) == ("Invoice missing", Case.Type.PROBLEM, old.customer_id)
    assert new.messages.get().body_text == "Also: my invoice is missing."
    assert list(old.related.all()) == [new] and list(new.related.all()) == [old]
    assert CaseEvent.objects.get(case=old, kind=CaseEvent.Kind.SPLIT).actor == agent

    new_page = agent_client.get(reverse("console:case", args=[new.reference])).content.decode()
    assert f"{new.reference} opened from a message of {old.reference}." in new_page  # the success message
    old_link = f'<a href="{reverse("console:case", args=[old.reference])}">{old.reference}</a>'
    assert f"Split from {old_link}" in new_page
    assert "Related:" in new_page
    old_page = agent_client.get(reverse("console:case", args=[old.reference])).content.decode()
    new_link = f'<a href="{reverse("console:case", args=[new.reference])}">{new.reference}</a>'
    assert f"Moved to a new case {new_link}" in old_page
    assert f"Moved to {new_link}" in old_page  # on the message itself
    assert "Related:" in old_page


def test_split_copies_attachments_without_htmx_and_redirects(agent_client: Client, html_mail: Message) -> None:
    response = agent_client.post(
        reverse("console:message-split", args=[html_mail.pk]), {"subject": "Lasku", "type": "question"}
    )
    new = Case.objects.exclude(pk=html_mail.case_id).get()
    assert response.status_code == 302 and response["Location"] == reverse("console:case", args=[new.reference])
    copy = new.messages.get()
    assert [a.content_id for a in copy.attachments.all()] == ["logo@kauppa.example"]
    assert bytes(copy.raw) == bytes(Message.objects.get(pk=html_mail.pk).raw)


def test_split_with_an_unknown_type_shows_the_error_in_the_form(
    agent_client: Client, receive: Callable[..., Receipt]
) -> None:
    receipt = receive()
    response = agent_client.post(
        reverse("console:message-split", args=[receipt.message.pk]), {"subject": "X", "type": "bogus"}, **HX
    )
    assert response.status_code == 400
    assert 'class="form-error"' in response.content.decode()
    assert Case.objects.count() == 1


def test_outbound_messages_cannot_start_a_case(
    agent_client: Client, agent: User, receive: Callable[..., Receipt]
) -> None:
    receipt = receive()
    agent_client.post(reverse("console:case-reply", args=[receipt.case.reference]), {"body": "Size L."})
    reply = Message.objects.get(direction=Message.Direction.OUT)
    response = agent_client.post(reverse("console:message-split", args=[reply.pk]), {"subject": "X", "type": "task"})
    assert response.status_code == 302
    assert Case.objects.count() == 1


def test_non_agents_cannot_split(client: Client, outsider: User, receive: Callable[..., Receipt]) -> None:
    receipt = receive()
    client.force_login(outsider)
    url = reverse("console:message-split", args=[receipt.message.pk])
    assert client.post(url, {"subject": "X", "type": "task"}).status_code == 403
    assert client.get(url).status_code == 403
    assert Case.objects.count() == 1


# Formatted HTML in a sandboxed frame


def test_formatted_view_has_the_exact_policy_and_may_be_framed_by_the_console_only(
    agent_client: Client, html_mail: Message
) -> None:
    response = agent_client.get(reverse("console:message-html", args=[html_mail.pk]))
    assert response.status_code == 200
    assert response["Content-Security-Policy"] == (
        "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; frame-ancestors 'self'"
    )
    assert response["Content-Security-Policy"] == CSP_BLOCKED
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    assert "https:" not in response["Content-Security-Policy"]  # remote images do not load
    assert "<b>lasku</b>" in response.content.decode()


def test_load_remote_images_allows_https_images_for_that_view_only(agent_client: Client, html_mail: Message) -> None:
    response = agent_client.get(reverse("console:message-html", args=[html_mail.pk]) + "?remote=1")
    assert response["Content-Security-Policy"] == CSP_REMOTE
    assert "img-src 'self' data: https:;" in response["Content-Security-Policy"]
    assert "script-src" not in response["Content-Security-Policy"]


def test_cid_images_point_at_the_messages_attachment(agent_client: Client, client: Client, html_mail: Message) -> None:
    attachment = Attachment.objects.get(message=html_mail)
    content = agent_client.get(reverse("console:message-html", args=[html_mail.pk])).content.decode()
    url = reverse("console:attachment", args=[attachment.pk, "logo.png"])
    assert f'src="{url}?inline=' in content
    assert "cid:" not in content
    assert 'src="https://tracker.example/open.gif"' in content  # kept, blocked by the policy

    # The sandboxed frame sends no cookie: the signed link alone serves the image, inline.
    client.logout()
    image = client.get(f"{url}?inline={inline_token(attachment.pk)}")
    assert image.status_code == 200 and image["Content-Type"] == "image/png"
    assert not image["Content-Disposition"].startswith("attachment")
    assert b"".join(image.streaming_content) == PNG
    assert client.get(f"{url}?inline=forged").status_code == 403
    assert client.get(f"{url}?inline={inline_token(attachment.pk + 1)}").status_code == 403


def test_case_page_frames_the_html_sandboxed_and_keeps_plain_text_the_default(
    agent_client: Client, html_mail: Message
) -> None:
    content = agent_client.get(reverse("console:case", args=[html_mail.case.reference])).content.decode()
    frame = content[content.index("<iframe") : content.index("</iframe>")]
    assert 'sandbox="allow-popups allow-popups-to-escape-sandbox"' in frame
    assert "allow-scripts" not in frame and "allow-same-origin" not in frame
    assert f'data-src="{reverse("console:message-html", args=[html_mail.pk])}"' in frame  # loaded on demand
    assert f'id="message-{html_mail.pk}-html" data-view="html" hidden' in content
    assert "Show formatted" in content and "Load remote images" in content
    assert "tracker.example" not in content  # the HTML itself never reaches the console page


def test_html_only_message_shows_the_frame_at_once(agent_client: Client, email_channel: Channel) -> None:
    case = Case.objects.create(subject="Kuva", customer=Customer.objects.create(name="Kuvaaja"), channel=email_channel)
    message = Message.objects.create(
        case=case, channel=email_channel, direction="in", author="customer", body_html="<p><img src='cid:x'></p>"
    )
    content = agent_client.get(reverse("console:case", args=[case.reference])).content.decode()
    assert f'src="{reverse("console:message-html", args=[message.pk])}"' in content
    assert "Show formatted" not in content and "Load remote images" not in content


def test_formatted_view_is_for_agents_only(client: Client, outsider: User, html_mail: Message) -> None:
    url = reverse("console:message-html", args=[html_mail.pk])
    assert client.get(url).status_code == 302
    client.force_login(outsider)
    assert client.get(url).status_code == 403


# Quoted text and the original source


def test_quoted_text_is_one_toggle_away_and_escaped(agent_client: Client, html_mail: Message) -> None:
    message = Message.objects.get(pk=html_mail.pk)
    assert message.full_text != message.body_text
    content = agent_client.get(reverse("console:case", args=[message.case.reference])).content.decode()
    assert "Show quoted text" in content
    full = content[content.index(f'id="message-{message.pk}-full"') :]
    full = full[: full.index("</pre>")]
    assert 'data-view="full" hidden>' in full
    assert "&gt; Paketti lähti tänään." in full
    assert "&lt;script&gt;" in full and "<script>" not in full


def test_no_quoted_text_toggle_when_the_text_is_the_whole_text(
    agent_client: Client, receive: Callable[..., Receipt]
) -> None:
    case = receive().case
    content = agent_client.get(reverse("console:case", args=[case.reference])).content.decode()
    assert "Show quoted text" not in content and "Show formatted" not in content


def test_original_mail_downloads_as_eml(agent_client: Client, html_mail: Message) -> None:
    content = agent_client.get(reverse("console:case", args=[html_mail.case.reference])).content.decode()
    assert "Download original (.eml)" in content
    response = agent_client.get(reverse("console:message-original", args=[html_mail.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "message/rfc822"
    assert response["Content-Disposition"] == f'attachment; filename="message-{html_mail.pk}.eml"'
    assert response.content == bytes(Message.objects.get(pk=html_mail.pk).raw)
    assert b"Subject: Re: [TSK-1001] Lasku puuttuu" in response.content


@pytest.mark.parametrize(("raw", "name", "content_type"), [(b'{"text": "hi"}', "json", "application/json")])
def test_original_of_other_channels_is_named_by_its_content(
    agent_client: Client, receive: Callable[..., Receipt], raw: bytes, name: str, content_type: str
) -> None:
    message = receive().message
    Message.objects.filter(pk=message.pk).update(raw=raw)
    response = agent_client.get(reverse("console:message-original", args=[message.pk]))
    assert response["Content-Disposition"] == f'attachment; filename="message-{message.pk}.{name}"'
    assert response["Content-Type"] == content_type
    Message.objects.filter(pk=message.pk).update(raw=b"caller said hello")
    response = agent_client.get(reverse("console:message-original", args=[message.pk]))
    assert response["Content-Disposition"] == f'attachment; filename="message-{message.pk}.txt"'


def test_message_without_source_has_no_download(agent_client: Client, receive: Callable[..., Receipt]) -> None:
    receipt = receive()
    Message.objects.filter(pk=receipt.message.pk).update(raw=b"")
    content = agent_client.get(reverse("console:case", args=[receipt.case.reference])).content.decode()
    assert "Download original" not in content
    assert agent_client.get(reverse("console:message-original", args=[receipt.message.pk])).status_code == 404


def test_original_is_for_agents_only(client: Client, outsider: User, html_mail: Message) -> None:
    client.force_login(outsider)
    assert client.get(reverse("console:message-original", args=[html_mail.pk])).status_code == 403


def test_a_bounced_reply_shows_as_not_delivered_with_the_reason(agent_client, receive, agent):
    from tiski.cases.models import Message
    from tiski.cases.services import message_reply

    case = receive().case
    reply = message_reply(case=case, actor=agent, body="Hei")
    Message.objects.filter(pk=reply.pk).update(delivery_status="bounced", delivery_error="550 user unknown")
    html = agent_client.get(f"/console/cases/{case.reference}/").content.decode()
    assert "delivery--bounced" in html and "✕ Bounced" in html
    assert "550 user unknown" in html
