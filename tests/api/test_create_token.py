"""`tiski create-token USER`: prints a working token alone; refuses unknown and inactive users."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from tests.api.conftest import Api
from tiski.accounts.models import ApiToken


def test_prints_only_a_token_that_works(agent):
    out = StringIO()
    call_command("create_token", "maija", "--name", "CRM sync", "--scope", "cases:read", stdout=out)
    raw = out.getvalue().strip()
    assert "\n" not in raw
    assert raw.startswith("tsk_")
    assert ApiToken.objects.get(user=agent).name == "CRM sync"
    assert Api(raw).get("/cases").status_code == 200


def test_token_gets_a_default_name(agent):
    call_command("create_token", "maija", "--scope", "cases:read", stdout=StringIO())
    assert ApiToken.objects.get(user=agent).name == "Created with create-token"


def test_unknown_user_fails_clearly(db):
    with pytest.raises(CommandError, match="No user 'ghost'"):
        call_command("create_token", "ghost", "--scope", "cases:read", stdout=StringIO())
    assert not ApiToken.objects.exists()


def test_inactive_user_fails_clearly(agent):
    User.objects.filter(pk=agent.pk).update(is_active=False)
    with pytest.raises(CommandError, match="inactive"):
        call_command("create_token", "maija", stdout=StringIO())
