"""Report delivery: the nightly export to a directory for BI, and reports mailed to team leads on schedule.

The export is read back with DuckDB and pandas; the mail travels through a real SMTP server (aiosmtpd); the
background work runs on the real task worker (run_tasks).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pandas as pd
import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from tests.channels.test_email_delivery import SMTPServer, smtp  # noqa: F401  (fixture)
from tests.e2e.conftest import browser_type_launch_args  # noqa: F401  (fixture: the system Chromium)
from tests.reports.test_exports import duck, grant, login, revoke_reports
from tiski.accounts.models import AgentProfile
from tiski.cases.models import Case, Message
from tiski.channels.models import Channel, ChannelKind
from tiski.customers.models import Customer
from tiski.reports.delivery import clock
from tiski.reports.delivery.clock import delivery_clock
from tiski.reports.delivery.models import ExportRun, ReportSubscription
from tiski.reports.delivery.nightly import (
    export_claim,
    export_day_write,
    export_plan,
    export_run,
    exports_due_run,
)
from tiski.reports.delivery.subscriptions import (
    SubscriptionIn,
    SubscriptionPermissionError,
    next_sending,
    subscription_create,
    subscriptions_due_run,
)
from tiski.reports.facts import facts_rebuild
from tiski.reports.figures import FIGURES
from tiski.reports.filters import report_zone
from tiski.routing.router import CLOCKS

pytestmark = pytest.mark.django_db

PAGE = "/console/reports/subscriptions/"


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=report_zone())


def today() -> date:
    return timezone.now().astimezone(report_zone()).date()


@pytest.fixture
def export_dir(settings, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    settings.TISKI_REPORTS_EXPORT_DIR = str(tmp_path / "bi")
    settings.TISKI_REPORTS_EXPORT_AT = "02:00"
    return tmp_path / "bi"


@pytest.fixture
def yesterday(db, agent, other_agent) -> date:  # type: ignore[no-untyped-def]
    """Yesterday at noon: two email contacts (Maija) and a chat (Matti); one email the day before."""
    day = today() - timedelta(days=1)
    email = Channel.objects.create(kind=ChannelKind.EMAIL, name="Asiakaspalvelu", address="apu@shop.example")
    chat = Channel.objects.create(kind=ChannelKind.CHAT, name="Chat")
    customer = Customer.objects.create(name="Liisa Läksy")
    for channel, owner, when in (
        (email, agent, local(day, 12)),
        (email, agent, local(day, 13)),
        (chat, other_agent, local(day, 14)),
        (email, agent, local(day - timedelta(days=1), 10)),
    ):
        case = Case.objects.create(subject="Toimitus", customer=customer, channel=channel, owner=owner)
        Message.objects.create(case=case, channel=channel, direction="in", author="customer", body_text="?")
        Case.objects.filter(pk=case.pk).update(created_at=when)
        Message.objects.filter(case=case).update(created_at=when)
    facts_rebuild()
    return day


# ── the nightly export ─────────────────────────────────────────────────────────────────────────────────────────


def test_a_day_is_written_as_csv_parquet_and_a_manifest_that_bi_tools_load(export_dir: Path, yesterday: date) -> None:
    files = export_day_write(day=yesterday, directory=export_dir)
    folder = export_dir / yesterday.isoformat()
    assert sorted(p.name for p in export_dir.iterdir()) == [yesterday.isoformat()]  # no temporary left behind
    names = {p.name for p in folder.iterdir()}
    for figure, spec in FIGURES.items():
        if spec.live:
            assert f"{figure}.csv" not in names
        else:
            assert {f"{figure}.csv", f"{figure}.parquet"} <= names
    assert {"contacts_in.by_channel_kind.parquet", "contacts_in.by_agent.csv", "contacts_in.by_team.csv"} <= names
    assert len(files) == 2 * len(export_plan())

    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["day"] == yesterday.isoformat() and manifest["generated_at"]
    assert {f["name"] for f in manifest["files"]} == names - {"manifest.json"}
    for entry in manifest["files"]:
        assert hashlib.sha256((folder / entry["name"]).read_bytes()).hexdigest() == entry["sha256"]
    contacts = next(f for f in manifest["files"] if f["name"] == "contacts_in.csv")
    assert contacts["rows"] == 1 and contacts["by"] == "day" and contacts["columns"][0]["key"] == "day"
    assert manifest["figures"]["contacts_in"]["title"] == "Contacts in"

    total = duck("select day, contacts from read_parquet(?)", export_dir / "*" / "contacts_in.parquet")
    assert total == [(yesterday, 3)]
    by_kind = pd.read_csv(folder / "contacts_in.by_channel_kind.csv")
    assert list(by_kind.columns)[:3] == ["day", "key", "label"]
    assert dict(zip(by_kind["key"], by_kind["contacts"], strict=True)) == {"email": 2, "chat": 1}
    assert set(by_kind["day"]) == {yesterday.isoformat()}


def test_writing_a_day_again_replaces_it_whole(export_dir: Path, yesterday: date) -> None:
    export_day_write(day=yesterday, directory=export_dir)
    (export_dir / yesterday.isoformat() / "stray.txt").write_text("from before")
    export_day_write(day=yesterday, directory=export_dir)
    assert not (export_dir / yesterday.isoformat() / "stray.txt").exists()
    assert sorted(p.name for p in export_dir.iterdir()) == [yesterday.isoformat()]


@pytest.fixture
def s3_server(monkeypatch) -> Any:  # type: ignore[no-untyped-def]
    """A local server speaking the S3 wire protocol (moto's, on loopback), with throw-away credentials."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    for key, value in (
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_DEFAULT_REGION", "eu-north-1"),
    ):
        monkeypatch.setenv(key, value)
    yield f"http://{host}:{port}"
    server.stop()


