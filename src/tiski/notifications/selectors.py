"""Reads for following and notifications: what an agent follows, their notifications, who follows what."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.db import connection
from django.db.models import Q, QuerySet

from tiski.accounts.roles import can_read_cases
from tiski.cases.models import Case
from tiski.customers.models import Customer, Organization
from tiski.notifications.exceptions import FollowInvalidError, FollowPermissionError, FollowTargetNotFoundError
from tiski.notifications.models import Follow, Notification

NOTIFICATIONS_MAX = 200


def require_follower(user: User) -> None:
    """Raise FollowPermissionError unless USER may see cases (agents, and read-only users, who follow)."""
    if not can_read_cases(user):
        raise FollowPermissionError("You do not have permission to follow customers or cases.")


def follow_target(
    *, customer: Customer | None = None, organization: Organization | None = None, case: Case | None = None
) -> dict[str, Any]:
    """Return the one target given as filter arguments; raise FollowInvalidError for none or several."""
    given = {
        name: value
        for name, value in (("customer", customer), ("organization", organization), ("case", case))
        if value is not None
    }
    if len(given) != 1:
        raise FollowInvalidError("Follow exactly one customer, organisation or case.")
    return given


def follow_target_get(
    *, user: User, customer_id: int | None = None, organization_id: int | None = None, case_id: int | None = None
) -> dict[str, Any]:
    """Return the one target named by id as keyword arguments for follow(); raise FollowTargetNotFoundError.

    Raise FollowPermissionError unless USER may follow, FollowInvalidError unless exactly one id is given.
    """
    require_follower(user)
    given = (("customer", customer_id), ("organization", organization_id), ("case", case_id))
    named = [(name, pk) for name, pk in given if pk is not None]
    if len(named) != 1:
        raise FollowInvalidError("Follow exactly one customer, organisation or case.")
    name, pk = named[0]
    target: Customer | Organization | Case | None
    if name == "customer":
        target = Customer.objects.filter(pk=pk).first()
    elif name == "organization":
        target = Organization.objects.filter(pk=pk).first()
    else:
        target = Case.objects.filter(pk=pk).first()
    if target is None:
        raise FollowTargetNotFoundError(f"No {name} {pk}.")
    return {name: target}


def is_following(
    *,
    user: User,
    customer: Customer | None = None,
    organization: Organization | None = None,
    case: Case | None = None,
) -> bool:
    """Return whether USER follows the one customer, organisation or case given."""
    target = follow_target(customer=customer, organization=organization, case=case)
    return Follow.objects.filter(user=user, **target).exists()


def follows_of(*, user: User) -> QuerySet[Follow]:
    """Return what USER follows, newest first, with the followed objects loaded."""
    require_follower(user)
    return (
        Follow.objects.filter(user=user)
        .select_related("customer", "organization", "case", "case__customer")
        .order_by("-created_at", "-pk")
    )


def contact_is_followed(*, customer_id: int, case_id: int) -> bool:
    """Return whether anyone follows the customer, the customer's organisation or the case of a contact.

    Called for every inbound message, so it is one query: three EXISTS probes, each on an index of its
    own (follow.customer_id, follow.organization_id, follow.case_id), on the customer's row read by
    primary key. Written as SQL because compiling the same query through the ORM costs about ten times
    what the database needs for it (≈0.1 ms on PostgreSQL and SQLite with 100,000 follows).
    """
    if not customer_id:
        return case_is_followed(case_id=case_id)
    with connection.cursor() as cursor:
        cursor.execute(_CONTACT_FOLLOWED_SQL, [customer_id, case_id])
        return cursor.fetchone() is not None


_CUSTOMER, _FOLLOW = Customer._meta.db_table, Follow._meta.db_table
_CONTACT_FOLLOWED_SQL = f"""
SELECT 1 FROM {_CUSTOMER} c WHERE c.id = %s AND (
    EXISTS (SELECT 1 FROM {_FOLLOW} f WHERE f.customer_id = c.id)
    OR EXISTS (SELECT 1 FROM {_FOLLOW} f WHERE f.case_id = %s)
    OR EXISTS (SELECT 1 FROM {_FOLLOW} f WHERE f.organization_id = c.organization_id)
)"""  # noqa: S608  (only the models' own table names are formatted in)


def case_is_followed(*, case_id: int) -> bool:
    """Return whether anyone follows the case (one indexed EXISTS)."""
    return Follow.objects.filter(case_id=case_id).exists()


def contact_follower_ids(*, case: Case) -> set[int]:
    """Return the ids of the users who follow CASE, its customer or the customer's organisation."""
    targets = Q(case=case) | Q(customer_id=case.customer_id)
    organization_id = Customer.objects.filter(pk=case.customer_id).values_list("organization_id", flat=True).first()
    if organization_id is not None:
        targets |= Q(organization_id=organization_id)
    return set(Follow.objects.filter(targets).values_list("user_id", flat=True))


def case_follower_ids(*, case: Case) -> set[int]:
    """Return the ids of the users who follow CASE."""
    return set(Follow.objects.filter(case=case).values_list("user_id", flat=True))


def notifications_unread_count(*, user: User) -> int:
    """Return how many of USER's notifications are unread (on the index user, read_at)."""
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


def notifications_list(*, user: User, limit: int = 50, unread_only: bool = False) -> list[Notification]:
    """Return USER's newest notifications (at most LIMIT, capped at NOTIFICATIONS_MAX), newest first."""
    notifications = Notification.objects.filter(user=user)
    if unread_only:
        notifications = notifications.filter(read_at__isnull=True)
    limit = max(0, min(limit, NOTIFICATIONS_MAX))
    return list(notifications.select_related("case", "customer").order_by("-created_at", "-pk")[:limit])
