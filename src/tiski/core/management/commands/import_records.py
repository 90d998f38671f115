"""`tiski import-records FILE --source SLUG`: bring orders, invoices, contracts … from a CSV or JSON file.

The file is read as a stream in batches (``--batch`` rows a transaction), so its size does not matter.
CSV has a header row: kind, external_id, an owner column (customer_id, customer_email, customer_phone,
organization_id or organization_domain), and any of title, status, date, due_date, renewal_date, amount,
currency; every other column, and ``attributes.<key>`` columns, go into the record's attributes. JSON is a
list of objects or JSON Lines (one object a line) with the same names, ``attributes`` an object.

Rows that cannot be stored are reported with their line number and the reason, and the others are stored.
Exit status: 0 when every row was stored, 2 when some were rejected, 1 when the file cannot be read.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import sys
from collections.abc import Iterable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from tqdm import tqdm

from tiski.customers.exceptions import RecordSourceUnknownError
from tiski.customers.records import RecordIn, Rejection, UpsertResult, record_upsert_many, source_check

FIELDS = (
    "kind",
    "external_id",
    "customer_id",
    "customer_email",
    "customer_phone",
    "organization_id",
    "organization_domain",
    "title",
    "status",
    "date",
    "due_date",
    "renewal_date",
    "amount",
    "currency",
)
ATTRIBUTE_PREFIX = "attributes."
READ_CHUNK = 64 * 1024
csv.field_size_limit(10 * 1024 * 1024)


class FileUnreadableError(Exception):
    """The file cannot be read on: not UTF-8, not CSV/JSON, no header."""


class _CountingReader(io.RawIOBase):
    """A binary stream that counts the bytes read from it (for the progress bar)."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.raw.read(len(buffer))
        size = len(data)
        buffer[:size] = data
        self.count += size
        return size


# --- rows from a file ------------------------------------------------------------------------------------------
# Each reader yields a RecordIn for each row, or a Rejection for a row that cannot be read; both carry the line.

Item = RecordIn | Rejection


def _record(line: int, fields: dict[str, Any], *, from_csv: bool) -> Item:
    """Return FIELDS as a RecordIn: known names as themselves, the others into attributes."""
    known: dict[str, Any] = {}
    attributes: dict[str, Any] = {}
    external_id = fields.get("external_id")
    reject_id = str(external_id).strip()[:200] if isinstance(external_id, str | int) else ""
    given = fields.get("attributes")
    if from_csv and isinstance(given, str) and given.strip():
        try:
            given = json.loads(given)
        except ValueError:
            return Rejection(line, reject_id, "the attributes column is not a JSON object")
    for key, value in fields.items():
        if key == "attributes":
            continue
        if from_csv and (value is None or value == ""):
            continue  # an empty cell: no value
        if key in FIELDS:
            known[key] = value
        elif key.startswith(ATTRIBUTE_PREFIX) and len(key) > len(ATTRIBUTE_PREFIX):
            attributes[key[len(ATTRIBUTE_PREFIX) :]] = value
        else:
            attributes[key] = value
    if given not in (None, ""):
        if not isinstance(given, dict):
            return Rejection(line, reject_id, "attributes must be a JSON object")
        attributes = {**given, **attributes}
    for text_field in ("external_id", "customer_phone"):  # numbers in JSON, text in the source system
        value = known.get(text_field)
        if isinstance(value, int | float) and not isinstance(value, bool):
            known[text_field] = str(value)
    for text_field in ("title", "status", "currency"):
        if known.get(text_field) is None:
            known.pop(text_field, None)
    return RecordIn(
        kind=known.pop("kind", ""), external_id=known.pop("external_id", ""), attributes=attributes, row=line, **known
    )


def _column(name: str) -> str:
    """Return a header name as the importer reads it: known names in lower case, attribute keys as written."""
    lower = name.lower()
    if lower in FIELDS or lower == "attributes":
        return lower
    if lower.startswith(ATTRIBUTE_PREFIX):
        return ATTRIBUTE_PREFIX + name[len(ATTRIBUTE_PREFIX) :]
    return name


