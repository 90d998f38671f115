"""The demo company's automation rules: what a team would set up in its first week (created after the demo's
history, so they act on what arrives while the demo runs, through the simulators)."""

from __future__ import annotations

from typing import Any

from tiski.automation.services import rule_save

RULES: list[dict[str, Any]] = [
    {
        "name": "Laskukysymykset laskutukselle",
        "description": "Invoice questions go to the billing team, tagged",
        "trigger": "message_received",
        "channel_kinds": ["email", "webform", "chat", "sms", "whatsapp", "messenger"],
        "conditions": {
            "all": [
                {"field": "case.team", "op": "is_not", "value": "laskutus"},
                {
                    "any": [
                        {"field": "message.text", "op": "contains", "value": "lasku"},
                        {"field": "message.text", "op": "contains", "value": "invoice"},
                    ]
                },
            ]
        },
        "actions": [{"action": "set_team", "team": "Laskutus"}, {"action": "add_tags", "tags": ["lasku"]}],
    },
    {
        "name": "VIP-asiakkaat ensin",
        "description": "VIP and gold customers' new cases are high priority, and the team leads hear of them",
        "trigger": "case_created",
        "conditions": {"all": [{"field": "customer.tier", "op": "in", "value": ["vip", "gold"]}]},
        "actions": [
            {"action": "set_priority", "priority": "high"},
            {"action": "notify", "to": "team_leads", "text": "VIP: {{ case.reference }} {{ customer.name }}"},
        ],
    },
    {
        "name": "Ensivastaus myöhässä → eskaloi",
        "description": "A missed first response is escalated to the team leads",
        "trigger": "sla_breached",
        "conditions": {"all": [{"field": "event.metric", "op": "is", "value": "first_response"}]},
        "actions": [{"action": "escalate", "reason": "Ensivastaus myöhässä / first response missed"}],
    },
    {
        "name": "Sulje hiljaiset tapaukset",
        "description": "A case that has waited on the customer for five days is solved, with a friendly note "
        "(off in the demo: switched on, it would solve the demo's own history at once)",
        "enabled": False,
        "trigger": "status_for",
        "trigger_status": "pending",
        "trigger_hours": 120,
        "actions": [
            {
                "action": "reply",
                "body": "Hei {{ customer.first_name }}, emme ole kuulleet sinusta hetkeen, joten merkitsemme "
                "asian {{ case.reference }} ratkaistuksi. Vastaa tähän viestiin, niin jatkamme.\n\n{{ company }}",
            },
            {"action": "set_status", "status": "solved"},
        ],
    },
]


def demo_rules_create() -> int:
    """Create the demo's automation rules (once); return how many were created."""
    from tiski.automation.models import Rule

    if Rule.objects.filter(name__in=[data["name"] for data in RULES]).exists():
        return 0
    for data in RULES:
        rule_save(data=data, actor=None)
    return len(RULES)
