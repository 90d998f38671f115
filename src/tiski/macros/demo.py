"""The demo company's macros: three shared ones the team uses every day and one personal macro of Maija's."""

from __future__ import annotations

from typing import Any

from tiski.macros.models import Macro

OUTAGE = (
    "Hei {{ customer.first_name }},\n\n"
    "verkkokaupassamme on tänään häiriö, joka viivästyttää tilausten käsittelyä. Korjaamme vikaa parhaillaan; "
    "tilauksesi on tallessa, eikä sinun tarvitse tehdä mitään. Kerromme, kun kaikki toimii taas.\n\n"
    "Hi {{ customer.first_name }}, our web shop has an outage today that delays orders. We are fixing it; "
    "your order is safe and you need not do anything. We will let you know when all is well again.\n\n"
    "{{ agent.first_name }} / {{ company }} · {{ case.reference }}"
)
ORDER_NUMBER = (
    "Hei {{ customer.first_name }},\n\n"
    "kiitos viestistäsi! Jotta voimme auttaa, lähetäthän tilausnumerosi (alkaa kirjaimilla TN). "
    "Löydät sen tilausvahvistuksesta.\n\n{{ agent.first_name }} / {{ company }}"
)
THANKS = "Kiitos {{ customer.first_name }}, hienoa että asia ratkesi! Mukavaa päivänjatkoa.\n\n{{ agent.first_name }}"

SHARED: list[dict[str, Any]] = [
    {
        "name": "Outage status update",
        "description": "Häiriötiedote: status update on each case's own channel, then pending (FI + EN)",
        "actions": [
            {"action": "reply", "body": OUTAGE},
            {"action": "set_status", "status": "pending"},
            {"action": "add_tags", "tags": ["outage"]},
        ],
    },
    {
        "name": "Pyydä tilausnumero",
        "description": "Ask for the order number and wait for the customer",
        "actions": [
            {"action": "reply", "body": ORDER_NUMBER},
            {"action": "set_status", "status": "pending"},
            {"action": "add_tags", "tags": ["tilausnumero-puuttuu"]},
        ],
    },
    {
        "name": "Escalate to team lead",
        "description": "Urgent, team leads told, with a note for the timeline",
        "actions": [
            {"action": "escalate", "reason": "Asiakas odottaa nopeaa vastausta"},
            {"action": "note", "body": "Eskaloitu tiiminvetäjälle ({{ agent.name }})."},
        ],
    },
]


def demo_macros_create(*, users: dict[str, Any]) -> list[Macro]:
    """Create the demo macros (shared, by Minna the team lead; one personal of Maija's) and return them."""
    from tiski.automation.actions import actions_validate

    created = [
        Macro.objects.create(
            name=m["name"],
            description=m["description"],
            actions=actions_validate(m["actions"]),
            position=n,
            created_by=users.get("minna"),
        )
        for n, m in enumerate(SHARED)
    ]
    if "maija" in users:
        created.append(
            Macro.objects.create(
                name="Kiitos ja ratkaistu",
                description="Thank the customer and solve",
                actions=actions_validate(
                    [{"action": "reply", "body": THANKS}, {"action": "set_status", "status": "solved"}]
                ),
                owner=users["maija"],
                created_by=users["maija"],
            )
        )
    return created
