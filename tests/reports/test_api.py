"""The reports API: the figures listed, one figure as JSON, CSV or Parquet, its errors and its documentation."""

from __future__ import annotations

import io
from datetime import timedelta

import pandas as pd
import pytest
from django.utils import timezone

from tests.api.conftest import Api, token_for
from tests.reports.test_exports import grant, revoke_reports
from tiski.cases.models import Case, Message
from tiski.channels.models import Channel, ChannelKind
from tiski.customers.models import Customer
from tiski.reports.facts import facts_rebuild
from tiski.reports.figures import FIGURES
from tiski.reports.filters import report_zone

pytestmark = pytest.mark.django_db


@pytest.fixture
def lead(team_lead) -> Api:  # type: ignore[no-untyped-def]
    return Api(token_for(grant(team_lead, "reports.view_reports")))


@pytest.fixture
def cases(db, agent):  # type: ignore[no-untyped-def]
    """Two email contacts and one chat today."""
    email = Channel.objects.create(kind=ChannelKind.EMAIL, name="Asiakaspalvelu", address="apu@shop.example")
    chat = Channel.objects.create(kind=ChannelKind.CHAT, name="Chat")
    customer = Customer.objects.create(name="Liisa")
    for channel in (email, email, chat):
        case = Case.objects.create(subject="Toimitus", customer=customer, channel=channel, owner=agent)
        Message.objects.create(case=case, channel=channel, direction="in", author="customer", body_text="?")
    facts_rebuild()
    return timezone.now().astimezone(report_zone()).date()


def test_the_list_names_every_figure_with_its_groupings(lead) -> None:
    response = lead.get("/reports/figures")
    assert response.status_code == 200
    figures = {f["name"]: f for f in response.json()}
    assert set(figures) == set(FIGURES)
    contacts = figures["contacts_in"]
    assert contacts["title"] == "Contacts in" and contacts["groupings"][0] == "day" and contacts["live"] is False
    assert contacts["definition"]
    assert figures["open_now"]["live"] is True


def test_a_figure_as_json_has_columns_rows_and_the_filter_applied(lead, cases) -> None:
    response = lead.get("/reports/figures/contacts_in", {"days": "7", "by": "channel_kind"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["figure"] == "contacts_in" and body["by"] == "channel_kind"
    assert body["filter"] == {"from": (cases - timedelta(days=6)).isoformat(), "to": cases.isoformat()}
    assert [c["key"] for c in body["columns"]][:3] == ["key", "label", "contacts"]
    assert {c["key"]: c["unit"] for c in body["columns"]}["contacts"] == "count"
    counts = {row["key"]: row["contacts"] for row in body["rows"]}
    assert counts == {"email": 2, "chat": 1}
    assert len(body["drill"]) == len(body["rows"])
    assert {"channel_kind": "email"}.items() <= next(
        d for d in body["drill"] if d.get("channel_kind") == "email"
    ).items()


def test_dimensions_narrow_the_figure(lead, cases) -> None:
    email = Channel.objects.get(kind=ChannelKind.EMAIL)
    body = lead.get("/reports/figures/contacts_in", {"days": "7", "by": "none", "channel": str(email.pk)}).json()
    assert [row["contacts"] for row in body["rows"]] == [2]
    assert body["filter"]["channel"] == str(email.pk)


def test_a_figure_as_csv_or_parquet_is_a_file(lead, cases) -> None:
    response = lead.get(
        "/reports/figures/contacts_in", {"from": cases.isoformat(), "to": cases.isoformat(), "format": "csv"}
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    day = cases.isoformat()
    assert response["Content-Disposition"] == f'attachment; filename="tiski-contacts_in-{day}-{day}.csv"'
    frame = pd.read_csv(io.BytesIO(response.content))
    assert frame[["key", "contacts"]].values.tolist() == [[day, 3]]
    parquet = lead.get("/reports/figures/contacts_in", {"days": "1", "by": "channel_kind", "format": "parquet"})
    assert parquet.status_code == 200 and parquet["Content-Type"] == "application/vnd.apache.parquet"
    frame = pd.read_parquet(io.BytesIO(parquet.content))
    assert str(frame["contacts"].dtype) == "int64"
    assert dict(zip(frame["key"], frame["contacts"], strict=True)) == {"email": 2, "chat": 1}


def test_errors_come_in_the_apis_format(lead, cases) -> None:
    unknown = lead.get("/reports/figures/happiness")
    assert unknown.status_code == 404 and unknown.json()["code"] == "figure_not_found"
    bad = lead.get("/reports/figures/contacts_in", {"from": "2026-02-30", "days": "0", "agent": "me"})
    assert bad.status_code == 400 and bad.json()["code"] == "filter_invalid"
    detail = bad.json()["detail"]
    assert "from:" in detail and "days:" in detail and "agent:" in detail
    grouping = lead.get("/reports/figures/contacts_in", {"by": "star_sign"})
    assert grouping.status_code == 400 and "star_sign" in grouping.json()["detail"]
    fmt = lead.get("/reports/figures/contacts_in", {"format": "xlsx"})
    assert fmt.status_code == 422 and fmt.json()["code"] == "validation_error"
    assert fmt.json()["errors"][0]["field"] == "format"


def test_only_users_with_the_reports_permission_get_figures(agent, cases) -> None:
    refused = Api(token_for(revoke_reports(agent)))
    assert refused.get("/reports/figures").status_code == 403
    response = refused.get("/reports/figures/contacts_in")
    assert response.status_code == 403 and response.json()["code"] == "permission_denied"
    assert Api(None).get("/reports/figures").status_code == 401


def test_the_endpoints_are_documented_in_the_openapi_schema(lead) -> None:
    schema = lead.client.get("/api/v1/openapi.json").json()
    listing = schema["paths"]["/api/v1/reports/figures"]["get"]
    figure = schema["paths"]["/api/v1/reports/figures/{name}"]["get"]
    assert listing["summary"] == "List the report figures" and listing["tags"] == ["reports"]
    assert figure["summary"] == "Compute a figure" and "format=csv" in figure["description"]
    parameters = {p["name"]: p for p in figure["parameters"]}
    assert {"name", "from", "to", "days", "by", "team", "agent", "format"} <= set(parameters)
    assert "YYYY-MM-DD" in parameters["from"]["description"]
    assert "text/csv" in figure["responses"]["200"]["content"]
