"""Real-world mail from other projects' test suites and hand-written nasty samples, parsed."""

from __future__ import annotations

import json
from email.message import EmailMessage
from pathlib import Path

import pytest

from tiski.channels.email.parsing import EmailParseError, email_parse
from tiski.channels.email.replies import visible_reply

CHATWOOT = "external/chatwoot-mail/spec/fixtures/files"


def _chatwoot(corpus: Path, name: str):
    return email_parse((corpus / CHATWOOT / name).read_bytes())


@pytest.mark.parametrize(
    "name, subject, visible",
    [
        ("only_text.eml", "test text only mail", "text only mail"),
        ("only_html.eml", "test html only mail", "This is html only mail"),
        ("html_and_attachments.eml", "attachment with html", "This is html and attachments only mail"),
        ("references.eml", "Discussion: Let's debate these attachments", "References Email"),
        ("mail_with_no_subject.eml", "", "Let's talk about these images:"),
    ],
)
def test_chatwoot_subjects_and_visible_text(corpus, name, subject, visible):
    parsed = _chatwoot(corpus, name)
    assert parsed.subject == subject
    assert parsed.visible_text == visible


def test_quoted_history_is_split_off_but_kept(corpus):
    parsed = _chatwoot(corpus, "mail_with_quote.eml")
    assert parsed.visible_text.startswith("Yes, I am providing you step how to reproduce this issue")
    assert "Any update on this?" not in parsed.visible_text
    assert "Any update on this?" in parsed.text  # the full original stays


def test_non_utf8_charsets_decode(corpus):
    parsed = _chatwoot(corpus, "non_utf_encoded_mail.eml")
    assert parsed.subject.strip() == "أهلين عميلنا الكريم"
    assert parsed.visible_text.startswith("أنظروا، أنا أحتاجها فقط لتقوم بالتدقيق في مقالتي الشخصية")


@pytest.mark.parametrize("name", ["auto_reply.eml", "auto_reply_with_auto_submitted.eml", "bounced_gmail.eml"])
def test_auto_replies_and_bounces_are_recognised(corpus, name):
    assert _chatwoot(corpus, name).auto_submitted


def test_bounce_from_the_null_sender_is_a_bounce_not_an_error(corpus):
    parsed = _chatwoot(corpus, "bounced_with_no_from.eml")
    assert parsed.bounce and parsed.auto_submitted and parsed.from_address == ""


def test_ordinary_mail_is_not_auto_submitted(corpus):
    assert not _chatwoot(corpus, "support.eml").auto_submitted


def test_threading_headers(corpus):
    assert _chatwoot(corpus, "references.eml").references == [
        "<4e6e35f5a38b4_479f13bb90078178@small-app-01.mail>",
        "<test-reference-id>",
    ]
    assert _chatwoot(corpus, "multiple_in_reply_to.eml").in_reply_to[0] == (
        "<4e6e35f5a38b4_479f13bb90078171@small-app-01.mail>"
    )
    cc = _chatwoot(corpus, "reply_cc.eml")
    assert (cc.in_reply_to, cc.references) == ([], [])


def test_attachments_keep_or_get_names(corpus):
    nameless = _chatwoot(corpus, "attachments_without_filename.eml")
    assert len(nameless.attachments) == 2
    assert all(a.filename.startswith("attachment_") for a in nameless.attachments)
    [pdf] = _chatwoot(corpus, "email_with_inline_pdf.eml").attachments
    assert pdf.filename == "dummy.pdf"
    only = _chatwoot(corpus, "only_attachments.eml")
    assert len(only.attachments) == 1 and only.visible_text == ""


def test_inline_images_carry_their_content_id_and_placeholders_go(corpus):
    parsed = _chatwoot(corpus, "mail_with_inline_images.eml")
    assert {a.content_id for a in parsed.attachments} >= {"ii_lm7fuura0", "ii_lm7fuuvm1", "ii_lm7fuuwn2"}
    assert "HTML content and inline images" in parsed.visible_text
    plain = _chatwoot(corpus, "mail_with_plain_text_and_inline_image.eml")
    assert "[image:" not in plain.visible_text
    assert "Let's add no HTML content here, just plain text and images" in plain.visible_text


def test_group_relay_uses_the_original_sender(corpus):
    assert _chatwoot(corpus, "group_sender_support.eml").from_address == "jane@example.com"


HELPDESK = "external/django-helpdesk/tests/test_files"


@pytest.mark.parametrize(
    "name, subject, text",
    [
        ("quoted_printable.eml", "Český test", "Tohle je test českých písmen odeslaných z gmailu."),
        ("all-special-chars.eml", "Testovácí email", "íářčšáíéřášč"),
        ("utf-nondecodable.eml", "Fwd: Cyklozaměstnavatel - změna vyhodnocení", "prosazuje lepší"),
    ],
)
def test_django_helpdesk_encodings(corpus, name, subject, text):
    parsed = email_parse((corpus / HELPDESK / name).read_bytes())
    assert parsed.subject == subject
    assert text in parsed.text or (name == "utf-nondecodable.eml" and text in parsed.html)  # only in its HTML


