#!/usr/bin/env python3
"""Macro bulk benchmark: one macro applied to 10,000 cases through the real bulk service and background task.

Seeds, with bulk_create, 10,000 open cases (--quick: 1,000) of as many customers, spread over four channels
(email 40 %, SMS 20 %, WhatsApp 20 %, chat 20 %), each customer with the address its channel replies to and
each case with the customer's inbound message from the last hour (so WhatsApp's 24-hour window is open). Then
a shared macro — reply from a template with placeholders, set status pending, add a tag — is applied to all
of them: macros.services.macro_run_start() records the run and enqueues its django-tasks task, and the
database worker (django_tasks_db's own Worker, as `tiski worker` runs it) executes that one task, which
works the cases off in batches of 100, each case in its own transaction (reply + outbox row + status +
tag + timeline events + the use record).

Measured, per run: cases/s = cases / (run finished − run started, as the task recorded them); per-case
latency p50/p99 = each case's own transaction (MacroUse.duration_ms). Sending the replies (the outbox
deliveries the run queued) is not part of the figure: it is the channels' work, measured elsewhere.

    python benchmarks/macro_bulk.py [--quick] [--db sqlite|postgres] [--cases N] [--runs N] [--keep]

Each run uses fresh cases (a run changes them). The last line printed is one JSON object (medians over runs).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from datetime import timedelta
from typing import Any

from benchlib import django_bench, machine, percentile

PG_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
PG_BENCH_DB = "tiski_bench_macros"
KIND_MIX = {"email": 40, "sms": 20, "whatsapp": 20, "chat": 20}
FIRST = ["Anssi", "Liisa", "Matti", "Aino", "Oliver", "Sanna", "Jussi", "Emma", "Mikko", "Noora"]
LAST = ["Asiakas", "Laine", "Virtanen", "Korhonen", "Baker", "Saari", "Heikkinen", "Nieminen", "Mäkelä", "Koski"]
ACTIONS = [
    {
        "action": "reply",
        "body": "Hei {{ customer.first_name }}, verkkokaupassamme on häiriö, jota korjaamme. "
        "Tilauksesi on tallessa. Viite {{ case.reference }}. — {{ agent.first_name }}",
    },
    {"action": "set_status", "status": "pending"},
    {"action": "add_tags", "tags": ["outage-2026-11"]},
]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--quick", action="store_true", help="1,000 cases, 1 run")
    parser.add_argument("--cases", type=int, help="cases per run (default 10,000; 1,000 with --quick)")
    parser.add_argument("--runs", type=int, help="runs to take the median of (default 1; 1 with --quick)")
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--postgres-url", default=os.environ.get("TISKI_BENCH_POSTGRES_URL", PG_ADMIN_URL))
    parser.add_argument("--pg-name", default=PG_BENCH_DB, help="name of the throw-away PostgreSQL database")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database afterwards")
    parser.add_argument("--reuse", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--profile", action="store_true", help="print cProfile's top functions of the first run")
    parser.add_argument("--workdir", help="data directory (SQLite database); default: a new temporary one")
    args = parser.parse_args()
    args.cases = args.cases or (1_000 if args.quick else 10_000)
    args.runs = args.runs or 1
    return args


def setup() -> dict[str, Any]:
    """Migrate, create the channels, an agent, a team lead and the macro; return them."""
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from tiski.accounts.services import agent_create
    from tiski.channels.models import Channel, ChannelKind
    from tiski.macros.services import macro_create

    channels = {
        "email": Channel.objects.create(kind=ChannelKind.EMAIL, name="Support mailbox", address="tuki@example.fi"),
        "sms": Channel.objects.create(kind=ChannelKind.SMS, name="SMS", address="+358451112222"),
        "whatsapp": Channel.objects.create(kind=ChannelKind.WHATSAPP, name="WhatsApp", address="+358451113333"),
        "chat": Channel.objects.create(kind=ChannelKind.CHAT, name="Shop chat"),
    }
    agent = agent_create(username="maija", password=None, role="agent", first_name="Maija", last_name="Mäkinen")
    lead = agent_create(username="minna", password=None, role="team lead", first_name="Minna", last_name="Korhonen")
    macro = macro_create(actor=lead, name="Outage status update", actions=ACTIONS, shared=True)
    return {"channels": channels, "agent": agent, "macro": macro}


def seed_cases(*, n: int, channels: dict[str, Any], rng: random.Random, tag: int) -> tuple[list[int], dict[str, int]]:
    """Bulk-create N open cases with their customers, addresses and inbound messages; return the case ids."""
    from django.db import transaction
    from django.utils import timezone

    from tiski.cases.models import Case, Message
    from tiski.customers.models import Customer, Identity

    kinds = rng.choices(list(KIND_MIX), weights=list(KIND_MIX.values()), k=n)
    now = timezone.now()
    ids: list[int] = []
    for start in range(0, n, 2000):
        part = kinds[start : start + 2000]
        with transaction.atomic():
            customers = Customer.objects.bulk_create(
                [Customer(name=f"{rng.choice(FIRST)} {rng.choice(LAST)}", language="fi") for _ in part]
            )
            identities = []
            for i, (kind, customer) in enumerate(zip(part, customers, strict=True)):
                number = f"+35840{tag:02d}{start + i:06d}"
                if kind in ("sms", "whatsapp"):
                    identities.append(Identity(customer=customer, kind=Identity.Kind.PHONE, value=number))
                else:
                    address = f"c{tag}-{start + i}@example.fi"
                    identities.append(Identity(customer=customer, kind=Identity.Kind.EMAIL, value=address))
            Identity.objects.bulk_create(identities)
            cases = Case.objects.bulk_create(
                [
                    Case(subject="Verkkokauppa ei toimi", status=Case.Status.OPEN, customer=c, channel=channels[k])
                    for k, c in zip(part, customers, strict=True)
                ]
            )
            Message.objects.bulk_create(
                [
                    Message(
                        case=case,
                        channel=channels[k],
                        direction=Message.Direction.IN,
                        author=Message.Author.CUSTOMER,
                        body_text="Kassa ei toimi, mitä teen?",
                        external_id=f"bench-{tag}-{case.pk}",
                    )
                    for k, case in zip(part, cases, strict=True)
                ]
            )
            Message.objects.filter(case__in=cases).update(created_at=now - timedelta(minutes=30))
            ids += [c.pk for c in cases]
    return ids, {k: kinds.count(k) for k in KIND_MIX}


def one_run(world: dict[str, Any], args: argparse.Namespace, number: int) -> dict[str, Any]:
    from django_tasks_db.management.commands.db_worker import Worker
    from django_tasks_db.models import DBTaskResult

    from tiski.cases.models import Case, Message
    from tiski.macros.models import MacroRun, MacroUse
    from tiski.macros.services import macro_run_start

    rng = random.Random(args.seed + number)
    seeded = time.perf_counter()
    ids, mix = seed_cases(n=args.cases, channels=world["channels"], rng=rng, tag=number)
    print(f"run {number}: seeded {len(ids)} cases {mix} in {time.perf_counter() - seeded:.1f} s", file=sys.stderr)
    DBTaskResult.objects.all().delete()  # nothing else is due: the worker takes the macro's task

    started = time.perf_counter()
    run = macro_run_start(macro=world["macro"], actor=world["agent"], case_ids=ids)
    worker = Worker(
        queue_names=["default"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=1,
        worker_id=f"bench-{number}",
        excluded_queue_names=[],
    )
    if args.profile and number == 0:
        import cProfile
        import io
        import pstats

        profile = cProfile.Profile()
        profile.runcall(worker.run)
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(60)
        print(out.getvalue(), file=sys.stderr)
    else:
        worker.run()
    wall = time.perf_counter() - started

    run = MacroRun.objects.get(pk=run.pk)
    assert run.status == MacroRun.Status.DONE, (run.status, run.error)
    if (run.done_count, run.skipped_count, run.failed_count) != (len(ids), 0, 0):
        reasons = list(MacroUse.objects.filter(run=run).exclude(outcome="applied").values_list("reason")[:5])
        raise AssertionError(f"{run}: {run.done_count} applied, {run.skipped_count} skipped: {reasons}")
    replies = Message.objects.filter(case_id__in=ids[:50], direction=Message.Direction.OUT)
    assert replies.count() == 50 and all(m.channel_id == m.case.channel_id for m in replies)
    assert Case.objects.filter(pk__in=ids[:50], status=Case.Status.PENDING).count() == 50
    assert run.started_at is not None and run.finished_at is not None
    seconds = (run.finished_at - run.started_at).total_seconds()
    latencies = list(MacroUse.objects.filter(run=run).values_list("duration_ms", flat=True))
    queued = DBTaskResult.objects.filter(task_path__endswith="outbox_deliver").count()
    result = {
        "cases": len(ids),
        "by_channel": mix,
        "task_seconds": round(seconds, 2),
        "wall_seconds": round(wall, 2),
        "cases_per_s": round(len(ids) / seconds, 1),
        "p50_ms": round(percentile(latencies, 0.50), 2),
        "p99_ms": round(percentile(latencies, 0.99), 2),
        "outbox_deliveries_queued": queued,
    }
    print(f"run {number}: {result}", file=sys.stderr)
    return result


def run(args: argparse.Namespace) -> dict[str, Any]:
    world = setup()
    runs = [one_run(world, args, n) for n in range(args.runs)]
    return {
        "benchmark": "macro_bulk",
        "db": args.db,
        "cases": args.cases,
        "runs": len(runs),
        "cases_per_s": statistics.median(r["cases_per_s"] for r in runs),
        "p50_ms": statistics.median(r["p50_ms"] for r in runs),
        "p99_ms": statistics.median(r["p99_ms"] for r in runs),
        "task_seconds": statistics.median(r["task_seconds"] for r in runs),
        "each_run": runs,
        "machine": machine() | {"load_average_end": round(os.getloadavg()[0], 2)},
    }


def main() -> None:
    args = parse_args()
    # A chat reply to a customer who has left the chat falls back to email; keep that mail in memory (the
    # outbox's sending is not measured here, and no mail server listens).
    os.environ["TISKI_EMAIL_BACKEND"] = "django.core.mail.backends.locmem.EmailBackend"
    results = django_bench(args, args.pg_name, run)
    print(
        f"{args.db}: {results['cases']} cases at {results['cases_per_s']} cases/s, "
        f"per case p50 {results['p50_ms']} ms, p99 {results['p99_ms']} ms"
    )
    import json

    print(json.dumps(results))


if __name__ == "__main__":
    main()