def test_a_day_goes_to_an_s3_bucket_with_the_manifest_last(settings, s3_server: str, yesterday: date) -> None:
    import boto3

    settings.TISKI_REPORTS_EXPORT_DIR = "s3://tiski-bi/reports/daily"
    settings.TISKI_REPORTS_S3_ENDPOINT_URL = s3_server
    s3 = boto3.client("s3", endpoint_url=s3_server)
    s3.create_bucket(Bucket="tiski-bi", CreateBucketConfiguration={"LocationConstraint": "eu-north-1"})
    prefix = f"reports/daily/{yesterday.isoformat()}/"
    s3.put_object(Bucket="tiski-bi", Key=prefix + "stray.csv", Body=b"from an earlier export")
    assert export_claim(day=yesterday, now=timezone.now(), force=True)
    run = export_run(day=yesterday)
    assert run is not None and run.status == ExportRun.Status.DONE, run and run.error
    assert run.target == "s3://tiski-bi/reports/daily"
    keys = {item["Key"] for item in s3.list_objects_v2(Bucket="tiski-bi", Prefix=prefix)["Contents"]}
    assert prefix + "stray.csv" not in keys
    assert {prefix + "manifest.json", prefix + "contacts_in.csv", prefix + "contacts_in.parquet"} <= keys
    manifest = json.loads(s3.get_object(Bucket="tiski-bi", Key=prefix + "manifest.json")["Body"].read())
    assert {prefix + f["name"] for f in manifest["files"]} == keys - {prefix + "manifest.json"}
    body = s3.get_object(Bucket="tiski-bi", Key=prefix + "contacts_in.parquet")["Body"].read()
    assert hashlib.sha256(body).hexdigest() == next(
        f["sha256"] for f in manifest["files"] if f["name"] == "contacts_in.parquet"
    )
    frame = pd.read_parquet(io.BytesIO(body))
    assert list(frame["contacts"]) == [3]


def test_a_bucket_that_is_not_there_fails_the_day_and_says_why(settings, s3_server: str, yesterday: date) -> None:
    settings.TISKI_REPORTS_EXPORT_DIR = "s3://no-such-bucket"
    settings.TISKI_REPORTS_S3_ENDPOINT_URL = s3_server
    assert export_claim(day=yesterday, now=timezone.now(), force=True)
    run = export_run(day=yesterday)
    assert run is not None and run.status == ExportRun.Status.FAILED and "NoSuchBucket" in run.error


