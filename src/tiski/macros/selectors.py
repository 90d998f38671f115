"""Reads of the macros domain, scoped to what the asking agent may see: shared macros and their own."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import User
from django.db.models import Count, F, Q, QuerySet

from tiski.accounts.roles import WORK_CASES
from tiski.cases.models import Case
from tiski.cases.selectors import CaseFilters, case_list
from tiski.macros.exceptions import MacroNotFoundError, MacroPermissionError
from tiski.macros.models import Macro, MacroRun, MacroUse
from tiski.macros.services import MANAGE_SHARED, MAX_BULK_CASES

PREVIEW_CHECK_LIMIT = 200  # cases checked one by one in a bulk preview; the closed ones are counted over all
PREVIEW_SAMPLES = 3


def _require_agent(user: User) -> None:
    if not (user.is_authenticated and user.is_active and user.has_perm(WORK_CASES)):
        raise MacroPermissionError("You do not have permission to use macros.")


def macros_for(*, user: User, active_only: bool = False) -> QuerySet[Macro]:
    """Return the macros USER may see and apply (shared ones and their own), shared first, with use counts."""
    _require_agent(user)
    macros = Macro.objects.filter(Q(owner__isnull=True) | Q(owner=user))
    if active_only:
        macros = macros.filter(active=True)
    annotated = macros.annotate(use_count=Count("uses", filter=Q(uses__outcome=MacroUse.Outcome.APPLIED)))
    return annotated.order_by(F("owner_id").asc(nulls_first=True), "position", "name", "id")


def macro_get_for(*, user: User, macro_id: int) -> Macro:
    """Return macro MACRO_ID if USER may see it; raise MacroNotFoundError (also for another agent's personal one)."""
    _require_agent(user)
    macro = Macro.objects.filter(Q(owner__isnull=True) | Q(owner=user), pk=macro_id).first()
    if macro is None:
        raise MacroNotFoundError(f"No macro {macro_id}.")
    return macro


def can_manage_shared(*, user: User) -> bool:
    return user.has_perm(MANAGE_SHARED)


def macro_usage(*, macro_ids: list[int] | None = None) -> dict[int, int]:
    """Return how many times each macro was applied to a case (for reports), by macro id."""
    uses = MacroUse.objects.filter(outcome=MacroUse.Outcome.APPLIED, macro__isnull=False)
    if macro_ids is not None:
        uses = uses.filter(macro_id__in=macro_ids)
    return dict(uses.values_list("macro_id").annotate(n=Count("id")).values_list("macro_id", "n"))


def selection_case_ids(*, user: User, filters: CaseFilters, limit: int = MAX_BULK_CASES + 1) -> list[int]:
    """Return the ids of the cases USER sees with FILTERS, in the inbox's order (at most LIMIT)."""
    return list(case_list(user=user, filters=filters).values_list("pk", flat=True)[:limit])


def selection_visible_ids(*, user: User, case_ids: list[int]) -> list[int]:
    """Return the CASE_IDS that exist and USER may see, in the given order."""
    existing = set(case_list(user=user, filters=CaseFilters()).filter(pk__in=case_ids).values_list("pk", flat=True))
    return [pk for pk in case_ids if pk in existing]


@dataclass
class CasePreview:
    case: Case
    planned: list[Any]

    @property
    def problems(self) -> list[str]:
        return [p.problem for p in self.planned if p.problem]

    @property
    def reply(self) -> str:
        return next((p.text for p in self.planned if p.action == "reply"), "")


def macro_preview_case(*, macro: Macro | MacroRun, case: Case, actor: User) -> CasePreview:
    """Return what MACRO would do to CASE (a summary per action, the rendered texts, problems); no writes."""
    from tiski.automation.actions import actions_preview

    return CasePreview(case=case, planned=actions_preview(case=case, actions=macro.actions, actor=actor))


@dataclass
class BulkPreview:
    total: int
    by_channel: list[tuple[str, str, int]]  # (kind, label, count), most first
    samples: list[CasePreview]
    skipped: list[tuple[Case, str]]  # (case, reason) among the checked ones that are not closed
    checked: int
    closed: int
    planned: list[Any] = field(default_factory=list)


def macro_preview_bulk(
    *, macro: Macro, case_ids: list[int], actor: User, check_limit: int = PREVIEW_CHECK_LIMIT
) -> BulkPreview:
    """Return the preview of running MACRO over CASE_IDS: the count, by channel, sample replies, and the cases
    that will be skipped and why (each of the first CHECK_LIMIT cases is checked; closed ones over all)."""
    from tiski.automation.actions import actions_preview
    from tiski.channels.models import ChannelKind

    cases = Case.objects.filter(pk__in=case_ids)
    kinds = Counter(dict(cases.values_list("channel__kind").annotate(n=Count("id")).values_list("channel__kind", "n")))
    labels = dict(ChannelKind.choices)
    by_channel = [(kind or "", str(labels.get(kind, "–")), n) for kind, n in kinds.most_common()]
    closed = cases.filter(status=Case.Status.CLOSED).count()
    checked_ids = case_ids[:check_limit]
    loaded = Case.objects.select_related("customer", "channel").in_bulk(checked_ids)
    samples: list[CasePreview] = []
    skipped: list[tuple[Case, str]] = []
    planned: list[Any] = []
    for pk in checked_ids:
        case = loaded.get(pk)
        if case is None or case.status == Case.Status.CLOSED:
            continue  # counted over all the selection
        preview = CasePreview(case=case, planned=actions_preview(case=case, actions=macro.actions, actor=actor))
        if preview.problems:
            skipped.append((case, preview.problems[0]))
        elif len(samples) < PREVIEW_SAMPLES and all(x.case.channel_id != case.channel_id for x in samples):
            samples.append(preview)  # one sample per channel: what an email, a text, a chat message will say
            planned = planned or preview.planned
    if not planned and checked_ids and (case := loaded.get(checked_ids[0])) is not None:
        planned = actions_preview(case=case, actions=macro.actions, actor=actor)
    return BulkPreview(
        total=len(case_ids),
        by_channel=by_channel,
        samples=samples,
        skipped=skipped,
        checked=len(checked_ids),
        closed=closed,
        planned=planned,
    )


def run_get_for(*, user: User, run_id: int) -> MacroRun:
    """Return run RUN_ID if USER started it (or may manage shared macros); raise MacroNotFoundError."""
    _require_agent(user)
    run = MacroRun.objects.filter(pk=run_id).select_related("macro", "actor").first()
    if run is None or (run.actor_id != user.pk and not user.has_perm(MANAGE_SHARED)):
        raise MacroNotFoundError(f"No macro run {run_id}.")
    return run


def run_outcomes(*, run: MacroRun, outcome: str, limit: int = 50) -> list[MacroUse]:
    """Return the first LIMIT uses of RUN with OUTCOME (skipped, failed), with their cases."""
    return list(run.uses.filter(outcome=outcome).select_related("case", "case__channel").order_by("id")[:limit])


def run_reasons(*, run: MacroRun) -> list[tuple[str, int]]:
    """Return why cases were skipped or failed, most common first, with how many."""
    rows = (
        run.uses.exclude(outcome=MacroUse.Outcome.APPLIED)
        .values_list("reason")
        .annotate(n=Count("id"))
        .order_by("-n")
        .values_list("reason", "n")
    )
    return list(rows[:10])


def runs_recent_for(*, user: User, limit: int = 10) -> list[MacroRun]:
    """Return USER's latest bulk runs."""
    _require_agent(user)
    return list(MacroRun.objects.filter(actor=user, bulk=True).order_by("-created_at", "-id")[:limit])
