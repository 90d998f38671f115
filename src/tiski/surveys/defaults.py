"""What every installation starts with: the two kinds' settings (off), the low-score rule and the customer signal.

Created by migration 0002 (so an upgraded installation gets them too); the rule and the signal are looked up by
name, so an administrator's edited or deleted copy is never doubled or brought back by a later migration.
"""

from __future__ import annotations

from typing import Any

LOW_SCORE_RULE = "Low survey score → follow-up for the team lead"
LOW_SCORE_RULE_DATA: dict[str, Any] = {
    "name": LOW_SCORE_RULE,
    "description": (
        "A customer gave a low score (CSAT 1–2, NPS 0–6): a follow-up task for the case's team, and the team "
        "leads are told. The task links the surveyed case; its feedback panel shows the score and the comment."
    ),
    "enabled": True,
    "trigger": "survey_answered",
    "channel_kinds": [],
    "conditions": {"all": [{"field": "survey.negative", "op": "is", "value": True}]},
    "actions": [
        {
            "action": "linked_case",
            "subject": "Follow up a low survey score: {{ case.reference }} {{ case.subject }}",
            "type": "task",
            "note": (
                "{{ customer.name }} gave a low score ({{ survey.score }}) on the survey of {{ case.reference }}. "
                "Comment: {{ survey.comment|default:'–' }}. Call or write to the customer, then note what was agreed."
            ),
        },
        {
            "action": "notify",
            "to": "team_leads",
            "text": "Low survey score ({{ survey.score }}) from {{ customer.name }} on {{ case.reference }}",
        },
    ],
}
NEGATIVE_SIGNAL: dict[str, Any] = {
    "label": "Negative last survey",
    "label_fi": "Kielteinen palaute viimeksi",
    "level": "amber",
    "subject": "customer",
    "conditions": [{"field": "last_survey_negative", "op": "eq", "value": True}],
}


def defaults_create(survey_settings: Any, rule: Any, signal_rule: Any) -> None:
    """Create what is missing of the defaults in the tables of the three models (historical models work)."""
    from tiski.surveys.services import DEFAULTS

    for kind, values in DEFAULTS.items():
        survey_settings.objects.get_or_create(kind=kind, defaults=values)
    if not rule.objects.filter(name=LOW_SCORE_RULE).exists():
        last = rule.objects.order_by("-position").values_list("position", flat=True).first()
        rule.objects.create(position=0 if last is None else last + 1, **LOW_SCORE_RULE_DATA)
    if not signal_rule.objects.filter(label=NEGATIVE_SIGNAL["label"]).exists():
        last = signal_rule.objects.order_by("-position").values_list("position", flat=True).first()
        signal_rule.objects.create(position=0 if last is None else last + 1, **NEGATIVE_SIGNAL)
