"""Server time of the console pages on a large database.

Seeds N cases (`tiski seed-cases`) into a fresh database, logs in as an agent with Django's test client and
requests each page a few hundred times, printing p50/p95/p99 in milliseconds per page and, as the last line,
one JSON object with every figure.

    python benchmarks/console_pages.py                  # SQLite, 100,000 cases
    python benchmarks/console_pages.py --quick          # 5,000 cases, fewer requests
    python benchmarks/console_pages.py --db postgres    # a fresh tiski_bench database on 127.0.0.1:5432
    python benchmarks/console_pages.py --explain        # also print the slowest query of each page, explained
    python benchmarks/console_pages.py --keep --workdir /tmp/b   then   … --reuse --workdir /tmp/b --pages case

The time is measured around the whole request in-process (middleware, view, queries, template), so it is
what the server spends; network and browser time come on top.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from benchlib import django_bench, machine, percentile

PG_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
PG_BENCH_DB = "tiski_bench"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--cases", type=int, default=None, help="cases to seed (default 100000, --quick 5000)")
    parser.add_argument("--quick", action="store_true", help="5,000 cases and 100 requests per page")
    parser.add_argument("--requests", type=int, default=None, help="requests per page (default 300)")
    parser.add_argument("--postgres-url", default=os.environ.get("TISKI_BENCH_POSTGRES_URL", PG_ADMIN_URL))
    parser.add_argument("--explain", action="store_true", help="print the slowest query of each page with EXPLAIN")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database afterwards")
    parser.add_argument("--reuse", action="store_true", help="use the kept database as it is (no seeding)")
    parser.add_argument("--workdir", help="data directory (SQLite database); default: a new temporary one")
    parser.add_argument("--pages", help="comma-separated page names to measure (default: all)")
    args = parser.parse_args()
    args.cases = args.cases or (5_000 if args.quick else 100_000)
    args.requests = args.requests or (100 if args.quick else 300)
    return args


def main() -> None:
    args = parse_args()
    results = django_bench(args, PG_BENCH_DB, run)
    print(json.dumps(results))


def run(args: argparse.Namespace) -> dict[str, Any]:
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from tiski.cases.models import Case
    from tiski.channels.models import Channel, ChannelKind
    from tiski.customers.models import Identity

    info = machine()
    print(f"machine: {info['cpu']}, {info['cores']} cores, {info['memory_gb']} GB, Python {info['python']}")
    print(f"database: {connection.vendor}, seeding {args.cases:,} cases …", flush=True)
    started = time.monotonic()
    call_command("migrate", verbosity=0)
    if not args.reuse:
        call_command("seed_cases", count=args.cases, verbosity=0)
    seed_s = time.monotonic() - started
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # fresh statistics, as a live database has them
    print(f"seeded in {seed_s:.1f} s ({Case.objects.count():,} cases)", flush=True)

    agent = User.objects.get(username="maija")
    client = Client(raise_request_exception=False)
    client.force_login(agent)
    rng = random.Random(1)
    email_channel = Channel.objects.get(kind=ChannelKind.EMAIL)
    emails = list(Identity.objects.filter(kind="email").order_by("?").values_list("value", flat=True)[:500])
    max_pk = Case.objects.order_by("-pk").values_list("pk", flat=True).first() or 1
    case = Case(pk=1)

    def reference() -> str:
        case.pk = rng.randrange(1, max_pk + 1)
        return f"/console/cases/{case.reference}/"

    pages: dict[str, Callable[[], str]] = {
        "inbox": lambda: "/console/",
        "inbox_status": lambda: "/console/?status=open",
        "inbox_channel": lambda: f"/console/?channel={email_channel.pk}",
        "inbox_mine": lambda: "/console/?owner=me",
        "inbox_unassigned": lambda: "/console/?owner=unassigned",
        "inbox_page50": lambda: "/console/?page=50",
        "search_email": lambda: f"/console/?q={rng.choice(emails)}",
        "case": reference,
    }
    if args.pages:
        pages = {name: pages[name] for name in args.pages.split(",")}
    results: dict[str, Any] = {"db": args.db, "cases": Case.objects.count(), "requests_per_page": args.requests}
    if not args.reuse:
        results["seed_s"] = round(seed_s, 1)
    print(f"\n{'page':<18}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'queries':>9}")
    for name, path_of in pages.items():
        failure = ""
        for _ in range(5):  # warm caches and connections
            path = path_of()
            status = client.get(path).status_code
            if status != 200:
                failure = f"{path} answered {status}"
        if failure:
            print(f"{name:<18}  FAILED: {failure}", flush=True)
            results[f"{name}_error"] = failure
            continue
        samples = []
        for _ in range(args.requests):
            path = path_of()
            t0 = time.perf_counter()
            response = client.get(path)
            samples.append((time.perf_counter() - t0) * 1000)
            if response.status_code != 200:
                raise SystemExit(f"{path} answered {response.status_code}")
        with CaptureQueriesContext(connection) as captured:
            client.get(path_of())
        p50, p95, p99 = (percentile(samples, f) for f in (0.5, 0.95, 0.99))
        results.update(
            {f"{name}_p50_ms": round(p50, 1), f"{name}_p95_ms": round(p95, 1), f"{name}_p99_ms": round(p99, 1)}
        )
        results[f"{name}_queries"] = len(captured.captured_queries)
        print(f"{name:<18}{p50:>9.1f}{p95:>9.1f}{p99:>9.1f}{len(captured.captured_queries):>9}", flush=True)
        if args.explain or p50 > 100:
            explain_slowest(captured.captured_queries)
    medians = [v for k, v in results.items() if k.endswith("_p50_ms")]
    results["mean_p50_ms"] = round(statistics.mean(medians), 1) if medians else None
    results["machine"] = info
    return results


def explain_slowest(queries: list[dict[str, str]]) -> None:
    from django.db import connection

    if not queries:
        return
    slowest = max(queries, key=lambda q: float(q["time"]))
    print(f"    slowest query ({float(slowest['time']) * 1000:.1f} ms): {slowest['sql'][:600]}")
    prefix = "EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN ANALYZE "
    with connection.cursor() as cursor:
        cursor.execute(prefix + slowest["sql"])
        for row in cursor.fetchall():
            print("      " + " ".join(str(col) for col in row))


if __name__ == "__main__":
    sys.exit(main())
