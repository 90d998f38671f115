#!/usr/bin/env python3
"""Reports data: a database with N cases (default 1,000,000) and everything the reports read, over two years.

Fills a kept database — PostgreSQL ``tiski_bench_reports`` by default (``tiski_bench_reports_quick`` with
--quick), created and migrated when missing — and leaves it alone when it already holds data of the size asked
for (a marker table, ``bench_report_data``, records the size and the migrations it was made with): another size
drops it and starts afresh; new migrations are applied to the data there is, and only if the tables then differ
from the models is the data made again.

What is written, for the demo shop (tiski.core.demo's conversations, products and names):

- 60 agents in 6 teams (a team lead each) and an administrator, every channel kind (two mailboxes, two phone
  lines), a queue per team plus chat and phone, the demo's categories, 40 tags, 15 macros, 120 articles;
- customers (N / 5), a quarter of them in organisations (N / 350), with email and phone identities;
- cases over 730 days: growing volume, weekly and yearly seasons, fewer on holidays, the office's hours of the
  day, and a spike of one reason (the e-bike battery) over the last three days; 2 % started by an agent
  (outbound). First answers and solutions are timed in the default business calendar — a mail that came in the
  night is answered in the morning — with skewed (log-normal) durations per channel, and the status follows
  from the times: most cases solved or closed, a few thousand open now;
- 5 messages per case on average (customer, agent, automatic acknowledgements), the timeline (created,
  assigned, reply_sent, status_changed, reopened, transferred, calls, breaches, surveys), service-level clocks
  of the default policies (met, missed, cancelled, paused, running with a due time past or future), work items
  (mostly done; queued or assigned now for open cases), calls with wrap-ups (some missed), chat sessions (some
  abandoned), callback requests and attempts, CSAT and NPS invitations and answers, help-centre deflections,
  the agents' presence history, macro and article uses;
- CaseFact, CaseKeyword and TargetFact rows computed here, in bulk, as tiski.reports.facts defines them — checked:
  200-odd cases are recomputed by ``facts_refresh()`` and compared with what was written (in a transaction
  rolled back), and every foreign key of the loaded tables is checked; any difference stops the run, listed.

PostgreSQL: binary COPY (psycopg's ``cursor.copy``) in one transaction, the tables truncated in it so the rows
are written frozen (no vacuum needed afterwards), secondary indexes dropped during the load and built after it,
foreign keys checked once at the end instead of row by row; then ANALYZE. SQLite: executemany the same way, and
an empty migrated database kept in the temporary directory per state of the migrations (migrating takes 15–20 s).

    python benchmarks/report_data.py                       # 1,000,000 cases into tiski_bench_reports
    python benchmarks/report_data.py --quick               # 20,000 cases into tiski_bench_reports_quick
    python benchmarks/report_data.py --db sqlite --quick   # a kept SQLite file in the temporary directory
    python benchmarks/report_data.py --cases 200000 --messages-per-case 4 --database tiski_reports_200k

Times are whole seconds, relative to the moment the data was made ("now" is its end), so a database made days
ago has no contacts today; --force makes it again. The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import bisect
import itertools
import json
import math
import os
import random
import sqlite3
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from operator import itemgetter
from pathlib import Path
from typing import Any

from benchlib import environment_set

GENERATOR_VERSION = 2
PG_NAME = "tiski_bench_reports"
QUICK_CASES = 20_000
DAYS = 730
MARKER = "bench_report_data"
CHUNK = 10_000  # cases simulated and written at a time
CHECK_SAMPLE = 200
PRESENCE_FULL_FROM = 250_000  # cases; below, the agents' presence history covers the last months only


# ── arguments and the database ────────────────────────────────────────────────────────────────────────────────


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options the generator and the reports benchmark share."""
    parser.add_argument("--db", choices=("postgres", "sqlite"), default="postgres")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_CASES:,} cases (a separate database)")
    parser.add_argument("--cases", type=int, help="cases to generate (default 1,000,000; --quick 20,000)")
    parser.add_argument("--messages-per-case", type=float, default=5.0, help="messages per case on average")
    parser.add_argument(
        "--database",
        help="PostgreSQL database name (default tiski_bench_reports[_quick]) or SQLite file path "
        "(default in the temporary directory)",
    )
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("TISKI_BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres"),
        help="where the PostgreSQL server is (its maintenance database)",
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--force", action="store_true", help="generate again even if the size matches")


def resolve(args: argparse.Namespace) -> None:
    """Fill in the defaults that depend on other options."""
    args.cases = args.cases or (QUICK_CASES if args.quick else 1_000_000)
    if args.database is None:
        suffix = "quick" if args.quick else "" if args.cases == 1_000_000 else str(args.cases)
        if args.db == "postgres":
            args.database = f"{PG_NAME}_{suffix}" if suffix else PG_NAME
        else:
            args.database = str(Path(tempfile.gettempdir()) / f"tiski-bench-reports-{suffix or 'full'}.sqlite3")


def wanted_size(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "version": GENERATOR_VERSION,
        "cases": args.cases,
        "messages_per_case": args.messages_per_case,
        "seed": args.seed,
        "days": DAYS,
    }


def _pg_params(args: argparse.Namespace, dbname: str) -> dict[str, Any]:
    import dj_database_url

    db = dj_database_url.parse(args.postgres_url)
    return {
        "host": db["HOST"] or "127.0.0.1",
        "port": db["PORT"] or 5432,
        "user": db["USER"] or "postgres",
        "password": db["PASSWORD"] or None,
        "dbname": dbname,
        "autocommit": True,
    }


def _marker_read(args: argparse.Namespace) -> dict[str, Any] | None:
    """The marker of an existing database (None: no database, or not made by this generator)."""
    query = f"SELECT value FROM {MARKER} WHERE name = 'size'"
    if args.db == "sqlite":
        if not Path(args.database).exists():
            return None
        try:
            with sqlite3.connect(args.database) as conn:
                row = conn.execute(query).fetchone()
        except sqlite3.Error:
            return None
        return json.loads(row[0]) if row else None
    import psycopg

    with psycopg.connect(**_pg_params(args, "postgres")) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (args.database,)).fetchone():
            return None
    try:
        with psycopg.connect(**_pg_params(args, args.database)) as conn:
            row = conn.execute(query).fetchone()
    except psycopg.Error:
        return None
    return json.loads(row[0]) if row else None


def _database_reset(args: argparse.Namespace) -> None:
    """Drop the database (or file) and create an empty one."""
    if args.db == "sqlite":
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(args.database + suffix).unlink(missing_ok=True)
        Path(args.database).parent.mkdir(parents=True, exist_ok=True)
        return
    import psycopg

    with psycopg.connect(**_pg_params(args, "postgres")) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{args.database}"')


def django_setup(args: argparse.Namespace) -> None:
    """Point Tiski at the benchmark database and set Django up."""
    workdir = Path(tempfile.gettempdir()) / "tiski-bench-reports-data"
    environment_set(workdir)
    if args.db == "postgres":
        p = _pg_params(args, args.database)
        password = f":{p['password']}" if p["password"] else ""
        os.environ["DATABASE_URL"] = f"postgres://{p['user']}{password}@{p['host']}:{p['port']}/{args.database}"
    else:
        os.environ["DATABASE_URL"] = f"sqlite:///{Path(args.database).resolve()}"

    import django

    django.setup()


def prepare(args: argparse.Namespace) -> dict[str, Any]:
    """Make sure the database holds the data asked for (generating it if not), with Django set up on it; return
    what it holds: the marker's size and the generation's results.

    Data of the size asked for is kept when the migrations changed since: they are applied, and if the tables
    then match the models the data stays (a new index is built on the data there is); if not, it is made again."""
    resolve(args)
    wanted = wanted_size(args)
    marker = None if args.force else _marker_read(args)
    regenerate = marker is None or marker.get("size") != wanted
    if regenerate:
        print(f"generating {args.cases:,} cases into {args.db} {args.database} …", file=sys.stderr, flush=True)
        _database_reset(args)
    django_setup(args)
    if not regenerate and marker is not None and marker.get("schema") != schema_key():
        print("  the migrations changed since the data was made: migrating it", file=sys.stderr, flush=True)
        if _migrated_to_models():
            marker["schema"] = schema_key()
            _marker_write(marker)
        else:
            print("  its tables no longer match the models: making it again", file=sys.stderr, flush=True)
            regenerate = True
            from django.db import connections

            for connection in connections.all():
                connection.close()
                if hasattr(connection, "close_pool"):  # PostgreSQL's pool would keep the dropped database's
                    connection.close_pool()
            _database_reset(args)
    if regenerate:
        marker = generate(args, wanted)
    else:
        print(f"{args.db} {args.database} already holds {args.cases:,} cases; kept", file=sys.stderr, flush=True)
    assert marker is not None
    return {**marker, "regenerated": regenerate}


def schema_key() -> str:
    """A fingerprint of Tiski's migrations and Django's version: the schema the data was made in."""
    import hashlib

    import django

    import tiski

    digest = hashlib.sha1(django.get_version().encode())
    root = Path(tiski.__file__).parent
    for path in sorted(root.glob("**/migrations/*.py")):
        digest.update(str(path.relative_to(root)).encode() + path.read_bytes())
    return digest.hexdigest()[:16]


def _migrated_to_models() -> bool:
    """Apply new migrations; return whether every model's table now has exactly the model's columns."""
    from django.apps import apps
    from django.core.management import call_command
    from django.db import connection

    try:
        call_command("migrate", verbosity=0)
    except Exception as error:  # an edited migration that cannot apply: make the data again
        print(f"  migrate failed: {error}", file=sys.stderr)
        return False
    with connection.cursor() as cursor:
        tables = set(connection.introspection.table_names(cursor))
        for model in apps.get_models():
            if not model._meta.managed or model._meta.proxy:
                continue
            table = model._meta.db_table
            if table not in tables:
                return False
            have = {c.name for c in connection.introspection.get_table_description(cursor, table)}
            if have != {f.column for f in model._meta.concrete_fields}:
                return False
    return True


def _marker_write(marker: dict[str, Any]) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {MARKER} (name varchar(20) PRIMARY KEY, value text NOT NULL)")
        cursor.execute(f"DELETE FROM {MARKER}")
        cursor.execute(f"INSERT INTO {MARKER} (name, value) VALUES ('size', %s)", [json.dumps(marker)])


# ── business time, fast ───────────────────────────────────────────────────────────────────────────────────────


