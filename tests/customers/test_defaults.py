"""The default master-data and signal rules exist after migrating, and come back when a flush emptied them."""

import pytest

from tiski.customers.defaults import PRECEDENCE, SIGNALS
from tiski.customers.models import FieldPrecedence, SignalRule

pytestmark = pytest.mark.django_db(transaction=True)  # each test ends with a flush of every table


@pytest.mark.parametrize("run", [1, 2])
def test_default_rules_are_there_before_and_after_a_flush(run):
    assert sorted(SignalRule.objects.values_list("label", flat=True)) == sorted(rule["label"] for rule in SIGNALS)
    assert set(FieldPrecedence.objects.values_list("field", flat=True)) == set(PRECEDENCE)


def test_rules_an_administrator_kept_are_not_doubled_by_defaults():
    from tiski.customers.defaults import defaults_ensure

    SignalRule.objects.exclude(label="VIP").delete()
    defaults_ensure()
    assert list(SignalRule.objects.values_list("label", flat=True)) == ["VIP"]
