"""The console's view of proactive work: the panel on a case a rule opened, and the reason on its offer card."""

from __future__ import annotations

from typing import Any

from django import template

from tiski.cases.models import Case
from tiski.proactive.models import ProactiveRule
from tiski.proactive.selectors import proactive_reason_for_case

register = template.Library()


@register.inclusion_tag("proactive/_panel.html", takes_context=True)
def proactive_panel(context: template.Context, case: Case) -> dict[str, Any]:
    """Why a proactive rule opened CASE: the reason, what fired, the record's details and whom to call."""
    # Proactive cases are tasks: other cases cost no query.
    reason = proactive_reason_for_case(case_id=case.pk) if case.type == Case.Type.TASK else None
    dial = False
    can_work = bool(context.get("can_work"))  # a read-only user sees the reason, not the call button
    if can_work and reason is not None and reason.rule.work_kind == ProactiveRule.WorkKind.CALL and case.is_open:
        from tiski.channels.voice.services import phone_channel_for_dialling

        dial = phone_channel_for_dialling() is not None
    return {
        "reason": reason,
        "case": case,
        "dial": dial,
        "number": (reason.hit.context or {}).get("number", "") if reason else "",
        "request": context.get("request"),
        "csrf_token": context.get("csrf_token"),
    }


@register.inclusion_tag("proactive/_offer_reason.html")
def proactive_offer_reason(case: Case) -> dict[str, Any]:
    """The reason line on an offer card of proactive work (nothing, and no query, for work on other than tasks)."""
    return {"reason": proactive_reason_for_case(case_id=case.pk) if case.type == Case.Type.TASK else None}
