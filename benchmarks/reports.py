#!/usr/bin/env python3
"""Reports benchmark: the operations dashboard, a 90-day agent report and every figure, on 1,000,000 cases.

Runs on the database benchmarks/report_data.py makes (it is made first when missing or of another size; see
there): 1,000,000 cases and 5,000,000 messages over two years on PostgreSQL by default, 20,000 cases with --quick.

What is timed, in this process, around the whole call (single client; warmed up first):

- dashboard: a team lead's GET of the operations dashboard, /console/reports/ (view, every query, template), with
  Django's test client; target p95 < 500 ms. Before that page existed: operations_dashboard(), or the live
  figures and the 8-week heatmap computed with figure_table() — the JSON says which ("dashboard_via");
- dashboard_live: its 30-second refresh, /console/reports/live/;
- agent_90d: GET /console/reports/agents/<id>/?days=90, a different agent each time; target p95 < 1 s
  (fallback before the page: figure_table() of each figure the page shows, narrowed to the agent);
- each figure's figure_table() over the last 28 days, all agents, its default grouping: the slow ones show.

Each run requests every item a number of times and prints p50/p95/p99 in milliseconds; --runs runs (default 5) and
the medians of the runs are reported. --explain prints PostgreSQL's EXPLAIN (ANALYZE, BUFFERS) (SQLite: its query
plan) of the slowest queries of the dashboard, the agent report and the slowest figures.

    python benchmarks/reports.py                          # PostgreSQL, 1,000,000 cases, 5 runs
    python benchmarks/reports.py --quick                  # 20,000 cases, fewer requests, 3 runs
    python benchmarks/reports.py --db sqlite --quick
    python benchmarks/reports.py --explain --runs 1       # where the time goes

The last line printed is one JSON object with the medians.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import machine, percentile
from report_data import add_arguments, prepare

DASHBOARD_TARGET_MS = 500
AGENT_TARGET_MS = 1000
AGENT_DAYS = 90
FIGURE_DAYS = 28


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    parser.add_argument("--runs", type=int, help="runs to take the medians of (default 5; --quick 3)")
    parser.add_argument("--requests", type=int, help="dashboard and agent requests per run (default 20; --quick 3)")
    parser.add_argument("--figure-calls", type=int, help="calls of each figure per run (default 5; --quick 1)")
    parser.add_argument("--explain", action="store_true", help="print the plans of the slowest queries")
    parser.add_argument("--only", help="comma-separated items to time: dashboard, dashboard_live, agent_90d, figures")
    args = parser.parse_args()
    args.runs = args.runs or (3 if args.quick else 5)
    args.requests = args.requests or (3 if args.quick else 20)
    args.figure_calls = args.figure_calls or (1 if args.quick else 5)
    return args


# ── what is timed ─────────────────────────────────────────────────────────────────────────────────────────────


class Item:
    """One thing timed: CALL() does it once (raising if it failed); VIA says how it is done."""

    def __init__(self, name: str, via: str, call: Callable[[], Any]) -> None:
        self.name, self.via, self.call = name, via, call


def _page(client: Any, path: str) -> Callable[[], Any]:
    def get() -> Any:
        response = client.get(path)
        if response.status_code != 200:
            raise RuntimeError(f"{path} answered {response.status_code}")
        return response

    return get


def _works(call: Callable[[], Any]) -> str:
    """Return why CALL fails ("" when it works)."""
    try:
        call()
    except Exception as error:
        return f"{type(error).__name__}: {error}"[:300]
    return ""


def dashboard_item(client: Any) -> Item:
    """The dashboard page; else operations_dashboard(); else its figures one by one."""
    from datetime import timedelta

    from tiski.reports.figures import FIGURES, figure_table
    from tiski.reports.filters import ReportFilter

    page = _page(client, "/console/reports/")
    why = _works(page)
    if not why:
        return Item("dashboard", "page /console/reports/", page)
    print(f"  dashboard page not usable ({why}); timing the computation instead", file=sys.stderr)
    try:
        from tiski.reports.dashboard import operations_dashboard

        if not _works(operations_dashboard):
            return Item("dashboard", "operations_dashboard()", operations_dashboard)
    except ImportError:
        pass

    def figures() -> None:
        today = ReportFilter.last_days(1)
        for name, spec in FIGURES.items():
            if spec.live:
                figure_table(name, today)
        weeks = ReportFilter.last_days(8 * 7, today=today.end - timedelta(days=1))
        figure_table("contacts_in", weeks, "weekday_hour")

    return Item("dashboard", "figure_table() of the live figures and the 8-week heatmap", figures)


def live_item(client: Any) -> Item | None:
    page = _page(client, "/console/reports/live/")
    return Item("dashboard_live", "page /console/reports/live/", page) if not _works(page) else None


def agent_item(client: Any, agents: list[int]) -> Item:
    """The agent page over 90 days, a different agent each call; else the figures it shows, narrowed to them."""
    from tiski.reports.figures import FIGURES, figure_table
    from tiski.reports.filters import ReportFilter

    turn = {"n": 0}

    def next_agent() -> int:
        turn["n"] += 1
        return agents[turn["n"] % len(agents)]

    def page() -> Any:
        return _page(client, f"/console/reports/agents/{next_agent()}/?days={AGENT_DAYS}")()

    why = _works(page)
    if not why:
        return Item("agent_90d", f"page /console/reports/agents/<id>/?days={AGENT_DAYS}", page)
    print(f"  agent page not usable ({why}); timing its figures instead", file=sys.stderr)

    def figures() -> None:
        flt = ReportFilter.last_days(AGENT_DAYS, agent=next_agent())
        for name, spec in FIGURES.items():
            if spec.agent_visible and not spec.live:
                figure_table(name, flt)

    return Item("agent_90d", "figure_table() of every agent-visible figure, narrowed to the agent", figures)


def figure_items() -> list[Item]:
    from tiski.reports.figures import FIGURES, figure_table
    from tiski.reports.filters import ReportFilter

    items = []
    for name, spec in FIGURES.items():

        def call(name: str = name) -> Any:
            return figure_table(name, ReportFilter.last_days(FIGURE_DAYS))

        items.append(
            Item(f"figure:{name}", f"figure_table({name!r}, last {FIGURE_DAYS} days, {spec.default_by})", call)
        )
    return items


# ── timing ────────────────────────────────────────────────────────────────────────────────────────────────────


def time_item(item: Item, calls: int) -> list[float]:
    samples = []
    for _ in range(calls):
        t0 = time.perf_counter()
        item.call()
        samples.append((time.perf_counter() - t0) * 1000)
    return samples


def stats(samples: list[float]) -> dict[str, float]:
    """Percentiles of SAMPLES (ms) and the throughput of one client calling back to back."""
    out = {f"p{int(f * 100)}_ms": round(percentile(samples, f), 1) for f in (0.5, 0.95, 0.99)}
    out["per_s"] = round(1000 * len(samples) / sum(samples), 2)
    return out


def captured(item: Item) -> list[dict[str, Any]]:
    """The queries of one call of ITEM, slowest first."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as capture:
        item.call()
    return sorted(capture.captured_queries, key=lambda q: -float(q["time"]))


