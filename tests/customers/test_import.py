"""`tiski import-records`: CSV and JSON files with good, bad and duplicate rows, the summary and the exit status."""

from __future__ import annotations

import io
import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from tiski.core.management.commands import import_records
from tiski.customers.models import Customer, ExternalRecord, Identity, Organization, SourceSystem

FIXTURES = Path(__file__).parent / "fixtures"

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def owners() -> Customer:
    SourceSystem.objects.create(slug="erp", name="ERP")
    company = Organization.objects.create(name="Autotalo Oy", domain="autotalo.fi")
    anssi = Customer.objects.create(name="Anssi Asiakas", organization=company)
    Identity.objects.create(customer=anssi, kind="email", value="anssi@example.com")
    Identity.objects.create(customer=anssi, kind="phone", value="+358401234567")
    return anssi


class Run:
    def __init__(self, out: str, err: str, code: int) -> None:
        self.out, self.err, self.code = out, err, code


def run(path: Path | str, *args: str, stderr: Any = None) -> Run:
    out, err = io.StringIO(), stderr if stderr is not None else io.StringIO()
    try:
        call_command("import_records", str(path), "--source", "erp", *args, stdout=out, stderr=err)
    except CommandError as exc:
        return Run(out.getvalue(), f"{err.getvalue()}{exc}", exc.returncode)
    return Run(out.getvalue(), err.getvalue(), 0)


def records() -> dict[str, ExternalRecord]:
    return {record.external_id: record for record in ExternalRecord.objects.all()}


# --- CSV -------------------------------------------------------------------------------------------------------


def test_csv_import_creates_every_record_and_exits_0(owners):
    result = run(FIXTURES / "records_good.csv")
    assert result.code == 0, result.err
    assert result.out == "erp: 4 created, 0 updated, 0 unchanged, 0 rejected.\n"
    stored = records()
    order = stored["SO-1001"]
    assert (order.kind, order.customer, order.title, order.status) == ("order", owners, "Winter tyres", "open")
    assert (order.date, order.due_date, order.amount, order.currency) == (
        date(2025, 1, 15),
        date(2025, 2, 1),
        Decimal("420.00"),
        "EUR",
    )
    assert order.attributes == {"model": "Corolla"}  # an unknown column; the empty score cell is left out
    assert (stored["INV-77"].customer, stored["INV-77"].status) == (owners, "in_collection")  # found by phone
    contract = stored["C-9"]
    assert (contract.customer, contract.organization, contract.title) == (
        None,
        owners.organization,
        "Service contract, fleet",
    )
    assert contract.renewal_date == date(2025, 3, 1)
    assert stored["S-1"].attributes == {"score": "2"}


def test_importing_the_same_file_again_changes_nothing(owners):
    run(FIXTURES / "records_good.csv")
    before = list(ExternalRecord.objects.order_by("pk").values())
    again = run(FIXTURES / "records_good.csv")
    assert again.code == 0
    assert again.out == "erp: 0 created, 0 updated, 4 unchanged, 0 rejected.\n"
    assert list(ExternalRecord.objects.order_by("pk").values()) == before


def test_csv_with_bad_and_duplicate_rows_reports_each_by_line_and_exits_2(owners):
    result = run(FIXTURES / "records_bad.csv")
    assert result.code == 2
    assert result.out.splitlines() == [
        "line 3 (SO-2): no customer with the email address stranger@example.com",
        "line 4 (CU-1): customers are not external records: create and update them through the customers API "
        "or console",
        "line 7 (SO-4): date '15.1.2025' is not a date (YYYY-MM-DD)",
        "line 10: the row has 4 fields, the header 6",
        "erp: 2 created, 0 updated, 0 unchanged, 1 replaced by a later row with the same external id, 4 rejected.",
    ]
    assert "4 rows rejected; the reasons are above." in result.err
    stored = records()
    assert sorted(stored) == ["SO-1", "SO-3"]
    assert stored["SO-1"].title == "Tyres (corrected)"  # the later of two rows with one external id
    assert stored["SO-3"].title == "Rims,\nalloy"  # a quoted cell over two lines
    assert Customer.objects.count() == 1  # the unknown customer was not created


def test_excel_csv_with_semicolons_a_bom_and_capitalised_headers(owners):
    result = run(FIXTURES / "records_excel.csv")
    assert result.code == 0, result.out + result.err
    record = ExternalRecord.objects.get()
    assert (record.external_id, record.title, record.amount) == ("SO-10", "Roof box", Decimal("199.00"))
    assert record.attributes == {"Colour": "black"}


def test_csv_attributes_column_holds_json(tmp_path, owners):
    path = tmp_path / "a.csv"
    path.write_text(
        "kind,external_id,customer_id,attributes,extra\n"
        f'asset,A-1,{owners.pk},"{{""condition"": ""worn"", ""hours"": 1200}}",x\n'
        f"asset,A-2,{owners.pk},not json,\n",
        encoding="utf-8",
    )
    result = run(path)
    assert result.code == 2
    assert result.out.splitlines()[0] == "line 3 (A-2): the attributes column is not a JSON object"
    assert ExternalRecord.objects.get().attributes == {"condition": "worn", "hours": 1200, "extra": "x"}


# --- JSON ------------------------------------------------------------------------------------------------------


