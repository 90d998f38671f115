"""`seed_cases`: many consistent cases, fast, for performance testing."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import F
from django.utils import timezone

from tiski.cases.models import Case, Message
from tiski.channels.models import Delivery
from tiski.core.demo import cases_seed
from tiski.customers.models import Customer


def test_seed_cases_bulk_creates_consistent_cases(db):  # type: ignore[no-untyped-def]
    result = cases_seed(count=300, batch_size=120)
    assert result.cases == 300
    assert Case.objects.count() == 300
    assert Message.objects.count() == result.messages >= 300
    assert Customer.objects.count() == result.customers
    assert not Case.objects.filter(first_response_at__lt=F("created_at")).exists()
    assert not Case.objects.filter(status__in=["solved", "closed"], solved_at=None).exists()
    assert Case.objects.filter(created_at__lt=timezone.now() - timedelta(days=100)).exists()
    assert not Delivery.objects.exists()
    cases_seed(count=10, seed=7)  # a second run adds customers with new addresses
    assert Case.objects.count() == 310