def test_the_day_before_is_due_after_the_export_time_and_missed_days_up_to_a_week(
    export_dir: Path, yesterday: date, run_tasks: Callable[[], None], django_capture_on_commit_callbacks: Any
) -> None:
    now = today()
    with django_capture_on_commit_callbacks(execute=True):
        early = exports_due_run(now=local(now, 1, 59))
    assert early == [now - timedelta(days=n) for n in range(7, 1, -1)]  # a week back, not yesterday yet
    with django_capture_on_commit_callbacks(execute=True):
        assert exports_due_run(now=local(now, 2, 0)) == [yesterday]
        assert exports_due_run(now=local(now, 2, 1)) == []  # claimed and waiting: nobody claims it again
    run_tasks()
    runs = {run.day: run for run in ExportRun.objects.all()}
    assert len(runs) == 7 and {run.status for run in runs.values()} == {ExportRun.Status.DONE}
    assert runs[yesterday].attempts == 1 and runs[yesterday].target == str(export_dir)
    assert {f["name"] for f in runs[yesterday].files} >= {"contacts_in.csv", "contacts_in.parquet"}
    assert sorted(p.name for p in export_dir.iterdir()) == sorted(d.isoformat() for d in runs)
    before = duck(
        "select contacts from read_parquet(?)", export_dir / str(yesterday - timedelta(days=1)) / "contacts_in.parquet"
    )
    assert before == [(1,)]
    with django_capture_on_commit_callbacks(execute=True):
        assert exports_due_run(now=local(now, 3, 0)) == []  # done days stay done


def test_the_export_is_off_without_a_directory(settings, yesterday: date) -> None:
    settings.TISKI_REPORTS_EXPORT_DIR = ""
    assert exports_due_run(now=local(today(), 12)) == []
    assert not ExportRun.objects.exists()


def test_a_failed_day_is_recorded_and_tried_again_later(
    export_dir: Path, yesterday: date, run_tasks: Callable[[], None], django_capture_on_commit_callbacks: Any
) -> None:
    export_dir.parent.mkdir(parents=True, exist_ok=True)
    export_dir.write_text("a file where the directory should be")
    now = local(today(), 2, 30)
    assert export_claim(day=yesterday, now=now)
    run = export_run(day=yesterday, now=now)
    assert run is not None and run.status == ExportRun.Status.FAILED
    assert run.error.startswith("FileExistsError")
    assert run.attempts == 1 and run.finished_at is not None
    with django_capture_on_commit_callbacks(execute=True):
        assert yesterday not in exports_due_run(now=run.finished_at + timedelta(seconds=30))  # waits a minute
    export_dir.unlink()
    with django_capture_on_commit_callbacks(execute=True):
        assert yesterday in exports_due_run(now=run.finished_at + timedelta(minutes=2))
    run_tasks()
    run.refresh_from_db()
    assert run.status == ExportRun.Status.DONE and run.error == "" and run.attempts == 2
    assert (export_dir / yesterday.isoformat() / "manifest.json").exists()


def test_two_processes_never_export_the_same_day(export_dir: Path, yesterday: date) -> None:
    now = local(today(), 3)
    assert export_claim(day=yesterday, now=now) is True
    assert export_claim(day=yesterday, now=now) is False
    ExportRun.objects.filter(day=yesterday).update(status=ExportRun.Status.RUNNING, started_at=now)
    assert export_run(day=yesterday, now=now) is None  # running elsewhere: left alone
    assert export_claim(day=yesterday, now=now + timedelta(minutes=30)) is False
    assert export_claim(day=yesterday, now=now + timedelta(hours=2)) is True  # that process died: taken over
    done = export_run(day=yesterday, now=now + timedelta(hours=2))
    assert done is not None and done.status == ExportRun.Status.DONE
    assert export_claim(day=yesterday, now=now + timedelta(hours=3)) is False


def test_the_command_exports_a_day_on_demand(export_dir: Path, yesterday: date, tmp_path: Path) -> None:
    out = io.StringIO()
    call_command("reports_export", day=yesterday.isoformat(), stdout=out)
    assert f"Exported {yesterday}" in out.getvalue()
    run = ExportRun.objects.get(day=yesterday)
    assert run.status == ExportRun.Status.DONE
    elsewhere = tmp_path / "copy"
    call_command("reports_export", day=yesterday.isoformat(), dir=str(elsewhere), stdout=io.StringIO())
    assert (elsewhere / yesterday.isoformat() / "contacts_in.parquet").exists()
    assert ExportRun.objects.count() == 1  # a copy somewhere else is not the nightly record
    with pytest.raises(CommandError, match="not over yet"):
        call_command("reports_export", day=today().isoformat())
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("reports_export", day="eilen")


def test_the_command_needs_somewhere_to_write(settings, yesterday: date) -> None:
    settings.TISKI_REPORTS_EXPORT_DIR = ""
    with pytest.raises(CommandError, match="--dir"):
        call_command("reports_export")


# ── the clock ──────────────────────────────────────────────────────────────────────────────────────────────────


