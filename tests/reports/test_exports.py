"""Figures as files: CSV and Parquet written, read back with pandas and DuckDB, and the console's downloads.

The files are read by the tools a BI team uses (pandas, DuckDB), not by Tiski's own code, so what they see —
column names, types, values, ä and ö — is what is checked.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import pandas as pd
import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth.models import Permission, User
from django.test import AsyncClient, Client
from django.utils import timezone

from tiski.cases.models import Case, Message
from tiski.channels.models import Channel, ChannelKind
from tiski.customers.models import Customer
from tiski.reports import export_views
from tiski.reports.exports import BOM, safe_text, table_csv, table_parquet
from tiski.reports.facts import facts_rebuild
from tiski.reports.filters import report_zone
from tiski.reports.table import COUNT, DATE, HOUR, NUMBER, PERCENT, SECONDS, TEXT, Column, Table

pytestmark = pytest.mark.django_db

EXPORT = "/console/reports/export"


def grant(user: User, *perms: str) -> User:
    """Give USER the PERMS (app_label.codename) if their role does not already; return them fresh."""
    for perm in perms:
        app_label, codename = perm.split(".")
        if not user.has_perm(perm):
            user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    return User.objects.get(pk=user.pk)


def revoke_reports(user: User) -> User:
    """Take the reports permissions away from USER's role and user (an agent without any reports access)."""
    for group in user.groups.all():
        group.permissions.remove(*Permission.objects.filter(content_type__app_label="reports"))
    user.user_permissions.remove(*Permission.objects.filter(content_type__app_label="reports"))
    return User.objects.get(pk=user.pk)


