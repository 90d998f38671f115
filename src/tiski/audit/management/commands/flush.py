"""Django's `flush`, able to empty the append-only audit table (test databases: TransactionTestCase, live_server).

The audit triggers refuse DELETE, which SQLite's flush issues; once the flush is confirmed, this
command opens the prune gate for every entry, deletes them, then runs Django's own flush.
"""

from __future__ import annotations

from typing import Any

from django.core.management.commands import flush
from django.db import DEFAULT_DB_ALIAS, connections

from tiski.audit.models import AuditEntry
from tiski.audit.services import audit_delete_all_for_flush


class Command(flush.Command):
    def handle(self, **options: Any) -> None:
        database = options.get("database") or DEFAULT_DB_ALIAS
        if options.get("interactive", True):
            confirm = input(
                "You have requested a flush of the database, the append-only audit log included.\n"
                "This will IRREVERSIBLY DESTROY all data. Type 'yes' to continue, or 'no' to cancel: "
            )
            if confirm != "yes":
                self.stdout.write("Flush cancelled.")
                return
        connection = connections[database]
        if AuditEntry._meta.db_table in connection.introspection.table_names():
            audit_delete_all_for_flush(using=database)
        super().handle(**{**options, "interactive": False})