def test_the_clock_is_registered_and_looks_at_most_once_a_minute(
    settings, monkeypatch, django_assert_max_num_queries: Any
) -> None:
    assert delivery_clock in CLOCKS
    settings.TISKI_REPORTS_EXPORT_DIR = ""
    monkeypatch.setattr(clock, "_next_check", 0.0)
    with django_assert_max_num_queries(1):  # export off: one indexed query for due subscriptions
        assert delivery_clock(now=timezone.now()) is True
    with django_assert_max_num_queries(0):
        assert delivery_clock(now=timezone.now()) is False


# ── the schedule ───────────────────────────────────────────────────────────────────────────────────────────────


def test_next_sending_keeps_local_time_across_the_summer_time_change() -> None:
    from zoneinfo import ZoneInfo

    hki = ZoneInfo("Europe/Helsinki")
    daily = {"frequency": "daily", "weekday": 1, "hour": 7, "zone": hki}
    assert next_sending(after=datetime(2026, 3, 28, 6, 59, tzinfo=hki), **daily) == datetime(2026, 3, 28, 7, tzinfo=hki)
    after_dst = next_sending(after=datetime(2026, 3, 28, 7, 0, tzinfo=hki), **daily)
    assert after_dst == datetime(2026, 3, 29, 7, tzinfo=hki) and after_dst.utcoffset() == timedelta(hours=3)
    weekly = {"frequency": "weekly", "weekday": 1, "hour": 8, "zone": hki}  # Mondays at 8
    assert next_sending(after=datetime(2026, 11, 18, 12, tzinfo=hki), **weekly) == datetime(2026, 11, 23, 8, tzinfo=hki)
    assert next_sending(after=datetime(2026, 11, 23, 7, tzinfo=hki), **weekly) == datetime(2026, 11, 23, 8, tzinfo=hki)
    assert next_sending(after=datetime(2026, 11, 23, 8, tzinfo=hki), **weekly) == datetime(2026, 11, 30, 8, tzinfo=hki)


# ── subscriptions ──────────────────────────────────────────────────────────────────────────────────────────────


@pytest.fixture
def lead(team_lead: User) -> User:
    User.objects.filter(pk=team_lead.pk).update(email="minna@shop.example")
    AgentProfile.objects.filter(user=team_lead).update(language="fi")
    return grant(User.objects.get(pk=team_lead.pk), "reports.view_reports")


def subscribe_on_the_page(client: Client, **fields: str) -> Any:
    data = {
        "figure": "contacts_in",
        "by": "channel_kind",
        "days": "7",
        "query": "",
        "frequency": "daily",
        "weekday": "1",
        "hour": "7",
        "language": "fi",
        **fields,
    }
    return client.post(PAGE, data)


def test_a_team_lead_subscribes_from_a_figure_page_link(lead: User) -> None:
    client = login(lead)
    page = client.get(
        PAGE,
        {
            "figure": "contacts_in",
            "from": "2026-11-01",
            "to": "2026-11-14",
            "channel_kind": "email",
            "by": "channel_kind",
        },
    )
    assert page.status_code == 200
    form = page.context["form"]
    assert form.initial["figure"] == "contacts_in" and form.initial["days"] == 14
    assert form.initial["query"] == "channel_kind=email" and form.initial["by"] == "channel_kind"
    assert "recipient" not in form.fields  # a team lead subscribes themselves
    response = subscribe_on_the_page(client, days="14", query="channel_kind=email", recipient="999")
    assert response.status_code == 302
    subscription = ReportSubscription.objects.get()
    assert subscription.user == lead and subscription.created_by == lead
    assert parse_qs(subscription.query) == {"days": ["14"], "channel_kind": ["email"]}
    assert (subscription.figure, subscription.by, subscription.frequency, subscription.hour) == (
        "contacts_in",
        "channel_kind",
        "daily",
        7,
    )
    assert subscription.next_due_at > timezone.now()
    assert subscription.next_due_at.astimezone(report_zone()).time() == time(7)
    listed = client.get(PAGE)
    assert listed.context["rows"][0]["subscription"] == subscription
    assert "/console/reports/figures/contacts_in/?days=14" in listed.content.decode()


def test_a_bad_subscription_is_refused_saying_why(lead: User) -> None:
    client = login(lead)
    response = subscribe_on_the_page(client, by="weekday_hour", figure="open_now")
    assert response.status_code == 400
    assert not ReportSubscription.objects.exists()
    assert response.context["form"].non_field_errors()
    bad_filter = subscribe_on_the_page(client, query="team=sales")
    assert bad_filter.status_code == 400 and "team:" in bad_filter.content.decode()


