"""The database half of the append-only rule: triggers that refuse UPDATE and DELETE on the audit table.

An UPDATE may only empty `actor_id` or `target_type_id` (Django's SET_NULL when a user or a content
type is deleted); everything else is refused. A DELETE passes only for entries older than the
`until` of the prune gate row, which `audit_prune` opens and closes inside its transaction.
Installed by migration 0002; on SQLite a later migration that rebuilds the table drops them, so
such a migration must call `install` again (tests/audit checks that they are present).
"""

from __future__ import annotations

from django.db.backends.base.base import BaseDatabaseWrapper

MESSAGE = "audit entries are append-only"
_COLUMNS = ["at", "actor_label", "action", "target_id", "target_label", "detail", "ip", "user_agent", "request_id"]

_SQLITE = [
    """
    CREATE TRIGGER IF NOT EXISTS audit_auditentry_no_delete BEFORE DELETE ON audit_auditentry
    WHEN NOT EXISTS (SELECT 1 FROM audit_auditprunegate g WHERE g."until" IS NOT NULL AND OLD."at" < g."until")
    BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END
    """,
    """
    CREATE TRIGGER IF NOT EXISTS audit_auditentry_no_update BEFORE UPDATE ON audit_auditentry
    WHEN NOT (NEW.id IS OLD.id AND UNCHANGED
              AND (NEW.actor_id IS OLD.actor_id OR NEW.actor_id IS NULL)
              AND (NEW.target_type_id IS OLD.target_type_id OR NEW.target_type_id IS NULL))
    BEGIN SELECT RAISE(ABORT, 'MESSAGE'); END
    """.replace("UNCHANGED", " AND ".join(f'NEW."{c}" IS OLD."{c}"' for c in _COLUMNS)).replace("MESSAGE", MESSAGE),
]

_POSTGRESQL = [
    """
    CREATE OR REPLACE FUNCTION audit_auditentry_guard() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'DELETE' THEN
            IF EXISTS (SELECT 1 FROM audit_auditprunegate g WHERE g."until" IS NOT NULL AND OLD."at" < g."until") THEN
                RETURN OLD;
            END IF;
        ELSIF (to_jsonb(NEW) - 'actor_id' - 'target_type_id') = (to_jsonb(OLD) - 'actor_id' - 'target_type_id')
              AND (NEW.actor_id IS NOT DISTINCT FROM OLD.actor_id OR NEW.actor_id IS NULL)
              AND (NEW.target_type_id IS NOT DISTINCT FROM OLD.target_type_id OR NEW.target_type_id IS NULL) THEN
            RETURN NEW;
        END IF;
        RAISE EXCEPTION 'audit entries are append-only' USING ERRCODE = 'restrict_violation';
    END
    $$
    """,
    "DROP TRIGGER IF EXISTS audit_auditentry_append_only ON audit_auditentry",
    """
    CREATE TRIGGER audit_auditentry_append_only BEFORE UPDATE OR DELETE ON audit_auditentry
    FOR EACH ROW EXECUTE FUNCTION audit_auditentry_guard()
    """,
]

_DROP = {
    "sqlite": [
        "DROP TRIGGER IF EXISTS audit_auditentry_no_delete",
        "DROP TRIGGER IF EXISTS audit_auditentry_no_update",
    ],
    "postgresql": [
        "DROP TRIGGER IF EXISTS audit_auditentry_append_only ON audit_auditentry",
        "DROP FUNCTION IF EXISTS audit_auditentry_guard()",
    ],
}


def install(connection: BaseDatabaseWrapper) -> None:
    """Create the triggers on this connection's database (SQLite or PostgreSQL; others are skipped)."""
    statements = {"sqlite": _SQLITE, "postgresql": _POSTGRESQL}.get(connection.vendor, [])
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


def uninstall(connection: BaseDatabaseWrapper) -> None:
    """Drop the triggers."""
    with connection.cursor() as cursor:
        for sql in _DROP.get(connection.vendor, []):
            cursor.execute(sql)


def installed(connection: BaseDatabaseWrapper) -> bool:
    """Return whether the triggers exist."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_auditentry'"
            )
            return bool(cursor.fetchone()[0] == 2)
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'audit_auditentry'::regclass AND NOT tgisinternal"
            )
            return bool(cursor.fetchone()[0] == 1)
    return False
