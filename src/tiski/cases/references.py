"""Case references (TSK-1042) to and from primary keys."""

from __future__ import annotations

import re

from django.conf import settings


def case_pk_from_reference(reference: str) -> int | None:
    """Return the primary key a reference like "TSK-1042" (or "tsk1042", "1042") points at, or None."""
    match = re.fullmatch(rf"\s*(?:{re.escape(settings.TISKI_CASE_PREFIX)}-?)?(\d{{1,12}})\s*", reference, re.I)
    if match is None:
        return None
    pk = int(match.group(1)) - settings.TISKI_CASE_NUMBER_OFFSET
    return pk if pk > 0 else None


def reference_tokens_find(text: str) -> list[str]:
    """Return the bracketed reference tokens in TEXT, first first, each once ("Re: [TSK-7] Fw: [TSK-5] …" →
    ["TSK-7", "TSK-5"]): a forwarded thread can carry someone else's case before the sender's own."""
    pattern = rf"\[({re.escape(settings.TISKI_CASE_PREFIX)}-\d{{1,12}})\]"
    return list(dict.fromkeys(token.upper() for token in re.findall(pattern, text, re.I)))