def explain(item: Item, top: int = 3) -> None:
    """Print the plans of ITEM's TOP slowest queries."""
    from django.db import connection

    queries = captured(item)
    total = sum(float(q["time"]) for q in queries) * 1000
    print(f"\n── {item.name}: {len(queries)} queries, {total:.0f} ms in the database ({item.via})")
    prefix = "EXPLAIN (ANALYZE, BUFFERS) " if connection.vendor == "postgresql" else "EXPLAIN QUERY PLAN "
    for query in queries[:top]:
        print(f"\n{float(query['time']) * 1000:.1f} ms: {query['sql']}")
        with connection.cursor() as cursor:
            cursor.execute(prefix + query["sql"])
            for row in cursor.fetchall():
                print("    " + " ".join(str(col) for col in row))


def code_state() -> dict[str, str]:
    """The commit and a digest of the reports app as it is in the working tree (figures change under way)."""
    import hashlib
    import subprocess

    root = Path(__file__).resolve().parents[1]
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True).stdout
    digest = hashlib.sha1()
    for path in sorted((root / "src" / "tiski" / "reports").rglob("*")):
        if path.is_file() and path.suffix in (".py", ".html"):
            digest.update(path.read_bytes())
    return {"commit": head.strip(), "reports_digest": digest.hexdigest()[:12]}


# ── the run ───────────────────────────────────────────────────────────────────────────────────────────────────


