"""Inbound mail under fuzzing: arbitrary headers, encoded words, broken MIME, odd charsets and attachment names.

email_parse() either returns a ParsedEmail or raises EmailParseError (the documented quarantine path); the sender
is never taken from a display name; the text of a plain part is never lost. email_receive() stores, or
quarantines with the raw bytes kept, and never raises for what is in a mail.
"""

from __future__ import annotations

import base64
import re

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tiski.channels.email.inbound import Outcome, email_receive
from tiski.channels.email.parsing import EmailParseError, ParsedEmail, email_parse
from tiski.channels.models import QuarantinedMail

from .conftest import seed_mails

SEEDS = seed_mails()
HEADER_NAMES = ["From", "To", "Cc", "Subject", "Message-ID", "In-Reply-To", "References", "Date", "Reply-To"]
HEADER_NAMES += ["Content-Type", "Content-Transfer-Encoding", "Content-Disposition", "MIME-Version"]
HEADER_NAMES += ["Auto-Submitted", "Precedence", "X-Original-Sender", "List-Id", "Content-ID"]
CHARSETS = ["utf-8", "iso-8859-1", "windows-1252", "koi8-r", "utf-16", "x-unknown", "", "utf-7", "gb2312", "big5"]


def parse_or_refuse(raw: bytes) -> ParsedEmail | None:
    """Return the parsed mail, or None when it is refused the documented way (EmailParseError)."""
    try:
        return email_parse(raw)
    except EmailParseError:
        return None


addresses = st.builds(
    "{}@{}.example".format,
    st.from_regex(r"[a-z0-9][a-z0-9._+-]{0,15}", fullmatch=True),
    st.from_regex(r"[a-z][a-z0-9-]{0,10}", fullmatch=True),
)
header_text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=60)


def encoded_word(text: str, *, charset: str = "utf-8", b: bool = True) -> str:
    data = text.encode(charset, errors="replace")
    if b:
        return f"=?{charset}?b?{base64.b64encode(data).decode()}?="
    quoted = "".join(chr(c) if chr(c).isalnum() else f"={c:02X}" for c in data)
    return f"=?{charset}?q?{quoted}?="


@st.composite
def header_values(draw: st.DrawFn) -> str:
    """A header value: plain text, an encoded word (valid or not), or broken bytes as text."""
    kind = draw(st.sampled_from(["text", "encoded", "broken_encoded", "addresses"]))
    if kind == "text":
        return draw(header_text)
    if kind == "encoded":
        return encoded_word(
            draw(header_text), charset=draw(st.sampled_from(["utf-8", "iso-8859-1"])), b=draw(st.booleans())
        )
    if kind == "broken_encoded":
        return draw(st.sampled_from(["=?utf-8?b?", "=?x?q?abc?=", "=?utf-8?b?!!!?=", "=??=", "=?utf-8?q?=ZZ?="]))
    return ", ".join(draw(st.lists(addresses, min_size=0, max_size=3)))


@st.composite
def raw_mails(draw: st.DrawFn) -> bytes:
    """A mail put together from random headers and a random (often broken) MIME body."""
    lines = [f"{name}: {draw(header_values())}" for name in draw(st.lists(st.sampled_from(HEADER_NAMES), max_size=8))]
    charset = draw(st.sampled_from(CHARSETS))
    body = draw(st.binary(max_size=200)) if draw(st.booleans()) else draw(header_text).encode("utf-8")
    if draw(st.booleans()):
        boundary = draw(st.sampled_from(["b1", "", "x" * 80, "=_?"]))
        filename = draw(header_values())
        parts = [
            f'Content-Type: multipart/mixed; boundary="{boundary}"',
            "",
            f"--{boundary}",
            f"Content-Type: text/plain; charset={charset}",
            f"Content-Transfer-Encoding: {draw(st.sampled_from(['base64', 'quoted-printable', '8bit', 'x-uue']))}",
            "",
        ]
        tail = [
            f"--{boundary}",
            f'Content-Type: application/octet-stream; name="{filename}"',
            f"Content-Disposition: attachment; filename*={draw(st.sampled_from(['utf-8', 'x', '']))}''{filename}",
            "",
            "AAEC",
        ]
        if draw(st.booleans()):
            tail.append(f"--{boundary}--")
        head = "\r\n".join(lines + parts).encode("utf-8", "surrogateescape")
        return head + b"\r\n" + body + b"\r\n" + "\r\n".join(tail).encode("utf-8", "surrogateescape")
    lines.append(f"Content-Type: text/plain; charset={charset}")
    return "\r\n".join(lines).encode("utf-8") + b"\r\n\r\n" + body


@given(raw=st.binary(max_size=400))
def test_arbitrary_bytes_parse_or_are_refused_the_documented_way(raw: bytes) -> None:
    parse_or_refuse(raw)