def test_only_team_leads_and_administrators_subscribe(agent: User, lead: User, other_agent: User) -> None:
    assert login(revoke_reports(agent)).get(PAGE).status_code == 403
    data = SubscriptionIn(figure="contacts_in", query={}, by="", frequency="daily", weekday=1, hour=7, language="fi")
    with pytest.raises(SubscriptionPermissionError):
        subscription_create(data=data, user=agent, actor=lead)  # not for someone else
    with pytest.raises(SubscriptionPermissionError):
        subscription_create(data=data, user=revoke_reports(other_agent), actor=revoke_reports(other_agent))


def test_an_administrator_subscribes_a_team_lead_and_sees_every_subscription(administrator: User, lead: User) -> None:
    client = login(administrator)
    page = client.get(PAGE)
    recipients = list(page.context["form"].fields["recipient"].queryset)
    assert lead in recipients and administrator in recipients
    response = subscribe_on_the_page(client, recipient=str(lead.pk), frequency="weekly", weekday="5", hour="15")
    assert response.status_code == 302
    subscription = ReportSubscription.objects.get()
    assert subscription.user == lead and subscription.created_by == administrator
    assert subscription.next_due_at.astimezone(report_zone()).isoweekday() == 5
    assert [r["subscription"] for r in login(lead).get(PAGE).context["rows"]] == [subscription]
    assert [r["subscription"] for r in client.get(PAGE).context["rows"]] == [subscription]


def test_a_cancelled_subscription_is_not_sent(lead: User) -> None:
    client = login(lead)
    subscribe_on_the_page(client)
    subscription = ReportSubscription.objects.get()
    other = grant(User.objects.create_user("tuula"), "cases.work_case", "reports.view_reports")
    assert login(other).post(f"{PAGE}{subscription.pk}/cancel/").status_code == 404  # not theirs
    assert client.post(f"{PAGE}{subscription.pk}/cancel/").status_code == 302
    subscription.refresh_from_db()
    assert subscription.active is False
    assert subscriptions_due_run(now=subscription.next_due_at + timedelta(hours=1)) == []
    assert client.get(PAGE).context["rows"] == []


def test_a_due_report_is_mailed_once_per_period_with_the_table_and_the_csv(
    lead: User,
    yesterday: date,
    smtp: SMTPServer,  # noqa: F811
    run_tasks: Callable[[], None],
    django_capture_on_commit_callbacks: Any,
) -> None:
    subscribe_on_the_page(login(lead), query="", days="1", by="channel_kind")
    subscription = ReportSubscription.objects.get()
    sending = local(today(), 7)
    ReportSubscription.objects.update(next_due_at=sending)
    with django_capture_on_commit_callbacks(execute=True):
        assert subscriptions_due_run(now=sending + timedelta(minutes=1)) == [subscription.pk]
    run_tasks()
    assert len(smtp.mailbox.envelopes) == 1
    mail = smtp.mailbox.parsed()
    assert mail["To"] == "minna@shop.example"
    assert mail["Subject"].startswith("Raportti: ")  # in the recipient's language
    html = mail.get_body(("html",)).get_content()
    text = mail.get_body(("plain",)).get_content()
    assert "<table" in html and ">2</td>" in html and ">1</td>" in html
    figure_link = next(part for part in text.split() if "/console/reports/figures/contacts_in/" in part)
    link = parse_qs(urlsplit(figure_link).query)
    assert link["from"] == [yesterday.isoformat()] and link["to"] == [yesterday.isoformat()]
    assert link["by"] == ["channel_kind"]
    [attachment] = list(mail.iter_attachments())
    assert attachment.get_filename() == (
        f"tiski-contacts_in-by-channel_kind-{yesterday.isoformat()}-{yesterday.isoformat()}.csv"
    )
    payload = attachment.get_payload(decode=True)
    assert attachment.get_content_type() == "text/csv" and payload.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(payload.decode("utf-8-sig"))))
    assert {row["key"]: int(row["contacts"]) for row in rows} == {"email": 2, "chat": 1}
    subscription.refresh_from_db()
    assert subscription.last_sent_at is not None and subscription.last_error == ""
    assert subscription.next_due_at == sending + timedelta(days=1)

    with django_capture_on_commit_callbacks(execute=True):
        assert subscriptions_due_run(now=sending + timedelta(hours=3)) == []  # the same period: not again
    run_tasks()
    assert len(smtp.mailbox.envelopes) == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert subscriptions_due_run(now=sending + timedelta(days=1, minutes=1)) == [subscription.pk]
    run_tasks()
    assert len(smtp.mailbox.envelopes) == 2


