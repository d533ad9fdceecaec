"""The day store as a source: ``train`` and ``score`` read it like an export (``--store DIR``, ``source: store:``).

With an export beside it (``--source``), a read first ingests the days of its window that the
store lacks or that changed (:func:`byoml.daystore.ingest.ingest`), looking ``late_hours`` back
for late appends to older folders; without one it reads only what is stored (the weekly train job).
"""
from __future__ import annotations

import datetime as dt
from typing import Callable, List, Optional, Sequence, Tuple

from ..sources.base import ExportSource
from ..sources.layout import ExportFile, WalkReport
from ..sources.reader import ReadResult
from ..sources.schemas import canonical_table_name
from ..sources.watermark import DEFAULT_LATE_HOURS
from ..timewindow import TimeWindow
from .ingest import IngestReport, ingest
from .manifest import Manifest
from .read import read_store, store_schema


class StoreSource(ExportSource):
    """Reads from the day store in ``store_dir``; ingests from ``export`` first when one is given."""

    lists_folders = True  # the newest time comes from the manifest (and the export's folder listing)

    def __init__(self, store_dir: str, export: Optional[ExportSource] = None,
                 late_hours: float = DEFAULT_LATE_HOURS) -> None:
        self.store_dir = store_dir
        self.export = export
        self.late_hours = late_hours
        self.uri = store_dir
        self.reports: List[IngestReport] = []

    def manifest(self, table: str) -> Manifest:
        table = canonical_table_name(table)
        store_schema(table)  # an undeclared table is refused before anything is read
        return Manifest(self.store_dir, table)

    def describe(self) -> str:
        return f"{self.export.describe()} via the store {self.store_dir}" if self.export else f"the store {self.store_dir}"

    def list_files(self, table: str, window: TimeWindow) -> Tuple[List[ExportFile], WalkReport]:
        return self.export.list_files(table, window) if self.export else ([], WalkReport())

    def latest_time(self, table: str) -> Optional[dt.datetime]:
        times = [self.manifest(table).latest_time()]
        if self.export is not None:
            times.append(self.export.latest_time(table))
        found = [t for t in times if t is not None]
        return max(found) if found else None

    def for_hints(self) -> ExportSource:
        return StoreSource(self.store_dir, None, self.late_hours)

    def ingest(self, spark, table: str, window: TimeWindow, incremental: bool = True) -> Optional[IngestReport]:
        """Bring the store's days of ``window`` up to date with the export (``incremental``: a window without
        a start begins ``late_hours`` before the newest stored folder; else it is the whole export)."""
        if self.export is None:
            return None
        report = ingest(spark, self.export, self.manifest(table), window, self.late_hours, incremental)
        self.reports.append(report)
        return report

    def read(self, spark, table: str, window: TimeWindow, columns: Optional[Sequence[str]] = None,
             required: Sequence[str] = (), build: Optional[Callable] = None) -> ReadResult:
        report = None
        if self.export is not None:
            look_back = window.extended_back(dt.timedelta(hours=self.late_hours)) if window.start else window
            report = self.ingest(spark, table, look_back, incremental=False)  # every day the read needs
        result = read_store(spark, self.manifest(table), window, columns, required, build)
        note = report.note(self.store_dir) if report else None
        if note:
            result.notes.insert(0, note)
        return result