class BusinessClock:
    """A calendar's open intervals between two moments as epoch seconds, with running sums: business seconds
    between two moments and a moment plus business seconds in O(log n) — what Calendar.seconds_between and
    Calendar.add answer, for millions of cases."""

    def __init__(self, calendar: Any, first: int, last: int) -> None:
        self.always = calendar.round_the_clock
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.cum: list[int] = []  # open seconds before interval i
        self.cum_end: list[int] = []  # open seconds to the end of interval i
        if self.always:
            return
        day = datetime.fromtimestamp(first, calendar.zone).date() - timedelta(days=2)
        last_day = datetime.fromtimestamp(last, calendar.zone).date() + timedelta(days=1)
        total = 0
        while day <= last_day:
            for start, end in calendar.intervals_on(day):
                s, e = int(start.timestamp()), int(end.timestamp())
                if e > s:
                    self.starts.append(s)
                    self.ends.append(e)
                    self.cum.append(total)
                    total += e - s
                    self.cum_end.append(total)
            day += timedelta(days=1)

    def counted(self, t: int) -> int:
        """Open seconds from the start of the range to T."""
        i = bisect.bisect_right(self.starts, t) - 1
        if i < 0:
            return 0
        return self.cum[i] + min(t, self.ends[i]) - self.starts[i]

    def between(self, a: int, b: int) -> int:
        if b <= a:
            return 0
        if self.always:
            return b - a
        return self.counted(b) - self.counted(a)

    def add(self, t: int, seconds: float) -> int:
        """The moment SECONDS of open time after T (T itself, or the next opening, when SECONDS is 0)."""
        if self.always:
            return t + int(seconds)
        j0 = bisect.bisect_right(self.ends, t)
        target = self.cum[j0] + max(0, t - self.starts[j0]) + max(0, int(seconds))
        j = bisect.bisect_left(self.cum_end, target, lo=j0)
        if j >= len(self.starts):
            raise ValueError(f"{seconds} business seconds after {t} is beyond the calendar's range")
        return self.starts[j] + target - self.cum[j]

    def is_open(self, t: int) -> bool:
        if self.always:
            return True
        i = bisect.bisect_right(self.starts, t) - 1
        return i >= 0 and t < self.ends[i]


# ── loading rows ──────────────────────────────────────────────────────────────────────────────────────────────


EPOCH_2000 = 946_684_800  # PostgreSQL's binary timestamps count microseconds from 2000-01-01 UTC


class Loader:
    """Writes rows of models in bulk. A row holds the values of COLUMNS (attnames) in order: times as whole epoch
    seconds (or None), JSON as serialised text. The model's other NOT NULL columns get their field's default; a
    required column without a value is an error, named."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self.vendor = connection.vendor
        self.specs: dict[Any, tuple[str, list[str], tuple[Any, ...], list[str], list[int]]] = {}
        self.counts: Counter[str] = Counter()
        self.cursor = connection.cursor()
        self.dropped: list[str] = []
        if self.vendor == "postgresql":
            self._binary_dumpers()

    def _binary_dumpers(self) -> None:
        """Dump this cursor's jsonb values from text and timestamptz values from epoch seconds (COPY picks the
        dumper by the column's type)."""
        import struct

        import psycopg
        from psycopg import pq
        from psycopg.adapt import Dumper

        pack = struct.Struct("!q").pack

        class JsonTextDumper(Dumper):
            format = pq.Format.BINARY
            oid = psycopg.adapters.types["jsonb"].oid

            def dump(self, obj: Any) -> bytes:
                return b"\x01" + obj.encode()

        class EpochDumper(Dumper):
            format = pq.Format.BINARY
            oid = psycopg.adapters.types["timestamptz"].oid

            def dump(self, obj: Any) -> bytes:
                return pack((obj - EPOCH_2000) * 1_000_000)

        adapters = self.cursor.cursor.adapters
        adapters.register_dumper(type("JsonText", (str,), {}), JsonTextDumper)
        adapters.register_dumper(type("Epoch", (int,), {}), EpochDumper)

    def spec(self, model: Any, columns: Sequence[str]) -> tuple[str, list[str], tuple[Any, ...], list[str], list[int]]:
        key = (model, tuple(columns))
        if key in self.specs:
            return self.specs[key]
        from django.db.models import NOT_PROVIDED, DateTimeField, JSONField

        fields = {f.attname: f for f in model._meta.concrete_fields}
        unknown = [c for c in columns if c not in fields]
        if unknown:
            raise SystemExit(f"{model.__name__} has no field {', '.join(unknown)}")
        names = [fields[c].column for c in columns]
        tail: list[Any] = []
        for attname, f in fields.items():
            if attname in columns or f.null or f.primary_key:
                continue
            value = f.get_default()
            if value is None or (f.default is NOT_PROVIDED and not f.blank):
                raise SystemExit(
                    f"{model._meta.db_table}.{f.column} is NOT NULL and required: the generator must fill it"
                )
            if isinstance(f, JSONField):
                value = json.dumps(value)
            elif isinstance(value, datetime):
                value = int(value.timestamp())
            names.append(f.column)
            tail.append(value)
        by_column = {f.column: f for f in fields.values()}
        times = [i for i, n in enumerate(names) if isinstance(by_column[n], DateTimeField)]
        types: list[str] = []
        if self.vendor == "postgresql":
            self.cursor.execute(
                "SELECT a.attname, t.typname FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
                "WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped",
                [model._meta.db_table],
            )
            by_name = dict(self.cursor.fetchall())
            types = [by_name[n] for n in names]
        self.specs[key] = (model._meta.db_table, names, tuple(tail), types, times)
        return self.specs[key]

    def write(self, model: Any, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        table, names, tail, types, times = self.spec(model, columns)
        self.counts[table] += len(rows)
        cols = ", ".join(f'"{n}"' for n in names)
        if self.vendor == "postgresql":
            with self.cursor.cursor.copy(f"COPY {table} ({cols}) FROM STDIN (FORMAT BINARY, FREEZE)") as copy:
                copy.set_types(types)
                write = copy.write_row
                if tail:
                    for row in rows:
                        write(row + tail)
                else:
                    for row in rows:
                        write(row)
            return
        marks = ", ".join(["?"] * len(names))
        self.connection.connection.executemany(  # sqlite3's own, without Django's wrapper per row
            f"INSERT INTO {table} ({cols}) VALUES ({marks})", [_sqlite_row(row + tail, times) for row in rows]
        )

    # One transaction; secondary indexes dropped and built afterwards; foreign keys checked once, at the end.
    # PostgreSQL: tables truncated in it, so that COPY may freeze the rows (no hint-bit writes or vacuum later).

    def begin(self, models: Iterable[Any]) -> None:
        """Start the load (inside the caller's transaction; on SQLite, call before it)."""
        tables = [m._meta.db_table for m in models]
        self.tables = tables
        if self.vendor != "postgresql":
            self.cursor.execute("PRAGMA foreign_keys = OFF")  # a no-op inside a transaction: call before it
            self.cursor.execute("PRAGMA cache_size = -262144")  # 256 MB of pages for this connection's load
            marks = ", ".join(["%s"] * len(tables))
            self.cursor.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
                f"AND tbl_name IN ({marks})",
                tables,
            )
            for name, definition in self.cursor.fetchall():
                self.dropped.append(definition)
                self.cursor.execute(f'DROP INDEX "{name}"')
            for table in tables:
                self.cursor.execute(f"DELETE FROM {table}")
            return
        self.cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        if self.cursor.fetchone()[0]:
            # Foreign keys are not checked row by row during the load (every value is made here, consistent).
            self.cursor.execute("SET LOCAL session_replication_role = replica")
        self.cursor.execute(f"TRUNCATE {', '.join(tables)} CASCADE")
        self.cursor.execute(
            "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
            "WHERE i.indrelid = ANY(%s::regclass[]) AND NOT i.indisprimary "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)",
            [tables],
        )
        for name, definition in self.cursor.fetchall():
            self.dropped.append(definition)
            self.cursor.execute(f"DROP INDEX {name}")

    def finish(self) -> None:
        """After the load's commit: build the indexes dropped by begin(), check every foreign key of the tables
        loaded (stopping with the first violations found)."""
        started = time.perf_counter()
        if self.vendor == "postgresql":
            self.cursor.execute("SET maintenance_work_mem = '1GB'")
        for definition in self.dropped:
            self.cursor.execute(definition)
        self.dropped = []
        self.index_s = time.perf_counter() - started
        if self.vendor == "postgresql":
            self.cursor.execute("RESET maintenance_work_mem")
            violations = self._pg_foreign_key_violations()
        else:
            self.cursor.execute("PRAGMA foreign_keys = ON")
            violations = []
            for table in self.tables:
                self.cursor.execute(f"PRAGMA foreign_key_check({table})")
                violations += [f"{t} row {rowid} → {parent}" for t, rowid, parent, _fk in self.cursor.fetchmany(5)]
        self.keys_s = time.perf_counter() - started - self.index_s
        if violations:
            raise SystemExit("rows refer to rows that do not exist:\n  " + "\n  ".join(violations[:20]))

    def _pg_foreign_key_violations(self) -> list[str]:
        """The foreign keys of the loaded tables that point nowhere (the load ran without checking them)."""
        self.cursor.execute(
            "SELECT conrelid::regclass::text, a.attname, confrelid::regclass::text, fa.attname "
            "FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] "
            "JOIN pg_attribute fa ON fa.attrelid = c.confrelid AND fa.attnum = c.confkey[1] "
            "WHERE c.contype = 'f' AND c.conrelid = ANY(%s::regclass[]) AND cardinality(c.conkey) = 1",
            [self.tables],
        )
        out = []
        for table, column, parent, parent_column in self.cursor.fetchall():
            self.cursor.execute(
                f'SELECT t."{column}" FROM {table} t WHERE t."{column}" IS NOT NULL AND NOT EXISTS '
                f'(SELECT 1 FROM {parent} p WHERE p."{parent_column}" = t."{column}") LIMIT 3'
            )
            out += [f"{table}.{column} = {value} (no {parent})" for (value,) in self.cursor.fetchall()]
        return out

    def derive(self, model: Any, sql: str) -> None:
        """Fill MODEL's table from the rows loaded, with SQL (an INSERT … SELECT)."""
        self.cursor.execute(sql)
        self.counts[model._meta.db_table] += self.cursor.rowcount

    def close(self) -> None:
        self.cursor.close()


_CLOCK_TEXT = [f" {h:02d}:{m:02d}:{sec:02d}" for h in range(24) for m in range(60) for sec in range(60)]
_DAY_TEXT: dict[int, str] = {}


def _sqlite_row(row: tuple[Any, ...], times: list[int]) -> tuple[Any, ...]:
    """ROW as Django stores it in SQLite: times as UTC text ("2026-11-23 10:58:41")."""
    if not times:
        return row
    out = list(row)
    for i in times:
        t = out[i]
        if t is not None:
            day, second = divmod(t, 86400)
            text = _DAY_TEXT.get(day)
            if text is None:
                text = _DAY_TEXT[day] = time.strftime("%Y-%m-%d", time.gmtime(day * 86400))
            out[i] = text + _CLOCK_TEXT[second]
    return tuple(out)


# ── the world the cases happen in ─────────────────────────────────────────────────────────────────────────────