def login(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def sample_table() -> Table:
    table = Table(
        figure="sample",
        title="Sample",
        by="day",
        columns=[
            Column("key", "Day", DATE),
            Column("label", "Päivä", TEXT),
            Column("contacts", "Contacts", COUNT),
            Column("first_response_s", "First response", SECONDS),
            Column("within_target", "Within target", PERCENT),
            Column("score", "Score", NUMBER),
            Column("hour", "Hour", HOUR),
        ],
    )
    table.add(
        {
            "key": date(2026, 3, 1),
            "label": '=HYPERLINK("http://evil")',
            "contacts": 1234,
            "first_response_s": 90,
            "within_target": 87.5,
            "score": -12.25,
            "hour": 7,
        }
    )
    table.add(
        {
            "key": date(2026, 3, 2),
            "label": 'Äänipuhelut, "jono" ö\nrivi',
            "contacts": 0,
            "first_response_s": None,
            "within_target": None,
            "score": None,
            "hour": 23,
        }
    )
    table.add(
        {
            "key": datetime(2026, 3, 3, 12, tzinfo=ZoneInfo("UTC")),
            "label": "@SUM(A1)",
            "contacts": 5,
            "first_response_s": 3600.25,
            "within_target": 100,
            "score": 0,
            "hour": 0,
        }
    )
    return table


def duck(sql: str, path: Path) -> list[tuple[Any, ...]]:
    """Run SQL with the file PATH as its one parameter (``read_parquet(?)``) in DuckDB; return the rows."""
    return duckdb.execute(sql, [str(path)]).fetchall()


def duck_types(reader: str, path: Path) -> dict[str, str]:
    """Return the column types DuckDB infers for the file PATH read with READER (read_csv_auto or read_parquet)."""
    sql = {
        "read_csv_auto": "describe select * from read_csv_auto(?)",
        "read_parquet": "describe select * from read_parquet(?)",
    }[reader]
    return {row[0]: row[1] for row in duck(sql, path)}


# ── the files ──────────────────────────────────────────────────────────────────────────────────────────────────


def test_csv_and_parquet_load_with_pandas_and_duckdb_with_the_right_types_and_values(tmp_path: Path) -> None:
    table = sample_table()
    csv_path, parquet_path = tmp_path / "sample.csv", tmp_path / "sample.parquet"
    csv_path.write_bytes(table_csv(table))
    parquet_path.write_bytes(table_parquet(table))

    frame = pd.read_csv(csv_path)
    assert list(frame.columns) == ["key", "label", "contacts", "first_response_s", "within_target", "score", "hour"]
    assert str(frame["contacts"].dtype) == "int64" and str(frame["hour"].dtype) == "int64"
    assert str(frame["first_response_s"].dtype) == "float64" and str(frame["within_target"].dtype) == "float64"
    assert frame["key"].tolist() == ["2026-03-01", "2026-03-02", "2026-03-03"]
    assert frame["label"].tolist() == ['\'=HYPERLINK("http://evil")', 'Äänipuhelut, "jono" ö\nrivi', "'@SUM(A1)"]
    assert frame["contacts"].tolist() == [1234, 0, 5]
    assert frame["first_response_s"].tolist()[0] == 90.0 and pd.isna(frame["first_response_s"][1])
    assert frame["first_response_s"][2] == 3600.25
    assert frame["score"][0] == -12.25  # a negative number is a number, not a formula

    parquet = pd.read_parquet(parquet_path)
    assert list(parquet.columns) == list(frame.columns)
    assert str(parquet["contacts"].dtype) == "int64" and str(parquet["first_response_s"].dtype) == "float64"
    assert parquet["key"].tolist() == [date(2026, 3, 1), date(2026, 3, 2), date(2026, 3, 3)]
    assert parquet["label"][0] == '=HYPERLINK("http://evil")'  # Parquet is data, never run as a formula
    assert parquet["label"][1] == 'Äänipuhelut, "jono" ö\nrivi'
    assert parquet["within_target"].tolist()[0] == 87.5 and pd.isna(parquet["within_target"][1])

    types = duck_types("read_csv_auto", csv_path)
    assert types == {
        "key": "DATE",
        "label": "VARCHAR",
        "contacts": "BIGINT",
        "first_response_s": "DOUBLE",
        "within_target": "DOUBLE",
        "score": "DOUBLE",
        "hour": "BIGINT",
    }
    total = duck("select sum(contacts), max(within_target) from read_csv_auto(?)", csv_path)[0]
    assert total == (1239, 100.0)
    rows = duck("select key, label, contacts, first_response_s from read_parquet(?) order by key", parquet_path)
    assert rows[0] == (date(2026, 3, 1), '=HYPERLINK("http://evil")', 1234, 90.0)
    assert rows[1][3] is None
    parquet_types = duck_types("read_parquet", parquet_path)
    assert parquet_types["key"] == "DATE" and parquet_types["contacts"] == "BIGINT"
    assert parquet_types["within_target"] == "DOUBLE" and parquet_types["label"] == "VARCHAR"


def test_csv_is_what_excel_expects_bom_crlf_and_quoted_cells() -> None:
    content = table_csv(sample_table())
    assert content.startswith(BOM.encode())
    text = content.decode("utf-8-sig")
    assert text.startswith("key,label,contacts,")
    assert text.split("\r\n")[1] == '2026-03-01,"\'=HYPERLINK(""http://evil"")",1234,90.0,87.5,-12.25,7'
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[2][1] == 'Äänipuhelut, "jono" ö\nrivi'
    assert rows[3][0] == "2026-03-03"  # a datetime in a date column is written as its date


@pytest.mark.parametrize(
    ("text", "written"),
    [
        ("=1+2", "'=1+2"),
        ("+358401234567", "'+358401234567"),
        ("-cmd", "'-cmd"),
        ("@x", "'@x"),
        ("\tx", "'\tx"),
        ("Tilaukset", "Tilaukset"),
        ("", ""),
    ],
)
def test_text_that_a_spreadsheet_would_run_gets_an_apostrophe(text: str, written: str) -> None:
    assert safe_text(text) == written


def test_parquet_carries_the_labels_units_and_definition() -> None:
    import pyarrow.parquet as pq

    table = sample_table()
    table.definition = "Mitä lasketaan"
    schema = pq.read_schema(io.BytesIO(table_parquet(table)))
    assert schema.metadata[b"tiski.figure"] == b"sample"
    assert schema.metadata[b"tiski.definition"].decode() == "Mitä lasketaan"
    assert schema.field("label").metadata == {b"label": "Päivä".encode(), b"unit": b"text"}
    assert schema.field("first_response_s").metadata[b"unit"] == b"seconds"


def test_an_empty_table_still_has_its_typed_header(tmp_path: Path) -> None:
    table = sample_table()
    table.rows, table.drill = [], []
    path = tmp_path / "empty.parquet"
    path.write_bytes(table_parquet(table))
    assert table_csv(table).decode("utf-8-sig") == ("key,label,contacts,first_response_s,within_target,score,hour\r\n")
    types = duck_types("read_parquet", path)
    assert types["contacts"] == "BIGINT" and types["key"] == "DATE"
    assert duck("select count(*) from read_parquet(?)", path)[0] == (0,)


# ── console downloads ──────────────────────────────────────────────────────────────────────────────────────────


@pytest.fixture
def contacts(db, agent, other_agent) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Three cases today on "=Yhteydenotto äö" (owned by Maija, Maija, Matti) and one on a chat (Matti)."""
    form = Channel.objects.create(kind=ChannelKind.WEBFORM, name="=Yhteydenotto äö")
    chat = Channel.objects.create(kind=ChannelKind.CHAT, name="Chat")
    customer = Customer.objects.create(name="Anssi Asiakas")
    cases = []
    for channel, owner in ((form, agent), (form, agent), (form, other_agent), (chat, other_agent)):
        case = Case.objects.create(subject=f"Tilaus {len(cases)}", customer=customer, channel=channel, owner=owner)
        Message.objects.create(case=case, channel=channel, direction="in", author="customer", body_text="Hei")
        cases.append(case)
    facts_rebuild()
    today = timezone.now().astimezone(report_zone()).date()
    return {"form": form, "chat": chat, "cases": cases, "today": today}


def test_a_team_lead_downloads_a_figure_as_csv_named_after_it_and_its_period(team_lead, contacts) -> None:
    lead = grant(team_lead, "reports.view_reports")
    response = login(lead).get(f"{EXPORT}/contacts_in.csv", {"days": "7", "by": "channel"})
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    today = contacts["today"]
    start = today - timedelta(days=6)
    assert response["Content-Disposition"] == (
        f'attachment; filename="tiski-contacts_in-by-channel-{start.isoformat()}-{today.isoformat()}.csv"'
    )
    frame = pd.read_csv(io.BytesIO(response.content))
    assert list(frame.columns)[:3] == ["key", "label", "contacts"]
    by_label = dict(zip(frame["label"], frame["contacts"], strict=True))
    assert by_label == {"'=Yhteydenotto äö": 3, "Chat": 1}


def test_the_parquet_download_reads_back_typed(team_lead, contacts, tmp_path: Path) -> None:
    lead = grant(team_lead, "reports.view_reports")
    response = login(lead).get(f"{EXPORT}/contacts_in.parquet", {"days": "7"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.apache.parquet"
    assert response["Content-Disposition"].endswith(f'-{contacts["today"].isoformat()}.parquet"')
    path = tmp_path / "x.parquet"
    path.write_bytes(response.content)
    rows = duck("select key, contacts from read_parquet(?) order by key", path)
    assert rows == [(contacts["today"], 4)]


def test_a_bad_query_answers_400_naming_each_bad_parameter(team_lead, contacts) -> None:
    client = login(grant(team_lead, "reports.view_reports"))
    bad = client.get(f"{EXPORT}/contacts_in.csv", {"from": "2026-13-01", "days": "lots", "team": "sales"})
    assert bad.status_code == 400
    message = bad.content.decode()
    assert "from:" in message and "days:" in message and "team:" in message
    grouping = client.get(f"{EXPORT}/contacts_in.csv", {"by": "moon_phase"})
    assert grouping.status_code == 400 and "moon_phase" in grouping.content.decode()
    assert client.get(f"{EXPORT}/no_such_figure.csv").status_code == 404


def test_an_agent_exports_only_their_own_figures_whatever_the_url_says(agent, other_agent, contacts) -> None:
    maija = grant(revoke_reports(agent), "reports.view_own_figures")
    client = login(maija)
    response = client.get(f"{EXPORT}/contacts_in.csv", {"days": "7", "by": "agent", "agent": str(other_agent.pk)})
    assert response.status_code == 200, response.content
    frame = pd.read_csv(io.BytesIO(response.content))
    assert frame["key"].tolist() == [maija.pk]
    assert frame["contacts"].tolist() == [2]
    behind = client.get(f"{EXPORT}/cases.csv", {"days": "7", "figure": "contacts_in", "agent": str(other_agent.pk)})
    assert behind.status_code == 200
    rows = list(csv.DictReader(io.StringIO(b"".join(behind.streaming_content).decode("utf-8-sig"))))
    assert {row["owner"] for row in rows} == {"maija"} and len(rows) == 2


def test_users_without_reports_cannot_export(agent, contacts) -> None:
    client = login(revoke_reports(agent))
    assert client.get(f"{EXPORT}/contacts_in.csv").status_code == 403
    assert client.get(f"{EXPORT}/cases.csv", {"figure": "contacts_in"}).status_code == 403
    anonymous = Client().get(f"{EXPORT}/contacts_in.csv")
    assert anonymous.status_code == 302 and "/login" in anonymous["Location"]


# ── the cases behind a row ─────────────────────────────────────────────────────────────────────────────────────


def read_cases(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))


def test_the_cases_behind_a_row_stream_as_csv_newest_first(team_lead, contacts) -> None:
    client = login(grant(team_lead, "reports.view_reports"))
    form = contacts["form"]
    response = client.get(
        f"{EXPORT}/cases.csv", {"days": "7", "figure": "contacts_in", "by": "channel", "channel": str(form.pk)}
    )
    assert response.status_code == 200
    assert response.streaming
    assert response["X-Tiski-Truncated"] == "false" and response["X-Tiski-Row-Limit"] == "100000"
    assert response["Content-Disposition"].startswith('attachment; filename="tiski-contacts_in-cases-')
    content = b"".join(response.streaming_content)
    assert content.startswith(BOM.encode())
    rows = read_cases(content)
    expected = [c.reference for c in reversed(contacts["cases"][:3])]
    assert [row["case"] for row in rows] == expected
    assert rows[0]["channel"] == "'=Yhteydenotto äö" and rows[0]["channel_kind"] == "webform"
    assert rows[0]["customer"] == "Anssi Asiakas" and rows[0]["customer_messages"] == "1"
    created = datetime.fromisoformat(rows[0]["created_at"])
    assert created.utcoffset() is not None
    assert abs(created - contacts["cases"][2].created_at) < timedelta(seconds=1)
    frame = pd.read_csv(io.BytesIO(content))  # and pandas reads it as well
    assert len(frame) == 3 and frame["customer_messages"].sum() == 3


def test_a_drill_to_no_owner_lists_the_unowned_cases(team_lead, contacts) -> None:
    Case.objects.filter(pk=contacts["cases"][3].pk).update(owner=None)
    facts_rebuild()
    client = login(grant(team_lead, "reports.view_reports"))
    response = client.get(f"{EXPORT}/cases.csv", {"days": "7", "figure": "contacts_in", "agent": "none"})
    assert response.status_code == 200
    assert [row["case"] for row in read_cases(b"".join(response.streaming_content))] == [contacts["cases"][3].reference]


def test_the_case_list_stops_at_its_limit_and_says_so(team_lead, contacts, monkeypatch) -> None:
    monkeypatch.setattr(export_views, "CASES_LIMIT", 2)
    monkeypatch.setattr(export_views, "CASES_BATCH", 1)
    client = login(grant(team_lead, "reports.view_reports"))
    response = client.get(f"{EXPORT}/cases.csv", {"days": "7", "figure": "contacts_in"})
    assert response["X-Tiski-Truncated"] == "true"
    rows = read_cases(b"".join(response.streaming_content))
    assert [row["case"] for row in rows] == [contacts["cases"][3].reference, contacts["cases"][2].reference]


def test_the_case_list_streams_under_asgi_too(team_lead, contacts) -> None:
    lead = grant(team_lead, "reports.view_reports")

    async def fetch() -> tuple[Any, bytes]:
        client = AsyncClient()
        await client.aforce_login(lead)
        response = await client.get(f"{EXPORT}/cases.csv", {"days": "7", "figure": "contacts_in"})
        assert response.is_async
        return response, b"".join([chunk async for chunk in response.streaming_content])

    response, content = async_to_sync(fetch)()
    assert response.status_code == 200
    assert [row["case"] for row in read_cases(content)] == [c.reference for c in reversed(contacts["cases"])]


def test_a_bad_case_list_query_answers_400(team_lead, contacts) -> None:
    client = login(grant(team_lead, "reports.view_reports"))
    response = client.get(f"{EXPORT}/cases.csv", {"figure": "contacts_in", "to": "yesterday"})
    assert response.status_code == 400 and "to:" in response.content.decode()
    unknown = client.get(f"{EXPORT}/cases.csv", {"figure": "contacts_in", "colour": "red"})
    assert unknown.status_code == 400 and "colour" in unknown.content.decode()
