#!/usr/bin/env python3
"""Email ingestion benchmark: the shared mail corpus through email_receive(), on SQLite or PostgreSQL.

Every mail goes the whole way a real one goes: parse, dedupe, identify the customer, thread, store message,
raw source and attachments, record the timeline, and queue the acknowledgement task, each mail in its own
transaction (as the SMTP receiver, the IMAP poller and the pipe call it).

Baseline, measured in the same run on the same database: one INSERT of the raw mail per transaction (the
floor of durably storing a mail at all). The ratio pipeline/baseline is comparable across machines; the
absolute numbers are not (this machine is shared and noisy: report medians).

    python benchmarks/email_ingest.py [--quick] [--db sqlite|postgres] [--runs N] [--count N] [--workers N]
                                      [--sla on|off|compare] [--rules N]

--sla compare measures, in every run, the pipeline without service levels too (the default policies
deactivated) and reports the share of ingestion time the clocks add.

--rules N measures, in every run, the pipeline without automation rules, with N rules evaluated on the "case
created" and "message received" events (conditions on the message text, the customer's tier and the channel,
in all/any groups; one raises the priority of urgent mails, the rest match nothing), and with the same N rules
of which one also tags every new case (an action, i.e. a case update, on half the mails); it reports the share
of ingestion time each adds.

The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("TISKI_SHARED_DIR", ROOT.parent / "shared"))
PG_URL = os.environ.get("TISKI_BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432/tiski_bench_email")


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def make_corpus(count: int, directory: Path, *, all_in_reply_to: bool) -> tuple[list[bytes], list[dict]]:
    script = SHARED / "corpus" / "make_emails.py"
    if not script.exists():
        sys.exit(f"the corpus generator is not at {script} (set TISKI_SHARED_DIR)")
    out = directory / "mails"
    command = [sys.executable, str(script), str(out), "--count", str(count), "--tag-format", "[TSK-{id}]"]
    command += ["--first-id", "1001"] + (["--in-reply-to-ratio", "1.0"] if all_in_reply_to else [])
    subprocess.run(command, check=True, capture_output=True)
    manifest = [json.loads(line) for line in Path(f"{out}.manifest.jsonl").read_text().splitlines()]
    mails = [(out / entry["file"]).read_bytes() for entry in manifest]
    if all_in_reply_to:
        # The generator's out-of-office replies carry only the subject tag; real ones also name the mail they
        # answer, and in parallel the tag's case number is not known in advance.
        for index, entry in enumerate(manifest):
            if entry["kind"] == "autoreply" and not entry["in_reply_to"]:
                mails[index] = f"In-Reply-To: {entry['thread']}\r\n".encode() + mails[index]
    return mails, manifest


def prepare_database(db: str, data_dir: Path) -> None:
    os.environ["TISKI_DATA_DIR"] = str(data_dir)
    os.environ.setdefault("TISKI_SECRET_KEY", "benchmark-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz")
    os.environ["TISKI_LOG_LEVEL"] = "ERROR"
    os.environ["TISKI_TASK_BACKEND"] = "django_tasks_db.DatabaseBackend"
    if db == "postgres":
        import psycopg

        name = PG_URL.rsplit("/", 1)[1]
        admin = PG_URL.rsplit("/", 1)[0] + "/postgres"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        os.environ["DATABASE_URL"] = PG_URL
    else:
        os.environ.pop("DATABASE_URL", None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "tiski.settings"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def drop_database(db: str) -> None:
    if db != "postgres":
        return
    from django.db import connections

    connections.close_all()
    for connection in connections.all():
        if hasattr(connection, "close_pool"):
            connection.close_pool()
    import psycopg

    name = PG_URL.rsplit("/", 1)[1]
    with psycopg.connect(PG_URL.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')


def reset() -> object:
    from django.core.management import call_command

    from tiski.channels.models import Channel, ChannelKind

    call_command("flush", interactive=False, verbosity=0)
    return Channel.objects.create(kind=ChannelKind.EMAIL, name="Support", address="support@example.com")


def run_baseline(mails: list[bytes]) -> float:
    """Mails per second for one INSERT of the raw bytes per transaction."""
    from django.db import transaction

    from tiski.channels.models import QuarantinedMail

    mailbox = reset()
    started = time.perf_counter()
    for raw in mails:
        with transaction.atomic():
            QuarantinedMail.objects.create(channel=mailbox, raw=raw, reason="baseline")
    return len(mails) / (time.perf_counter() - started)


def _ingest(mailbox_id: int, mails: list[bytes]) -> list[float]:
    """Receive MAILS in order in this process; return each one's latency in ms."""
    from tiski.channels.email.inbound import Outcome, email_receive
    from tiski.channels.models import Channel

    mailbox = Channel.objects.get(pk=mailbox_id)
    latencies = []
    for raw in mails:
        t0 = time.perf_counter()
        result = email_receive(raw=raw, mailbox=mailbox, source="benchmark")
        latencies.append((time.perf_counter() - t0) * 1000)
        if result.outcome is not Outcome.STORED:
            raise RuntimeError(f"a corpus mail was not stored: {result.outcome}")
    return latencies


