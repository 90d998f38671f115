"""Writes for following and notifications: follow and unfollow, notify followers, mail notifications.

Notifications are written by background tasks subscribed to the domain events (see apps.py), never in
the transaction of the change itself: a slow or failing notification cannot hold up or undo a contact
or a case change, and the task row is committed with the change, so no notification is lost either.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from tiski.accounts.models import AgentProfile
from tiski.accounts.roles import can_read_cases
from tiski.accounts.scope import case_visible
from tiski.cases.models import Case, CaseEvent, Message
from tiski.customers.models import Customer, Organization
from tiski.notifications.models import Follow, Notification
from tiski.notifications.selectors import case_follower_ids, contact_follower_ids, follow_target, require_follower
from tiski.notifications.texts import case_event_text, contact_text

logger = logging.getLogger(__name__)

# Case changes a follower of the case hears about. A customer's message is announced by the contact
# notification (events.MessageReceived), so a "message_received" timeline entry shares its key with it.
CASE_EVENT_KINDS = frozenset(
    {
        CaseEvent.Kind.STATUS_CHANGED,
        CaseEvent.Kind.ASSIGNED,
        CaseEvent.Kind.TEAM_CHANGED,
        CaseEvent.Kind.PRIORITY_CHANGED,
        CaseEvent.Kind.NOTE_ADDED,
        CaseEvent.Kind.REPLY_SENT,
        CaseEvent.Kind.MESSAGE_RECEIVED,
        CaseEvent.Kind.REOPENED,
        CaseEvent.Kind.SPLIT,
        CaseEvent.Kind.UPDATED,
    }
)


@transaction.atomic
def follow(
    *,
    user: User,
    customer: Customer | None = None,
    organization: Organization | None = None,
    case: Case | None = None,
) -> Follow:
    """Make USER follow exactly one customer, organisation or case and return the follow (also when it existed).

    Raise FollowPermissionError unless USER works on cases, FollowInvalidError unless one target is given.
    """
    require_follower(user)
    target = follow_target(customer=customer, organization=organization, case=case)
    followed, _created = Follow.objects.get_or_create(user=user, **target)
    return followed


@transaction.atomic
def unfollow(
    *,
    user: User,
    customer: Customer | None = None,
    organization: Organization | None = None,
    case: Case | None = None,
) -> bool:
    """Stop USER following the one customer, organisation or case given; return whether they followed it."""
    target = follow_target(customer=customer, organization=organization, case=case)
    deleted, _by_model = Follow.objects.filter(user=user, **target).delete()
    return deleted > 0


def notifications_mark_read(*, user: User, ids: Sequence[int] | None = None) -> int:
    """Mark USER's unread notifications IDS (None: all of them) read; return how many were marked.

    Another user's ids are ignored: a user can only ever touch their own notifications.
    """
    unread = Notification.objects.filter(user=user, read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=list(ids))
    return unread.update(read_at=timezone.now())


def _recipients(user_ids: set[int], *, case: Case) -> list[tuple[User, AgentProfile | None]]:
    """Return the active users among USER_IDS who may see CASE, with their profiles (None: no profile).

    A partner agent is never told about a case outside the partner's scope, whatever they follow.
    """
    users = User.objects.filter(pk__in=user_ids, is_active=True).order_by("pk")
    profiles = {profile.user_id: profile for profile in AgentProfile.objects.filter(user_id__in=user_ids)}
    return [
        (user, profiles.get(user.pk)) for user in users if can_read_cases(user) and case_visible(user=user, case=case)
    ]


def _language(profile: AgentProfile | None) -> str:
    return (profile.language if profile is not None else "") or settings.LANGUAGE_CODE


def _notify(
    *,
    case: Case,
    kind: str,
    key: str,
    user_ids: set[int],
    text: Callable[[], str],
    data: dict[str, Any],
) -> list[Notification]:
    """Write one notification per user of USER_IDS that has none for KEY yet; mail those who asked for it.

    TEXT is called in each recipient's language. Runs under a lock of the case row, so two runs of the
    same task (delivery is at least once) cannot both write a user's notification for KEY.
    """
    if not user_ids:
        return []
    Case.objects.select_for_update().filter(pk=case.pk).first()
    already = set(Notification.objects.filter(user_id__in=user_ids, data__key=key).values_list("user_id", flat=True))
    recipients = _recipients(user_ids - already, case=case)
    created: list[Notification] = []
    for user, profile in recipients:
        with translation.override(_language(profile)):
            line = text()
        created.append(
            Notification(
                user=user, kind=kind, case=case, customer_id=case.customer_id, text=line, data={**data, "key": key}
            )
        )
    Notification.objects.bulk_create(created)  # sets the primary keys (RETURNING) on PostgreSQL and SQLite
    from tiski.notifications.tasks import notifications_email

    for notification, (user, profile) in zip(created, recipients, strict=True):
        if _wants_mail(user, profile):
            # One task per user and event: the mail goes out with the notification, retried on its own.
            notifications_email.enqueue(user_id=user.pk, notification_ids=[notification.pk], attempt=1)
    return created


def notifications_send(*, case: Case, user_ids: set[int], text: str, key: str) -> int:
    """Notify USER_IDS about CASE with TEXT (an automation rule's or a macro's message), once per KEY and user."""
    created = _notify(
        case=case,
        kind=Notification.Kind.CASE_CHANGED,
        key=key[:200],
        user_ids=user_ids,
        text=lambda: text[:300],
        data={"automatic": True},
    )
    return len(created)


def _wants_mail(user: User, profile: AgentProfile | None) -> bool:
    return bool(profile is not None and profile.notify_by_email and user.email)


@transaction.atomic
def notifications_for_contact(*, message_id: int) -> int:
    """Notify the followers of an inbound message's case, customer and organisation; return how many."""
    message = (
        Message.objects.select_related("case__customer", "channel")
        .filter(pk=message_id, direction=Message.Direction.IN)
        .first()
    )
    if message is None:
        return 0
    case = message.case
    created = _notify(
        case=case,
        kind=Notification.Kind.CONTACT,
        key=f"message:{message.pk}",
        user_ids=contact_follower_ids(case=case),
        text=lambda: contact_text(message=message),
        data={"message_id": message.pk, "channel": message.channel.kind},
    )
    return len(created)