def _csv_items(text: IO[str]) -> Iterator[Item]:
    first = text.readline()
    if not first.strip():
        raise FileUnreadableError("the file is empty: a CSV file starts with a header row")
    delimiter = max(",;\t", key=first.count)
    reader = csv.reader(itertools.chain([first], text), delimiter=delimiter)
    header = [name.strip() for name in next(reader)]
    lowered = [_column(name) for name in header]
    missing = [name for name in ("kind", "external_id") if name not in lowered]
    if missing:
        raise FileUnreadableError(
            f"the header row has no {' or '.join(missing)} column (it reads: {', '.join(header)[:200]})"
        )
    repeated = sorted({name for name in lowered if lowered.count(name) > 1})
    if repeated:
        raise FileUnreadableError(f"the header row names {', '.join(repeated)} more than once")
    last = reader.line_num
    for row in reader:
        line, last = last + 1, reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(lowered):
            yield Rejection(line, "", f"the row has {len(row)} fields, the header {len(lowered)}")
            continue
        yield _record(line, dict(zip(lowered, row, strict=True)), from_csv=True)


def _object_item(line: int, value: Any) -> Item:
    if not isinstance(value, dict):
        return Rejection(line, "", "not a JSON object")
    return _record(line, {str(key): item for key, item in value.items()}, from_csv=False)


def _jsonl_items(text: IO[str]) -> Iterator[Item]:
    for line, content in enumerate(text, start=1):
        if not content.strip():
            continue
        try:
            value = json.loads(content)
        except ValueError as exc:
            yield Rejection(line, "", f"not valid JSON: {exc}")
            continue
        yield _object_item(line, value)


def _json_array_items(text: IO[str]) -> Iterator[Item]:
    """Yield the objects of a JSON array one by one, reading the text in chunks."""
    decoder = json.JSONDecoder()
    buffer, position, line, eof = "", 0, 1, False

    def more() -> bool:
        nonlocal buffer, position, eof
        chunk = text.read(READ_CHUNK)
        if not chunk:
            eof = True
            return False
        buffer = buffer[position:] + chunk
        position = 0
        return True

    def skip_space() -> None:
        nonlocal position, line
        while True:
            while position < len(buffer) and buffer[position] in " \t\r\n":
                if buffer[position] == "\n":
                    line += 1
                position += 1
            if position < len(buffer) or not more():
                return

    skip_space()
    if position >= len(buffer) or buffer[position] != "[":
        raise FileUnreadableError("a JSON file holds a list of objects ([{…}, …]) or one object a line")
    position += 1
    expect_item = True
    while True:
        skip_space()
        if position >= len(buffer):
            raise FileUnreadableError(f"line {line}: the JSON list is not closed with ]")
        char = buffer[position]
        if char == "]":
            return
        if char == ",":
            if expect_item:
                raise FileUnreadableError(f"line {line}: a comma where a value should be")
            position += 1
            expect_item = True
            continue
        if not expect_item:
            raise FileUnreadableError(f"line {line}: a comma is missing between two values")
        while True:
            try:
                value, end = decoder.raw_decode(buffer, position)
            except json.JSONDecodeError as exc:
                if not eof and more():
                    continue
                raise FileUnreadableError(
                    f"line {line + buffer.count(chr(10), position, exc.pos)}: {exc.msg}"
                ) from None
            if end == len(buffer) and not eof and more():
                continue  # a number may go on in the next chunk
            break
        yield _object_item(line, value)
        line += buffer.count("\n", position, end)
        position = end
        expect_item = False


def _first_char(binary: IO[bytes]) -> str:
    if not hasattr(binary, "peek"):
        return ""
    head = binary.peek(512)[:512].decode("utf-8-sig", errors="ignore").lstrip()
    return head[:1]


def _format(path: str, wanted: str, binary: IO[bytes]) -> str:
    if wanted == "csv" or wanted == "jsonl":
        return wanted
    suffix = Path(path).suffix.lower()
    if wanted == "auto" and suffix in (".csv", ".tsv", ".txt"):
        return "csv"
    if wanted == "auto" and suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    first = _first_char(binary)
    if first == "[":
        return "json"
    if first == "{":
        return "jsonl"
    return "json" if wanted == "json" else "csv"


def _batches(items: Iterable[Item], size: int) -> Iterator[list[Item]]:
    iterator = iter(items)
    while batch := list(itertools.islice(iterator, size)):
        yield batch


