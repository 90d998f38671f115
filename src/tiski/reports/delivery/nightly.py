"""The nightly export: each day's figures written to a directory for a BI system to load.

After TISKI_REPORTS_EXPORT_AT (local time) the day before is due, and so is any of the 7 days before it not
exported yet (the server was down, a run failed). A day is written as

    <dir>/<YYYY-MM-DD>/<figure>.csv and .parquet             the day's total (grouped by day, else none)
    <dir>/<YYYY-MM-DD>/<figure>.by_<grouping>.csv and .parquet   broken down (BREAKDOWNS the figure offers)
    <dir>/<YYYY-MM-DD>/manifest.json                          files, row counts, SHA-256, columns, generated_at

Every file's first column is ``day``, so a loader can append the days as they come. The day is written into a
hidden temporary directory beside the others and renamed into place when complete: a loader never sees half a
day. An ExportRun row per day is the claim that keeps two processes from exporting the same day; a failure is
recorded on it and tried again on a later tick, waiting longer after each failure.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import shutil
import tempfile
import time as clock
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from tiski.reports.delivery.models import ExportRun
from tiski.reports.exports import table_csv, table_parquet, with_column
from tiski.reports.figures import FIGURES, figure_table
from tiski.reports.filters import ReportFilter, report_zone
from tiski.reports.table import DATE, Column

logger = logging.getLogger(__name__)

DAYS_BACK = 7  # missed days are exported up to this many days back
BREAKDOWNS = ("channel_kind", "queue", "team", "agent", "category")
STALE_AFTER = timedelta(hours=1)  # a claim older than this belongs to a process that died
RETRY_BASE = timedelta(minutes=1)
RETRY_MAX = timedelta(hours=2)
DAY_COLUMN = Column("day", _("Day"), DATE)


class ExportConfigError(ValueError):
    """The export's settings are wrong; the message says which."""


@dataclass(frozen=True)
class ExportFile:
    stem: str  # file name without the format's extension
    figure: str
    by: str


def export_at() -> time:
    """Return TISKI_REPORTS_EXPORT_AT as a time; raise ExportConfigError for a bad value."""
    raw = settings.TISKI_REPORTS_EXPORT_AT or "02:00"
    try:
        return time.fromisoformat(raw)
    except ValueError:
        raise ExportConfigError(f"TISKI_REPORTS_EXPORT_AT: expected a local time as HH:MM, got {raw!r}") from None


@dataclass(frozen=True)
class S3Target:
    """An S3 (or S3-compatible) bucket and key prefix: ``s3://bucket/prefix`` in TISKI_REPORTS_EXPORT_DIR."""

    bucket: str
    prefix: str = ""

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}".rstrip("/")

    def __truediv__(self, name: str) -> str:
        return f"{self}/{name}"

    def key(self, *parts: str) -> str:
        return "/".join(p for p in (self.prefix, *parts) if p)


Target = Path | S3Target


def export_target() -> Target | None:
    """Return the configured export directory or bucket, or None when the nightly export is off."""
    raw = settings.TISKI_REPORTS_EXPORT_DIR
    if not raw:
        return None
    if raw.startswith("s3://"):
        bucket, _slash, prefix = raw[len("s3://") :].partition("/")
        if not bucket:
            raise ExportConfigError(f"TISKI_REPORTS_EXPORT_DIR: expected s3://bucket/prefix, got {raw!r}")
        return S3Target(bucket, prefix.strip("/"))
    if "://" in raw:
        raise ExportConfigError(f"TISKI_REPORTS_EXPORT_DIR: expected a directory or s3://bucket/prefix, got {raw!r}")
    return Path(raw)


def export_plan() -> list[ExportFile]:
    """Return the files of one day: per figure that is not live, its total and its BREAKDOWNS."""
    plan = []
    for name, spec in FIGURES.items():
        if spec.live:
            continue
        main = next((by for by in ("day", "none") if by in spec.groupings), spec.default_by)
        plan.append(ExportFile(name, name, main))
        plan += [ExportFile(f"{name}.by_{by}", name, by) for by in BREAKDOWNS if by in spec.groupings and by != main]
    return plan