def main() -> None:
    args = parse_args()
    info = prepare(args)

    from django.contrib.auth.models import Group
    from django.db import connection
    from django.test import Client

    from tiski.accounts.roles import AGENT, TEAM_LEAD
    from tiski.accounts.services import roles_ensure
    from tiski.cases.models import Case, Message

    roles_ensure()  # the roles' permissions as the code has them now (the data may be older)
    lead = Group.objects.get(name=TEAM_LEAD).user_set.order_by("pk").first()
    agents = list(Group.objects.get(name=AGENT).user_set.order_by("pk").values_list("pk", flat=True))
    if lead is None or not agents:
        raise SystemExit("the database has no team lead or no agents: generate it again with --force")
    client = Client(raise_request_exception=False)
    client.force_login(lead)
    size = info["size"]
    result = info["result"]
    age_h = (datetime.now(UTC) - datetime.fromisoformat(result["generated_at"])).total_seconds() / 3600
    cases, messages = Case.objects.count(), Message.objects.count()
    print(
        f"{connection.vendor}: {cases:,} cases, {messages:,} messages, generated in {result['generation_s']} s, "
        f"{age_h:.1f} h ago{' — today has no new contacts: --force makes the data again' if age_h > 24 else ''}",
        flush=True,
    )

    wanted = set(args.only.split(",")) if args.only else {"dashboard", "dashboard_live", "agent_90d", "figures"}
    items: list[Item] = []
    if "dashboard" in wanted:
        items.append(dashboard_item(client))
    if "dashboard_live" in wanted and (live := live_item(client)) is not None:
        items.append(live)
    if "agent_90d" in wanted:
        items.append(agent_item(client, agents))
    if "figures" in wanted:
        items += figure_items()
    calls = {item.name: args.figure_calls if item.name.startswith("figure:") else args.requests for item in items}
    queries = {item.name: len(captured(item)) for item in items}  # also warms caches and connections

    runs: list[dict[str, dict[str, float]]] = []
    for number in range(1, args.runs + 1):
        run: dict[str, dict[str, float]] = {}
        for item in items:
            run[item.name] = stats(time_item(item, calls[item.name]))
        runs.append(run)
        main_items = ", ".join(
            f"{name} p95 {run[name]['p95_ms']:.0f} ms" for name in ("dashboard", "agent_90d") if name in run
        )
        print(f"run {number}/{args.runs}: {main_items}", file=sys.stderr, flush=True)

    medians = {
        item.name: {key: round(statistics.median(run[item.name][key] for run in runs), 1) for key in runs[0][item.name]}
        for item in items
    }
    header = f"{'item':<28}{'per s':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'queries':>9}"
    print(f"\n{header}   (medians of {args.runs} runs)")
    for item in items:
        m = medians[item.name]
        print(
            f"{item.name:<28}{m['per_s']:>8.1f}{m['p50_ms']:>9.1f}{m['p95_ms']:>9.1f}{m['p99_ms']:>9.1f}"
            f"{queries[item.name]:>9}"
        )
    for item in items:
        if not item.name.startswith("figure:"):
            print(f"  {item.name}: {item.via}")

    figures = {name.split(":", 1)[1]: m for name, m in medians.items() if name.startswith("figure:")}
    slowest = max(figures, key=lambda n: figures[n]["p95_ms"]) if figures else None
    if args.explain:
        by_name = {item.name: item for item in items}
        ranked = sorted(figures, key=lambda n: -figures[n]["p95_ms"])[:5]
        for name in ("dashboard", "dashboard_live", "agent_90d", *(f"figure:{n}" for n in ranked)):
            if name in by_name:
                explain(by_name[name])

    out: dict[str, Any] = {
        "benchmark": "reports",
        "db": args.db,
        "cases": cases,
        "messages": messages,
        "runs": args.runs,
        "requests_per_run": args.requests,
        "figure_calls_per_run": args.figure_calls,
        "data_regenerated": info["regenerated"],
    }
    for name in ("dashboard", "dashboard_live", "agent_90d"):
        if name in medians:
            out.update({f"{name}_{key}": value for key, value in medians[name].items()})
            out[f"{name}_queries"] = queries[name]
            out[f"{name}_via"] = next(item.via for item in items if item.name == name)
    out["slowest_figure"] = slowest
    out["slowest_figure_p95_ms"] = figures[slowest]["p95_ms"] if slowest else None
    if "dashboard" in medians:
        out["dashboard_target_met"] = medians["dashboard"]["p95_ms"] < DASHBOARD_TARGET_MS
    if "agent_90d" in medians:
        out["agent_90d_target_met"] = medians["agent_90d"]["p95_ms"] < AGENT_TARGET_MS
    out["figures"] = {name: {**m, "queries": queries[f"figure:{name}"]} for name, m in figures.items()}
    out["code"] = code_state()
    out["generation_s"] = result["generation_s"]
    out["data_age_h"] = round(age_h, 1)
    out["messages_per_case"] = size["messages_per_case"]
    out["load"] = round(os.getloadavg()[0], 2)
    out["machine"] = machine()
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
