"""Reads of proactive service: what made a case, for the console."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from tiski.proactive.models import ProactiveHit, ProactiveRule
from tiski.proactive.services import trigger_text


@dataclass(frozen=True)
class ProactiveReason:
    hit: ProactiveHit
    rule: ProactiveRule
    why: str  # one sentence: what fired, in the active language

    @property
    def record(self) -> dict[str, object]:
        return dict((self.hit.context or {}).get("record") or {})

    @property
    def event(self) -> dict[str, object]:
        return dict((self.hit.context or {}).get("event") or {})


def proactive_reason_for_case(*, case_id: int) -> ProactiveReason | None:
    """Return why case CASE_ID was opened by a proactive rule, or None when it was not (one query)."""
    hit = ProactiveHit.objects.filter(case_id=case_id).select_related("rule", "rule__queue").order_by("-pk").first()
    if hit is None:
        return None
    return ProactiveReason(hit=hit, rule=hit.rule, why=trigger_text(rule=hit.rule, hit=hit, with_record=False))


def proactive_event_text(data: dict[str, Any]) -> str:
    """Return the timeline's sentence for the event a proactive rule records on the case it opens."""
    return _("Opened by the proactive rule “%(rule)s”") % {"rule": data.get("rule") or "–"}
