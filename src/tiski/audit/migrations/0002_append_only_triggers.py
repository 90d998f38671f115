"""Refuse UPDATE and DELETE on the audit table in the database itself (SQLite and PostgreSQL)."""

from django.db import migrations

from tiski.audit import triggers


def forwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    triggers.install(schema_editor.connection)
    apps.get_model("audit", "AuditPruneGate").objects.using(schema_editor.connection.alias).get_or_create(id=1)


def backwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    triggers.uninstall(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
