"""The interface every source implements: list an export's files, read them with Spark."""
from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from typing import List, Optional, Sequence, Tuple

from ..errors import EmptyWindowError
from ..timewindow import TimeWindow
from .layout import ExportFile, WalkReport
from .reader import ReadResult, ReadStats, read_export_files


class ExportSource(ABC):
    """A Log Analytics export (local folder, Blob container, ...) that yields tables by window."""

    uri: str

    @abstractmethod
    def list_files(self, table: str, window: TimeWindow) -> Tuple[List[ExportFile], WalkReport]:
        """The export files of ``table`` whose folders overlap ``window``."""

    @abstractmethod
    def latest_time(self, table: str) -> Optional[dt.datetime]:
        """Start of the newest folder holding data of ``table`` (None when there is none)."""

    def spark_paths(self, files: Sequence[ExportFile]) -> List[str]:
        """Paths Spark can read for ``files`` (a remote source stages them first)."""
        return [f.path for f in files]

    def describe(self) -> str:
        return self.uri

    def read(
        self,
        spark,
        table: str,
        window: TimeWindow,
        columns: Optional[Sequence[str]] = None,
        required: Sequence[str] = (),
    ) -> ReadResult:
        """Read ``table`` for ``window`` into a :class:`ReadResult` (see :mod:`byoml.sources.reader`)."""
        files, report = self.list_files(table, window)
        stats = ReadStats(
            table=table,
            files=len(files),
            bytes=sum(f.size for f in files),
            layout="flat" if report.flat else "export",
            skipped_folders=list(report.skipped),
        )
        if not files:
            raise EmptyWindowError(
                f"no export files of table {table} in {window} under {self.describe()}; "
                "check --source, --start and --end"
            )
        return read_export_files(spark, self.spark_paths(files), table, window, columns, required, stats)
