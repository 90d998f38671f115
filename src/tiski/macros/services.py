"""Writes of the macros domain: keep macros, apply one to a case, run one over many cases in the background.

The actions themselves are tiski.automation.actions: a macro is a named, saved list of them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _

from tiski.accounts.roles import WORK_CASES
from tiski.accounts.scope import case_visible
from tiski.audit.services import audit_record
from tiski.cases.exceptions import CaseError
from tiski.cases.models import Case
from tiski.macros.exceptions import (
    MacroInvalidError,
    MacroNotApplicableError,
    MacroPermissionError,
)
from tiski.macros.models import Macro, MacroRun, MacroUse

logger = logging.getLogger(__name__)

MANAGE_SHARED: str = "macros.manage_shared_macros"
BATCH_SIZE = 100
MAX_BULK_CASES = 20_000


def source_for(macro_id: int | None) -> str:
    """Return what the timeline records as the origin of a macro's changes."""
    return f"macro:{macro_id or 0}"


def _require_agent(actor: User | None) -> User:
    if actor is None or not (actor.is_authenticated and actor.is_active and actor.has_perm(WORK_CASES)):
        raise MacroPermissionError(_("Your account cannot work on cases, so it cannot apply macros."))
    return actor


def macro_can_edit(*, user: User, macro: Macro) -> bool:
    """Return whether USER may change MACRO: a personal macro by its owner, a shared one by macro managers."""
    if macro.owner_id is not None:
        return macro.owner_id == user.pk
    return user.has_perm(MANAGE_SHARED)


def _clean(
    *, name: str, description: str, actions: object, shared: bool, owner: User | None, exclude: int | None
) -> tuple[str, str, list[dict[str, Any]]]:
    from tiski.automation.actions import ActionsInvalidError, actions_validate

    errors: list[str] = []
    name = (name or "").strip()
    if not name:
        errors.append(_("Give the macro a name."))
    elif len(name) > 120:
        errors.append(_("The name is too long: at most 120 characters."))
    else:
        same = Macro.objects.filter(name=name, owner=None if shared else owner)
        if exclude is not None:
            same = same.exclude(pk=exclude)
        if same.exists():
            errors.append(
                _("A shared macro called “%(name)s” exists already.") % {"name": name}
                if shared
                else _("You have a macro called “%(name)s” already.") % {"name": name}
            )
    cleaned: list[dict[str, Any]] = []
    try:
        cleaned = actions_validate(actions)
        if not cleaned:
            errors.append(_("Add at least one action."))
    except ActionsInvalidError as error:
        errors.extend(str(e) for e in error.errors)
    if errors:
        raise MacroInvalidError(errors)
    return name, (description or "").strip()[:300], cleaned


@transaction.atomic
def macro_create(
    *,
    actor: User,
    name: str,
    actions: object,
    description: str = "",
    shared: bool = False,
    active: bool = True,
    position: int = 0,
) -> Macro:
    """Create a macro: personal to ACTOR, or SHARED (needs the macro managers' permission)."""
    _require_agent(actor)
    if shared and not actor.has_perm(MANAGE_SHARED):
        raise MacroPermissionError(_("Only team leads and administrators can create shared macros."))
    owner = None if shared else actor
    name, description, cleaned = _clean(
        name=name, description=description, actions=actions, shared=shared, owner=owner, exclude=None
    )
    return Macro.objects.create(
        name=name,
        description=description,
        actions=cleaned,
        owner=owner,
        active=active,
        position=position,
        created_by=actor,
    )


@transaction.atomic
def macro_update(
    *,
    macro: Macro,
    actor: User,
    name: str,
    actions: object,
    description: str = "",
    active: bool = True,
    position: int | None = None,
) -> Macro:
    """Change MACRO; raise MacroPermissionError unless ACTOR may edit it (see macro_can_edit)."""
    _require_agent(actor)
    if not macro_can_edit(user=actor, macro=macro):
        raise MacroPermissionError(_("Only team leads and administrators can change shared macros."))
    macro = Macro.objects.select_for_update().get(pk=macro.pk)
    name, description, cleaned = _clean(
        name=name,
        description=description,
        actions=actions,
        shared=macro.owner_id is None,
        owner=macro.owner,
        exclude=macro.pk,
    )
    macro.name, macro.description, macro.actions, macro.active = name, description, cleaned, active
    if position is not None:
        macro.position = position
    macro.save()
    return macro


