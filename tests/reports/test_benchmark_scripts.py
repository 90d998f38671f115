"""The reports benchmark scripts run as anyone would run them: the data generator, then the benchmark on its data.

Both in fresh interpreters with --quick on a SQLite file of the test's own (20,000 cases); each prints one JSON
object as its last line. The generator checks its facts against tiski.reports.facts itself (and every foreign key)
and stops with an error if they differ, so a passing run also means the bulk facts match the code's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"

pytestmark = pytest.mark.slow


def _run(script: str, *args: str) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TISKI_", "DATABASE_URL", "DJANGO_"))}
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), *args], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    last = done.stdout.strip().splitlines()[-1]
    return json.loads(last)


def test_generator_then_benchmark_on_its_data(tmp_path: Path) -> None:
    database = str(tmp_path / "reports.sqlite3")

    data = _run("report_data.py", "--quick", "--db", "sqlite", "--database", database)

    assert data["benchmark"] == "report_data"
    assert (data["db"], data["cases"], data["regenerated"]) == ("sqlite", 20_000, True)
    assert 4 * 20_000 < data["messages"] < 6 * 20_000  # five per case on average
    assert data["rows"]["reports_casefact"] == 20_000
    assert data["rows"]["cases_message"] == data["messages"]
    for table in ("cases_caseevent", "sla_slaclock", "routing_workitem", "voice_call", "chat_chatsession",
                  "voice_callbackrequest", "surveys_surveyresponse", "routing_presencelog", "macros_macrouse",
                  "knowledge_articleuse", "knowledge_deflection", "reports_casekeyword"):  # fmt: skip
        assert data["rows"][table] > 0, table

    bench = _run("reports.py", "--quick", "--db", "sqlite", "--database", database, "--runs", "1", "--requests", "2")

    assert bench["benchmark"] == "reports"
    assert bench["data_regenerated"] is False  # the generator's data, found by its size
    assert (bench["db"], bench["cases"], bench["messages"]) == ("sqlite", 20_000, data["messages"])
    assert bench["dashboard_via"] == "page /console/reports/"
    assert bench["agent_90d_via"].startswith("page /console/reports/agents/")
    for key in (
        "dashboard_p50_ms",
        "dashboard_p95_ms",
        "dashboard_p99_ms",
        "agent_90d_p95_ms",
        "slowest_figure_p95_ms",
    ):
        assert bench[key] > 0, key
    assert bench["dashboard_p50_ms"] <= bench["dashboard_p95_ms"] <= bench["dashboard_p99_ms"]
    assert {"contacts_in", "first_response", "backlog", "csat", "contact_reasons"} <= set(bench["figures"])
    assert bench["slowest_figure"] in bench["figures"]
    assert bench["slowest_figure_p95_ms"] == max(f["p95_ms"] for f in bench["figures"].values())
