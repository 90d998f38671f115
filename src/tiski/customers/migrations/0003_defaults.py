"""Default master-data rules and signal rules; administrators change them in the admin."""

from django.db import migrations

PRECEDENCE = {
    # An agent's correction wins over what channels say; imports from the company's systems win over both
    # for the data those systems own.
    "*": ["agent", "import:*", "api:*", "channel:webform", "channel:email", "channel:*"],
    "address": ["import:*", "api:*", "agent", "channel:webform", "channel:email", "channel:*"],
    "tier": ["import:*", "api:*", "agent"],
    "organization": ["import:*", "api:*", "agent", "channel:*"],
}

SIGNALS = [
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


def create(apps, schema_editor):
    FieldPrecedence = apps.get_model("customers", "FieldPrecedence")
    SignalRule = apps.get_model("customers", "SignalRule")
    for field, sources in PRECEDENCE.items():
        FieldPrecedence.objects.get_or_create(field=field, defaults={"sources": "\n".join(sources)})
    if not SignalRule.objects.exists():
        for position, rule in enumerate(SIGNALS):
            SignalRule.objects.create(position=position * 10, **rule)


class Migration(migrations.Migration):
    dependencies = [("customers", "0002_customerevent_externalrecord_fieldprecedence_and_more")]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