TEAMS = ["Asiakaspalvelu", "Verkkokauppa", "Palautukset", "Laskutus", "Huolto", "Yritysasiakkaat"]
B2B_TEAM = "Yritysasiakkaat"
CATEGORY_TEAM = {
    "orders": "Verkkokauppa",
    "returns": "Palautukset",
    "billing": "Laskutus",
    "repairs": "Huolto",
    "products": "Asiakaspalvelu",
    "other": "Asiakaspalvelu",
}
AGENTS_PER_TEAM = 9
# kind, name, address
CHANNELS = [
    ("email", "Asiakaspalvelu (sähköposti)", "asiakaspalvelu@pohjolanpyora.example"),
    ("email", "Laskutus (sähköposti)", "laskutus@pohjolanpyora.example"),
    ("webform", "Verkkolomake", "lomake@pohjolanpyora.example"),
    ("chat", "Verkkokaupan chat", "verkkokauppa"),
    ("phone", "Asiakaspalvelu (puhelin)", "+35894242420"),
    ("phone", "Yritysasiakkaat (puhelin)", "+35894242430"),
    ("sms", "Tekstiviesti", "+358504242420"),
    ("whatsapp", "WhatsApp", "+358504242421"),
    ("messenger", "Messenger", "pohjolanpyora"),
    ("instagram", "Instagram", "@pohjolanpyora"),
]
KIND_WEIGHTS = {
    "email": 28,
    "webform": 20,
    "chat": 16,
    "phone": 12,
    "sms": 8,
    "whatsapp": 7,
    "messenger": 5,
    "instagram": 4,
}
UNITS = {"phone": 100, "chat": 33}
# First response, business seconds: median, sigma of the log-normal.
RESPONSE = {
    "email": (3 * 3600, 1.0),
    "webform": (3 * 3600, 1.0),
    "chat": (45, 0.8),
    "phone": (50, 0.9),
    "sms": (35 * 60, 1.0),
    "whatsapp": (30 * 60, 1.0),
    "messenger": (35 * 60, 1.0),
    "instagram": (50 * 60, 1.0),
}
# The default service-level policy (tiski.sla.defaults) of each channel kind.
POLICY_OF = {
    "chat": "Chat and phone",
    "phone": "Chat and phone",
    "sms": "Messaging",
    "whatsapp": "Messaging",
    "messenger": "Messaging",
    "instagram": "Messaging",
    "email": "Email and web form",
    "webform": "Email and web form",
}
SURVEY_VIA = {"chat": "chat", "phone": "sms", "sms": "sms", "whatsapp": "whatsapp", "messenger": "messenger"}
# fmt: off
TAGS = [
    "vip", "toimitus-myohassa", "takuu", "reklamaatio", "nouto", "kotiinkuljetus", "lahjakortti", "alennuskoodi",
    "osamaksu", "verkkolasku", "hyvitys", "vaihto", "koko-ongelma", "varaosa", "huoltovaraus", "akku", "renkaat",
    "jarrut", "vaihteet", "runko", "kypara", "teltta", "kengat", "takki", "makuupussi", "yritystilaus", "tarjous",
    "kiireellinen", "uusinta", "palaute", "kehu", "kiitos", "somessa", "kilpailija", "hinnantarkistus", "saatavuus",
    "ennakkotilaus", "varasto", "kuljetusvaurio",
]
# fmt: on
MACROS = [
    "Palautustarra lähetetty",
    "Seurantakoodi",
    "Takuuasia vastaanotettu",
    "Huoltovaraus vahvistettu",
    "Eräpäivän siirto",
    "Hyvitys tehty",
    "Kokovaihto",
    "Pyydä tilausnumero",
    "Pyydä kuva viasta",
    "Toimitusaika-arvio",
    "Yrityslaskutus päälle",
    "Nouto myymälästä",
    "Kiitos palautteesta",
    "Ohjaa huoltoon",
    "Sulje: ei vastausta",
]
ARTICLES = 120
FIRST_NAMES = None  # filled from tiski.core.demo on first use


def _lognormal(rng: random.Random, median: float, sigma: float) -> float:
    """A skewed duration: log-normal around MEDIAN, its long tail cut at 30 times the median."""
    return min(median * math.exp(rng.gauss(0.0, sigma)), median * 30)


def _choice_table(weights: Sequence[float]) -> list[float]:
    total, out = 0.0, []
    for w in weights:
        total += w
        out.append(total)
    return [x / total for x in out]


KINDS = list(KIND_WEIGHTS)
KINDS_OPEN = _choice_table(list(KIND_WEIGHTS.values()))
KINDS_CLOSED = _choice_table([w * (0.4 if k in ("chat", "phone") else 1.0) for k, w in KIND_WEIGHTS.items()])
ACKNOWLEDGEMENT = {
    "fi": "Kiitos viestistäsi. Olemme vastaanottaneet sen ja vastaamme pian.",
    "en": "Thank you for your message. We have received it and will answer soon.",
}
OUTBOUND = {  # language → (subject, the agent's first message) of cases an agent starts
    "fi": [
        ("Tilauksesi toimitus viivästyy", "Hei! Tilauksesi toimitus viivästyy muutamalla päivällä. Pahoittelemme."),
        ("Huoltomuistutus", "Hei! Pyöräsi vuosihuolto on ajankohtainen. Varaa aika vastaamalla tähän viestiin."),
        ("Laskun korjaus", "Hei! Lähetimme korjatun laskun. Edellinen lasku on mitätöity."),
    ],
    "en": [
        ("Your delivery is delayed", "Hello! Your order will arrive a few days late. We apologise."),
        ("Service reminder", "Hello! Your bike is due for its yearly service. Reply to book a time."),
        ("Correction to your invoice", "Hello! We have sent you a corrected invoice; the earlier one is void."),
    ],
}
WRAP_UP_CODES = ("resolved", "resolved", "resolved", "info_given", "follow_up", "transferred_to_email")
COMMENTS = {  # language → negative → comment
    "fi": {False: "Nopeaa ja ystävällistä palvelua, kiitos!", True: "Vastaus kesti liian kauan."},
    "en": {False: "Quick and friendly, thank you!", True: "The answer took far too long."},
}
# Scores 1–5 (CSAT) and 0–10 (NPS) after a case that went well, and after a slow or reopened one.
CSAT_GOOD, CSAT_BAD = _choice_table([2, 3, 8, 27, 60]), _choice_table([15, 15, 20, 25, 25])
NPS_GOOD = _choice_table([1, 1, 1, 1, 1, 2, 3, 10, 20, 25, 35])
NPS_BAD = _choice_table([3, 2, 2, 3, 3, 5, 7, 10, 15, 20, 30])


class Story:
    """One case as it happens: who writes about what on which channel, and when each step comes (epoch seconds)."""

    __slots__ = (
        "address",
        "agent_reopen_at",
        "callback_at",
        "channel_id",
        "cid",
        "closed_at",
        "created",
        "cust",
        "fate",
        "finished",
        "first_queue",
        "first_response_at",
        "handle",
        "incoming",
        "is_open",
        "kind",
        "lang",
        "last_activity",
        "live",
        "org",
        "owner",
        "priority",
        "product",
        "reopen_at",
        "reopen_reply",
        "reopens",
        "replies",
        "scenario",
        "script",
        "sla_due",
        "solved1",
        "solved2",
        "solved_at",
        "status",
        "subject",
        "team",
        "team_name",
        "transfer_at",
    )

    def __init__(self) -> None:
        self.owner: int | None = None