def _digest(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def export_day_write(*, day: date, directory: Target, now: datetime | None = None) -> list[dict[str, Any]]:
    """Write DAY's figures to DIRECTORY/<day>/ (replacing what is there, see the module) and return the files
    written as the manifest lists them."""
    now = now or timezone.now()
    if isinstance(directory, S3Target):
        with tempfile.TemporaryDirectory(prefix="tiski-export-") as local:
            uploaded = export_day_write(day=day, directory=Path(local), now=now)
            _s3_upload(Path(local) / day.isoformat(), directory, day)
        return uploaded
    directory.mkdir(parents=True, exist_ok=True)
    flt = ReportFilter(start=day, end=day, zone=report_zone())
    temporary = directory / f".tmp-{day.isoformat()}-{secrets.token_hex(4)}"
    temporary.mkdir()
    try:
        files: list[dict[str, Any]] = []
        figures: dict[str, Any] = {}
        with translation.override(settings.LANGUAGE_CODE):
            for item in export_plan():
                table = with_column(figure_table(item.figure, flt, item.by), DAY_COLUMN, day)
                figures.setdefault(
                    item.figure, {"title": str(table.title), "definition": str(table.definition), "files": []}
                )
                for fmt, content in (("csv", table_csv(table)), ("parquet", table_parquet(table))):
                    name = f"{item.stem}.{fmt}"
                    (temporary / name).write_bytes(content)
                    files.append(
                        {
                            "name": name,
                            "figure": item.figure,
                            "by": item.by,
                            "format": fmt,
                            "rows": len(table.rows),
                            "bytes": len(content),
                            "sha256": _digest(content),
                            "columns": [{"key": c.key, "label": str(c.label), "unit": c.unit} for c in table.columns],
                        }
                    )
                    figures[item.figure]["files"].append(name)
        manifest = {
            "day": day.isoformat(),
            "time_zone": str(flt.zone),
            "generated_at": now.isoformat(),
            "language": settings.LANGUAGE_CODE,
            "figures": figures,
            "files": files,
        }
        (temporary / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
        _swap_in(temporary, directory / day.isoformat())
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    return files


def _s3_upload(folder: Path, target: S3Target, day: date) -> None:
    """Put the day's files under TARGET/<day>/: the data first, manifest.json last (a loader that waits for the
    manifest never reads half a day), then remove what an earlier export of the day left that is not new."""
    import boto3

    client = boto3.client("s3", endpoint_url=settings.TISKI_REPORTS_S3_ENDPOINT_URL or None)
    names = [*sorted(p.name for p in folder.iterdir() if p.name != "manifest.json"), "manifest.json"]
    for name in names:
        client.upload_file(str(folder / name), target.bucket, target.key(day.isoformat(), name))
    keep = {target.key(day.isoformat(), name) for name in names}
    listing = client.get_paginator("list_objects_v2").paginate(
        Bucket=target.bucket, Prefix=target.key(day.isoformat(), "")
    )
    stale = [item["Key"] for page in listing for item in page.get("Contents", []) if item["Key"] not in keep]
    for start in range(0, len(stale), 1000):
        client.delete_objects(
            Bucket=target.bucket, Delete={"Objects": [{"Key": k} for k in stale[start : start + 1000]]}
        )


def _swap_in(new: Path, final: Path) -> None:
    """Rename the complete directory NEW to FINAL; an older FINAL is moved aside first, then removed."""
    if final.exists():
        old = final.with_name(f".old-{final.name}-{secrets.token_hex(4)}")
        final.rename(old)
        new.rename(final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        new.rename(final)


# ── what is due, and who claims it ───────────────────────────────────────────────────────────────────────────────


def export_days_due(now: datetime, zone: Any) -> list[date]:
    """Return the days that should be exported by NOW, oldest first: the day before once the export time has
    passed (else the day before that), back to DAYS_BACK days before today."""
    local = now.astimezone(zone)
    latest = local.date() - timedelta(days=1 if local.time() >= export_at() else 2)
    oldest = local.date() - timedelta(days=DAYS_BACK)
    return [oldest + timedelta(days=n) for n in range((latest - oldest).days + 1)]


def retry_wait(attempts: int) -> timedelta:
    """Return how long a day that failed ATTEMPTS times waits before the next try: 1, 2, 4 … minutes, at most 2 h."""
    return min(RETRY_BASE * 2 ** max(attempts - 1, 0), RETRY_MAX)


def export_claim(*, day: date, now: datetime, force: bool = False) -> bool:
    """Claim DAY for export (status QUEUED); return whether this call claimed it.

    A day without a run is claimed by creating its row (unique per day: one of two processes wins); a failed one
    once its retry wait is over; a claim left by a process that died (older than STALE_AFTER) is taken over.
    FORCE also claims a day exported already (``tiski reports-export --day``)."""
    try:
        with transaction.atomic():
            ExportRun.objects.create(day=day, status=ExportRun.Status.QUEUED, queued_at=now)
        return True
    except IntegrityError:
        pass
    run = ExportRun.objects.filter(day=day).first()
    if run is None:
        return False
    stale = now - STALE_AFTER
    claimable = Q(status=ExportRun.Status.FAILED, finished_at__lte=now - retry_wait(run.attempts))
    claimable |= Q(status=ExportRun.Status.QUEUED, queued_at__lte=stale)
    claimable |= Q(status=ExportRun.Status.RUNNING, started_at__lte=stale)
    if force:
        claimable |= Q(status__in=[ExportRun.Status.DONE, ExportRun.Status.FAILED])
    # The condition repeats the status read: of two processes only one changes the row.
    return bool(
        ExportRun.objects.filter(claimable, pk=run.pk, status=run.status).update(
            status=ExportRun.Status.QUEUED, queued_at=now
        )
    )


def exports_due_run(*, now: datetime | None = None) -> list[date]:
    """Claim the days due for export and queue a task for each (a router-loop clock); return the days claimed."""
    from tiski.reports.delivery.tasks import report_export_day

    now = now or timezone.now()
    if export_target() is None:
        return []
    days = export_days_due(now, report_zone())
    done = set(ExportRun.objects.filter(day__in=days, status=ExportRun.Status.DONE).values_list("day", flat=True))
    claimed = [day for day in days if day not in done and export_claim(day=day, now=now)]
    for day in claimed:
        transaction.on_commit(lambda day=day: report_export_day.enqueue(day=day.isoformat()))  # type: ignore[misc]
    return claimed


def export_run(*, day: date, directory: Target | None = None, now: datetime | None = None) -> ExportRun | None:
    """Export DAY claimed before (status QUEUED) to DIRECTORY (default: the configured one): mark it RUNNING,
    write it, mark it DONE or FAILED. Return the run, or None when it was not waiting (another process took it)."""
    now = now or timezone.now()
    directory = directory or export_target()
    if directory is None:
        raise ExportConfigError("TISKI_REPORTS_EXPORT_DIR is not set: there is nowhere to export to")
    started = ExportRun.objects.filter(day=day, status=ExportRun.Status.QUEUED).update(
        status=ExportRun.Status.RUNNING, started_at=now, attempts=F("attempts") + 1, target=str(directory)
    )
    if not started:
        return None
    began = clock.monotonic()  # the run's times are NOW's clock: NOW plus what the write took
    try:
        files = export_day_write(day=day, directory=directory, now=now)
    except Exception as error:
        logger.exception("the report export of %s to %s failed", day, directory)
        ExportRun.objects.filter(day=day).update(
            status=ExportRun.Status.FAILED,
            finished_at=now + timedelta(seconds=clock.monotonic() - began),
            error=f"{type(error).__name__}: {error}",
        )
    else:
        ExportRun.objects.filter(day=day).update(
            status=ExportRun.Status.DONE,
            finished_at=now + timedelta(seconds=clock.monotonic() - began),
            error="",
            files=[{"name": f["name"], "rows": f["rows"], "sha256": f["sha256"]} for f in files],
        )
    return ExportRun.objects.get(day=day)
