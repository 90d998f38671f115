"""Attachments from outside are downloaded, never rendered: only raster images and PDFs show in the browser."""

from __future__ import annotations

from collections.abc import Callable
from io import BytesIO
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from tiski.cases.models import Attachment
from tiski.cases.services import FileIn, attachment_store
from tiski.channels.email.inbound import email_receive
from tiski.channels.models import Channel, ChannelKind
from tiski.channels.services import Receipt
from tiski.console.email_html import inline_token
from tiski.core.files import file_response

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
HTML = b"<html><script>alert(document.cookie)</script></html>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


@pytest.fixture
def stored(receive: Callable[..., Receipt]) -> Callable[[str, str, bytes], Attachment]:
    message = receive(subject="Files").message

    def store(filename: str, content_type: str, content: bytes) -> Attachment:
        return attachment_store(message=message, file=FileIn(filename, content_type, content))

    return store


def download(client: Client, attachment: Attachment, **query: str) -> Any:
    url = reverse("console:attachment", args=[attachment.pk, attachment.filename])
    return client.get(url, query)


@pytest.mark.parametrize(
    ("name", "content_type", "content"),
    [("page.html", "text/html", HTML), ("x.svg", "image/svg+xml", SVG), ("x.xml", "application/xml", b"<x/>")],
)
def test_active_content_is_a_download_of_opaque_bytes(
    agent_client: Client, stored: Any, name: str, content_type: str, content: bytes
) -> None:
    response = download(agent_client, stored(name, content_type, content))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["Content-Type"] == "application/octet-stream"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]


def test_an_email_image_is_shown_inline_only_when_raster(client: Client, stored: Any) -> None:
    png = stored("logo.png", "image/png", PNG)
    shown = download(client, png, inline=inline_token(png.pk))  # the sandboxed mail frame, no session
    assert shown.status_code == 200
    assert shown["Content-Disposition"].startswith("inline;")
    assert shown["Content-Type"] == "image/png"
    assert shown["X-Content-Type-Options"] == "nosniff"
    svg = stored("logo.svg", "image/svg+xml", SVG)
    refused = download(client, svg, inline=inline_token(svg.pk))
    assert refused["Content-Disposition"].startswith("attachment;")
    assert refused["Content-Type"] == "application/octet-stream"


def test_a_pdf_may_be_shown_and_a_declared_html_type_with_parameters_is_not() -> None:
    pdf = file_response(file=BytesIO(b"%PDF-1.4"), filename="bill.pdf", content_type="application/pdf", inline=True)
    assert pdf["Content-Disposition"].startswith("inline;") and pdf["Content-Type"] == "application/pdf"
    html = file_response(file=BytesIO(HTML), filename="a.png", content_type="Text/HTML; charset=utf-8", inline=True)
    assert html["Content-Disposition"].startswith("attachment;") and html["Content-Type"] == "application/octet-stream"


def test_the_filename_is_sent_the_rfc_6266_way(agent_client: Client, stored: Any) -> None:
    response = download(agent_client, stored("Kuitti äö.pdf", "application/pdf", b"%PDF-1.4"))
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=utf-8''" in disposition and "%C3%A4" in disposition


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\x\\evil.html", "evil.html"),
        ("bad\x00na\x1fme\x7f.txt", None),
        ("..", "attachment"),
        ("a" * 400 + ".pdf", None),
    ],
)
def test_stored_filenames_have_no_path_no_control_characters_and_a_bounded_length(
    stored: Any, sent: str, kept: str | None
) -> None:
    name = stored(sent, "text/plain", b"x").filename
    if kept is not None:
        assert name == kept
    assert "/" not in name and "\\" not in name and ".." not in name
    assert all(ord(char) >= 32 and char != "\x7f" for char in name)
    assert len(name.encode()) <= 200


def test_inbound_html_mail_is_stored_without_scripts_or_handlers(db: None) -> None:
    mailbox = Channel.objects.create(kind=ChannelKind.EMAIL, name="Support", address="support@shop.example")
    raw = (
        b"From: Anssi <anssi@example.com>\r\nTo: support@shop.example\r\nSubject: Hi\r\n"
        b"Message-ID: <sec-1@example.com>\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        b'<p onclick="steal()">Hello<script>alert(1)</script><img src="x" onerror="steal()">'
        b'<a href="javascript:steal()">link</a><iframe src="https://evil.example"></iframe></p>\r\n'
    )
    receipt = email_receive(raw=raw, mailbox=mailbox)
    assert receipt.receipt is not None
    html = receipt.receipt.message.body_html.lower()
    assert "hello" in html
    for bad in ("<script", "onclick", "onerror", "javascript:", "<iframe"):
        assert bad not in html