@transaction.atomic
def notifications_for_case_event(*, event_id: int) -> int:
    """Notify the followers of a case about one entry of its timeline, except whoever did it; return how many."""
    event = CaseEvent.objects.select_related("case__customer", "actor").filter(pk=event_id).first()
    if event is None or event.kind not in CASE_EVENT_KINDS:
        return 0
    actor = event.actor
    raw_id = (event.data or {}).get("message_id")
    message_id = raw_id if isinstance(raw_id, int) else None
    key = f"event:{event.pk}"
    if event.kind == CaseEvent.Kind.REPLY_SENT:
        reply = Message.objects.select_related("author_user").filter(pk=message_id or 0).first()
        if reply is None or reply.author == Message.Author.SYSTEM:
            return 0  # automatic acknowledgements are no news to a follower
        actor = reply.author_user  # the worker sent it; the agent who wrote it knows
    elif event.kind == CaseEvent.Kind.MESSAGE_RECEIVED and message_id:
        key = f"message:{message_id}"  # the same news as the contact notification: one of the two
    user_ids = case_follower_ids(case=event.case) - ({actor.pk} if actor is not None else set())
    created = _notify(
        case=event.case,
        kind=Notification.Kind.CASE_CHANGED,
        key=key,
        user_ids=user_ids,
        text=lambda: case_event_text(event=event, actor=actor),
        data={"event_id": event.pk, "event": event.kind},
    )
    return len(created)


def email_backoff(attempt: int) -> timedelta:
    """Return the wait before mail attempt ATTEMPT + 1: base × 2^(attempt−1), at most six hours."""
    seconds = settings.TISKI_NOTIFY_EMAIL_BACKOFF_S * 2 ** max(attempt - 1, 0)
    return timedelta(seconds=min(seconds, 6 * 3600))


def notifications_email_send(*, user_id: int, notification_ids: Sequence[int], attempt: int = 1) -> str:
    """Mail USER_ID the notifications NOTIFICATION_IDS not mailed yet, in their language; return what happened.

    A failed send is tried again later with backoff up to TISKI_NOTIFY_EMAIL_MAX_ATTEMPTS times; the
    notifications stay in the console whatever happens to the mail. Sent at least once: a crash between
    sending and marking them mailed sends them again.
    """
    from tiski.notifications.tasks import notifications_email

    user = User.objects.filter(pk=user_id, is_active=True).first()
    profile = AgentProfile.objects.filter(user_id=user_id).first()
    if user is None or not _wants_mail(user, profile):
        return "skipped: the user does not want notifications by email"
    pending = list(
        Notification.objects.filter(user=user, pk__in=list(notification_ids), emailed_at__isnull=True)
        .select_related("case")
        .order_by("created_at", "pk")
    )
    if not pending:
        return "skipped: already mailed"
    with translation.override(_language(profile)):
        subject, body = _email(user=user, notifications=pending)
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email])
    except Exception as exc:
        ids = [n.pk for n in pending]
        if attempt >= settings.TISKI_NOTIFY_EMAIL_MAX_ATTEMPTS:
            logger.error("notification mail to user %s failed for good after %s attempts: %s", user_id, attempt, exc)
            return f"failed: {type(exc).__name__}: {exc}"
        retry_at = timezone.now() + email_backoff(attempt)
        notifications_email.using(run_after=retry_at).enqueue(
            user_id=user_id, notification_ids=ids, attempt=attempt + 1
        )
        logger.warning("notification mail to user %s failed (attempt %s), retrying: %s", user_id, attempt, exc)
        return f"retrying: {type(exc).__name__}: {exc}"
    Notification.objects.filter(pk__in=[n.pk for n in pending]).update(emailed_at=timezone.now())
    return f"sent {len(pending)}"


def _email(*, user: User, notifications: list[Notification]) -> tuple[str, str]:
    """Return the subject and text of the mail announcing NOTIFICATIONS, in the active language."""
    items = [
        {
            "text": n.text,
            "url": f"{settings.TISKI_BASE_URL}{reverse('console:case', args=[n.case.reference])}" if n.case else "",
        }
        for n in notifications
    ]
    subject = render_to_string(
        "notifications/email_subject.txt", {"count": len(items), "first": items[0]["text"]}
    ).strip()
    body = render_to_string(
        "notifications/email.txt",
        {"user": user, "items": items, "settings_url": f"{settings.TISKI_BASE_URL}/console/"},
    )
    return " ".join(subject.split()), body
