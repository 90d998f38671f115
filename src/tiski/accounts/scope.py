"""Who may see which cases and customers: the one place that narrows reads for partner agents.

A partner agent (``AgentProfile.partner`` set) sees only the cases of the channels and queues granted to the
partner, the cases of the partner's own teams and of the teams owning granted queues, and cases assigned to
them. Everyone else who may read cases at all sees every case. Selectors filter with :func:`case_scope` and
:func:`customer_scope`; a case or customer outside the scope is answered with 404, never 403, so its existence
does not leak.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from django.db.models import Q

if TYPE_CHECKING:
    from tiski.accounts.models import Partner
    from tiski.cases.models import Case

_CACHE_ATTR = "_tiski_partner"
_UNSET: Any = object()


def user_partner(user: Any) -> Partner | None:
    """Return the active partner USER works for, or None (cached on the user object for the request).

    A user of an inactive partner is still treated as a partner agent, with nothing granted.
    """
    cached = getattr(user, _CACHE_ATTR, _UNSET)
    if cached is not _UNSET:
        return cached
    partner = None
    if user is not None and getattr(user, "is_authenticated", False) and not user.is_superuser:
        from tiski.accounts.models import AgentProfile

        profile = AgentProfile.objects.select_related("partner").filter(user_id=user.pk).first()
        partner = profile.partner if profile is not None else None
    with contextlib.suppress(AttributeError):  # an object that takes no attributes is asked again next time
        setattr(user, _CACHE_ATTR, partner)
    return partner


def is_partner_agent(user: Any) -> bool:
    """Return whether USER is a partner agent (narrowed to the partner's grants)."""
    return user_partner(user) is not None


def _granted(partner: Partner) -> tuple[list[int], list[int], list[int]]:
    """Return the granted channel ids, granted queue ids and visible team ids of PARTNER (empty if inactive)."""
    if not partner.active:
        return [], [], []
    from tiski.accounts.models import Team
    from tiski.routing.models import Queue

    channel_ids = list(partner.channels.values_list("pk", flat=True))
    queue_ids = list(partner.queues.values_list("pk", flat=True))
    team_ids = set(Team.objects.filter(partner=partner).values_list("pk", flat=True))
    team_ids |= set(Queue.objects.filter(pk__in=queue_ids, team__isnull=False).values_list("team_id", flat=True))
    return channel_ids, queue_ids, sorted(team_ids)


def case_scope(user: Any) -> Q:
    """Return a Q over ``cases.Case`` of the cases USER may see (``Q()`` when USER is not narrowed)."""
    partner = user_partner(user)
    if partner is None:
        return Q()
    channel_ids, queue_ids, team_ids = _granted(partner)
    q = Q(owner_id=user.pk) if partner.active else Q(pk__in=[])
    if channel_ids:
        q |= Q(channel_id__in=channel_ids)
    if team_ids:
        q |= Q(team_id__in=team_ids)
    if queue_ids:
        from tiski.routing.models import WorkItem

        q |= Q(pk__in=WorkItem.objects.filter(queue_id__in=queue_ids).values("case_id"))
    return q


def customer_scope(user: Any) -> Q:
    """Return a Q over ``customers.Customer`` of the customers USER may see (a partner's: with a visible case)."""
    if user_partner(user) is None:
        return Q()
    from tiski.cases.models import Case

    return Q(pk__in=Case.objects.filter(case_scope(user)).values("customer_id"))


def case_visible(*, user: Any, case: Case) -> bool:
    """Return whether USER may see CASE."""
    if user_partner(user) is None:
        return True
    from tiski.cases.models import Case

    return Case.objects.filter(case_scope(user), pk=case.pk).exists()


def can_see_full_customer(user: Any) -> bool:
    """Return whether USER may see a customer's full data (other cases, records, notes, GDPR actions).

    False for partner agents: they see the name and the identities of the channels of their granted cases only.
    """
    return user_partner(user) is None


def scope_forget(user: Any) -> None:
    """Drop the cached partner of USER (after its profile changed within one request or test)."""
    if hasattr(user, _CACHE_ATTR):
        delattr(user, _CACHE_ATTR)
