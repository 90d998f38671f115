"""Turn raw RFC 822 mail into the fields the pipeline needs: real-world MIME, not just the happy path.

Text is decoded with the declared charset, falling back to Windows-1252 for mislabelled Latin mail and
to UTF-8 with replacement characters for the rest; HTML-only mail gets a derived text; attachments keep
RFC 2231/2047 names (or get synthesised ones); forwarded messages are kept as .eml attachments; the
visible reply is separated from quoted history and signatures, in English, Finnish, Swedish and German.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import re
from dataclasses import dataclass, field
from datetime import datetime
from email.errors import MessageError
from email.header import Header, decode_header, make_header
from email.message import Message
from email.utils import getaddresses, parseaddr, parsedate_to_datetime

from inscriptis import get_text

from tiski.channels.email.replies import visible_reply
from tiski.channels.interface import InboundAttachment


class EmailParseError(ValueError):
    """The bytes are not a mail that can be stored as a message (the raw source is still kept)."""


@dataclass(frozen=True)
class ParsedEmail:
    message_id: str
    subject: str
    from_name: str
    from_address: str
    to: list[str]
    cc: list[str]
    reply_to: str
    date: datetime | None
    in_reply_to: list[str]
    references: list[str]
    text: str  # the whole text, quoted history included
    html: str  # as received, unsanitised: the pipeline sanitises
    visible_text: str  # the new part only, without quoted history and signature
    attachments: list[InboundAttachment] = field(default_factory=list)
    auto_submitted: bool = False  # an auto-reply, list or bulk mail: never acknowledged
    bounce: bool = False
    bounced_message_id: str = ""  # for a bounce: the Message-ID of our mail that could not be delivered
    headers: dict[str, str] = field(default_factory=dict)


_MSGID = re.compile(r"<[^<>\s]+>")
_BOUNCE_SENDERS = re.compile(r"^(mailer-daemon|postmaster|mail-daemon|mailerdaemon)@", re.I)


def _header(msg: Message, name: str) -> str:
    """Return a header decoded to text (RFC 2047 words included); a malformed one is returned as it is.

    Mail is parsed with the fast compat32 policy; headers are decoded here, only those that are read.
    """
    return _decode_words(_raw_header(msg, name)).replace("\x00", "").strip()


def _raw_header(msg: Message, name: str) -> str:
    """Return a header unfolded but not decoded: addresses are read from it, before any RFC 2047 word is."""
    value = msg.get(name)
    if value is None:
        return ""
    if isinstance(value, Header):
        value = str(value)
    return _unfold(str(value).replace("\x00", "")).strip()  # no database stores NUL in text


def _decode_words(text: str) -> str:
    """Return TEXT with its RFC 2047 encoded words decoded; TEXT as it is when they are broken."""
    if "=?" not in text:
        return text
    try:
        return _unfold(str(make_header(decode_header(text))))
    except (LookupError, ValueError, MessageError):  # MessageError: a charset name that is not even ASCII
        return text


_QUOTED_OR_COMMENT = re.compile(r'"(?:\\.|[^"\\])*"|\((?:\\.|[^()\\])*\)')
_ANGLE_ADDRESS = re.compile(r"<\s*([^<>\s\"]+@[^<>\s\"]+?)\s*>")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def _mailbox(value: str) -> tuple[str, str]:
    """Return (display name, address) of a mailbox header as sent (undecoded): "Name <address>" or "address".

    The address is read before any encoded word is decoded and outside quoted names and comments, so a display
    name such as "=?utf-8?q?ceo=40bank.example?= <attacker@evil.example>" or "ceo@bank.example <attacker@…>"
    never becomes the sender; an address that is only inside an encoded word is no address.
    """
    masked = _QUOTED_OR_COMMENT.sub(lambda found: " " * len(found.group()), value)
    angle = _ANGLE_ADDRESS.search(masked)
    if angle is not None:
        address = angle.group(1)
        name = value[: angle.start()].strip()
        if len(name) >= 2 and name[0] == name[-1] == '"':
            name = re.sub(r"\\(.)", r"\1", name[1:-1])
    else:
        name, address = parseaddr(value)
    if "=?" in address or "@" not in address:
        address = ""
    name = _CONTROL.sub(" ", _decode_words(name)).strip().strip('"').strip()
    return name, address


def _unfold(text: str) -> str:
    return re.sub(r"\r?\n[ \t]+", " ", text)


def _message_ids(value: str) -> list[str]:
    ids = _MSGID.findall(value)
    if not ids and value.strip():
        ids = [f"<{token.strip('<>')}>" for token in value.split() if "@" in token]
    return list(dict.fromkeys(ids))


def _addresses(msg: Message, name: str) -> list[str]:
    value = _raw_header(msg, name)  # addresses before encoded words are decoded (see _mailbox)
    return [addr.lower() for _, addr in getaddresses([value] if value else []) if "@" in addr and "=?" not in addr]


def _decode_text(part: Message) -> str:
    """Decode a text part: its charset, else UTF-8, else Windows-1252; never fail, line ends as \\n."""
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    charset = (part.get_content_charset() or "utf-8").lower()
    if charset in ("iso-8859-1", "latin-1", "latin1", "us-ascii", "ascii"):
        charset = "windows-1252"  # what mislabelled "Latin-1" mail really is, as browsers assume too
    try:
        text = payload.decode(charset)
    except (LookupError, ValueError):  # an unknown or broken charset name ("utf-8\0"), or bytes not in it
        try:
            text = payload.decode("utf-8")
        except UnicodeDecodeError:
            # Mostly UTF-8 with a few broken bytes keeps its letters; anything else is read as Windows-1252.
            utf8 = payload.decode("utf-8", errors="replace")
            text = utf8 if utf8.count("\ufffd") * 50 < len(utf8) else payload.decode("windows-1252", "replace")
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")


def _filename(part: Message, index: int) -> str:
    try:
        name = part.get_filename()
    except (ValueError, TypeError, LookupError):
        name = None
    if name:
        text = str(name)
        if "=?" in text:  # RFC 2047 in a parameter: not standard, but what many clients send
            with contextlib.suppress(LookupError, ValueError, MessageError):
                text = str(make_header(decode_header(text)))
        return text.replace("\r", "").replace("\n", " ").replace("\x00", "").strip()
    subtype = part.get_content_subtype() or "bin"
    extension = {"plain": "txt", "jpeg": "jpg", "octet-stream": "bin", "rfc822": "eml"}.get(subtype, subtype)
    return f"attachment_{index}.{extension}"


def _walk(msg: Message) -> tuple[list[str], list[str], list[InboundAttachment]]:
    """Collect the text parts, HTML parts and attachments of a message, depth first."""
    texts: list[str] = []
    htmls: list[str] = []
    attachments: list[InboundAttachment] = []

    def visit(part: Message) -> None:
        content_type = part.get_content_type()
        disposition = (part.get_content_disposition() or "").lower()
        if content_type == "message/rfc822":
            inner = part.get_payload()
            inner_msg = inner[0] if isinstance(inner, list) and inner else None
            if isinstance(inner_msg, Message):
                subject = _header(inner_msg, "Subject") or "forwarded message"
                name = re.sub(r"[^\w\- .äöåÄÖÅ]+", "_", subject)[:80].strip() + ".eml"
                attachments.append(InboundAttachment(name, "message/rfc822", inner_msg.as_bytes()))
            return
        if part.is_multipart():
            for sub in part.get_payload():
                if isinstance(sub, Message):
                    visit(sub)
            return
        is_body_text = content_type in ("text/plain", "text/html") and disposition != "attachment"
        if is_body_text and not (disposition == "inline" and part.get_filename()):
            (texts if content_type == "text/plain" else htmls).append(_decode_text(part))
            return
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            return
        content_id = (_header(part, "Content-ID") or "").strip("<> ")
        attachments.append(
            InboundAttachment(_filename(part, len(attachments) + 1), content_type, payload, content_id=content_id)
        )

    visit(msg)
    return texts, htmls, attachments


def _bounce(msg: Message, from_address: str) -> tuple[bool, str]:
    """Return whether MSG is a delivery failure report, and the Message-ID of the mail that bounced."""
    report = msg.get_content_type() == "multipart/report" and (
        (msg.get_param("report-type") or "") == "delivery-status"
    )
    if not (report or _BOUNCE_SENDERS.match(from_address)):
        return False, ""
    for part in msg.walk():
        if part.get_content_type() in ("message/rfc822", "text/rfc822-headers"):
            inner = part.get_payload()
            if isinstance(inner, list) and inner and isinstance(inner[0], Message):
                return True, _header(inner[0], "Message-ID")
            if isinstance(inner, str):
                found = re.search(r"^Message-ID:\s*(<[^>]+>)", inner, re.I | re.M)
                if found:
                    return True, found.group(1)
    return True, ""


def _auto_submitted(msg: Message) -> bool:
    auto = _header(msg, "Auto-Submitted").lower()
    precedence = _header(msg, "Precedence").lower()
    return bool(
        (auto and auto != "no")
        or precedence in ("bulk", "list", "junk", "auto_reply")
        or _header(msg, "X-Autoreply")
        or _header(msg, "X-Autorespond")
        or _header(msg, "X-Auto-Response-Suppress").lower() in ("all", "oof", "autoreply")
        or _header(msg, "List-Id")
        or _header(msg, "List-Unsubscribe")
        or (_header(msg, "Feedback-ID") and _header(msg, "X-Mailer").lower().startswith("mailchimp"))
    )


def email_parse(raw: bytes) -> ParsedEmail:
    """Parse RAW into a ParsedEmail; raise EmailParseError when it has no sender or is not mail at all."""
    if not raw or not raw.strip():
        raise EmailParseError("the mail is empty")
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    if not msg.keys():
        raise EmailParseError("the data has no mail headers")
    from_header = _raw_header(msg, "From")
    name, address = _mailbox(from_header)
    original_sender = _mailbox(_raw_header(msg, "X-Original-Sender"))[1]
    if original_sender:  # Google Groups and similar relays
        address = original_sender
    bounce, bounced_id = _bounce(msg, address)
    if "@" not in address and not bounce:  # a delivery report may come from the null sender <>
        raise EmailParseError(f"the sender address is missing or malformed: {from_header!r}")
    texts, htmls, attachments = _walk(msg)
    html = "\n".join(h for h in htmls if h.strip())
    text = "\n".join(t for t in texts if t.strip())
    if not text.strip() and html.strip():
        text = _html_to_text(html)
    date = None
    try:
        date_header = _header(msg, "Date")
        date = parsedate_to_datetime(date_header) if date_header else None
    except (TypeError, ValueError, IndexError):
        date = None
    subject = re.sub(r"\s+", " ", _header(msg, "Subject")).strip()
    return ParsedEmail(
        message_id=(_message_ids(_header(msg, "Message-ID")) or [""])[0],
        subject=subject,
        from_name=name,
        from_address=address.lower() if "@" in address else "",
        to=_addresses(msg, "To"),
        cc=_addresses(msg, "Cc"),
        reply_to=_mailbox(_raw_header(msg, "Reply-To"))[1].lower(),
        date=date,
        in_reply_to=_message_ids(_header(msg, "In-Reply-To")),
        references=_message_ids(_header(msg, "References")),
        text=text.strip("\n"),
        html=html,
        visible_text=_without_image_placeholders(visible_reply(text)) if text.strip() else "",
        attachments=attachments,
        auto_submitted=_auto_submitted(msg) or bounce,
        bounce=bounce,
        bounced_message_id=bounced_id,
        headers={k: _header(msg, k) for k in ("To", "Cc", "Date", "Auto-Submitted", "Precedence")},
    )


def _without_image_placeholders(text: str) -> str:
    """Drop Gmail's "[image: name.jpg]" stand-ins for inline images (the images are attachments)."""
    return _IMAGE_PLACEHOLDER.sub("", text).strip()


_IMAGE_PLACEHOLDER = re.compile(r"\[image: [^\]\n]{1,200}\]")


def _html_to_text(html: str) -> str:
    text = get_text(html)
    lines = [line.strip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