def _ingest_in_child(args: tuple[int, list[bytes]]) -> list[float]:
    from django.db import connections

    try:
        return _ingest(*args)
    finally:
        connections.close_all()


def _warm_up() -> None:
    """Load, once before the workers fork, what every long-running process loads once: the public holidays of
    the service-level calendars (importing the holidays package takes ~0.2 s)."""
    from tiski.sla.calendar import Calendar
    from tiski.sla.models import BusinessCalendar

    for calendar in BusinessCalendar.objects.all():
        Calendar.of(calendar).holiday(date.today())


KEYWORDS = [
    "lasku",
    "invoice",
    "palautus",
    "refund",
    "takuu",
    "warranty",
    "toimitus",
    "delivery",
    "salasana",
    "password",
    "tilaus",
    "order",
    "huolto",
    "service",
    "vika",
    "broken",
    "hinta",
    "price",
    "alennus",
    "discount",
]


def rules_create(count: int, *, acting: bool) -> None:
    """COUNT automation rules: one raises urgent mails, one (ACTING) or none tags every new case, the rest match
    nothing."""
    from tiski.automation.services import rule_save

    if acting:
        rule_save(
            data={
                "name": "Tag new mail",
                "trigger": "case_created",
                "channel_kinds": ["email"],
                "actions": [{"action": "add_tags", "tags": ["mail"]}],
            },
            actor=None,
        )
    rule_save(
        data={
            "name": "Urgent",
            "trigger": "message_received",
            "conditions": {
                "any": [
                    {"field": "message.text", "op": "contains", "value": "urgent"},
                    {"field": "message.text", "op": "contains", "value": "kiireellinen"},
                ]
            },
            "actions": [{"action": "set_priority", "priority": "high"}],
        },
        actor=None,
    )
    for n in range(count - 1 - acting):
        keyword = f"{KEYWORDS[n % len(KEYWORDS)]}-{n}"  # no mail says this: the rule is evaluated, never run
        rule_save(
            data={
                "name": f"Rule {n}",
                "trigger": "message_received" if n % 3 else "case_created",
                "conditions": {
                    "all": [
                        {"field": "message.text", "op": "contains", "value": keyword},
                        {
                            "any": [
                                {"field": "customer.tier", "op": "in", "value": ["vip", "gold"]},
                                {"field": "case.channel", "op": "is", "value": "email"},
                            ]
                        },
                    ]
                },
                "actions": [{"action": "add_tags", "tags": [keyword]}, {"action": "set_priority", "priority": "high"}],
            },
            actor=None,
        )


