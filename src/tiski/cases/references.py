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


def reference_token_find(text: str) -> str:
    """Return the first bracketed reference token in TEXT ("Re: [TSK-1042] …" → "TSK-1042"), or ""."""
    match = re.search(rf"\[({re.escape(settings.TISKI_CASE_PREFIX)}-\d{{1,12}})\]", text, re.I)
    return match.group(1).upper() if match else ""
