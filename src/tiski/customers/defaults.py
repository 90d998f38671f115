"""The master-data rules and signal rules a new installation starts with; administrators change them in the admin.

Created by migration 0003 and again after every `migrate` or `flush` (post_migrate) when the tables are
empty, so a database emptied by tests or by hand gets them back, while rules an administrator edited stay.
"""

from __future__ import annotations

from typing import Any

PRECEDENCE = {
    # An agent's correction wins over what channels say; imports from the company's systems win over both
    # for the data those systems own.
    "*": ["agent", "import:*", "api:*", "channel:webform", "channel:email", "channel:*"],
    "address": ["import:*", "api:*", "agent", "channel:webform", "channel:email", "channel:*"],
    "tier": ["import:*", "api:*", "agent"],
    "organization": ["import:*", "api:*", "agent", "channel:*"],
}

SIGNALS: list[dict[str, Any]] = [
    {
        "label": "Complaint open",
        "label_fi": "Reklamaatio auki",
        "level": "red",
        "subject": "open_case",
        "conditions": [{"field": "type", "op": "eq", "value": "complaint"}],
    },
    {
        "label": "Order late",
        "label_fi": "Tilaus myöhässä",
        "level": "red",
        "subject": "record",
        "record_kind": "order",
        "conditions": [
            {"field": "due_date", "op": "overdue"},
            {"field": "status", "op": "not_in", "value": ["delivered", "cancelled", "closed"]},
        ],
    },
    {
        "label": "Invoice in collection",
        "label_fi": "Lasku perinnässä",
        "level": "red",
        "subject": "record",
        "record_kind": "invoice",
        "conditions": [{"field": "status", "op": "eq", "value": "in_collection"}],
    },
    {
        "label": "Unhappy last time",
        "label_fi": "Tyytymätön viimeksi",
        "level": "amber",
        "subject": "record",
        "record_kind": "survey",
        "latest_only": True,
        "conditions": [{"field": "attributes.score", "op": "lte", "value": 2}],
    },
    {  # kept up to date by tiski.surveys (its migration 0002 adds it to installations older than it)
        "label": "Negative last survey",
        "label_fi": "Kielteinen palaute viimeksi",
        "level": "amber",
        "subject": "customer",
        "conditions": [{"field": "last_survey_negative", "op": "eq", "value": True}],
    },
    {
        "label": "Contract renewal due",
        "label_fi": "Sopimus uusittavana",
        "level": "amber",
        "subject": "record",
        "record_kind": "contract",
        "conditions": [{"field": "renewal_date", "op": "within_days", "value": 60}],
    },
    {
        "label": "VIP",
        "label_fi": "VIP",
        "level": "green",
        "subject": "customer",
        "conditions": [{"field": "tier", "op": "eq", "value": "vip"}],
    },
]


def defaults_create(field_precedence: Any, signal_rule: Any) -> None:
    """Create the default rows in the tables of FIELD_PRECEDENCE and SIGNAL_RULE (models) that are empty."""
    if not field_precedence.objects.exists():
        for field, sources in PRECEDENCE.items():
            field_precedence.objects.create(field=field, sources="\n".join(sources))
    if not signal_rule.objects.exists():
        for position, rule in enumerate(SIGNALS):
            signal_rule.objects.create(position=position * 10, **rule)


def defaults_ensure(**_kwargs: Any) -> None:
    """Create the default rules where none exist (a post_migrate receiver)."""
    from tiski.customers.models import FieldPrecedence, SignalRule

    defaults_create(FieldPrecedence, SignalRule)
