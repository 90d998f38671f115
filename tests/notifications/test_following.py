"""Following a customer, an organisation or a case."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tiski.cases.services import case_create
from tiski.customers.models import Customer, Organization
from tiski.notifications.exceptions import FollowInvalidError, FollowPermissionError
from tiski.notifications.models import Follow
from tiski.notifications.selectors import (
    case_is_followed,
    contact_is_followed,
    follows_of,
    is_following,
)
from tiski.notifications.services import follow, unfollow


@pytest.fixture
def customer(db):  # type: ignore[no-untyped-def]
    return Customer.objects.create(name="Anssi Laaksonen")


def test_following_twice_keeps_one_follow(agent, customer):
    first = follow(user=agent, customer=customer)
    again = follow(user=agent, customer=customer)
    assert first.pk == again.pk
    assert Follow.objects.filter(user=agent).count() == 1
    assert is_following(user=agent, customer=customer)


def test_unfollow_removes_the_follow_and_says_whether_there_was_one(agent, customer):
    follow(user=agent, customer=customer)
    assert unfollow(user=agent, customer=customer) is True
    assert not is_following(user=agent, customer=customer)
    assert unfollow(user=agent, customer=customer) is False


def test_follows_of_lists_customers_organisations_and_cases_of_the_user_only(agent, other_agent, customer):
    organization = Organization.objects.create(name="Konepaja Oy")
    case = case_create(customer=customer, subject="Broken drill", actor=agent)
    follow(user=agent, customer=customer)
    follow(user=agent, organization=organization)
    follow(user=agent, case=case)
    follow(user=other_agent, customer=customer)
    mine = list(follows_of(user=agent))
    assert {(f.customer_id, f.organization_id, f.case_id) for f in mine} == {
        (customer.pk, None, None),
        (None, organization.pk, None),
        (None, None, case.pk),
    }


def test_follow_needs_exactly_one_target(agent, customer):
    organization = Organization.objects.create(name="Konepaja Oy")
    with pytest.raises(FollowInvalidError):
        follow(user=agent)
    with pytest.raises(FollowInvalidError):
        follow(user=agent, customer=customer, organization=organization)
    assert not Follow.objects.exists()


def test_a_user_who_does_not_work_on_cases_cannot_follow(customer):
    outsider = User.objects.create_user(username="outsider", password="x")
    with pytest.raises(FollowPermissionError):
        follow(user=outsider, customer=customer)
    assert not Follow.objects.exists()


def test_the_contact_predicate_is_one_query_and_sees_customer_organisation_and_case_follows(
    agent, other_agent, customer
):
    organization = Organization.objects.create(name="Konepaja Oy")
    colleague = Customer.objects.create(name="Kaisa Konepaja", organization=organization)
    case = case_create(customer=colleague, subject="Invoice", actor=agent)
    with CaptureQueriesContext(connection) as queries:
        assert contact_is_followed(customer_id=colleague.pk, case_id=case.pk) is False
    assert len(queries) == 1
    follow(user=other_agent, organization=organization)
    assert contact_is_followed(customer_id=colleague.pk, case_id=case.pk) is True
    assert contact_is_followed(customer_id=customer.pk, case_id=0) is False
    follow(user=agent, customer=customer)
    assert contact_is_followed(customer_id=customer.pk, case_id=0) is True
    assert case_is_followed(case_id=case.pk) is False
    follow(user=agent, case=case)
    assert case_is_followed(case_id=case.pk) is True