@transaction.atomic
def macro_delete(*, macro: Macro, actor: User) -> None:
    """Delete MACRO; its runs and usage stay (under the macro's name)."""
    _require_agent(actor)
    if not macro_can_edit(user=actor, macro=macro):
        raise MacroPermissionError(_("Only team leads and administrators can delete shared macros."))
    macro.delete()


def _applicable(*, case: Case, actor: User) -> None:
    """Raise MacroNotApplicableError when ACTOR cannot run a macro on CASE at all."""
    if not (actor.is_active and actor.has_perm(WORK_CASES)):
        raise MacroNotApplicableError(_("%(agent)s may no longer work on cases.") % {"agent": actor.get_username()})
    if not case_visible(user=actor, case=case):  # a partner's agent, and the case is outside the partner's scope
        raise MacroNotApplicableError(_("No case %(reference)s.") % {"reference": case.reference})
    if case.status == Case.Status.CLOSED:
        raise MacroNotApplicableError(
            _("%(reference)s is closed; closed cases cannot be changed.") % {"reference": case.reference}
        )


def _reason(error: Exception) -> str:
    return str(error).strip() or error.__class__.__name__


def _not_applicable_errors() -> tuple[type[Exception], ...]:
    from tiski.automation.actions import ActionError

    return (ActionError, CaseError, MacroNotApplicableError)


@transaction.atomic
def macro_apply(*, macro: Macro, case: Case, actor: User) -> MacroUse:
    """Apply MACRO to CASE now, in one transaction, and return the use (with what changed).

    Raise MacroNotApplicableError (nothing is changed) when the macro cannot run on the case.
    """
    from tiski.automation.actions import actions_apply

    _require_agent(actor)
    started = time.perf_counter()
    now = timezone.now()
    case = Case.objects.select_related("customer", "channel").get(pk=case.pk)
    try:
        _applicable(case=case, actor=actor)
        summaries = actions_apply(case=case, actions=macro.actions, actor=actor, source=source_for(macro.pk))
    except _not_applicable_errors() as error:
        raise MacroNotApplicableError(_reason(error)) from error
    run = MacroRun.objects.create(
        macro=macro,
        macro_name=macro.name,
        actions=macro.actions,
        actor=actor,
        bulk=False,
        case_ids=[case.pk],
        status=MacroRun.Status.DONE,
        total=1,
        done_count=1,
        started_at=now,
        finished_at=timezone.now(),
    )
    return MacroUse.objects.create(
        run=run,
        macro=macro,
        case=case,
        actor=actor,
        outcome=MacroUse.Outcome.APPLIED,
        summaries=[str(s) for s in summaries],
        duration_ms=(time.perf_counter() - started) * 1000,
    )


@transaction.atomic
def macro_run_start(*, macro: Macro, actor: User, case_ids: Sequence[int]) -> MacroRun:
    """Record a run of MACRO over CASE_IDS and enqueue its background task; return the run.

    The run keeps the macro's actions as they are now: editing the macro later does not change it.
    """
    from tiski.macros.tasks import macro_run_execute

    _require_agent(actor)
    ids = list(dict.fromkeys(int(pk) for pk in case_ids))
    if not ids:
        raise MacroInvalidError([_("Select at least one case.")])
    if len(ids) > MAX_BULK_CASES:
        raise MacroInvalidError(
            [_("A macro runs on at most %(max)d cases at once; narrow the filter.") % {"max": MAX_BULK_CASES}]
        )
    run = MacroRun.objects.create(
        macro=macro,
        macro_name=macro.name,
        actions=macro.actions,
        actor=actor,
        bulk=True,
        case_ids=ids,
        total=len(ids),
    )
    audit_record(
        action="macro.bulk_apply",
        actor=actor,
        target=macro,
        target_label=macro.name,
        detail={"run": run.pk, "cases": len(ids)},
    )
    macro_run_execute.enqueue(run_id=run.pk)  # the task row commits with the run
    return run


