"""Errors of the audit log."""


class AuditImmutableError(Exception):
    """An audit entry was to be changed or deleted: the log is append-only."""
