"""Reads the API needs beside the apps' selectors: lookups of referenced objects and per-case lists."""

from __future__ import annotations

from typing import Any, TypeVar

from django.contrib.auth.models import User
from django.db.models import Model, Prefetch, QuerySet

from tiski.accounts.models import Team
from tiski.accounts.scope import can_see_full_customer, case_scope, customer_scope, user_partner
from tiski.api.errors import ApiError
from tiski.cases.models import Attachment, Case, Category, Message, Note
from tiski.cases.selectors import case_get_for_agent
from tiski.channels.models import Channel
from tiski.customers.models import Customer, Identity

CASE_RELATED = ("tags", "related")

T = TypeVar("T", bound=Model)


def case_by_ref(*, user: User, ref: str) -> Case:
    """Return the case REF names: digits are its id, anything else its reference ("TSK-1042")."""
    if ref.isascii() and ref.isdigit():
        if len(ref) > 15:
            raise ApiError(404, "case_not_found", f"No case {ref}.")
        case = case_get_for_agent(user=user, reference=int(ref))
    else:
        case = case_get_for_agent(user=user, reference=ref)
    return case


def case_with_related(case: Case) -> Case:
    """Return CASE again with its tags and related cases loaded, for output."""
    return (
        Case.objects.select_related("customer", "owner", "team", "channel", "category")
        .prefetch_related(*CASE_RELATED)
        .get(pk=case.pk)
    )


def referenced(model: type[T], pk: int, code: str, label: str) -> T:
    """Return the MODEL row PK that a request refers to; raise a 404 ApiError naming LABEL."""
    row = model._default_manager.filter(pk=pk).first()
    if row is None:
        raise ApiError(404, code, f"No {label} {pk}.")
    return row


def customer_ref(pk: int) -> Customer:
    return referenced(Customer, pk, "customer_not_found", "customer")


def customer_ref_for(*, user: User, pk: int) -> Customer:
    """Return customer PK if USER may see them (a partner agent: a customer of a visible case); else a 404."""
    customer = Customer.objects.filter(customer_scope(user), pk=pk).first()
    if customer is None:
        raise ApiError(404, "customer_not_found", f"No customer {pk}.")
    return customer


def channel_ref(pk: int) -> Channel:
    return referenced(Channel, pk, "channel_not_found", "channel")


def channel_ref_for(*, user: User, pk: int) -> Channel:
    """Return channel PK if USER may use it (a partner agent: only the partner's granted channels); else a 404."""
    channels = Channel.objects.all()
    partner = user_partner(user)
    if partner is not None:
        channels = partner.channels.all() if partner.active else Channel.objects.none()
    channel = channels.filter(pk=pk).first()
    if channel is None:
        raise ApiError(404, "channel_not_found", f"No channel {pk}.")
    return channel


def customer_full_required(*, user: User, customer_id: int | None = None) -> None:
    """Raise a 404 ApiError when USER may not see customers' full data (external records, for one)."""
    if not can_see_full_customer(user):
        label = f"No customer {customer_id}." if customer_id is not None else "Not found."
        raise ApiError(404, "customer_not_found" if customer_id is not None else "not_found", label)


def customer_identities_for(*, user: User, customer: Customer) -> list[Identity]:
    """Return the identities of CUSTOMER that USER may see.

    Everyone sees all of them but a partner agent, who sees those the customer used on the cases the
    partner agent may see.
    """
    identities = customer.identities.all()
    if can_see_full_customer(user):
        return list(identities)
    visible = Case.objects.filter(case_scope(user), customer_id=customer.pk).values("pk")
    used = Message.objects.filter(case_id__in=visible, identity_id__isnull=False).values("identity_id")
    return list(identities.filter(pk__in=used).order_by("pk"))


def follow_target_visible(*, user: User, target: dict[str, Any]) -> None:
    """Raise a 404 ApiError when the follow target (from follow_target_get) is outside what USER may see."""
    name, obj = next(iter(target.items()))
    if name == "case":
        visible = Case.objects.filter(case_scope(user), pk=obj.pk).exists()
    elif name == "customer":
        visible = Customer.objects.filter(customer_scope(user), pk=obj.pk).exists()
    else:
        visible = can_see_full_customer(user)  # partner agents see no organisations
    if not visible:
        raise ApiError(404, "not_found", f"No {name} {obj.pk}.")


def category_ref(pk: int) -> Category:
    return referenced(Category, pk, "category_not_found", "category")


def team_ref(pk: int) -> Team:
    return referenced(Team, pk, "team_not_found", "team")


def user_ref_active(pk: int) -> User:
    user = User.objects.filter(pk=pk, is_active=True).first()
    if user is None:
        raise ApiError(404, "user_not_found", f"No active user {pk}.")
    return user


def message_list_for_case(*, case: Case, direction: str | None = None) -> QuerySet[Message]:
    """Return CASE's messages, oldest first, without their raw source."""
    messages = (
        Message.objects.filter(case=case)
        .select_related("channel", "author_user", "case")
        .prefetch_related(Prefetch("attachments", queryset=Attachment.objects.order_by("id")))
        .defer("raw")
        .order_by("created_at", "id")
    )
    if direction:
        messages = messages.filter(direction=direction)
    return messages


def message_get(*, message_id: int, with_raw: bool = False, user: User | None = None) -> Message:
    """Return one message with its attachments (of a case USER may see, when given); raise a 404 ApiError."""
    messages = Message.objects.select_related("channel", "author_user", "case").prefetch_related(
        Prefetch("attachments", queryset=Attachment.objects.order_by("id"))
    )
    if user is not None and user_partner(user) is not None:
        messages = messages.filter(case_id__in=Case.objects.filter(case_scope(user)).values("pk"))
    message = (messages if with_raw else messages.defer("raw")).filter(pk=message_id).first()
    if message is None:
        raise ApiError(404, "message_not_found", f"No message {message_id}.")
    return message


def note_list_for_case(*, case: Case) -> QuerySet[Note]:
    """Return CASE's internal notes, oldest first."""
    return Note.objects.filter(case=case).select_related("author").order_by("created_at", "id")