def macro_run_requeue_unfinished() -> int:
    """Enqueue the task of every bulk run that has not finished; return how many. Run when a worker starts.

    A worker killed while it worked off a run leaves the run (and its task) "running" for ever; another
    attempt carries on where it stopped, since a case is processed at most once per run (MacroUse is unique
    per run and case, written in the case's own transaction with the reply it sends). An extra attempt for
    a run another worker is still working off is harmless for the same reason.
    """
    from tiski.macros.tasks import macro_run_execute

    unfinished = list(
        MacroRun.objects.filter(bulk=True, status__in=[MacroRun.Status.QUEUED, MacroRun.Status.RUNNING])
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    with transaction.atomic():
        for run_id in unfinished:
            macro_run_execute.enqueue(run_id=run_id)
    return len(unfinished)


def _recount(run: MacroRun) -> None:
    counts = dict(
        MacroUse.objects.filter(run=run).values_list("outcome").annotate(n=Count("id")).values_list("outcome", "n")
    )
    run.done_count = counts.get(MacroUse.Outcome.APPLIED, 0)
    run.skipped_count = counts.get(MacroUse.Outcome.SKIPPED, 0)
    run.failed_count = counts.get(MacroUse.Outcome.FAILED, 0)


def _record(run: MacroRun, case_id: int, actor: User | None, outcome: str, reason: str, started: float) -> None:
    """Record a case the run could not apply to; a use that exists already (a retry) is left as it is."""
    try:
        with transaction.atomic():
            MacroUse.objects.create(
                run=run,
                macro_id=run.macro_id,
                case_id=case_id,
                actor=actor,
                outcome=outcome,
                reason=reason[:2000],
                duration_ms=(time.perf_counter() - started) * 1000,
            )
    except IntegrityError:
        pass  # processed by an earlier attempt of this run (or the case is gone)


def _process_one(run: MacroRun, case_id: int, actor: User) -> None:
    """Apply the run's actions to one case in its own transaction, or record why not."""
    from tiski.automation.actions import actions_apply

    started = time.perf_counter()
    try:
        with transaction.atomic():
            case = Case.objects.select_related("customer", "channel").filter(pk=case_id).first()
            if case is None:
                raise MacroNotApplicableError(_("The case no longer exists."))
            _applicable(case=case, actor=actor)
            summaries = actions_apply(case=case, actions=run.actions, actor=actor, source=source_for(run.macro_id))
            MacroUse.objects.create(
                run=run,
                macro_id=run.macro_id,
                case=case,
                actor=actor,
                outcome=MacroUse.Outcome.APPLIED,
                summaries=[str(s) for s in summaries],
                duration_ms=(time.perf_counter() - started) * 1000,
            )
    except _not_applicable_errors() as error:
        _record(run, case_id, actor, MacroUse.Outcome.SKIPPED, _reason(error), started)
    except IntegrityError:
        # Another attempt of this run has applied it (the use is unique per run and case); anything else is a failure.
        if not MacroUse.objects.filter(run=run, case_id=case_id).exists():
            logger.exception("macro run %s: case %s failed", run.pk, case_id)
            _record(run, case_id, actor, MacroUse.Outcome.FAILED, _("The database refused the change."), started)
    except Exception as error:  # one case never aborts the run
        logger.exception("macro run %s: case %s failed", run.pk, case_id)
        _record(
            run, case_id, actor, MacroUse.Outcome.FAILED, _("Unexpected error: %(error)s") % {"error": error}, started
        )


def macro_run_process(*, run_id: int, batch_size: int = BATCH_SIZE) -> MacroRun:
    """Work off run RUN_ID: every selected case not yet processed by this run, BATCH_SIZE at a time, each in its
    own transaction, saving the progress after each batch. Safe to call again (a retried task): a case is
    processed at most once per run."""
    with transaction.atomic():
        run = MacroRun.objects.select_for_update().get(pk=run_id)
        if run.finished:
            return run
        run.status = MacroRun.Status.RUNNING
        run.started_at = run.started_at or timezone.now()
        run.save(update_fields=["status", "started_at"])
    try:
        seen = set(MacroUse.objects.filter(run=run).values_list("case_id", flat=True))
        todo = [pk for pk in run.case_ids if pk not in seen]
        actor = User.objects.filter(pk=run.actor_id).first() if run.actor_id is not None else None
        for start in range(0, len(todo), batch_size):
            batch = todo[start : start + batch_size]
            if actor is not None:
                actor = User.objects.get(pk=actor.pk)  # fresh permissions for every batch
            for case_id in batch:
                if actor is None:
                    _record(run, case_id, None, MacroUse.Outcome.SKIPPED, _("The agent's account is gone."), 0)
                else:
                    _process_one(run, case_id, actor)
            _recount(run)
            run.save(update_fields=["done_count", "skipped_count", "failed_count"])
    except Exception as error:
        _recount(run)
        run.status = MacroRun.Status.FAILED
        run.error = str(error)[:2000]
        run.finished_at = timezone.now()
        run.save(update_fields=["done_count", "skipped_count", "failed_count", "status", "error", "finished_at"])
        raise
    _recount(run)
    run.status = MacroRun.Status.DONE
    run.finished_at = timezone.now()
    run.save(update_fields=["done_count", "skipped_count", "failed_count", "status", "finished_at"])
    return run
