"""Default master-data rules and signal rules; administrators change them in the admin."""

from django.db import migrations

from tiski.customers.defaults import defaults_create


def create(apps, schema_editor):
    defaults_create(apps.get_model("customers", "FieldPrecedence"), apps.get_model("customers", "SignalRule"))


class Migration(migrations.Migration):
    dependencies = [("customers", "0002_customerevent_externalrecord_fieldprecedence_and_more")]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