def test_json_list_import_with_line_numbers(owners):
    result = run(FIXTURES / "records.json")
    assert result.code == 2
    assert result.out.splitlines() == [
        "line 7: not a JSON object",
        "line 10 (OF-1): no customer with id 999999",
        "erp: 3 created, 0 updated, 0 unchanged, 2 rejected.",
    ]
    stored = records()
    assert stored["SO-2001"].attributes == {"colour": "black", "warehouse": "Vantaa"}
    assert (stored["SO-2001"].status, stored["SO-2001"].amount) == ("delivered", Decimal("149.50"))
    assert (stored["42"].organization, stored["42"].attributes["condition"]) == (owners.organization, "worn")
    assert stored["S-9"].customer == owners


def test_json_list_is_read_in_chunks_whatever_their_size(owners, monkeypatch):
    monkeypatch.setattr(import_records, "READ_CHUNK", 7)
    result = run(FIXTURES / "records.json")
    assert result.out.splitlines()[:2] == ["line 7: not a JSON object", "line 10 (OF-1): no customer with id 999999"]
    assert sorted(records()) == ["42", "S-9", "SO-2001"]


def test_json_lines_import(owners):
    result = run(FIXTURES / "records.jsonl")
    assert result.code == 2
    lines = result.out.splitlines()
    assert lines[0].startswith("line 3: not valid JSON: ")
    assert lines[1] == "line 4 (V-3): attributes must be a JSON object"
    assert (
        lines[2]
        == "erp: 1 created, 0 updated, 0 unchanged, 1 replaced by a later row with the same external id, 2 rejected."
    )
    assert ExternalRecord.objects.get().title == "Tyre change and balancing"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('[{"kind": "order", "external_id": "1", "customer_id": 1}', "the JSON list is not closed"),
        ('[{"kind": "order" "external_id": "1"}]', "line 1: Expecting ',' delimiter"),
        ("[{}\n {}]", "line 2: a comma is missing"),
        ("[,{}]", "a comma where a value should be"),
    ],
)
def test_malformed_json_list_exits_1_saying_where(tmp_path, content, message):
    path = tmp_path / "records.json"
    path.write_text(content, encoding="utf-8")
    result = run(path)
    assert result.code == 1
    assert message in result.err


def test_format_is_taken_from_the_content_when_the_name_does_not_tell(tmp_path, owners):
    path = tmp_path / "export.dat"
    path.write_text(json.dumps([{"kind": "order", "external_id": "X", "customer_id": owners.pk}]), encoding="utf-8")
    assert run(path).code == 0
    assert ExternalRecord.objects.get().external_id == "X"
    csv_path = tmp_path / "export.txt"
    csv_path.write_text(f"kind,external_id,customer_id\norder,Y,{owners.pk}\n", encoding="utf-8")
    assert run(csv_path, "--format", "csv").code == 0
    assert ExternalRecord.objects.count() == 2


# --- options, large files and unreadable files -----------------------------------------------------------------


def test_dry_run_counts_everything_and_saves_nothing(owners):
    result = run(FIXTURES / "records_good.csv", "--dry-run")
    assert result.code == 0
    assert result.out == "erp: 4 created, 0 updated, 0 unchanged, 0 rejected (dry run: nothing was saved).\n"
    assert not ExternalRecord.objects.exists()


def test_a_large_file_is_imported_in_batches(tmp_path, owners, monkeypatch):
    path = tmp_path / "many.csv"
    with path.open("w", encoding="utf-8") as file:
        file.write("kind,external_id,customer_email,amount\n")
        for i in range(2500):
            file.write(f"order,SO-{i},anssi@example.com,{i}.50\n")
        file.write("order,SO-X,nobody@example.com,1\n")
    calls: list[int] = []
    upsert = import_records.record_upsert_many

    def counting(**kwargs: Any) -> Any:
        calls.append(len(kwargs["rows"]))
        return upsert(**kwargs)

    monkeypatch.setattr(import_records, "record_upsert_many", counting)
    result = run(path, "--batch", "1000")
    assert calls == [1000, 1000, 501]
    assert result.out.splitlines() == [
        "line 2502 (SO-X): no customer with the email address nobody@example.com",
        "erp: 2500 created, 0 updated, 0 unchanged, 1 rejected.",
    ]
    assert ExternalRecord.objects.count() == 2500


def test_progress_bar_on_a_terminal_only(owners):
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    run(FIXTURES / "records_good.csv", stderr=terminal)
    assert "Importing records_good.csv" in terminal.getvalue()
    quiet = Terminal()
    run(FIXTURES / "records_good.csv", "--no-progress", stderr=quiet)
    assert quiet.getvalue() == ""
    piped = run(FIXTURES / "records_good.csv")
    assert piped.err == ""


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty"),
        (b"external_id,title\n1,x\n", "the header row has no kind column"),
        (b"kind,external_id,Kind\n", "the header row names kind more than once"),
        (b"kind,external_id,title\norder,1,\xff\xfe\n", "it is not UTF-8 text"),
    ],
)
def test_unreadable_files_exit_1(tmp_path, content, message):
    path = tmp_path / "records.csv"
    path.write_bytes(content)
    result = run(path)
    assert result.code == 1
    assert message in result.err


def test_missing_file_or_unknown_source_exit_1(tmp_path):
    missing = run(tmp_path / "nothing.csv")
    assert missing.code == 1
    assert "Cannot read" in missing.err
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError, match="No source system 'crm'") as error:
        call_command("import_records", str(FIXTURES / "records_good.csv"), "--source", "crm", stdout=out, stderr=err)
    assert error.value.returncode == 1
    assert not ExternalRecord.objects.exists()
