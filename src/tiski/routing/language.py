"""Tell which language a contact is written in, so that routing can require the matching language skill.

lingua compares the text with the n-gram models of the few languages in TISKI_DETECT_LANGUAGES only (telling
three languages apart is far more reliable than telling seventy). Statistics alone are weak on the short texts
chat and SMS bring ("Is the Trek in stock?" looks Swedish to n-grams: "is", "in", "stock" are Swedish words),
so each very common function word of a language ("the", "onko", "och") multiplies that language's odds: a
word like that is strong evidence n-grams do not weigh. The answer is given only when one language is clearly
ahead; otherwise "" (no language requirement) — a wrong guess would send work to the wrong agents.

The detector is built on first use (loading the models takes up to 0.7 s and about 120 MB for three
languages) and then shared by all threads of the process; a detection reads at most the first MAX_CHARS
characters and costs about 0.4 ms for a typical mail, 0.1 ms for a chat line.
"""

from __future__ import annotations

import re
import threading
from typing import TYPE_CHECKING

from django.conf import settings

if TYPE_CHECKING:
    from lingua import IsoCode639_1, LanguageDetector

MAX_CHARS = 400  # enough to be sure of a mail's language; the cost grows with the text (about 1 µs a character)
CONFIDENCE = 0.7  # the share of the evidence the leading language must hold
FUNCTION_WORD_ODDS = 4.0  # how much one function word multiplies its language's odds


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Very common words that are (nearly) never words of the other languages here. Not "in", "i", "en", "a":
# they are words of two of them.
FUNCTION_WORDS: dict[str, frozenset[str]] = {
    "fi": _words(
        "ja on ei se että mutta kun jos tai onko olen ole oli ovat minä mä sinä me te he tämä tuo mikä missä miten "
        "milloin voinko voisinko voitteko voisitteko kiitos hei moi moikka terve terveisin ystävällisin kyllä vielä "
        "myös nyt jo sitten minun meidän teidän kanssa eikä olisi mitä paljon niin vain"
    ),
    "en": _words(
        "the is are was were and of to my you your it this that what where when how why can could would have has "
        "do does did not with for hi hello please thanks thank i'm we our me be been will there from just about "
        "any if or but dear regards yes at an"
    ),
    "sv": _words(
        "och är det jag inte att ett som på med för har hej tack finns kan min mitt mina vad hur när varför ni vi "
        "du er hälsningar hälsning vänliga också eller men om till från skulle vill kunde den de"
    ),
}

_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
# Addresses, links and reply prefixes say nothing about the language ("SV:" is Swedish for "Re:", and Outlook
# writes it in any language).
_NOISE = re.compile(r"\S+@\S+|https?://\S+|www\.\S+|^\s*(?:(?:re|fwd?|vs|sv|aw|vl|vast)\s*:\s*)+", re.IGNORECASE)

_lock = threading.Lock()
_detectors: dict[tuple[str, ...], LanguageDetector | None] = {}


def detect_language(text: str) -> str:
    """Return the ISO 639-1 code of TEXT's language among TISKI_DETECT_LANGUAGES, or "" when not confident."""
    codes = tuple(code.strip().lower() for code in settings.TISKI_DETECT_LANGUAGES)
    detector = _detectors.get(codes) if codes in _detectors else _detector_build(codes)
    if detector is None:
        return ""
    text = _NOISE.sub(" ", text[:MAX_CHARS])
    words = [word.lower() for word in _WORD.findall(text)]
    if not words:
        return ""
    hits = {code: sum(word in FUNCTION_WORDS.get(code, ()) for word in words) for code in codes}
    if len(words) < 2 and not any(hits.values()):
        return ""  # one word of no particular language ("ok", "Trek", a product code)
    odds: dict[str, float] = {}
    for value in detector.compute_language_confidence_values(text):
        code = value.language.iso_code_639_1.name.lower()
        odds[code] = value.value * FUNCTION_WORD_ODDS ** hits.get(code, 0)
    total = sum(odds.values())
    if total <= 0:
        return ""
    best = max(odds, key=lambda code: odds[code])
    return best if odds[best] / total >= CONFIDENCE else ""


def detector_warm() -> None:
    """Load the language models now (e.g. in a background thread at start-up) instead of on the first contact."""
    detect_language("warm up")


def unknown_language_codes(codes: list[str]) -> list[str]:
    """Return the codes in CODES that lingua has no model for (for the system check)."""
    return [code for code in codes if _iso(code) is None]


def _iso(code: str) -> IsoCode639_1 | None:
    from lingua import IsoCode639_1

    code = code.strip()
    return getattr(IsoCode639_1, code.upper(), None) if len(code) == 2 and code.isalpha() else None


def _detector_build(codes: tuple[str, ...]) -> LanguageDetector | None:
    """Build (once per set of languages, whichever thread comes first) the detector for CODES."""
    with _lock:
        if codes in _detectors:
            return _detectors[codes]
        from lingua import Language, LanguageDetectorBuilder

        isos = [iso for iso in dict.fromkeys(_iso(code) for code in codes) if iso is not None]
        languages = [Language.from_iso_code_639_1(iso) for iso in isos]
        # With fewer than two languages there is nothing to tell apart: no language requirement at all.
        detector = LanguageDetectorBuilder.from_languages(*languages).build() if len(languages) >= 2 else None
        _detectors[codes] = detector
        return detector
