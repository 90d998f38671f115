"""The demo company comes with macros the team can use at once."""

from __future__ import annotations

import pytest

from tiski.cases.models import Case
from tiski.core.demo import demo_load
from tiski.macros.models import Macro
from tiski.macros.selectors import macros_for
from tiski.macros.services import macro_apply

pytestmark = pytest.mark.django_db


def test_demo_has_shared_macros_and_maijas_own_and_they_apply() -> None:
    from django.contrib.auth.models import User

    demo_load()
    maija, matti = User.objects.get(username="maija"), User.objects.get(username="matti")
    shared = set(Macro.objects.filter(owner=None).values_list("name", flat=True))
    assert {"Outage status update", "Pyydä tilausnumero", "Escalate to team lead"} <= shared
    assert "Kiitos ja ratkaistu" in macros_for(user=maija).values_list("name", flat=True)
    assert "Kiitos ja ratkaistu" not in macros_for(user=matti).values_list("name", flat=True)
    case = Case.objects.filter(status=Case.Status.OPEN, channel__kind="email").first()
    assert case is not None
    use = macro_apply(macro=Macro.objects.get(name="Outage status update"), case=case, actor=maija)
    assert use.outcome == "applied"
    case.refresh_from_db()
    assert case.status == Case.Status.PENDING