def test_forwarded_original_is_split_from_the_new_text(corpus):
    parsed = email_parse((corpus / HELPDESK / "forwarded-message.eml").read_bytes())
    assert "This is email body" in parsed.visible_text
    assert "Hello there!" in parsed.text + "".join(a.content.decode(errors="replace") for a in parsed.attachments)


def test_blank_body_with_attachment(corpus):
    parsed = email_parse((corpus / HELPDESK / "blank-body-with-attachment.eml").read_bytes())
    assert parsed.subject.startswith("Attachment without body")
    assert parsed.visible_text == "" and parsed.attachments


def test_talon_standard_replies(corpus):
    talon = corpus / "external/talon"
    cases = json.loads((talon / "expected.json").read_text())["fixture_files"]
    for path in cases:
        if "standard_replies" not in path or not path.endswith(".eml"):
            continue
        parsed = email_parse((talon / path).read_bytes())
        assert parsed.visible_text.startswith("Hello"), path
        assert ">" not in parsed.visible_text, path


def test_github_reply_parser_visible_texts(corpus):
    base = corpus / "external/email_reply_parser-github"
    cases = json.loads((base / "expected.json").read_text())["files"]
    checked = 0
    for name, case in cases.items():
        expected = case.get("test_assertions", {}).get("parse_reply")
        if expected is None:
            continue
        text = next(base.glob(f"test/**/{name}")).read_text()
        # mail-parser-reply drops leading indentation of lines; the words and line breaks must match exactly.
        assert _dedent(visible_reply(text)) == _dedent(expected), name
        checked += 1
    assert checked >= 3


def _dedent(text: str) -> str:
    return "\n".join(line.lstrip() for line in text.strip().splitlines())


# Hand-written samples in the languages our customers write in.
FINNISH_GMAIL = """Kiitos, paita sopii hyvin!

la 12.10.2024 klo 14.03 Maija / Pohjolan Pyörä <tuki@pyora.example> kirjoitti:

> Hei Anssi, koko M on oikea.
"""
FINNISH_OUTLOOK = """Tilaus ei ole vieläkään tullut.

Ystävällisin terveisin
Anssi

-----Alkuperäinen viesti-----
Lähettäjä: Tuki <tuki@pyora.example>
Lähetetty: maanantai 14. lokakuuta 2024 9.12
Vastaanottaja: Anssi <anssi@example.com>
Aihe: [TSK-1042] Tilauksesi
"""
FINNISH_IPHONE = """Onko huolto valmis?

Lähetetty iPhonesta
"""
SWEDISH = """Tack, det fungerar nu.

Från: Support <tuki@pyora.example>
Skickat: den 14 oktober 2024 09:12
Till: Sven <sven@example.se>
Ämne: Ärende
"""
GERMAN = """Danke, das hilft.

Am 14.10.2024 um 09:12 schrieb Support <tuki@pyora.example>:
> Hallo Jens
"""
ENGLISH_OUTLOOK = """Please cancel the order.

From: Support <tuki@pyora.example>
Sent: Monday, October 14, 2024 9:12 AM
To: Jane <jane@example.com>
Subject: Your order
"""


@pytest.mark.parametrize(
    "text, visible, gone",
    [
        (FINNISH_GMAIL, "Kiitos, paita sopii hyvin!", "koko M"),
        (FINNISH_OUTLOOK, "Tilaus ei ole vieläkään tullut.", "Lähettäjä"),
        (FINNISH_IPHONE, "Onko huolto valmis?", "iPhonesta"),
        (SWEDISH, "Tack, det fungerar nu.", "Skickat"),
        (GERMAN, "Danke, das hilft.", "Hallo Jens"),
        (ENGLISH_OUTLOOK, "Please cancel the order.", "Subject:"),
    ],
)
def test_visible_reply_in_our_languages(text, visible, gone):
    reply = visible_reply(text)
    assert reply.startswith(visible)
    assert gone not in reply