def test_a_report_the_relay_refused_is_sent_on_a_later_try(
    lead: User,
    yesterday: date,
    smtp: SMTPServer,  # noqa: F811
    run_tasks: Callable[[], None],
    django_capture_on_commit_callbacks: Any,
) -> None:
    subscribe_on_the_page(login(lead))
    subscription = ReportSubscription.objects.get()
    smtp.stop()
    with django_capture_on_commit_callbacks(execute=True):
        subscriptions_due_run(now=subscription.next_due_at)
    run_tasks()
    subscription.refresh_from_db()
    assert subscription.last_sent_at is None and "Error" in subscription.last_error
    smtp.start()
    DBTaskResult.objects.filter(status="READY").update(run_after=timezone.now() - timedelta(seconds=1))
    run_tasks()
    subscription.refresh_from_db()
    assert subscription.last_sent_at is not None and subscription.last_error == ""
    assert len(smtp.mailbox.envelopes) == 1


# ── the page in a browser ──────────────────────────────────────────────────────────────────────────────────────


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_team_lead_subscribes_in_the_browser_in_finnish(browser: Any, live_server: Any, lead: User) -> None:
    from tests.e2e.test_screenshots import ARTIFACTS, console_in

    shots = ARTIFACTS.parent / "reports"
    shots.mkdir(parents=True, exist_ok=True)
    for language, width, height in (("fi", 1440, 900), ("en", 1024, 768)):
        context, page = console_in(
            browser, live_server.url, language=language, width=width, height=height, username=lead.username
        )
        page.goto(f"{live_server.url}{PAGE}?figure=first_response&days=14&channel_kind=email&by=channel_kind")
        page.get_by_label("Kuinka usein" if language == "fi" else "How often").select_option("daily")
        page.get_by_role("button", name="Tilaa" if language == "fi" else "Subscribe", exact=True).click()
        page.wait_for_load_state()
        row = page.locator("table.rd-table tbody tr").last
        expected = "viimeiset 14 päivää" if language == "fi" else "the last 14 days"
        assert expected in row.inner_text()
        assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
        page.screenshot(path=str(shots / f"subscriptions-{language}-{width}.png"), full_page=True)
        context.close()
    assert ReportSubscription.objects.filter(user=lead, figure="first_response", frequency="daily").count() == 2


def test_wrong_export_settings_are_reported_at_start_up(settings) -> None:
    from django.core.checks import run_checks

    settings.TISKI_REPORTS_EXPORT_AT = "2am"
    settings.TISKI_REPORTS_EXPORT_DIR = "ftp://bucket/tiski"
    errors = {e.id: e.msg for e in run_checks() if e.id.startswith("report_delivery.")}
    assert "HH:MM" in errors["report_delivery.E001"] and "'2am'" in errors["report_delivery.E001"]
    assert "a directory or s3://bucket/prefix" in errors["report_delivery.E002"]
    settings.TISKI_REPORTS_EXPORT_DIR = "s3://bucket/tiski"
    assert not [e for e in run_checks() if e.id == "report_delivery.E002"]
    settings.TISKI_REPORTS_EXPORT_AT = "01:30"
    settings.TISKI_REPORTS_EXPORT_DIR = "/var/lib/tiski/bi"
    assert not [e for e in run_checks() if e.id.startswith("report_delivery.")]


def test_a_report_to_a_recipient_without_an_address_is_skipped_and_shown(
    lead: User,
    smtp: SMTPServer,  # noqa: F811
    run_tasks: Callable[[], None],
    django_capture_on_commit_callbacks: Any,
) -> None:
    client = login(lead)
    subscribe_on_the_page(client)
    User.objects.filter(pk=lead.pk).update(email="")
    subscription = ReportSubscription.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        subscriptions_due_run(now=subscription.next_due_at)
    run_tasks()
    subscription.refresh_from_db()
    assert smtp.mailbox.envelopes == [] and subscription.last_sent_at is None
    assert subscription.last_error == "Not sent: the recipient has no email address."
    assert "no email address" in client.get(PAGE).content.decode()
