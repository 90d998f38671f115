from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from tiski.accounts import roles
from tiski.accounts.models import ApiToken
from tiski.accounts.selectors import agent_list, api_token_user, user_is_agent
from tiski.accounts.services import agent_create, api_token_issue, api_token_revoke

pytestmark = pytest.mark.django_db


def test_roles_exist_after_migrate_with_increasing_permissions(agent, team_lead, administrator):
    assert set(Group.objects.values_list("name", flat=True)) >= set(roles.ROLES)
    assert agent.has_perm(roles.WORK_CASES) and not agent.has_perm(roles.ASSIGN_ANY)
    assert team_lead.has_perm(roles.ASSIGN_ANY) and not team_lead.has_perm(roles.MANAGE_TOKENS)
    assert administrator.has_perm(roles.MANAGE_TOKENS) and administrator.is_staff
    assert not agent.is_staff and not team_lead.is_staff


def test_only_role_holders_are_agents(agent, django_user_model):
    outsider = django_user_model.objects.create_user(username="x", password="y")
    assert user_is_agent(agent) and not user_is_agent(outsider)
    assert list(agent_list()) == [agent]


def test_unknown_role_is_refused():
    with pytest.raises(ValueError, match="unknown role"):
        agent_create(username="x", password="y", role="superhero")


def test_passwords_are_hashed_by_django(agent):
    assert agent.password.startswith(("pbkdf2_", "argon2", "bcrypt", "scrypt"))


def test_token_is_stored_as_digest_and_resolves_until_revoked(agent):
    issued = api_token_issue(user=agent, name="CRM", scopes=["cases:read"])
    token = ApiToken.objects.get()
    assert issued.raw.startswith("tsk_") and issued.raw not in (token.digest, token.prefix)
    assert api_token_user(raw=issued.raw) == agent
    assert api_token_user(raw=issued.raw + "x") is None
    api_token_revoke(token=token)
    assert api_token_user(raw=issued.raw) is None


def test_token_of_deactivated_user_stops_working(agent):
    issued = api_token_issue(user=agent, name="CRM", scopes=["cases:read"])
    agent.is_active = False
    agent.save()
    assert api_token_user(raw=issued.raw) is None


def test_administrators_manage_tiski_models_in_the_admin(administrator, team_lead, client):
    from tiski.channels.models import QuarantinedMail

    assert administrator.has_perm("tiski_channels.change_channel")
    assert administrator.has_perm("auth.add_user")
    assert not team_lead.has_perm("tiski_channels.change_channel")
    client.force_login(administrator)
    assert client.get("/admin/tiski_channels/channel/").status_code == 200
    assert client.get("/admin/tiski_channels/quarantinedmail/").status_code == 200
    client.force_login(team_lead)
    assert client.get("/admin/").status_code == 302  # not staff: sent to the admin login
    assert QuarantinedMail.objects.count() == 0


def test_quarantined_mail_is_reprocessed_from_the_admin(administrator, client):
    from tiski.channels.models import Channel, ChannelKind, QuarantinedMail

    mailbox = Channel.objects.create(kind=ChannelKind.EMAIL, name="Support", address="tuki@example.com")
    item = QuarantinedMail.objects.create(
        channel=mailbox, raw=b"From: anssi@example.com\r\nSubject: fixed\r\n\r\nhello\r\n", reason="x"
    )
    client.force_login(administrator)
    response = client.post(
        "/admin/tiski_channels/quarantinedmail/",
        {"action": "reprocess", "_selected_action": [item.pk]},
        follow=True,
    )
    assert "1 mail stored." in response.content.decode()
    item.refresh_from_db()
    assert item.resolved_at is not None and item.message.case.subject == "fixed"
