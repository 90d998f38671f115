"""Phone, SMS and WhatsApp numbers are one identity (kind phone); index names for matching.

Every sms/whatsapp identity becomes a phone identity. When its customer has the phone identity already,
the duplicate's messages point at the phone identity and the duplicate goes. When another customer has it,
both are left as they are and a warning names the two customers (an agent merges or splits them).

Every customer's folded name (name_key) and match keys (words of the name, email local parts) are filled.
"""

import logging

from django.db import migrations

logger = logging.getLogger("tiski.customers.migrations")
PHONE_ALIASES = ("sms", "whatsapp")


def fold_phone_identities(apps, schema_editor):
    Identity = apps.get_model("customers", "Identity")
    Message = apps.get_model("cases", "Message")
    for alias in Identity.objects.filter(kind__in=PHONE_ALIASES).order_by("created_at", "pk").iterator():
        phone = Identity.objects.filter(kind="phone", value=alias.value).first()
        if phone is None:
            alias.kind = "phone"
            alias.save(update_fields=["kind"])
        elif phone.customer_id == alias.customer_id:
            Message.objects.filter(identity_id=alias.pk).update(identity_id=phone.pk)
            alias.delete()
        else:
            older, newer = sorted([alias, phone], key=lambda identity: (identity.created_at, identity.pk))
            logger.warning(
                "The number %s is a phone identity of customer %s and a %s identity of customer %s; both kept "
                "as they are (customer %s had it first): merge the customers or split the number off.",
                alias.value,
                phone.customer_id,
                alias.kind,
                alias.customer_id,
                older.customer_id,
            )


def index_names(apps, schema_editor):
    from tiski.customers.matching import match_keys_for
    from tiski.customers.normalize import fold_name

    Customer = apps.get_model("customers", "Customer")
    Identity = apps.get_model("customers", "Identity")
    CustomerMatchKey = apps.get_model("customers", "CustomerMatchKey")
    last = 0
    while True:
        batch = list(Customer.objects.filter(pk__gt=last).order_by("pk").only("pk", "name", "name_key")[:2000])
        if not batch:
            return
        last = batch[-1].pk
        emails = {}
        for customer_id, value in Identity.objects.filter(
            customer_id__in=[c.pk for c in batch], kind="email"
        ).values_list("customer_id", "value"):
            emails.setdefault(customer_id, []).append(value)
        for customer in batch:
            customer.name_key = fold_name(customer.name)
        Customer.objects.bulk_update(batch, ["name_key"])
        CustomerMatchKey.objects.bulk_create(
            [
                CustomerMatchKey(customer_id=customer.pk, key=key)
                for customer in batch
                for key in match_keys_for(name_key=customer.name_key, emails=emails.get(customer.pk, []))
            ],
            ignore_conflicts=True,
        )


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0004_customermatchkey"),
        ("cases", "0004_alter_caseevent_kind"),
    ]
    operations = [
        migrations.RunPython(fold_phone_identities, migrations.RunPython.noop),
        migrations.RunPython(index_names, migrations.RunPython.noop),
    ]