class World:
    """The shop's people, channels and reference data (made with the ORM), and the simulation of its cases."""

    def __init__(self, args: argparse.Namespace, loader: Loader, now: int) -> None:
        from tiski.core.demo import PRODUCTS, SCENARIOS
        from tiski.reports.facts import subject_keywords

        self.args = args
        self.loader = loader
        self.rng = random.Random(args.seed)
        self.now = now
        self.start = now - DAYS * 86400
        self.next_id: defaultdict[str, Iterator[int]] = defaultdict(lambda: itertools.count(1))
        self.rows: dict[str, list[tuple[Any, ...]]] = {}
        self.messages = 0
        self.scenarios, self.products = SCENARIOS, PRODUCTS
        # Over the last three days one reason (the e-bike battery) comes six times as often: a spike to find.
        battery = next(i for i, s in enumerate(SCENARIOS) if "akku" in s.fi.subject.lower())
        self.scen_normal = _choice_table([1.0] * len(SCENARIOS))
        self.scen_spike = _choice_table([6.0 if i == battery else 1.0 for i in range(len(SCENARIOS))])
        self.spike_from = now - 3 * 86400
        # Follow-ups beyond the contact, an acknowledgement (some) and the answer, for the average asked for.
        self.mu_extra = max(0.0, args.messages_per_case - 2.2)
        self.other_teams = {team: [t for t in TEAMS if t != team] for team in TEAMS}
        self.subject_keywords = subject_keywords
        self.keywords_cache: dict[tuple[str, str], list[tuple[str, str]]] = {}

    def nid(self, table: str) -> int:
        """The next id of TABLE (the tables are empty: ids count from 1)."""
        return next(self.next_id[table])

    # ── reference data ──

    def reference_create(self) -> None:
        from django.contrib.auth.models import User
        from django.db import transaction

        from tiski.accounts.models import Team
        from tiski.accounts.roles import ADMINISTRATOR, AGENT, TEAM_LEAD
        from tiski.accounts.services import agent_create, roles_ensure
        from tiski.cases.models import Category, Tag
        from tiski.channels.models import Channel
        from tiski.core.demo import CATEGORIES, ENGLISH_FIRST, ENGLISH_LAST, FINNISH_FIRST, FINNISH_LAST
        from tiski.knowledge.models import Article, ArticleCategory, ArticleTranslation
        from tiski.macros.models import Macro
        from tiski.routing.models import AgentState, Queue
        from tiski.sla.calendar import Calendar
        from tiski.sla.models import BusinessCalendar, SlaPolicy

        rng = self.rng
        with transaction.atomic():
            roles_ensure()
            self.teams = {
                name: Team.objects.create(name=name, email=f"{name.lower()}@pohjolanpyora.example") for name in TEAMS
            }
            self.team_ids = {name: t.pk for name, t in self.teams.items()}
            self.categories = {}
            for position, (key, (name, name_fi, _team)) in enumerate(CATEGORIES.items()):
                self.categories[key] = Category.objects.create(
                    name=name, name_fi=name_fi, team=self.teams[CATEGORY_TEAM[key]], position=position
                ).pk
            self.channels: dict[str, list[tuple[int, str]]] = {}
            for kind, name, address in CHANNELS:
                team = self.teams[
                    "Laskutus" if "Laskutus" in name else B2B_TEAM if "Yritys" in name else "Asiakaspalvelu"
                ]
                channel = Channel.objects.create(kind=kind, name=name, address=address, team=team)
                self.channels.setdefault(kind, []).append((channel.pk, address))
            self.tags = [t.pk for t in Tag.objects.bulk_create([Tag(name=name) for name in TAGS])]
            # Queues: one per team, chat and phone; the installation's default queue stays the general one.
            self.queues: dict[str, tuple[int, int, str]] = {}  # key → (id, priority, name)
            default = Queue.objects.filter(is_default=True).first()
            for position, name in enumerate(TEAMS):
                queue = (
                    default
                    if name == "Asiakaspalvelu" and default
                    else Queue.objects.create(name=f"{name} – jono", name_fi=f"{name} – jono", position=position)
                )
                queue.team = self.teams[name]
                queue.save(update_fields=["team"])
                self.queues[name] = (queue.pk, queue.priority, queue.name)
            for key, name, priority in (("chat", "Chat", 8), ("phone", "Puhelin", 9)):
                queue = Queue.objects.create(name=name, name_fi=name, priority=priority, position=10)
                self.queues[key] = (queue.pk, priority, name)
            # People: a lead and AGENTS_PER_TEAM agents per team, one administrator.
            people = []
            first_names = FINNISH_FIRST + ENGLISH_FIRST
            last_names = FINNISH_LAST + ENGLISH_LAST
            names_used: set[tuple[str, str]] = set()

            def name() -> tuple[str, str]:
                while True:
                    pair = (rng.choice(first_names), rng.choice(last_names))
                    if pair not in names_used:
                        names_used.add(pair)
                        return pair

            admin_first, admin_last = name()
            admin = agent_create(
                username="admin",
                password=None,
                role=ADMINISTRATOR,
                first_name=admin_first,
                last_name=admin_last,
                teams=[self.teams["Asiakaspalvelu"]],
            )
            User.objects.filter(pk=admin.pk).update(is_superuser=True)
            self.team_agents: dict[str, list[int]] = {}
            self.team_weights: dict[str, list[float]] = {}
            self.leads: dict[str, int] = {}
            number = 0
            for team_name in TEAMS:
                first, last = name()
                lead = agent_create(
                    username=f"lead-{team_name.lower()}",
                    password=None,
                    role=TEAM_LEAD,
                    first_name=first,
                    last_name=last,
                    email=f"{first.lower()}.{last.lower()}@pohjolanpyora.example",
                    teams=[self.teams[team_name]],
                    language="fi",
                )
                self.leads[team_name] = lead.pk
                people.append((lead.pk, team_name))
                members, weights = [lead.pk], [0.3]
                for _ in range(AGENTS_PER_TEAM):
                    number += 1
                    first, last = name()
                    extra = [self.teams["Asiakaspalvelu"]] if team_name != "Asiakaspalvelu" and number % 3 == 0 else []
                    user = agent_create(
                        username=f"agent{number:02d}",
                        password=None,
                        role=AGENT,
                        first_name=first,
                        last_name=last,
                        email=f"{first.lower()}.{last.lower()}@pohjolanpyora.example",
                        teams=[self.teams[team_name], *extra],
                        language="en" if number % 9 == 0 else "fi",
                    )
                    members.append(user.pk)
                    weights.append(rng.uniform(0.6, 1.4))
                    people.append((user.pk, team_name))
                self.team_agents[team_name] = members
                self.team_weights[team_name] = _choice_table(weights)
            self.admin = admin.pk
            self.people = people
            self.all_agents = [pk for pk, _team in people]
            states = AgentState.objects.bulk_create([AgentState(user_id=pk, capacity=100) for pk, _team in people])
            through = AgentState.queues.through
            links = []
            for state, (_pk, team_name) in zip(states, people, strict=True):
                links.append(through(agentstate_id=state.pk, queue_id=self.queues[team_name][0]))
                links.append(through(agentstate_id=state.pk, queue_id=self.queues["chat"][0]))
                if team_name in ("Asiakaspalvelu", B2B_TEAM):
                    links.append(through(agentstate_id=state.pk, queue_id=self.queues["phone"][0]))
            through.objects.bulk_create(links)
            macros = Macro.objects.bulk_create(
                [
                    Macro(name=name, position=i, actions=[{"action": "add_tag", "tag": TAGS[i]}])
                    for i, name in enumerate(MACROS)
                ]
            )
            self.macros = [(m.pk, m.name, json.dumps(m.actions)) for m in macros]
            category = ArticleCategory.objects.create(slug="ohjeet", name="Guides", name_fi="Ohjeet")
            articles = Article.objects.bulk_create(
                [Article(category=category, visibility="public", case_types=["question"]) for _ in range(ARTICLES)]
            )
            translations = ArticleTranslation.objects.bulk_create(
                [
                    ArticleTranslation(
                        article=article,
                        language=language,
                        slug=f"ohje-{article.pk}-{language}",
                        title=f"{'Ohje' if language == 'fi' else 'Guide'} {article.pk}",
                        body_html="<p>…</p>",
                        body_text="…",
                        status="published",
                    )
                    for article in articles
                    for language in ("fi", "en")
                ]
            )
            self.articles = [a.pk for a in articles]
            self.article_weights = _choice_table([1 / (rank + 1) for rank in range(len(articles))])
            self.translation_of = {(t.article_id, t.language): t.pk for t in translations}
            self.policies = {
                p.name: (p.pk, p.first_response_minutes, p.resolution_minutes) for p in SlaPolicy.objects.all()
            }
            calendar = BusinessCalendar.objects.filter(is_default=True).first()
            self.calendar = Calendar.of(calendar) if calendar else Calendar.always()
        self.clock = BusinessClock(self.calendar, self.start - 86400, self.now + 400 * 86400)
        self.zone = self.calendar.zone

    # ── customers ──

    def customers_create(self) -> None:
        from tiski.core.demo import (
            ENGLISH_FIRST,
            ENGLISH_LAST,
            FINNISH_FIRST,
            FINNISH_LAST,
            MAIL_DOMAINS,
            SWEDISH_FIRST,
            SWEDISH_LAST,
        )
        from tiski.customers.models import Customer, Identity, Organization
        from tiski.customers.normalize import fold_name

        rng, R = self.rng, self.rng.random
        n_customers = max(self.args.cases // 5, 50)
        n_orgs = max(n_customers // 70, 5)
        prefixes = ["Kaupunki", "Lapin", "Tampereen", "Nordic", "Kiipeily", "Rakennus", "Metsä", "Järvi", "Tunturi"]
        suffixes = ["pyörät", "elämykset", "lähetit", "retket", "palvelut", "rakennus", "matkailu", "urheilu"]
        forms = ("Oy", "Oy", "Ky", "Ab", "ry")
        orgs = []
        for i in range(1, n_orgs + 1):
            created = self.start - int(R() * 900 * 86400)
            p, s = rng.choice(prefixes), rng.choice(suffixes)
            orgs.append((i, f"{p}{s} {rng.choice(forms)} {i}", f"{p.lower()}{s}{i}.example", "", created))
        self.loader.write(Organization, ["id", "name", "domain", "notes", "created_at"], orgs)
        # Created over the period, 40 % before it (the customers the shop already had).
        before = int(n_customers * 0.4)
        created = sorted(
            [self.start - int(R() * 1000 * 86400) for _ in range(before)]
            + [self.start + int(R() * (self.now - self.start)) for _ in range(n_customers - before)]
        )
        self.customer_created = created
        self.customer_lang: list[str] = [""] * (n_customers + 1)
        self.customer_first: list[str] = [""] * (n_customers + 1)
        self.customer_org: list[int | None] = [None] * (n_customers + 1)
        self.customer_phone: list[str] = [""] * (n_customers + 1)
        self.customer_email_identity: list[int] = [0] * (n_customers + 1)
        self.customer_phone_identity: list[int | None] = [None] * (n_customers + 1)
        folded: dict[str, str] = {}
        tiers = _choice_table([70, 16, 10, 4])
        tier_names = ["standard", "silver", "gold", "vip"]
        customers, identities = [], []
        for i, at in enumerate(created, start=1):
            roll = R()
            if roll < 0.78:
                first, last, language = rng.choice(FINNISH_FIRST), rng.choice(FINNISH_LAST), "fi"
            elif roll < 0.85:
                first, last, language = rng.choice(SWEDISH_FIRST), rng.choice(SWEDISH_LAST), "fi"
            else:
                first, last, language = rng.choice(ENGLISH_FIRST), rng.choice(ENGLISH_LAST), "en"
            full = f"{first} {last}"
            if full not in folded:
                folded[full] = fold_name(full)
            org = rng.randint(1, n_orgs) if R() < 0.25 else None
            when = at
            customers.append(
                (
                    i,
                    full,
                    org,
                    language,
                    tier_names[bisect.bisect(tiers, R())],
                    False,
                    "{}",
                    folded[full],
                    False,
                    False,
                    when,
                    when,
                )
            )
            self.customer_lang[i], self.customer_first[i], self.customer_org[i] = language, first, org
            local = folded[full].replace(" ", ".")
            email_id = self.nid("identity")
            identities.append((email_id, i, "email", f"{local}.{i}@{MAIL_DOMAINS[i % 3]}", True, when))
            self.customer_email_identity[i] = email_id
            if i % 2:
                phone_id = self.nid("identity")
                phone = f"+35840{i:07d}"
                identities.append((phone_id, i, "phone", phone, False, when))
                self.customer_phone[i], self.customer_phone_identity[i] = phone, phone_id
        self.loader.write(
            Customer,
            [
                "id",
                "name",
                "organization_id",
                "language",
                "tier",
                "provisional",
                "field_sources",
                "name_key",
                "marketing_suppressed",
                "last_survey_negative",
                "created_at",
                "updated_at",
            ],
            customers,
        )
        self.loader.write(Identity, ["id", "customer_id", "kind", "value", "verified", "created_at"], identities)
        self.n_customers = n_customers

    # ── when cases arrive ──

    def arrival_times(self) -> list[int]:
        """N creation moments: volume growing over the period, fewer at weekends, holidays and in summer, more in
        spring and before Christmas; the office's hours of the day (local time)."""
        rng, R = self.rng, self.rng.random
        weekday_factor = [1.25, 1.15, 1.1, 1.05, 1.0, 0.45, 0.35]
        month_factor = [1.0, 0.95, 1.05, 1.2, 1.3, 1.15, 0.8, 0.9, 1.0, 1.0, 1.15, 1.3]
        hour_weights = [1, 0.5, 0.3, 0.3, 0.3, 0.6, 1.5, 4, 9, 11, 11, 10, 9, 10, 10, 9, 8, 6, 5, 5, 4, 3, 2, 1.5]
        hours = _choice_table(hour_weights)
        first_day = datetime.fromtimestamp(self.start, self.zone).date() + timedelta(days=1)
        midnights, weights = [], []
        for d in range(DAYS):
            day = first_day + timedelta(days=d)
            midnight = int(datetime.combine(day, datetime.min.time(), tzinfo=self.zone).timestamp())
            factor = (0.7 + 0.6 * d / DAYS) * weekday_factor[day.weekday()] * month_factor[day.month - 1]
            if self.calendar.holiday(day):
                factor *= 0.3
            midnights.append(midnight)
            weights.append(factor * math.exp(rng.gauss(0, 0.08)))
        days = _choice_table(weights)
        self.midnights = midnights
        out = []
        now = self.now
        while len(out) < self.args.cases:
            d = bisect.bisect(days, R())
            t = midnights[min(d, DAYS - 1)] + bisect.bisect(hours, R()) * 3600 + int(R() * 3600)
            if t < now:
                out.append(t)
        out.sort()
        return out

    # ── one case ──
    # Rows are compact tuples in their table's column order (COLUMNS below), not one value a line.
    # fmt: off

    def simulate(self, ids: range, times: list[int]) -> None:
        """Write the cases IDS, created at TIMES, with everything that happened on them until now."""
        for cid, created in zip(ids, times, strict=True):
            c = self.story(cid, created)
            self.conversation(c)
            self.routing(c)
            self.timeline(c)
            self.clocks(c)
            if c.kind == "phone":
                self.call(c)
            elif c.kind == "chat":
                self.chat(c)
            self.extras(c)
            self.case_and_facts(c)

    def story(self, cid: int, created: int) -> Story:
        """Who writes about what on which channel, and when each step comes, in business hours where people act."""
        rng, R, add, now = self.rng, self.rng.random, self.clock.add, self.now
        c = Story()
        c.cid, c.created = cid, created
        weights = self.scen_spike if created >= self.spike_from else self.scen_normal
        sc = c.scenario = self.scenarios[bisect.bisect(weights, R())]
        k = bisect.bisect_right(self.customer_created, created)  # the customers there are by then
        recent = R() < 0.25  # a new customer tends to write soon after joining
        c.cust = min(max(k - int(R() * min(k, 300)) if recent else 1 + int(R() * k), 1), self.n_customers)
        c.lang = self.customer_lang[c.cust]
        c.is_open = self.clock.is_open(created)
        outbound = R() < 0.02  # an agent starts it: a delay to tell of, a service reminder
        if outbound:
            kind = c.kind = "email" if R() < 0.7 else "sms"
        else:
            kind = c.kind = KINDS[bisect.bisect(KINDS_OPEN if c.is_open else KINDS_CLOSED, R())]
        c.org = self.customer_org[c.cust]
        c.team_name = B2B_TEAM if c.org and R() < 0.6 else CATEGORY_TEAM[sc.category]
        second = (kind == "email" and sc.category == "billing") or (kind == "phone" and c.team_name == B2B_TEAM)
        c.channel_id, c.address = self.channels[kind][-1 if second else 0]
        c.team = self.team_ids[c.team_name]
        c.owner = self.team_agents[c.team_name][bisect.bisect(self.team_weights[c.team_name], R())]
        c.product = rng.choice(self.products[c.lang])
        c.script = sc.fi if c.lang == "fi" else sc.en
        c.subject = c.script.subject if R() < 0.7 else f"{c.script.subject}: {c.product}"
        if outbound:
            c.subject = OUTBOUND[c.lang][cid % len(OUTBOUND[c.lang])][0]
        c.priority = min(4, sc.priority + 1) if R() < 0.05 else sc.priority

        roll = R()
        fate = "normal"
        if outbound:
            fate = "outbound"
        elif kind == "chat" and roll < 0.10:
            fate = "abandoned"  # the customer left before anyone answered
        elif roll < 0.03:
            fate = "no_reply"  # spam, a duplicate: closed unanswered
        elif kind == "phone" and (not c.is_open or roll < 0.11):
            fate = "missed"  # out of hours, or hung up waiting; most are called back
        c.fate = fate
        median, sigma = RESPONSE[kind]
        c.callback_at = responded = None
        if fate == "normal":
            wait = _lognormal(rng, median, sigma)
            responded = created + int(wait) if kind == "phone" else add(created, wait)
        elif fate == "outbound":  # the agent's message that opens it
            responded = created + 30 + int(R() * 270)
        elif fate == "missed" and R() < 0.8:
            responded = c.callback_at = add(created, _lognormal(rng, 5400, 0.9))
        c.live = kind in ("chat", "phone") and fate == "normal" and R() < 0.7  # solved while on the line
        if fate == "outbound":
            solved1 = add(responded, _lognormal(rng, 4 * 3600, 1.0))  # type: ignore[arg-type]
        elif responded is not None:
            live_s = _lognormal(rng, 420 if kind == "chat" else 260, 0.6)
            solved1 = responded + int(live_s) if c.live else add(responded, _lognormal(rng, 5 * 3600, 1.3))
        elif fate == "abandoned":
            solved1 = created + int(_lognormal(rng, 900, 0.4))
        elif fate == "no_reply":
            solved1 = add(created, _lognormal(rng, 3600, 1.0))
        else:  # a missed call nobody called back
            solved1 = add(created, _lognormal(rng, 8 * 3600, 0.5))
        c.reopen_at = c.reopen_reply = c.agent_reopen_at = c.solved2 = None
        roll = 1.0 if fate == "outbound" else R()
        if responded is not None and roll < 0.06:  # the customer writes again after the solution
            c.reopen_at = solved1 + int(_lognormal(rng, 20 * 3600, 0.8))
            c.reopen_reply = add(c.reopen_at, _lognormal(rng, 5400, 0.9))
            c.solved2 = add(c.reopen_reply, _lognormal(rng, 7200, 0.9))
        elif responded is not None and roll < 0.07:  # an agent opens it again
            c.agent_reopen_at = add(solved1, _lognormal(rng, 7200, 0.8))
            c.solved2 = add(c.agent_reopen_at, _lognormal(rng, 3600, 0.8))

        # Where it stands now.
        c.solved1, c.solved_at, c.closed_at = solved1, None, None
        c.first_response_at = responded if responded is not None and responded <= now else None
        reopened = solved1 <= now and (c.reopen_at or c.agent_reopen_at or now + 1) <= now
        if c.first_response_at is None and (responded is not None or solved1 > now):
            status = "new" if R() < 0.75 else "open"  # waiting: in the queue, or taken and not answered yet
        elif solved1 > now:
            status = "pending" if R() < 0.35 else "on_hold" if R() < 0.07 else "open"
        elif reopened:
            status = "solved" if c.solved2 <= now else "open"  # type: ignore[operator]
            c.solved_at = c.solved2 if status == "solved" else None
        else:
            status, c.solved_at = "solved", solved1
        if not reopened:
            c.reopen_at = c.reopen_reply = c.agent_reopen_at = c.solved2 = None  # still to come
        if status == "new" or fate == "abandoned":
            c.owner = None
        if c.solved_at is not None and c.solved_at + 4 * 86400 <= now:
            status, c.closed_at = "closed", c.solved_at + 4 * 86400
        c.status, c.finished = status, status in ("solved", "closed")
        c.last_activity = created
        return c

    def conversation(self, c: Story) -> None:
        """The messages, oldest first: the contact, an automatic acknowledgement, answers and follow-ups."""
        rng, R, now = self.rng, self.rng.random, self.now
        values = {"first": self.customer_first[c.cust], "product": c.product, "order": str(100_000 + c.cid % 300_000)}
        script = c.script
        follow = (script.followup or script.inbound).format(**values)
        closing = (script.closing or script.reply).format(**values)
        fr = c.first_response_at
        if c.fate == "outbound":
            convo = self.outbound_conversation(c, follow)
        else:
            convo = [(c.created, "in", "customer", script.inbound.format(**values))]
            if c.kind in ("email", "webform") and R() < 0.6:
                convo.append((c.created + 5, "out", "system", ACKNOWLEDGEMENT[c.lang]))
        if fr is not None and c.fate != "outbound":
            convo.append((fr, "out", "agent", script.reply.format(**values)))
            end = min(c.solved1, now)
            if self.mu_extra > 0 and end > fr + 2:
                extra = round(rng.expovariate(1 / self.mu_extra))
                for n, t in enumerate(sorted(fr + 1 + int(R() * (end - fr - 1)) for _ in range(extra))):
                    convo.append((t, "in", "customer", follow) if n % 2 == 0 else (t, "out", "agent", closing))
        if c.reopen_at is not None:
            convo.append((c.reopen_at, "in", "customer", follow))
            if c.reopen_reply <= now:  # type: ignore[operator]
                convo.append((c.reopen_reply, "out", "agent", closing))
        if c.agent_reopen_at is not None and c.agent_reopen_at + 60 <= now:
            convo.append((c.agent_reopen_at + 60, "out", "agent", closing))
        convo.sort(key=itemgetter(0))

        kind, cid, channel, owner = c.kind, c.cid, c.channel_id, c.owner
        identity = (self.customer_email_identity[c.cust] if kind in ("email", "webform")
                    else self.customer_phone_identity[c.cust] if kind in ("phone", "sms") else None)
        m_rows, e_rows = self.rows["message"], self.rows["event"]
        replies = incoming = 0
        for n, (t, direction, author, body) in enumerate(convo):
            mid = self.nid("message")
            subject = c.subject if n == 0 else ""
            if author == "agent":
                replies += 1
                m_rows.append((mid, cid, channel, direction, author, owner, None, "", subject, body, "sent", t, t))
                e_rows.append((self.nid("event"), cid, "reply_sent", owner, f'{{"message_id": {mid}}}', t + 1))
            elif author == "system":
                m_rows.append((mid, cid, channel, direction, author, None, None, "", subject, body, "sent", t, t))
            else:
                incoming += 1
                m_rows.append((mid, cid, channel, direction, author, None, identity, values["first"], subject, body,
                               "received", t, None))
        c.replies, c.incoming = replies, incoming
        c.last_activity = max([c.last_activity, *(m[0] for m in convo[-1:])])
        self.messages += len(convo)

    def outbound_conversation(self, c: Story, answer: str) -> list[tuple[int, str, str, str]]:
        """An agent writes first (if they have by now); most customers answer; the agent closes it."""
        R, now, fr = self.rng.random, self.now, c.first_response_at
        if fr is None:
            return []
        convo = [(fr, "out", "agent", OUTBOUND[c.lang][c.cid % len(OUTBOUND[c.lang])][1])]
        if R() < 0.7:
            answered = fr + int(_lognormal(self.rng, 3 * 3600, 1.0))
            if answered < min(c.solved1, now):
                convo.append((answered, "in", "customer", answer))
                if c.solved1 - 60 <= now:
                    convo.append((max(answered + 1, c.solved1 - 60), "out", "agent", ACKNOWLEDGEMENT[c.lang]))
        return convo

    def routing(self, c: Story) -> None:
        """The work items: waiting in a queue now, or taken by an agent (after a transfer, for some) and done."""
        rng, R, now = self.rng, self.rng.random, self.now
        w_rows = self.rows["workitem"]
        cid, kind, lang, priority, created = c.cid, c.kind, c.lang, c.priority, c.created
        queue_id, queue_priority, queue_name = self.queues[kind if kind in ("chat", "phone") else c.team_name]
        units = UNITS.get(kind, 10)
        c.handle, c.first_queue, c.transfer_at = 0, queue_id, None
        if c.fate == "outbound":  # the agent's own: never routed
            c.first_queue = None
            return
        if c.status == "new":
            w_rows.append((self.nid("workitem"), cid, queue_id, queue_priority, priority, kind, lang, units, "queued",
                           created, None, None, None, None, None, None, 0, ""))
            return
        if c.owner is None:  # an abandoned chat: nobody took it
            w_rows.append((self.nid("workitem"), cid, queue_id, queue_priority, priority, kind, lang, units,
                           "cancelled", created, None, None, None, None, None, c.solved1, 0, "abandoned"))
            return
        fr = c.first_response_at
        if fr is not None:  # taken a little before the answer (a call or a chat: as it was answered)
            assigned = max(created, fr - 20 - (0 if c.live else int(_lognormal(rng, 360, 0.7))))
            closed = (c.solved1 if c.solved1 <= now else None) if c.live else fr
        elif c.finished:  # closed unanswered: taken to be closed
            closed = c.solved_at
            assigned = max(created, closed - int(_lognormal(rng, 90, 0.5)))  # type: ignore[operator]
        else:  # taken, not answered yet
            assigned, closed = min(now - 1, created + int(_lognormal(rng, 600, 0.8))), None
        enqueued = created
        if fr is not None and not c.live and kind not in ("chat", "phone") and assigned > created + 600 and R() < 0.08:
            # First routed to another team's queue, which sent it on.
            other = rng.choice(self.other_teams[c.team_name])
            o_id, o_priority, o_name = self.queues[other]
            transfer = created + (assigned - created) // 2
            took = max(created, transfer - int(_lognormal(rng, 300, 0.6)))
            earlier = self.team_agents[other][bisect.bisect(self.team_weights[other], R())]
            w_rows.append((self.nid("workitem"), cid, o_id, o_priority, priority, kind, lang, units, "done", created,
                           None, earlier, took, took, None, transfer, 1, "transferred"))
            moved = {"from": o_name, "to": queue_name, "to_queue": queue_id, "to_agent": None}
            self.rows["event"].append((self.nid("event"), cid, "transferred", earlier, json.dumps(moved), transfer))
            c.handle += transfer - took
            c.first_queue, c.transfer_at, enqueued = o_id, transfer, transfer
        w_rows.append((self.nid("workitem"), cid, queue_id, queue_priority, priority, kind, lang, units,
                       "assigned" if closed is None else "done", enqueued, None, c.owner, assigned, assigned, fr,
                       closed, 1, ""))
        if closed is not None:
            c.handle += max(0, closed - assigned)
        self.rows["event"].append((self.nid("event"), cid, "assigned", None,
                                   f'{{"via": "routing", "old": null, "owner_id": {c.owner}}}', assigned))

    def timeline(self, c: Story) -> None:
        """The status changes: solved, reopened (by the customer or an agent), solved again, pending, closed."""
        e_rows, nid, cid, owner, now = self.rows["event"], self.nid, c.cid, c.owner, self.now
        creator = owner if c.fate == "outbound" else None
        e_rows.append((nid("event"), cid, "created", creator, f'{{"channel": "{c.kind}"}}', c.created))
        if c.first_response_at is not None:  # the first answer opens it
            e_rows.append((nid("event"), cid, "status_changed", owner, '{"old": "new", "new": "open"}',
                           c.first_response_at))
        c.reopens = 0
        if c.solved1 <= now and (c.finished or c.reopen_at or c.agent_reopen_at):
            e_rows.append((nid("event"), cid, "status_changed", owner, '{"old": "open", "new": "solved"}', c.solved1))
        if c.reopen_at is not None:
            c.reopens += 1
            e_rows.append((nid("event"), cid, "reopened", None, '{"old": "solved", "new": "open"}', c.reopen_at))
        if c.agent_reopen_at is not None:
            c.reopens += 1
            e_rows.append((nid("event"), cid, "status_changed", owner, '{"old": "solved", "new": "open"}',
                           c.agent_reopen_at))
        if c.solved2 is not None and c.solved2 <= now:
            e_rows.append((nid("event"), cid, "status_changed", owner, '{"old": "open", "new": "solved"}', c.solved2))
        if c.status == "pending":
            e_rows.append((nid("event"), cid, "status_changed", owner, '{"old": "open", "new": "pending"}',
                           min(now, c.last_activity + 30)))
        if c.closed_at is not None:
            e_rows.append((nid("event"), cid, "status_changed", None, '{"old": "solved", "new": "closed"}',
                           c.closed_at))
        c.last_activity = max(c.last_activity, c.solved_at or 0, c.closed_at or 0)

    def clocks(self, c: Story) -> None:
        """The service-level clocks of the default policies: first response (every channel) and resolution (mail
        and web form) — met, missed, cancelled, paused while waiting on the customer, or running now."""
        add, between, now, s_rows = self.clock.add, self.clock.between, self.now, self.rows["slaclock"]
        policy_id, first_minutes, resolution_minutes = self.policies.get(POLICY_OF[c.kind], (None, None, None))
        created, cid = c.created, c.cid
        c.sla_due = None
        if c.fate == "outbound":  # targets start when a customer writes
            return
        for metric, minutes, stop in (("first_response", first_minutes, c.first_response_at),
                                      ("resolution", resolution_minutes, c.solved_at)):
            if not minutes or policy_id is None:
                continue
            target = minutes * 60
            due, warn = add(created, target), add(created, target * 0.75)
            if stop is not None:
                elapsed = between(created, stop)
                late = elapsed > target
                s_rows.append((self.nid("slaclock"), cid, policy_id, metric, "missed" if late else "met", target,
                               elapsed, created, None, due, None, warn if warn <= stop else None,
                               due if late else None, stop))
                if late:
                    self.rows["event"].append((self.nid("event"), cid, "sla_breached", None,
                                               f'{{"metric": "{metric}"}}', due))
            elif c.finished:
                end = c.solved_at or c.solved1
                s_rows.append((self.nid("slaclock"), cid, policy_id, metric, "cancelled", target, between(created, end),
                               created, None, due, None, None, due if due <= end else None, end))
            elif c.status == "pending" and metric == "resolution":
                s_rows.append((self.nid("slaclock"), cid, policy_id, metric, "paused", target,
                               between(created, c.last_activity), created, None, None, None,
                               warn if warn <= now else None, due if due <= c.last_activity else None, None))
            else:
                s_rows.append((self.nid("slaclock"), cid, policy_id, metric, "running", target, 0.0, created, created,
                               due, warn, warn if warn <= now else None, due if due <= now else None, None))
                c.sla_due = due if c.sla_due is None else min(c.sla_due, due)

    def call(self, c: Story) -> None:
        """A phone case's calls: answered; or missed, with a callback request, its attempts and the call back."""
        rng, R, now = self.rng, self.rng.random, self.now
        cid, cust, channel, line, created, owner = c.cid, c.cust, c.channel_id, c.address, c.created, c.owner
        number = self.customer_phone[cust] or f"+35850{cid:08d}"
        call_id = self.nid("call")
        calls = self.rows["call"]
        if c.fate != "missed":
            answered = c.first_response_at
            if answered is None:  # still waiting when the data ends
                return
            talk = c.solved1 - answered if c.live else int(_lognormal(rng, 240, 0.6))
            wrapped = answered + talk + int(_lognormal(rng, 45, 0.6))
            calls.append((call_id, channel, f"bench-{call_id}", "inbound", number, line, "ended", "", cust, cid, owner,
                          "Puhelin", created, answered, answered + talk, talk, created, wrapped,
                          rng.choice(WRAP_UP_CODES), wrapped))
            self.rows["event"].append((self.nid("event"), cid, "call_ended", owner,
                                       f'{{"number": "{number}", "talk_s": {talk}}}', answered + talk))
            return
        waited = int(_lognormal(rng, 70, 0.7))
        hung_up = created + waited
        status = "missed" if c.is_open else "voicemail"
        calls.append((call_id, channel, f"bench-{call_id}", "inbound", number, line, status,
                      "abandoned" if c.is_open else "voicemail", cust, cid, None, "Puhelin", created, None, hung_up,
                      None, created, hung_up, "", None))
        self.rows["event"].append((self.nid("event"), cid, "call_missed", None, f'{{"number": "{number}"}}', hung_up))
        request = self.nid("callbackrequest")
        if c.callback_at is not None and c.callback_at <= now:
            outcome, closed, attempts = "done", c.callback_at, 1 if R() < 0.75 else 2
        elif c.callback_at is not None:
            outcome, closed, attempts = "scheduled", None, 0
        else:
            outcome, closed, attempts = "unreachable" if R() < 0.7 else "cancelled", min(now, created + 86400), 3
        self.rows["callbackrequest"].append((
            request, cust, cid, call_id, "missed_call" if c.is_open else "voicemail", number, "", outcome, attempts,
            c.callback_at if outcome == "scheduled" else None, self.clock.add(created, 4 * 3600), closed, hung_up,
            closed or hung_up, "Puhelin"))
        for n in range(attempts):
            at = closed - (attempts - 1 - n) * 1800  # type: ignore[operator]
            reached = outcome == "done" and n == attempts - 1
            back = None
            if reached:
                back, talk = self.nid("call"), int(_lognormal(rng, 200, 0.6))
                calls.append((back, channel, f"bench-{back}", "outbound", number, line, "ended", "", cust, cid, owner,
                              "Puhelin", at - 10, at, at + talk, talk, at - 10, at + talk, "callback", at + talk))
            self.rows["callbackattempt"].append((self.nid("callbackattempt"), request, owner, back,
                                                 "reached" if reached else "no_answer", at))

    def chat(self, c: Story) -> None:
        """A chat case's session: ended (answered, or left unanswered), or active or waiting now."""
        R, answered = self.rng.random, c.first_response_at
        sid = self.nid("chatsession")
        end = c.solved1 if c.fate == "abandoned" else min(c.solved1, answered + 1800) if answered is not None else None
        if end is not None and end <= self.now:
            state, last_seen, ended = "ended", end, end
        else:
            state, last_seen, ended = "active" if answered is not None else "waiting", self.now - 20, None
        identified = "prechat" if R() < 0.6 else "token" if R() < 0.5 else "anonymous"
        name = self.customer_first[c.cust] if identified != "anonymous" else ""
        self.rows["chatsession"].append((sid, c.channel_id, c.cust, c.cid, f"{sid:064x}", state, identified, "chat",
                                         f"chat:{sid:010d}", name, c.subject[:200], c.lang, 0, c.created, last_seen,
                                         ended))

    def extras(self, c: Story) -> None:
        """Surveys after the solution, a macro and an article used for the answer, tags."""
        rng, R = self.rng, self.rng.random
        if c.finished and c.kind != "instagram":
            self.surveys(c)
        fr, owner = c.first_response_at, c.owner
        if fr is not None and owner is not None:
            if R() < 0.15:
                self.macro_use(c.cid, owner, fr - 5)
            if R() < 0.12:
                article = self.articles[bisect.bisect(self.article_weights, R())]
                self.rows["articleuse"].append((self.nid("articleuse"), article, self.translation_of[(article, c.lang)],
                                                c.cid, owner, "text" if R() < 0.7 else "link",
                                                rng.choice((1, 1, 2, 3, None)), True if c.finished else None, fr - 30))
        roll = R()
        if roll < 0.55:
            for tag in {rng.choice(self.tags) for _ in range(1 if roll < 0.45 else 2)}:
                self.rows["tag"].append((self.nid("tag"), c.cid, tag))
        if c.kind in ("webform", "chat") and c.fate != "outbound":
            self.deflections(c)

    def deflections(self, c: Story) -> None:
        """Help-centre suggestions on the web form and chat: this contact's (shown, then written anyway), and
        another visitor's who read an article instead of writing (deflected), opened one, or just saw them."""
        R, rows = self.rng.random, self.rows["deflection"]
        article = self.articles[bisect.bisect(self.article_weights, R())]
        translation = self.translation_of[(article, c.lang)]
        query = c.subject.split(":")[0][:300]
        if R() < 0.4:
            at, did = c.created - 60 - int(R() * 540), self.nid("deflection")
            rows.append((did, f"{did:032x}", c.kind, c.lang, query, translation, "contacted", at, c.created))
        if R() < 0.5:
            at, did, roll = c.created - int(R() * 6 * 3600), self.nid("deflection"), R()
            outcome = "helped" if roll < 0.45 else "opened" if roll < 0.65 else "shown"
            rows.append((did, f"{did:032x}", c.kind, c.lang, query, None if outcome == "shown" else translation,
                         outcome, at, at + int(R() * 120)))

    def surveys(self, c: Story) -> None:
        """A CSAT survey for about half of the solved cases and an NPS survey for some: skipped, scheduled, sent,
        expired or answered, the scores worse after a slow or reopened case."""
        rng, R, now = self.rng, self.rng.random, self.now
        bad = c.first_response_at is None or c.first_response_at - c.created > 86400 or c.reopens > 0
        solved = c.solved_at
        for survey, share in (("csat", 0.55), ("nps", 0.12)):
            if R() >= share:
                continue
            invitation = self.nid("surveyinvitation")
            due = solved + (0 if c.kind == "chat" else 3600)  # type: ignore[operator]
            skip, sent, expires, answered = "", None, None, None
            if R() < 0.12:
                status, skip = "skipped", rng.choice(("throttled", "sampling", "no_address", "window"))
            elif due > now:
                status = "scheduled"
            else:
                sent, expires = due, due + 14 * 86400
                answered = sent + int(_lognormal(rng, 3 * 3600, 1.2))
                if R() < (0.45 if c.kind == "chat" else 0.25) and answered <= now:
                    status = "answered"
                else:
                    answered, status = None, "expired" if expires <= now else "sent"
            self.rows["surveyinvitation"].append((
                invitation, c.cid, survey, c.cust, c.owner, c.team, c.channel_id, c.kind,
                SURVEY_VIA.get(c.kind, "email"), c.lang, status, skip, solved, due, sent, expires, answered, solved))
            if sent is not None:
                self.rows["event"].append((self.nid("event"), c.cid, "survey_sent", None, f'{{"kind": "{survey}"}}',
                                           sent))
            if answered is None:
                continue
            if survey == "csat":
                score = 1 + bisect.bisect(CSAT_BAD if bad else CSAT_GOOD, R())
                negative = score <= 2
            else:
                score = bisect.bisect(NPS_BAD if bad else NPS_GOOD, R())
                negative = score <= 6
            comment = COMMENTS[c.lang][negative] if R() < 0.3 else ""
            self.rows["surveyresponse"].append((
                self.nid("surveyresponse"), survey, score, comment, negative, "chat" if c.kind == "chat" else "link",
                invitation, c.cid, c.cust, c.owner, c.team, c.kind, c.lang, answered, answered, answered))
            self.rows["event"].append((self.nid("event"), c.cid, "survey_answered", None,
                                       f'{{"kind": "{survey}", "score": {score}}}', answered))

    def macro_use(self, cid: int, actor: int, at: int) -> None:
        """One application of a shared macro (the popular ones more often) to the case."""
        R = self.rng.random
        macro_id, name, actions = self.macros[min(int(R() ** 1.6 * len(self.macros)), len(self.macros) - 1)]
        run = self.nid("macrorun")
        applied = R() < 0.96
        self.rows["macrorun"].append((run, macro_id, name, actions, actor, False, f"[{cid}]", "done", 1, int(applied),
                                      int(not applied), 0, at, at, at + 1))
        self.rows["macrouse"].append((self.nid("macrouse"), run, macro_id, cid, actor,
                                      "applied" if applied else "skipped", "" if applied else "already solved", "[]",
                                      round(R() * 80 + 20, 1), at + 1))

    def case_and_facts(self, c: Story) -> None:
        """The case row, and its facts and keywords as tiski.reports.facts computes them."""
        cid, created, finished = c.cid, c.created, c.finished
        category = self.categories[c.scenario.category]
        fr, solved = c.first_response_at, c.solved_at if finished else None
        self.rows["case"].append((
            cid, c.subject, c.status, c.priority, c.scenario.type, category, c.product, c.cust, c.owner, c.team,
            c.channel_id, created, c.last_activity, fr, c.solved_at, c.closed_at, None if finished else c.sla_due))
        between = self.clock.between
        self.rows["fact"].append((
            cid, created, c.channel_id, c.kind, c.first_queue, c.team, c.owner, category, c.scenario.type, c.priority,
            c.status, c.cust, c.org, c.product, c.fate != "outbound",
            fr, None if fr is None else fr - created, None if fr is None else between(created, fr),
            solved, None if solved is None else solved - created, None if solved is None else between(created, solved),
            c.reopens, c.replies, c.incoming, 1 if c.transfer_at is not None else 0, c.handle, self.now))
        key = (c.subject, c.lang)
        words = self.keywords_cache.get(key)
        if words is None:
            words = self.keywords_cache[key] = self.subject_keywords(c.subject, c.lang)
        for stem, word in words:
            self.rows["keyword"].append((self.nid("keyword"), cid, stem, word, created))

    # fmt: on

    # ── agents' presence ──

    def presence_create(self) -> list[tuple[Any, ...]]:
        """Each agent's working days: online from about 8, lunch away, busy stretches, offline from about 16. The
        whole period from PRESENCE_FULL_FROM cases, else the last months (the same agents handle fewer cases)."""
        rng, R = self.rng, self.rng.random
        out: list[tuple[Any, ...]] = []
        first_day = datetime.fromtimestamp(self.start, self.zone).date() + timedelta(days=1)
        days = DAYS if self.args.cases >= PRESENCE_FULL_FROM else max(90, DAYS * self.args.cases // PRESENCE_FULL_FROM)
        for user in self.all_agents:
            last_end = None
            for d in range(DAYS - days, DAYS):
                day = first_day + timedelta(days=d)
                if day.weekday() >= 5 or self.calendar.holiday(day) or R() < 0.08:
                    continue
                midnight = self.midnights[d]
                login = midnight + 8 * 3600 + int(rng.gauss(0, 600))
                logout = midnight + 16 * 3600 + int(rng.gauss(600, 900))
                if login >= self.now:
                    break
                if last_end is not None:
                    out.append((self.nid("presence"), user, "offline", "logout", last_end, login))
                lunch = midnight + 11 * 3600 + int(R() * 3600)
                spans = [
                    ("online", "login", login, lunch),
                    ("away", "manual", lunch, lunch + 1800),
                    ("online", "manual", lunch + 1800, logout),
                ]
                busy = lunch + 1800 + int(R() * 3 * 3600)
                if R() < 0.5 and busy + 1200 < logout:
                    spans[2:] = [
                        ("online", "manual", lunch + 1800, busy),
                        ("busy", "manual", busy, busy + 1200),
                        ("online", "manual", busy + 1200, logout),
                    ]
                for presence, reason, s, e in spans:
                    if s >= self.now:
                        break
                    out.append((self.nid("presence"), user, presence, reason, s, e if e < self.now else None))
                last_end = logout if logout < self.now else None
            if last_end is not None:
                out.append((self.nid("presence"), user, "offline", "logout", last_end, None))
        return out


# ── the run ───────────────────────────────────────────────────────────────────────────────────────────────────

# Each table's columns (attnames), in the order of the generator's row tuples.
# fmt: off
COLUMNS: dict[str, list[str]] = {
    "case": ["id", "subject", "status", "priority", "type", "category_id", "product", "customer_id", "owner_id",
             "team_id", "channel_id", "created_at", "updated_at", "first_response_at", "solved_at", "closed_at",
             "sla_due_at"],
    "tag": ["id", "case_id", "tag_id"],
    "message": ["id", "case_id", "channel_id", "direction", "author", "author_user_id", "identity_id", "sender_name",
                "subject", "body_text", "delivery_status", "created_at", "sent_at"],
    "event": ["id", "case_id", "kind", "actor_id", "data", "created_at"],
    "workitem": ["id", "case_id", "queue_id", "queue_priority", "priority", "channel_kind", "language", "units",
                 "status", "enqueued_at", "due_at", "agent_id", "offered_at", "assigned_at", "acted_at", "closed_at",
                 "offers", "reason"],
    "slaclock": ["id", "case_id", "policy_id", "metric", "status", "target_s", "elapsed_s", "started_at",
                 "running_since", "due_at", "warn_at", "warned_at", "breached_at", "stopped_at"],
    "fact": ["case_id", "created_at", "channel_id", "channel_kind", "queue_id", "team_id", "owner_id", "category_id",
             "type", "priority", "status", "customer_id", "organization_id", "product", "inbound",
             "first_response_at", "first_response_s", "first_response_bs", "solved_at", "resolution_s",
             "resolution_bs", "reopens", "agent_replies", "customer_messages", "transfers", "handle_s",
             "refreshed_at"],
    "keyword": ["id", "case_id", "stem", "word", "created_at"],
    "call": ["id", "channel_id", "provider_call_id", "direction", "number", "line", "status", "outcome",
             "customer_id", "case_id", "agent_id", "queue", "rang_at", "answered_at", "ended_at", "talk_s",
             "created_at", "updated_at", "reason_code", "wrapped_up_at"],
    "callbackrequest": ["id", "customer_id", "case_id", "call_id", "source", "number", "topic", "status", "attempts",
                        "next_attempt_at", "due_at", "closed_at", "created_at", "updated_at", "queue"],
    "callbackattempt": ["id", "request_id", "agent_id", "call_id", "outcome", "created_at"],
    "chatsession": ["id", "channel_id", "customer_id", "case_id", "token_hash", "status", "identified_by",
                    "handle_kind", "handle_value", "name", "topic", "language", "connections", "created_at",
                    "last_seen_at", "ended_at"],
    "surveyinvitation": ["id", "case_id", "kind", "customer_id", "agent_id", "team_id", "channel_id", "channel_kind",
                         "via", "language", "status", "skip_reason", "solved_at", "due_at", "sent_at", "expires_at",
                         "answered_at", "created_at"],
    "surveyresponse": ["id", "kind", "score", "comment", "negative", "source", "invitation_id", "case_id",
                       "customer_id", "agent_id", "team_id", "channel_kind", "language", "answered_at", "created_at",
                       "updated_at"],
    "macrorun": ["id", "macro_id", "macro_name", "actions", "actor_id", "bulk", "case_ids", "status", "total",
                 "done_count", "skipped_count", "failed_count", "created_at", "started_at", "finished_at"],
    "macrouse": ["id", "run_id", "macro_id", "case_id", "actor_id", "outcome", "reason", "summaries", "duration_ms",
                 "created_at"],
    "articleuse": ["id", "article_id", "translation_id", "case_id", "user_id", "how", "suggested_rank", "solved",
                   "created_at"],
    "deflection": ["id", "session", "channel_kind", "language", "query", "translation_id", "outcome", "created_at",
                   "updated_at"],
    "presence": ["id", "user_id", "presence", "reason", "started_at", "ended_at"],
}
# fmt: on


def _models() -> dict[str, Any]:
    from tiski.cases.models import Case, CaseEvent, Message
    from tiski.channels.chat.models import ChatSession
    from tiski.channels.voice.models import Call, CallbackAttempt, CallbackRequest
    from tiski.knowledge.models import ArticleUse, Deflection
    from tiski.macros.models import MacroRun, MacroUse
    from tiski.reports.models import CaseFact, CaseKeyword, TargetFact
    from tiski.routing.models import PresenceLog, WorkItem
    from tiski.sla.models import SlaClock
    from tiski.surveys.models import SurveyInvitation, SurveyResponse

    return {
        "case": Case,
        "tag": Case.tags.through,
        "message": Message,
        "event": CaseEvent,
        "workitem": WorkItem,
        "slaclock": SlaClock,
        "fact": CaseFact,
        "keyword": CaseKeyword,
        "call": Call,
        "callbackrequest": CallbackRequest,
        "callbackattempt": CallbackAttempt,
        "chatsession": ChatSession,
        "surveyinvitation": SurveyInvitation,
        "surveyresponse": SurveyResponse,
        "macrorun": MacroRun,
        "macrouse": MacroUse,
        "articleuse": ArticleUse,
        "deflection": Deflection,
        "presence": PresenceLog,
        "target": TargetFact,  # derived from the clocks and facts (_TARGETS_SQL), not written row by row
    }


def _targets_sql() -> str:
    """The INSERT … SELECT that fills TargetFact from the clocks and facts: the migration that made the table
    does the same for an existing database (the generated facts are checked against facts.py afterwards)."""
    import importlib

    return importlib.import_module("tiski.reports.migrations.0003_targetfact").BACKFILL


def _schema_template_path() -> Path:
    """Where an empty, migrated SQLite database is kept for the migrations as they are now (migrating takes
    15–20 s here; copying the file, milliseconds)."""
    return Path(tempfile.gettempdir()) / f"tiski-bench-schema-{schema_key()}.sqlite3"


def _schema_from_template(args: argparse.Namespace) -> bool:
    """On SQLite, start from the kept migrated schema if there is one; return whether it was used."""
    import shutil

    from django.db import connection

    if args.db != "sqlite" or not _schema_template_path().exists():
        return False
    connection.close()
    shutil.copyfile(_schema_template_path(), args.database)
    return True


def _schema_keep_as_template(args: argparse.Namespace) -> None:
    """On SQLite, keep a copy of the freshly migrated, still empty database for next time."""
    import shutil

    from django.db import connection

    if args.db != "sqlite":
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # everything in the main file before it is copied
    connection.close()
    template = _schema_template_path()
    partial = template.with_suffix(f".{os.getpid()}.part")
    shutil.copyfile(args.database, partial)
    partial.replace(template)


def generate(args: argparse.Namespace, size: dict[str, Any]) -> dict[str, Any]:
    """Migrate the empty database, write everything, check the facts; return the marker written."""
    from django.core.management import call_command
    from django.core.management.color import no_style
    from django.db import connection, transaction

    from tiski.customers.models import Customer, Identity, Organization

    started = time.perf_counter()
    if not _schema_from_template(args):
        call_command("migrate", verbosity=0)
        _schema_keep_as_template(args)
    migrate_s = time.perf_counter() - started
    print(f"  schema ready in {migrate_s:.1f} s", file=sys.stderr, flush=True)
    now = int(time.time())
    models = _models()
    loader = Loader(connection)
    world = World(args, loader, now)
    world.reference_create()
    t_load = time.perf_counter()
    tables = [Organization, Customer, Identity, *models.values()]
    if connection.vendor == "sqlite":
        loader.begin(tables)
    with transaction.atomic():
        if connection.vendor == "postgresql":
            loader.begin(tables)
        world.customers_create()
        times = world.arrival_times()
        world.rows = {name: [] for name in COLUMNS}
        for first in range(0, len(times), CHUNK):
            chunk = times[first : first + CHUNK]
            world.simulate(range(first + 1, first + 1 + len(chunk)), chunk)
            for name, rows in world.rows.items():
                loader.write(models[name], COLUMNS[name], rows)
                rows.clear()
            done = first + len(chunk)
            if done % (CHUNK * 10) == 0 or done == len(times):
                rate = done / (time.perf_counter() - t_load)
                print(
                    f"  {done:,} cases, {world.messages:,} messages ({rate:,.0f} cases/s)", file=sys.stderr, flush=True
                )
        loader.write(models["presence"], COLUMNS["presence"], world.presence_create())
        loader.derive(models["target"], _targets_sql())
    load_s = time.perf_counter() - t_load
    print(f"  loaded in {load_s:.1f} s", file=sys.stderr, flush=True)
    loader.finish()
    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_sql(no_style(), [m for m in tables if m._meta.pk.name == "id"]):
            cursor.execute(sql)
    t_after = time.perf_counter()
    _after_load(world)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    analyze_s = time.perf_counter() - t_after
    print(
        f"  indexes built in {loader.index_s:.1f} s, foreign keys checked in {loader.keys_s:.1f} s, "
        f"analysed in {analyze_s:.1f} s",
        file=sys.stderr,
        flush=True,
    )
    t_check = time.perf_counter()
    facts_check(args.seed)
    check_s = time.perf_counter() - t_check
    generation_s = time.perf_counter() - started
    counts = dict(sorted(loader.counts.items()))
    loader.close()
    result = {
        "generated_at": datetime.fromtimestamp(now, UTC).isoformat(),
        "messages": world.messages,
        "generation_s": round(generation_s, 1),
        "schema_s": round(migrate_s, 1),
        "load_s": round(load_s, 1),
        "index_s": round(loader.index_s, 1),
        "keys_s": round(loader.keys_s, 1),
        "analyze_s": round(analyze_s, 1),
        "check_s": round(check_s, 1),
        "rows": counts,
        "rows_total": sum(counts.values()),
    }
    marker = {"size": size, "schema": schema_key(), "result": result}
    _marker_write(marker)
    print(
        f"  generated {args.cases:,} cases, {world.messages:,} messages, {result['rows_total']:,} rows in "
        f"{generation_s:.1f} s",
        file=sys.stderr,
        flush=True,
    )
    return marker


def _after_load(world: World) -> None:
    """What follows from the rows: articles' use counts, the agents' presence now."""
    from django.db.models import Count, Q

    from tiski.knowledge.models import Article
    from tiski.routing.models import AgentState, PresenceLog

    uses = dict(Article.objects.annotate(n=Count("uses")).values_list("pk", "n"))
    solved = dict(Article.objects.annotate(s=Count("uses", filter=Q(uses__solved=True))).values_list("pk", "s"))
    articles = list(Article.objects.all())
    for article in articles:
        article.use_count, article.solved_count = uses.get(article.pk, 0), solved.get(article.pk, 0)
    Article.objects.bulk_update(articles, ["use_count", "solved_count"])
    current = {
        user: (presence, started)
        for user, presence, started in PresenceLog.objects.filter(ended_at=None).values_list(
            "user_id", "presence", "started_at"
        )
    }
    states = list(AgentState.objects.all())
    for state in states:
        presence, since = current.get(state.user_id, ("offline", None))
        state.presence = presence
        if since is not None:
            state.presence_since = since
            state.last_seen_at = datetime.fromtimestamp(world.now, UTC) if presence != "offline" else since
    AgentState.objects.bulk_update(states, ["presence", "presence_since", "last_seen_at"])


def facts_check(seed: int) -> None:
    """Recompute CHECK_SAMPLE cases' facts with tiski.reports.facts and compare with what was written (in a
    transaction rolled back afterwards); stop with the differences if any."""
    from django.db import transaction

    from tiski.cases.models import Case
    from tiski.reports.facts import facts_for, facts_refresh
    from tiski.reports.models import CaseKeyword, TargetFact

    ids = list(Case.objects.values_list("pk", flat=True).order_by("pk"))
    rng = random.Random(seed)
    sample = sorted(rng.sample(ids, min(CHECK_SAMPLE, len(ids))))
    # Make sure the sample has cases of every status, some reopened and some transferred.
    for status in ("new", "open", "pending", "on_hold", "solved", "closed"):
        extra = list(Case.objects.filter(status=status).values_list("pk", flat=True)[:5])
        sample = sorted(set(sample) | set(extra))

    def keywords() -> dict[int, set[tuple[str, str]]]:
        out: dict[int, set[tuple[str, str]]] = {}
        for case_id, stem, word in CaseKeyword.objects.filter(case__in=sample).values_list("case_id", "stem", "word"):
            out.setdefault(case_id, set()).add((stem, word))
        return out

    def targets() -> dict[int, set[tuple[Any, ...]]]:
        out: dict[int, set[tuple[Any, ...]]] = {}
        for row in TargetFact.objects.filter(case__in=sample).values_list(
            *(f.attname for f in TargetFact._meta.concrete_fields)
        ):
            out.setdefault(row[1], set()).add(row)
        return out

    written, written_words, written_targets = facts_for(sample), keywords(), targets()
    with transaction.atomic():
        facts_refresh(sample)
        computed, computed_words, computed_targets = facts_for(sample), keywords(), targets()
        transaction.set_rollback(True)
    differences = []
    for case_id in sample:
        mine, theirs = written.get(case_id), computed.get(case_id)
        if mine is None or theirs is None:
            differences.append(f"case {case_id}: written {mine is not None}, computed {theirs is not None}")
            continue
        for field, value in theirs.items():
            if field == "refreshed_at":
                continue
            if mine.get(field) != value:
                differences.append(f"case {case_id} {field}: written {mine.get(field)!r}, facts.py {value!r}")
        if written_targets.get(case_id, set()) != computed_targets.get(case_id, set()):
            differences.append(
                f"case {case_id} targets: written {sorted(written_targets.get(case_id, set()))}, "
                f"facts.py {sorted(computed_targets.get(case_id, set()))}"
            )
        if written_words.get(case_id, set()) != computed_words.get(case_id, set()):
            differences.append(
                f"case {case_id} keywords: written {sorted(written_words.get(case_id, set()))}, "
                f"facts.py {sorted(computed_words.get(case_id, set()))}"
            )
    if differences:
        shown = "\n  ".join(differences[:40])
        raise SystemExit(
            f"the generated facts differ from tiski.reports.facts on {len(differences)} values "
            f"({len(sample)} cases checked):\n  {shown}"
        )
    print(f"  facts of {len(sample)} cases match tiski.reports.facts", file=sys.stderr, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    args = parser.parse_args()
    info = prepare(args)
    result = info["result"]
    print(
        json.dumps(
            {
                "benchmark": "report_data",
                "db": args.db,
                "database": args.database,
                "cases": info["size"]["cases"],
                "messages": result["messages"],
                "regenerated": info["regenerated"],
                **{k: v for k, v in result.items() if k != "messages"},
            }
        )
    )


if __name__ == "__main__":
    main()