def run_pipeline(
    mails: list[bytes], manifest: list[dict], workers: int, *, sla: bool = True, rules: int = 0, acting: bool = False
) -> tuple[float, list[float]]:
    from django.db import connections
    from django_tasks_db.models import DBTaskResult

    from tiski.automation.models import RuleRun
    from tiski.automation.services import rules_forget
    from tiski.cases.models import Case, Message
    from tiski.sla.models import SlaClock, SlaPolicy

    mailbox = reset()  # the default service-level policies come back with the flush
    if not sla:
        SlaPolicy.objects.update(active=False)
    if rules:
        rules_create(rules, acting=acting)
    rules_forget()
    if workers == 1:
        started = time.perf_counter()
        latencies = _ingest(mailbox.pk, mails)
        elapsed = time.perf_counter() - started
    else:
        # Each conversation on one worker, in order; conversations dealt round-robin.
        roots = list(dict.fromkeys(entry["thread"] for entry in manifest))
        worker_of = {root: n % workers for n, root in enumerate(roots)}
        shares: list[list[bytes]] = [[] for _ in range(workers)]
        for raw, entry in zip(mails, manifest, strict=True):
            shares[worker_of[entry["thread"]]].append(raw)
        _warm_up()
        connections.close_all()  # no connection may cross the fork, nor a pool of them (each child opens its own)
        for connection in connections.all():
            if hasattr(connection, "close_pool"):
                connection.close_pool()
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            started = time.perf_counter()
            parts = pool.map(_ingest_in_child, [(mailbox.pk, share) for share in shares])
            elapsed = time.perf_counter() - started
        latencies = [ms for part in parts for ms in part]
    new = sum(entry["kind"] == "new" for entry in manifest)
    checks = {
        "messages": (Message.objects.count(), len(mails)),
        "cases": (Case.objects.count(), new),
        "acknowledgements queued": (DBTaskResult.objects.filter(task_path__endswith=".autoreply").count(), new),
    }
    case_of = dict(Message.objects.values_list("external_id", "case_id"))
    misthreaded = sum(case_of[entry["message_id"]] != case_of[entry["thread"]] for entry in manifest)
    checks["replies on their conversation's case"] = (len(manifest) - misthreaded, len(manifest))
    # Service levels: every new case starts its first-response and resolution clocks (none with them off).
    checks["service-level clocks started"] = (
        SlaClock.objects.filter(metric__in=["first_response", "resolution"]).count(),
        2 * new if sla else 0,
    )
    if rules:  # every new case was tagged by its rule (when one acts), and the rules that match nothing never ran
        checks["new cases tagged by their rule"] = (
            RuleRun.objects.filter(rule__name="Tag new mail").count(),
            new if acting else 0,
        )
        checks["rules that match nothing ran"] = (
            RuleRun.objects.exclude(rule__name__in=["Tag new mail", "Urgent"]).count(),
            0,
        )
    for what, (got, want) in checks.items():
        if got != want:
            sys.exit(f"wrong result: {what} {got}, expected {want}")
    return len(mails) / elapsed, latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--quick", action="store_true", help="300 mails, 2 runs: under a minute, same code path")
    parser.add_argument("--count", type=int, help="mails in the corpus (default 2000; 300 with --quick)")
    parser.add_argument("--runs", type=int, help="runs to take the median of (default 3; 2 with --quick)")
    parser.add_argument("--workers", type=int, default=4, help="processes receiving at once (default 4)")
    parser.add_argument(
        "--sla",
        choices=["on", "off", "compare"],
        default="on",
        help="service-level clocks (the default policies) on, off, or both in turn in every run (default on)",
    )
    parser.add_argument("--rules", type=int, default=0, help="compare ingestion without and with N automation rules")
    args = parser.parse_args()
    count = args.count or (300 if args.quick else 2000)
    runs = args.runs or (2 if args.quick else 3)

    with tempfile.TemporaryDirectory(prefix="tiski-bench-") as tmp:
        mails, manifest = make_corpus(count, Path(tmp), all_in_reply_to=args.workers > 1)
        prepare_database(args.db, Path(tmp) / "data")
        try:
            from tiski.channels.email.parsing import email_parse

            rates, baselines, p50s, p99s, without_sla, without_rules, acting = [], [], [], [], [], [], []
            for run in range(1, runs + 1):
                baselines.append(run_baseline(mails))
                if args.sla == "compare":
                    without_sla.append(run_pipeline(mails, manifest, args.workers, sla=False)[0])
                    print(f"run {run}/{runs}: without service levels {without_sla[-1]:7.1f} mails/s", flush=True)
                if args.rules:
                    without_rules.append(run_pipeline(mails, manifest, args.workers, sla=args.sla != "off")[0])
                    print(f"run {run}/{runs}: without rules {without_rules[-1]:7.1f} mails/s", flush=True)
                    acting.append(
                        run_pipeline(
                            mails, manifest, args.workers, sla=args.sla != "off", rules=args.rules, acting=True
                        )[0]
                    )
                    print(
                        f"run {run}/{runs}: rules, one acting on every new case {acting[-1]:7.1f} mails/s", flush=True
                    )
                rate, latencies = run_pipeline(mails, manifest, args.workers, sla=args.sla != "off", rules=args.rules)
                rates.append(rate)
                p50s.append(percentile(latencies, 50))
                p99s.append(percentile(latencies, 99))
                print(
                    f"run {run}/{runs}: {rate:7.1f} mails/s  p50 {p50s[-1]:6.2f} ms  p99 {p99s[-1]:6.2f} ms  "
                    f"(baseline insert {baselines[-1]:7.1f} /s)",
                    flush=True,
                )
            started = time.perf_counter()
            for raw in mails:
                email_parse(raw)
            parse_rate = len(mails) / (time.perf_counter() - started)
        finally:
            drop_database(args.db)

    size_mb = sum(len(m) for m in mails) / 1e6
    figures = {
        "db": args.db,
        "mails": count,
        "workers": args.workers,
        "corpus_mb": round(size_mb, 1),
        "runs": runs,
        "mails_per_s": round(statistics.median(rates), 1),
        "p50_ms": round(statistics.median(p50s), 2),
        "p99_ms": round(statistics.median(p99s), 2),
        "baseline_insert_per_s": round(statistics.median(baselines), 1),
        "ratio_to_baseline": round(statistics.median(rates) / statistics.median(baselines), 3),
        "parse_only_per_s": round(parse_rate, 1),
        "sla": args.sla,
    }
    if without_sla:
        figures["mails_per_s_without_sla"] = round(statistics.median(without_sla), 1)
        pairs = [off / on for on, off in zip(rates, without_sla, strict=True)]
        figures["sla_time_added"] = round(statistics.median(pairs) - 1, 3)  # share of ingestion time added
    if without_rules:
        figures["rules"] = args.rules
        figures["mails_per_s_without_rules"] = round(statistics.median(without_rules), 1)
        pairs = [off / on for on, off in zip(rates, without_rules, strict=True)]
        figures["rules_time_added"] = round(statistics.median(pairs) - 1, 3)  # share of ingestion time added
        figures["mails_per_s_rules_acting"] = round(statistics.median(acting), 1)
        pairs = [off / on for on, off in zip(acting, without_rules, strict=True)]
        figures["rules_acting_time_added"] = round(statistics.median(pairs) - 1, 3)
        # every mail is one "message received" event, every new case one "case created" event more
        events_per_mail = 1 + sum(e["kind"] == "new" for e in manifest) / len(manifest)
        figures["events_per_s"] = round(statistics.median(rates) * events_per_mail, 1)
        figures["rule_evaluations_per_s"] = round(statistics.median(rates) * args.rules * events_per_mail / 2, 1)
    print(
        f"{args.db}: {figures['mails_per_s']} mails/s (median of {runs}), p50 {figures['p50_ms']} ms, "
        f"p99 {figures['p99_ms']} ms; baseline insert {figures['baseline_insert_per_s']} /s; "
        f"parsing alone {figures['parse_only_per_s']} /s"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
