"""Ingest: parse, type and quarantine each export day once, into a Parquet partition of the store.

A day is the UTC day of the export folders (``y=/m=/d=``), so it is exactly the set of files a
day's read of the export lists. A day is ingested when the store does not hold it, or when one of
its files is new or changed size since (a late append to an older folder): then the whole day is
parsed again into a new version folder and the manifest is pointed at it
(:mod:`byoml.daystore.manifest`). Days whose files are unchanged are not read.
"""
from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Dict, List, Optional

from ..errors import SourceError
from ..paths import to_spark_path
from ..sources.base import ExportSource
from ..sources.reader import CLEAN_WRITE_OPTIONS, ReadStats, read_export_files
from ..timewindow import TimeWindow, format_time
from .manifest import DAY_COUNTS, Manifest, day_of, file_listing, whole_days

log = logging.getLogger(__name__)


@dataclass
class IngestReport:
    """What one ingest did: the days it (re)wrote, the days already current, and the counts of what it read."""

    ingested: List[str] = field(default_factory=list)
    unchanged: List[str] = field(default_factory=list)
    counts: Dict[str, int] = field(default_factory=lambda: {k: 0 for k in DAY_COUNTS})
    quarantine: List[str] = field(default_factory=list)

    def note(self, store: str) -> Optional[str]:
        """One line for a run summary (None when nothing was ingested)."""
        if not self.ingested:
            return None
        c = self.counts
        days = self.ingested[0] if len(self.ingested) == 1 else f"{self.ingested[0]} .. {self.ingested[-1]}"
        return (f"ingested {len(self.ingested)} day(s) ({days}) into the store {store}: {c['records']:,} records, "
                f"{c['malformed'] + c['schema_errors']:,} quarantined")


def listing_window(manifest: Manifest, window: TimeWindow, late_hours: float, incremental: bool = True) -> TimeWindow:
    """The whole days to list: ``window``'s; without a start and ``incremental``, from ``late_hours`` before the
    newest stored folder (the whole export on a first ingest)."""
    start = window.start
    if start is None and incremental:
        latest = manifest.latest_time()
        start = latest - dt.timedelta(hours=late_hours) if latest is not None else None
    return whole_days(TimeWindow(start, window.end))


def ingest(spark, source: ExportSource, manifest: Manifest, window: TimeWindow, late_hours: float = 12.0,
           incremental: bool = True) -> IngestReport:
    """Bring the store's days of ``window`` up to date with ``source`` (see :func:`listing_window`;
    ``incremental=False``: a window without a start lists the whole export, as a read of it needs)."""
    table = manifest.table
    files, walk = source.list_files(table, listing_window(manifest, window, late_hours, incremental))
    if walk.flat or any(f.folder_time is None for f in files):
        raise SourceError(f"the day store needs the export folder layout (y=/m=/d=/h=/m=) to place records in days; "
                          f"{source.describe()} has none for {table}: read it without --store")
    by_day: Dict[str, list] = defaultdict(list)
    for f in files:
        by_day[day_of(f.folder_time)].append(f)
    report = IngestReport()
    for day in sorted(by_day):
        if not manifest.changed(day, by_day[day]):
            report.unchanged.append(day)
            continue
        stats = ingest_day(spark, source, manifest, day, by_day[day], walk)
        report.ingested.append(day)
        for name in DAY_COUNTS:
            report.counts[name] += int(getattr(stats, name))
        entry = manifest.days[day]
        if entry.quarantine:
            report.quarantine.append(entry.quarantine)
    return report


def ingest_day(spark, source: ExportSource, manifest: Manifest, day: str, files, walk) -> ReadStats:
    """Parse one day's ``files`` into a new version of the day, and commit it."""
    entry = manifest.new_version(day)
    target = manifest.path_of(entry)

    def write(df):
        df.write.mode("overwrite").options(**CLEAN_WRITE_OPTIONS).parquet(to_spark_path(target))
        return None

    stats = ReadStats(table=manifest.table, files=len(files), bytes=sum(f.size for f in files))
    try:
        result = read_export_files(spark, source.read_paths(files, walk), manifest.table, TimeWindow(), None, (),
                                   stats, wrapped=source.wrapped_bodies, keep_copies=True, finish=write)
        quarantine = manifest.quarantine_path(entry)
        if result.write_quarantine(to_spark_path(quarantine)):
            entry.quarantine = quarantine
        result.close()
        entry.files = file_listing(files)
        entry.counts = {name: int(getattr(stats, name)) for name in DAY_COUNTS}
        entry.latest = format_time(max(f.folder_time for f in files))
        manifest.commit(entry)
    except BaseException:
        manifest.discard(entry)
        raise
    log.info("store: %s %s ingested (%d records, %d rows)", manifest.table, day, stats.records, stats.rows)
    return stats
