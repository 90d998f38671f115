"""Helpers for the following and notification tests."""

from __future__ import annotations

from django_tasks_db.models import DBTaskResult


def queued(task_name: str) -> list[DBTaskResult]:
    """Return the queued or finished runs of the task TASK_NAME (its function name), oldest first."""
    return list(DBTaskResult.objects.filter(task_path__endswith=f".{task_name}").order_by("enqueued_at"))