def _mail(**headers: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = headers.pop("From", "Anssi <anssi@example.com>")
    msg["To"] = "tuki@pyora.example"
    msg["Subject"] = headers.pop("Subject", "Hei")
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content("Hei vaan")
    return msg


def test_windows_1252_mislabelled_as_latin1_decodes():
    raw = (
        b"From: a@example.com\r\nSubject: x\r\nContent-Type: text/plain; charset=iso-8859-1\r\n\r\n"
        b"\x93Quoted\x94 \x80 price \xe4\xf6\r\n"
    )
    assert email_parse(raw).text == "\u201cQuoted\u201d \u20ac price äö"


def test_unknown_charset_and_broken_utf8_never_fail():
    raw = (
        b"From: a@example.com\r\nSubject: =?utf-8?q?Hyv=C3=A4=C3?=\r\n"
        b"Content-Type: text/plain; charset=x-unknown\r\n\r\nhyv\xc3\xa4 \xff\xfe p\xe4iv\xe4\r\n"
    )
    parsed = email_parse(raw)
    assert parsed.text.startswith("hyv")


def test_rfc2231_and_rfc2047_attachment_names():
    msg = _mail()
    msg.add_attachment(b"%PDF", maintype="application", subtype="pdf", filename="lasku_äö €.pdf")
    raw = msg.as_bytes()
    assert b"filename*=" in raw or b"=?utf-8?" in raw
    [attachment] = email_parse(raw).attachments
    assert attachment.filename == "lasku_äö €.pdf"


def test_winmail_dat_is_kept_as_an_attachment():
    msg = _mail()
    msg.add_attachment(b"\x78\x9f\x3e\x22tnef", maintype="application", subtype="ms-tnef", filename="winmail.dat")
    [attachment] = email_parse(msg.as_bytes()).attachments
    assert (attachment.filename, attachment.content_type) == ("winmail.dat", "application/ms-tnef")


def test_forwarded_message_is_an_eml_attachment():
    inner = _mail(Subject="Alkuperäinen kysymys")
    outer = _mail(Subject="VL: Alkuperäinen kysymys")
    outer.add_attachment(inner)
    [attachment] = email_parse(outer.as_bytes()).attachments
    assert attachment.content_type == "message/rfc822"
    assert attachment.filename.endswith(".eml") and b"Hei vaan" in attachment.content


@pytest.mark.parametrize(
    "headers",
    [
        {"Auto_Submitted": "auto-replied"},
        {"Precedence": "bulk"},
        {"Precedence": "list"},
        {"X_Autoreply": "yes"},
        {"List_Id": "<news.example.com>"},
        {"From": "MAILER-DAEMON@mx.example.com"},
    ],
)
def test_auto_generated_mail_is_recognised(headers):
    assert email_parse(_mail(**headers).as_bytes()).auto_submitted


def test_auto_submitted_no_is_a_person():
    assert not email_parse(_mail(Auto_Submitted="no").as_bytes()).auto_submitted


@pytest.mark.parametrize("raw", [b"", b"   \r\n", b"no headers at all, just text", b"From: nobody\r\n\r\nhi"])
def test_unusable_data_raises_a_parse_error(raw):
    with pytest.raises(EmailParseError):
        email_parse(raw)


def test_malformed_headers_do_not_fail_the_mail():
    raw = (
        b"From: Anssi <anssi@example.com>\r\nTo: <<<@@@>>>, \r\nDate: yesterday-ish\r\n"
        b"Message-ID: not-in-brackets@example.com\r\nSubject: =?bogus?x?zzz?=\r\n\r\nbody\r\n"
    )
    parsed = email_parse(raw)
    assert parsed.date is None
    assert parsed.message_id == "<not-in-brackets@example.com>"
    assert parsed.visible_text == "body"


@pytest.mark.parametrize(
    "from_header",
    [
        "=?utf-8?q?ceo=40bank.example_=3Cceo=40bank.example=3E?= <attacker@evil.example>",
        '"ceo@bank.example" <attacker@evil.example>',
        "ceo@bank.example <attacker@evil.example>",
        "attacker@evil.example (ceo@bank.example)",
    ],
)
def test_the_sender_address_is_never_read_from_the_display_name(from_header: str) -> None:
    # Found by tests/fuzz: encoded words were decoded before the address was read, so a display name won.
    parsed = email_parse(f"From: {from_header}\r\nSubject: hi\r\n\r\nbody\r\n".encode())
    assert parsed.from_address == "attacker@evil.example"


def test_an_address_only_inside_an_encoded_word_is_no_sender() -> None:
    with pytest.raises(EmailParseError):
        email_parse(b"From: =?utf-8?b?IngiIDxjZW9AYmFuay5leGFtcGxlPg==?=\r\nSubject: hi\r\n\r\nbody\r\n")


def test_an_encoded_display_name_is_decoded_and_kept_on_one_line() -> None:
    parsed = email_parse(b"From: =?utf-8?q?M=C3=A4kinen=0D=0AX?= <m@example.fi>\r\n\r\nHei\r\n")
    assert (parsed.from_name, parsed.from_address) == ("Mäkinen X", "m@example.fi")


@pytest.mark.parametrize(
    "raw",
    [
        b'From: a@b.example\r\nContent-Type: text/plain; charset="utf-8\x00"\r\n\r\nhei',
        b"From: a@b.example\r\nSubject: =?\xc3\xa4tf-8?q?x?=\r\n\r\nhei",
    ],
)
def test_a_broken_charset_name_does_not_stop_the_mail(raw: bytes) -> None:
    # Found by tests/fuzz: ValueError (a NUL in the name) and CharsetError (a non-ASCII name) escaped.
    assert "hei" in email_parse(raw).text