class Command(BaseCommand):
    help = (
        "Import external records (orders, invoices, contracts …) from a CSV or JSON file; rows are created or "
        "updated by source and external id, so importing the same file again changes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", metavar="FILE", help='a CSV, JSON or JSON Lines file, or "-" for standard input')
        parser.add_argument("--source", required=True, help="the source system's id (Customers › Source systems)")
        parser.add_argument(
            "--format", choices=["auto", "csv", "json", "jsonl"], default="auto", help="default: from the name"
        )
        parser.add_argument("--dry-run", action="store_true", help="check and count everything, save nothing")
        parser.add_argument("--batch", type=int, default=1000, help="rows per transaction (default 1000)")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args: Any, **options: Any) -> None:
        source: str = options["source"]
        batch_size: int = options["batch"]
        if not 1 <= batch_size <= 10_000:
            raise CommandError("--batch must be between 1 and 10000.")
        try:
            source_check(source=source)
        except RecordSourceUnknownError as exc:
            raise CommandError(str(exc)) from None
        path: str = options["file"]
        with ExitStack() as stack:
            if path == "-":
                raw: IO[bytes] = sys.stdin.buffer
                size = None
            else:
                try:
                    raw = stack.enter_context(Path(path).open("rb"))
                    size = Path(path).stat().st_size
                except OSError as exc:
                    raise CommandError(f"Cannot read {path}: {exc.strerror or exc}") from None
            counting = _CountingReader(raw)
            binary = io.BufferedReader(counting, buffer_size=READ_CHUNK)
            kind = _format(path, options["format"], binary)
            text = io.TextIOWrapper(binary, encoding="utf-8-sig", newline="" if kind == "csv" else None)
            items = {"csv": _csv_items, "json": _json_array_items, "jsonl": _jsonl_items}[kind](text)
            progress = stack.enter_context(
                tqdm(
                    total=size,
                    unit="B",
                    unit_scale=True,
                    unit_divisor=1024,
                    desc=f"Importing {Path(path).name if path != '-' else 'records'}",
                    file=self.stderr._out,
                    disable=options["no_progress"] or not self.stderr.isatty(),
                    leave=False,
                )
            )
            result = self._import(items, source, batch_size, options["dry_run"], progress, counting)
        self._summary(result, source, options["dry_run"])

    def _import(
        self,
        items: Iterable[Item],
        source: str,
        batch_size: int,
        dry_run: bool,
        progress: Any,
        counting: _CountingReader,
    ) -> UpsertResult:
        result = UpsertResult()
        with transaction.atomic() if dry_run else ExitStack():
            try:
                for batch in _batches(items, batch_size):
                    rows = [item for item in batch if isinstance(item, RecordIn)]
                    done = record_upsert_many(rows=rows, source=source, actor=None)
                    unreadable = [item for item in batch if isinstance(item, Rejection)]
                    done.rejected = sorted([*done.rejected, *unreadable], key=lambda rejection: rejection.row)
                    result.add(done)
                    self._rejections(done.rejected, progress)
                    progress.update(counting.count - progress.n)
                    progress.set_postfix(
                        created=result.created, updated=result.updated, rejected=len(result.rejected), refresh=False
                    )
            except FileUnreadableError as exc:
                self._partial(result, dry_run)
                raise CommandError(f"Cannot read the file: {exc}.") from None
            except UnicodeDecodeError as exc:
                self._partial(result, dry_run)
                raise CommandError(f"Cannot read the file: it is not UTF-8 text ({exc.reason}).") from None
            except csv.Error as exc:
                self._partial(result, dry_run)
                raise CommandError(f"Cannot read the file: {exc}.") from None
            if dry_run:
                transaction.set_rollback(True)
        return result

    def _rejections(self, rejected: list[Rejection], progress: Any) -> None:
        if not rejected:
            return
        with tqdm.external_write_mode(file=self.stderr._out):
            for rejection in rejected:
                where = f"line {rejection.row}" + (f" ({rejection.external_id})" if rejection.external_id else "")
                self.stdout.write(f"{where}: {rejection.reason}")

    def _partial(self, result: UpsertResult, dry_run: bool) -> None:
        if result.created or result.updated or result.unchanged:
            saved = (
                "nothing was saved (dry run)" if dry_run else "the rows before it were saved; importing again is safe"
            )
            self.stderr.write(
                f"Stopped after {result.created} created, {result.updated} updated, {result.unchanged} unchanged: "
                f"{saved}."
            )

    def _summary(self, result: UpsertResult, source: str, dry_run: bool) -> None:
        parts = [f"{result.created} created", f"{result.updated} updated", f"{result.unchanged} unchanged"]
        if result.superseded:
            parts.append(f"{result.superseded} replaced by a later row with the same external id")
        parts.append(f"{len(result.rejected)} rejected")
        suffix = " (dry run: nothing was saved)" if dry_run else ""
        self.stdout.write(f"{source}: {', '.join(parts)}{suffix}.")
        if result.rejected:
            count = len(result.rejected)
            raise CommandError(f"{count} row{'s' if count != 1 else ''} rejected; the reasons are above.", returncode=2)
