"""The audit log page, its CSV export and GET /api/v1/audit: administrators only, same filters."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from tiski.accounts.services import api_token_issue
from tiski.accounts.token_scopes import AUDIT_READ
from tiski.audit.models import AuditEntry
from tiski.audit.views import PER_PAGE

pytestmark = pytest.mark.django_db


@pytest.fixture
def log(agent, administrator):  # type: ignore[no-untyped-def]
    """A small log: two sign-ins from different addresses, a failed one, an export last week."""
    AuditEntry.objects.create(
        action="report.export",
        actor=agent,
        actor_label="maija",
        target_label="cases.csv",
        at=timezone.now() - timedelta(days=7),
        ip="10.1.2.3",
    )
    AuditEntry.objects.create(action="auth.login", actor=agent, actor_label="maija", ip="10.1.2.3")
    AuditEntry.objects.create(action="auth.login_failed", target_label="root", ip="198.51.100.66")
    AuditEntry.objects.create(
        action="auth.login", actor=administrator, actor_label="admin", ip="192.0.2.1", target_label="admin"
    )


def rows(response) -> list[list[str]]:  # type: ignore[no-untyped-def]
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


@pytest.mark.parametrize("role", ["agent", "team_lead"])
def test_only_administrators_see_the_page_the_export_and_the_api(sign_in, client, request, role, log):
    user = request.getfixturevalue(role)
    sign_in(client, user)
    assert client.get("/console/audit/").status_code == 403
    assert client.get("/console/audit/export.csv").status_code == 403
    raw = api_token_issue(user=user, name="t", scopes=[AUDIT_READ]).raw
    response = Client(HTTP_AUTHORIZATION=f"Bearer {raw}").get("/api/v1/audit")
    assert response.status_code == 403 and response.json()["code"] == "permission_denied"
    assert 'href="/console/audit/"' not in client.get("/console/").content.decode()


def test_anonymous_users_are_sent_to_sign_in(client):
    response = client.get("/console/audit/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_the_page_lists_newest_first_with_labels_and_filters(sign_in, client, administrator, log):
    sign_in(client, administrator)
    page = client.get("/console/audit/").content.decode()
    assert 'href="/console/audit/"' in page  # the navigation link
    assert page.index("192.0.2.1") < page.index("198.51.100.66") < page.index("10.1.2.3")
    assert "Sign-in failed" in page and "Report exported" in page

    page = client.get("/console/audit/?actor=MAIJA").content.decode()
    assert "10.1.2.3" in page and "192.0.2.1" not in page and "198.51.100.66" not in page
    page = client.get("/console/audit/?action=auth").content.decode()
    assert "cases.csv" not in page and "198.51.100.66" in page
    page = client.get("/console/audit/?target=roo").content.decode()
    assert "198.51.100.66" in page and "10.1.2.3" not in page
    page = client.get("/console/audit/?ip=10.0.0.0/8").content.decode()
    assert page.count(">10.1.2.3<") == 2
    yesterday = (timezone.localdate() - timedelta(days=1)).isoformat()
    page = client.get(f"/console/audit/?from={yesterday}").content.decode()
    assert "cases.csv" not in page and "198.51.100.66" in page
    page = client.get(f"/console/audit/?to={yesterday}").content.decode()
    assert "cases.csv" in page and "198.51.100.66" not in page


def test_a_bad_filter_says_what_is_wrong(sign_in, client, administrator, log):
    sign_in(client, administrator)
    response = client.get("/console/audit/?from=yesterday")
    assert response.status_code == 400
    assert "not a date" in response.content.decode()


def test_the_page_is_paged_newest_first(sign_in, client, administrator):
    for number in range(PER_PAGE + 3):
        AuditEntry.objects.create(action="rule.change", target_label=f"rule-{number:03d}")
    sign_in(client, administrator)
    first = client.get("/console/audit/?action=rule.change").content.decode()
    assert "rule-052" in first and "rule-002" not in first and "page=2" in first
    second = client.get("/console/audit/?action=rule.change&page=2").content.decode()
    assert "rule-002" in second and "rule-000" in second and "rule-052" not in second


def test_a_permission_change_shows_the_permissions_names_and_keeps_their_codes(sign_in, client, administrator):
    from django.contrib.auth.models import Permission

    billing = administrator.__class__.objects.create_user("bea")
    billing.user_permissions.add(Permission.objects.get(codename="view_case", content_type__app_label="cases"))
    entry = AuditEntry.objects.filter(action="permission.change").latest("id")
    assert entry.detail == {"added": ["cases.view_case"]}
    sign_in(client, administrator)
    page = client.get("/console/audit/?action=permission").content.decode()
    assert "Can view case" in page and "cases.view_case" not in page
    export = rows(client.get("/console/audit/export.csv?action=permission"))
    assert "cases.view_case" in export[1][-1]
    billing.is_staff = True
    billing.save()
    page = client.get("/console/audit/?action=role").content.decode()
    assert "Django admin access: no → yes" in page


def test_the_export_streams_the_filtered_entries_and_is_itself_audited(sign_in, client, administrator, log):
    sign_in(client, administrator)
    AuditEntry.objects.create(action="customer.merge", target_label="=HYPERLINK(1)", actor_label="admin")
    response = client.get("/console/audit/export.csv?actor=admin")
    assert response["Content-Type"].startswith("text/csv")
    table = rows(response)
    assert table[0][:3] == ["at", "actor", "action"]
    # This export's own entry first, then the merge, the forced sign-in and the log's sign-in.
    assert [row[2] for row in table[1:]] == ["audit.export", "customer.merge", "auth.login", "auth.login"]
    assert table[2][5] == "'=HYPERLINK(1)"  # a spreadsheet shows it, never runs it
    [export] = AuditEntry.objects.filter(action="audit.export")
    assert (export.actor, export.detail) == (administrator, {"actor": "admin"})


def test_the_export_pages_through_more_than_one_batch(sign_in, client, administrator, monkeypatch):
    from tiski.audit import views

    monkeypatch.setattr(views, "EXPORT_BATCH", 7)
    now = timezone.now()
    for number in range(20):
        AuditEntry.objects.create(action="rule.change", target_label=f"r{number}", at=now)  # same time: keyed by id
    sign_in(client, administrator)
    table = rows(client.get("/console/audit/export.csv?action=rule.change"))
    assert [row[5] for row in table[1:]] == [f"r{n}" for n in reversed(range(20))]


def test_the_api_lists_filters_and_pages(administrator, log):
    raw = api_token_issue(user=administrator, name="siem", scopes=[AUDIT_READ]).raw
    api = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    body = api.get("/api/v1/audit?action=auth&limit=1").json()
    assert body["count"] >= 3 and body["next"]
    [item] = body["items"]
    assert item["action"].startswith("auth.") and set(item) >= {"at", "actor", "target", "ip", "detail"}
    body = api.get("/api/v1/audit?actor=maija&ip=10.1.2.3").json()
    assert [i["action"] for i in body["items"]] == ["auth.login", "report.export"]
    assert api.get("/api/v1/audit?ip=nonsense").status_code == 400
    week_ago = (timezone.localdate() - timedelta(days=7)).isoformat()
    body = api.get(f"/api/v1/audit?from={week_ago}&to={week_ago}&actor=maija").json()
    assert [i["action"] for i in body["items"]] == ["report.export"]


def test_a_token_without_the_audit_scope_is_refused(administrator):
    from tiski.accounts.token_scopes import CASES_READ

    raw = api_token_issue(user=administrator, name="t", scopes=[CASES_READ]).raw
    response = Client(HTTP_AUTHORIZATION=f"Bearer {raw}").get("/api/v1/audit")
    assert response.status_code == 403 and response.json()["code"] == "scope_missing"
