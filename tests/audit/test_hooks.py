"""Every audited action writes its entry, through the real paths: views, services, the admin's signals."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.test import Client

from tests.conftest import PASSWORD
from tiski.accounts.services import api_token_issue, api_token_revoke
from tiski.accounts.token_scopes import CASES_READ, REPORTS_READ
from tiski.audit.models import AuditEntry
from tiski.automation.models import Rule
from tiski.automation.services import rule_save, rules_replace
from tiski.cases.models import Case
from tiski.customers.gdpr import customer_erase, customer_export
from tiski.customers.models import Identity, MatchSuggestion
from tiski.customers.services import Handle, customer_create, customer_merge, identity_split, suggestion_accept
from tiski.macros.services import macro_create, macro_run_start

pytestmark = pytest.mark.django_db

RULE = {"name": "VIP first", "trigger": "message_received", "actions": [{"action": "set_priority", "priority": "high"}]}


def entries(action: str) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=action).order_by("id"))


def test_login_logout_and_failed_login_are_recorded_with_the_address(agent):
    client = Client(REMOTE_ADDR="203.0.113.9", HTTP_USER_AGENT="Firefox/140")
    client.post("/login/", {"username": "maija", "password": "wrong"})
    client.post("/login/", {"username": "nobody-here", "password": "wrong"})
    assert client.post("/login/", {"username": "maija", "password": PASSWORD}).status_code == 302
    client.post("/logout/")

    failed = entries("auth.login_failed")
    assert [(e.target_label, e.actor, e.ip) for e in failed] == [
        ("maija", None, "203.0.113.9"),
        ("nobody-here", None, "203.0.113.9"),
    ]
    assert "wrong" not in str([e.detail for e in failed])
    [login] = entries("auth.login")
    assert (login.actor, login.actor_label, login.ip, login.user_agent) == (
        agent,
        "maija",
        "203.0.113.9",
        "Firefox/140",
    )
    [logout] = entries("auth.logout")
    assert logout.actor == agent


def test_group_and_flag_changes_are_role_changes(agent, administrator):
    user = User.objects.get(pk=agent.pk)
    lead = Group.objects.get(name="team lead")
    user.groups.add(lead)
    user.groups.remove(Group.objects.get(name="agent"))
    lead.user_set.remove(user)  # the reverse side, as the admin's group page does
    user.is_superuser = True
    user.save()

    changes = [e.detail for e in AuditEntry.objects.filter(action="role.change", target_id=str(user.pk)).order_by("id")]
    assert changes[-4:] == [
        {"added": ["team lead"]},
        {"removed": ["agent"]},
        {"removed": ["team lead"]},
        {"is_superuser": {"old": False, "new": True}},
    ]


def test_clearing_groups_records_what_was_removed(agent):
    User.objects.get(pk=agent.pk).groups.clear()
    assert entries("role.change")[-1].detail == {"removed": ["agent"]}


def test_permission_changes_on_groups_and_users_are_recorded(agent):
    perm = Permission.objects.get(codename="export_customer")
    group = Group.objects.get(name="agent")
    group.permissions.add(perm)
    agent.user_permissions.add(perm)
    group.permissions.remove(perm)

    recorded = [(e.target_label, e.detail) for e in entries("permission.change")[-3:]]
    assert recorded == [
        ("agent", {"added": ["customers.export_customer"]}),
        ("maija", {"added": ["customers.export_customer"]}),
        ("agent", {"removed": ["customers.export_customer"]}),
    ]


def test_merge_and_split_are_recorded_without_personal_data(team_lead, agent, receive):
    anssi = receive(email="anssi@firma.fi", name="Anssi Asiakas").case.customer
    provisional = receive(email="wife@gmail.com", name="Anna Asiakas").case.customer
    [suggestion] = MatchSuggestion.objects.bulk_create(
        [MatchSuggestion(customer=provisional, candidate=anssi, score=70)]
    )
    suggestion_accept(suggestion=suggestion, actor=agent)
    anna = identity_split(identity=Identity.objects.get(value="wife@gmail.com"), actor=team_lead)
    other = customer_create(name="Toinen", identities=[Handle("email", "toinen@example.com")])
    customer_merge(master=anssi, other=other, actor=team_lead)

    linked, merged = entries("customer.merge")
    assert (linked.actor, linked.target_id, linked.detail["merged"]) == (agent, str(anssi.pk), provisional.pk)
    assert (merged.actor, merged.target_label, merged.detail["merged"]) == (
        team_lead,
        f"customer #{anssi.pk}",
        other.pk,
    )
    [split] = entries("customer.split")
    assert (split.actor, split.target_id, split.detail["new_customer"]) == (team_lead, str(anssi.pk), anna.pk)
    assert "Anssi" not in str([linked.detail, merged.detail, split.detail, split.target_label])


def test_gdpr_export_and_erasure_are_recorded(administrator, receive):
    customer = receive(email="liisa@example.com", name="Liisa").case.customer
    customer_export(customer=customer, actor=administrator)
    customer_erase(customer=customer, actor=None)  # the operator at the command line

    [export] = entries("customer.export")
    assert (export.actor, export.target_id, export.detail["cases"]) == (administrator, str(customer.pk), 1)
    [erase] = entries("customer.erase")
    assert (erase.actor, erase.detail["via"], erase.detail["cases"]) == (None, "command line", 1)


def test_report_exports_in_the_console_and_the_api_are_recorded(sign_in, client, team_lead):
    sign_in(client, team_lead)
    assert client.get("/console/reports/export/contacts_in.csv?days=7").status_code == 200
    response = client.get("/console/reports/export/cases.csv?days=7&figure=contacts_in")
    assert response.status_code == 200
    b"".join(response.streaming_content)  # type: ignore[attr-defined]
    raw = api_token_issue(user=team_lead, name="bi", scopes=[REPORTS_READ]).raw
    api = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert api.get("/api/v1/reports/figures/contacts_in?format=csv&days=7").status_code == 200
    assert api.get("/api/v1/reports/figures/contacts_in?days=7").status_code == 200  # JSON: not an export

    figure, cases, via_api = entries("report.export")
    assert (figure.actor, figure.detail["figure"], figure.detail["format"]) == (team_lead, "contacts_in", "csv")
    assert figure.target_label.endswith(".csv")
    assert (cases.actor, cases.detail["cases"]) == (team_lead, True)
    assert (via_api.actor, via_api.detail["via"]) == (team_lead, "api")


def test_rule_changes_through_the_service_the_console_and_the_import(sign_in, client, administrator):
    rule = rule_save(data=RULE, actor=administrator)
    rule_save(data={**RULE, "name": "VIP first!"}, actor=administrator, rule=rule)
    rule_save(data={**RULE, "name": "VIP first!"}, actor=administrator, rule=rule)  # nothing changed: no entry
    sign_in(client, administrator)
    assert client.post(f"/console/automation/{rule.pk}/toggle/").status_code == 302
    other = rule_save(data={**RULE, "name": "Second"}, actor=administrator)
    rules_replace(items=[{**RULE, "id": other.pk, "name": "Second"}], actor=administrator)  # drops the first
    assert client.post(f"/console/automation/{other.pk}/delete/").status_code == 302

    trail = [
        (e.action, e.target_label, e.detail.get("fields"))
        for e in AuditEntry.objects.filter(action__startswith="rule.").order_by("id")
    ]
    assert trail[0] == ("rule.create", "VIP first", None)
    assert trail[1] == ("rule.change", "VIP first!", ["name"])
    assert trail[2] == ("rule.change", "VIP first!", ["enabled"])
    assert trail[3][:2] == ("rule.create", "Second")
    assert ("rule.delete", "VIP first!", None) in trail[4:]
    assert trail[-1] == ("rule.delete", "Second", None)
    assert not Rule.objects.exists()
    assert {e.actor for e in AuditEntry.objects.filter(action__startswith="rule.")} == {administrator}


def test_bulk_macro_records_the_case_count(agent, receive):
    cases = [receive(email=f"c{i}@example.com").case for i in range(3)]
    macro = macro_create(
        actor=agent, name="Close", shared=False, actions=[{"action": "set_status", "status": "pending"}]
    )
    macro_run_start(macro=macro, actor=agent, case_ids=[c.pk for c in cases] + [cases[0].pk])

    [bulk] = entries("macro.bulk_apply")
    assert (bulk.actor, bulk.target_label, bulk.detail["cases"]) == (agent, "Close", 3)
    assert Case.objects.count() == 3


def test_token_create_and_revoke_are_recorded_without_the_secret(administrator, agent):
    issued = api_token_issue(user=agent, name="crm", scopes=[CASES_READ], actor=administrator)
    api_token_revoke(token=issued.token, actor=administrator)
    api_token_revoke(token=issued.token, actor=administrator)  # already revoked: nothing new

    create, revoke = entries("token.create"), entries("token.revoke")
    assert len(create) == 1 and len(revoke) == 1
    assert (create[0].actor, create[0].detail["user"], create[0].detail["scopes"]) == (
        administrator,
        "maija",
        ["cases:read"],
    )
    assert issued.raw not in str(create[0].detail) + create[0].target_label
    assert create[0].target_label.startswith("crm (tsk_")


def test_tokens_created_in_the_console_name_the_signed_in_user(sign_in, client, administrator):
    sign_in(client, administrator)
    response: Any = client.post("/console/tokens/", {"name": "bi", "user": administrator.pk, "scopes": [REPORTS_READ]})
    assert response.status_code in (200, 302)
    [create] = entries("token.create")
    assert (create.actor, create.ip) == (administrator, "127.0.0.1")
