"""Background work of macros: a run over many selected cases."""

from __future__ import annotations

from django_tasks import task

from tiski.macros.services import macro_run_process


@task()
def macro_run_execute(run_id: int) -> str:
    """Apply a bulk run's macro to every selected case (see macro_run_process); return the run's status."""
    return macro_run_process(run_id=run_id).status