@given(raw=raw_mails())
@example(raw=b'From: a@b.example\r\nContent-Type: text/plain; charset="utf-8\x00"\r\n\r\nhei')
@example(raw=b"From: a@b.example\r\nContent-Type: multipart/mixed; boundary=\r\n\r\n--\r\n\r\n")
def test_broken_mime_and_charsets_parse_or_are_refused_the_documented_way(raw: bytes) -> None:
    parsed = parse_or_refuse(raw)
    if parsed is not None:
        assert "\x00" not in parsed.text + parsed.subject + parsed.from_name
        assert all("\x00" not in a.filename for a in parsed.attachments)


@pytest.mark.parametrize("index", range(len(SEEDS)))
def test_corpus_mails_survive_being_cut_and_flipped(index: int) -> None:
    seed = SEEDS[index]

    @given(cut=st.integers(0, len(seed)), flip=st.integers(0, max(len(seed) - 1, 0)), byte=st.integers(0, 255))
    @settings(max_examples=max(5, settings().max_examples // 4))  # a quarter per seed: there are many seeds
    def mutated(cut: int, flip: int, byte: int) -> None:
        data = bytearray(seed[:cut] + seed[cut + 1 :]) if cut % 2 else bytearray(seed)
        if data:
            data[flip % len(data)] = byte
        parse_or_refuse(bytes(data))

    parse_or_refuse(seed)
    mutated()


@given(
    real=addresses,
    claimed=addresses,
    name=st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=20),
    style=st.sampled_from(["b", "q", "quoted", "comment", "bare", "latin"]),
)
@example(real="attacker@evil.example", claimed="ceo@bank.example", name="CEO", style="q")
@example(real="attacker@evil.example", claimed="ceo@bank.example", name="", style="bare")
def test_the_sender_is_never_taken_from_the_display_name(real: str, claimed: str, name: str, style: str) -> None:
    shown = f"{name} <{claimed}>"
    display = {
        "b": encoded_word(shown),
        "q": encoded_word(shown, b=False),
        "latin": encoded_word(f"{name} {claimed}", charset="iso-8859-1", b=False),
        "quoted": '"' + shown.replace("\\", "\\\\").replace('"', '\\"') + '"',
        "comment": "",
        "bare": claimed,
    }[style]
    header = f"{real} ({claimed})" if style == "comment" else f"{display} <{real}>"
    raw = f"From: {header}\r\nSubject: hei\r\n\r\nHei!\r\n".encode()
    parsed = parse_or_refuse(raw)
    assert parsed is None or parsed.from_address == real


@given(real=addresses, claimed=addresses)
def test_an_address_only_in_an_encoded_word_is_no_sender(real: str, claimed: str) -> None:
    raw = f"From: {encoded_word(f'{real} <{claimed}>')}\r\nSubject: hei\r\n\r\nHei!\r\n".encode()
    assert parse_or_refuse(raw) is None


@given(
    text=st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=300),
    charset=st.sampled_from(["utf-8", "iso-8859-1", "windows-1252", "utf-16", "koi8-r"]),
    transfer=st.sampled_from(["base64", "quoted-printable", "8bit"]),
)
def test_the_text_of_a_plain_part_is_never_lost(text: str, charset: str, transfer: str) -> None:
    try:
        data = text.encode(charset)
    except UnicodeEncodeError:
        charset, data = "utf-8", text.encode("utf-8")
    if transfer == "base64":
        body = base64.encodebytes(data)
    elif transfer == "quoted-printable":
        import quopri

        body = quopri.encodestring(data)
    else:
        body = data
    head = f"From: a@b.example\r\nContent-Type: text/plain; charset={charset}\r\nContent-Transfer-Encoding: {transfer}"
    parsed = email_parse(head.encode() + b"\r\n\r\n" + body)
    expected = text.replace("\r\n", "\n").replace("\r", "\n")
    if transfer == "8bit":
        expected = re.sub(r"\n", "\n", expected)
    words = [w for w in re.split(r"\s+", expected) if w]
    got = parsed.text
    for word in words:
        assert word in got, (word, got)


@pytest.mark.django_db
@given(raw=raw_mails())
@example(raw=b"From: a@b.example\r\nMessage-ID: <" + b"x" * 600 + b"@y>\r\n\r\nhei")
@example(raw=b"From: =?utf-8?b?" + base64.b64encode("\x00\ud7ff".encode()) + b"?= <a@b.example>\r\n\r\nhei")
def test_receiving_any_mail_stores_it_or_quarantines_it_with_its_bytes(mailbox, raw: bytes) -> None:  # type: ignore[no-untyped-def]
    result = email_receive(raw=raw, mailbox=mailbox, source="fuzz")
    if result.outcome is Outcome.QUARANTINED:
        assert result.quarantined is not None
        assert bytes(QuarantinedMail.objects.get(pk=result.quarantined.pk).raw) == raw
    else:
        assert result.outcome in (Outcome.STORED, Outcome.DUPLICATE, Outcome.BOUNCE)
