"""What the agent's console shows of calls: the screen-pop of the calls connected to them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from django.contrib.auth.models import User
from django.db.models import Q
from django.utils import timezone

from tiski.cases.models import Case
from tiski.channels.voice.models import Call
from tiski.customers.models import Customer, Identity

WRAP_UP_WINDOW = timedelta(hours=2)  # an ended call waits this long for its wrap-up in the screen-pop
OPEN_CASES_SHOWN = 5
SUGGESTIONS = 3


@dataclass
class ScreenPop:
    call: Call
    open_cases: list[Case] = field(default_factory=list)
    other_cases: int = 0
    suggestions: list[Customer] = field(default_factory=list)

    @property
    def live(self) -> bool:
        return self.call.status in (Call.Status.RINGING, Call.Status.ANSWERED)


def screen_pops_for(*, user: User) -> list[ScreenPop]:
    """Return the screen-pops of USER's calls: ringing or in progress, and ended ones not wrapped up yet."""
    since = timezone.now() - WRAP_UP_WINDOW
    calls = (
        Call.objects.filter(agent=user)
        .filter(
            Q(status__in=[Call.Status.RINGING, Call.Status.ANSWERED], updated_at__gte=since)
            | Q(status__in=Call.FINAL, wrapped_up_at=None, ended_at__gte=since)
        )
        .select_related("customer__organization", "case")
        .order_by("-created_at")[:3]
    )
    return [screen_pop(call=call) for call in calls]


def screen_pop(*, call: Call) -> ScreenPop:
    """Return what the agent needs when CALL rings: the caller's open cases, or suggestions for an unknown number."""
    pop = ScreenPop(call=call)
    if call.customer is not None:
        cases = Case.objects.filter(customer=call.customer).exclude(status=Case.Status.CLOSED)
        pop.open_cases = list(cases.select_related("channel").order_by("-updated_at")[:OPEN_CASES_SHOWN])
        pop.other_cases = max(cases.count() - len(pop.open_cases), 0) if len(pop.open_cases) == OPEN_CASES_SHOWN else 0
    elif len(call.number) >= 8:
        # Not known by this number: customers whose number ends the same (a number kept without its country
        # code or with another prefix), for the agent to check while saying hello.
        tail = call.number[-7:]
        identities = (
            Identity.objects.filter(kind=Identity.Kind.PHONE, value__endswith=tail)
            .exclude(value=call.number)
            .select_related("customer")
            .order_by("customer__name")[:SUGGESTIONS]
        )
        pop.suggestions = [identity.customer for identity in identities]
    return pop
