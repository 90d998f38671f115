"""Separate the visible reply from quoted history and signatures, with mail-parser-reply.

The library knows English, Swedish, German and other languages; the markers of Finnish mail clients
("Lähetetty iPhonesta", "-----Alkuperäinen viesti-----", "… kirjoitti:", Outlook's "Lähettäjä:/Lähetetty:/
Vastaanottaja:/Aihe:" block) and Russian ("… написал:") are added to its language table here.
"""

from __future__ import annotations

import re
from functools import lru_cache
from re import Pattern

from mailparser_reply.constants import MAIL_LANGUAGES, QUOTED_MATCH_INCLUDE
from mailparser_reply.parser import EmailMessage

LANGUAGES = ("en", "fi", "sv", "de", "ru")  # each language adds regexes to every mail: keep to our customers

MAIL_LANGUAGES.setdefault(
    "fi",
    {
        # "la 12.10.2024 klo 14.03 Maija <tuki@…> kirjoitti:" (Gmail, Apple Mail), or Outlook's separator line
        "wrote_header": r"^(?:("
        + QUOTED_MATCH_INCLUDE
        + r"[^\n]+?\s?kirjoitti:?)|(-{3,} ?(?:Alkuperäinen viesti|Välitetty viesti) ?-{3,}))$",
        "from_header": r"((?:(?:^|\n|\n"
        + QUOTED_MATCH_INCLUDE
        + r")[* ]*(?:Lähettäjä|Lähetetty|Vastaanottaja|Aihe|Päivämäärä|Kopio):[ *]*(?:\s{,2}).*){2,}(?:\n.*){,1})",
        "disclaimers": ["Tämä viesti on luottamuksellinen", "LUOTTAMUKSELLINEN"],
        "signatures": ["Ystävällisin terveisin", "Parhain terveisin", "Terveisin", "T:"],
        # The library appends " <device>" to this pattern; the look-ahead keeps Outlook's "Lähetetty:" out.
        "sent_from": r"Lähetetty(?= (?:iPhone|iPad|Android|matkapuhelime|Outlook|Samsung)\w*$)|Hanki Outlook",
    },
)
MAIL_LANGUAGES.setdefault(
    "ru",
    {
        "wrote_header": r"^(" + QUOTED_MATCH_INCLUDE + r"[^\n]+?\s?написал(?:а)?:)$",
        "from_header": r"((?:(?:^|\n|\n"
        + QUOTED_MATCH_INCLUDE
        + r")[* ]*(?:От|Отправлено|Кому|Тема|Дата):[ *]*(?:\s{,2}).*){2,}(?:\n.*){,1})",
        "disclaimers": [],
        "signatures": ["С уважением"],
        "sent_from": "Отправлено с",
    },
)

_TRAILING_RULE = re.compile(r"(?:\n[ \t]*[-_=*]{3,}[ \t]*)+\s*\Z")


@lru_cache(maxsize=1)
def _patterns() -> dict[str, Pattern[str]]:
    """Compile the library's header, disclaimer and signature patterns for our languages once.

    The library builds and compiles them per message otherwise (dozens of long patterns for each mail);
    they are fields of its EmailMessage, so every message is handed the compiled ones.
    """
    prototype = EmailMessage(text="", languages=list(LANGUAGES), keep_hyphen_lists=True)
    return {
        "_header_regex": prototype.HEADER_REGEX,
        "_disclaimers_regex": prototype.DISCLAIMERS_REGEX,
        "_signature_regex": prototype.SIGNATURE_REGEX,
    }


def visible_reply(text: str) -> str:
    """Return the new part of a mail's text: without quoted history, forwarded headers and signature."""
    normalized = text.replace("\r\n", "\n").replace("\r", "\n")
    # keep_hyphen_lists: "- item" lines are a list, not a "-Name" signature.
    parsed = EmailMessage(text=normalized, languages=list(LANGUAGES), keep_hyphen_lists=True, **_patterns()).read()
    reply = parsed.replies[0].body.strip() if parsed.replies else ""
    if not reply:
        return normalized.strip()
    lines = reply.splitlines()
    unquoted = [line for line in lines if not line.lstrip().startswith(">")]
    if len(unquoted) < len(lines) and any(line.strip() for line in unquoted):
        # Bottom-posted: the answer follows the quote ("On … wrote:\n> question\nanswer").
        reply = "\n".join(unquoted).strip()
    return _TRAILING_RULE.sub("", reply).strip()
