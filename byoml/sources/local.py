"""A workspace data export copied to (or mounted as) a local folder."""
from __future__ import annotations

import datetime as dt
import os
from typing import List, Optional, Sequence, Tuple

from ..errors import ConfigError, SourceError
from ..paths import to_spark_path
from ..timewindow import TimeWindow
from .base import ExportSource
from .layout import (
    Entry,
    ExportFile,
    WalkReport,
    container_name,
    is_container_for,
    iter_export_files,
    latest_folder_time,
    table_from_container,
)
from .staging import StagingArea, truncate_to_last_newline
from .watermark import Piece


class LocalListing:
    """:class:`~byoml.sources.layout.Listing` over the local file system."""

    def list_dir(self, path: str) -> Sequence[Entry]:
        try:
            with os.scandir(path) as it:
                out = []
                for entry in it:
                    is_dir = entry.is_dir()
                    out.append(Entry(entry.name, is_dir, 0 if is_dir else entry.stat().st_size))
                return out
        except FileNotFoundError:
            return []

    def join(self, base: str, name: str) -> str:
        return os.path.join(base, name)


class LocalExportSource(ExportSource):
    """A folder holding ``am-<table>`` containers (or one container, or loose JSON files).

    >>> src = LocalExportSource("exports/")          # doctest: +SKIP
    >>> result = src.read(spark, "SecurityEvent", window)  # doctest: +SKIP
    """

    lists_folders = True

    def __init__(self, root: str) -> None:
        if not os.path.exists(root):
            raise ConfigError(f"source folder '{root}' does not exist (--source)")
        self.root = os.path.abspath(root)
        self.uri = root
        self._fs = LocalListing()
        self.staging_dir: Optional[str] = None
        self._staging: Optional[StagingArea] = None

    def containers(self, table: str) -> List[str]:
        """Container folders for ``table``: the root itself, or its ``am-<table>`` children."""
        if os.path.isfile(self.root):
            return [self.root]
        if is_container_for(os.path.basename(self.root), table):
            return [self.root]
        children = [e for e in self._fs.list_dir(self.root) if e.is_dir]
        matches = [os.path.join(self.root, e.name) for e in children if is_container_for(e.name, table)]
        if matches:
            return sorted(matches)
        tables = sorted(t for t in (table_from_container(e.name) for e in children) if t)
        if tables or os.path.basename(self.root).lower().startswith("am-"):
            raise SourceError(
                f"no container '{container_name(table)}' in {self.root} (containers found: "
                f"{', '.join('am-' + t for t in tables) or 'none'}); export the {table} table or "
                "point --source at the folder that holds it"
            )
        # A folder of loose JSON files or a bare workspace tree: read it as one container.
        return [self.root]

    def list_files(self, table: str, window: TimeWindow) -> Tuple[List[ExportFile], WalkReport]:
        report = WalkReport()
        files: List[ExportFile] = []
        for container in self.containers(table):
            if os.path.isfile(container):
                files.append(ExportFile(container, None, os.path.getsize(container)))
                report.flat = True
                continue
            files.extend(iter_export_files(self._fs, container, window, report))
        return files, report

    def latest_time(self, table: str) -> Optional[dt.datetime]:
        found = [latest_folder_time(self._fs, c) for c in self.containers(table) if os.path.isdir(c)]
        found = [t for t in found if t is not None]
        return max(found) if found else None

    def spark_paths(self, files: Sequence[ExportFile]) -> List[str]:
        return [to_spark_path(f.path) for f in files]

    def read_paths(self, files: Sequence[ExportFile], report: WalkReport) -> List[str]:
        """Whole day, hour or minute folders where the walk selected all they hold, else files.

        Spark lists a few folders much faster than it checks thousands of single files
        (a month of 5-minute exports: 30 day folders instead of 8,640 files).
        """
        if report.flat:
            return self.spark_paths(files)
        paths: List[str] = []
        seen = set()
        for f in files:
            minute = os.path.dirname(f.path)
            hour = os.path.dirname(minute)
            day = os.path.dirname(hour)
            pick = next((folder for folder in (day, hour, minute) if folder not in report.partial), f.path)
            if pick not in seen:
                seen.add(pick)
                paths.append(pick)
        return [to_spark_path(p) for p in paths]

    def stage_piece(self, piece: Piece) -> Tuple[Optional[str], int]:
        """A whole file is read in place; a range (bytes appended since the last run) is copied out."""
        size = os.path.getsize(piece.path)
        if piece.offset == 0 and piece.end == size:
            with open(piece.path, "rb") as fh:
                fh.seek(max(0, size - 1))
                if size == 0 or fh.read(1) == b"\n":
                    return (to_spark_path(piece.path) if size else None), size
        if self._staging is None:
            self._staging = StagingArea(self.staging_dir)
        target = self._staging.path_for(os.path.relpath(piece.path, self.root), piece.offset)
        with open(piece.path, "rb") as src, open(target, "wb") as dst:
            src.seek(piece.offset)
            remaining = piece.end - piece.offset
            while remaining > 0:
                block = src.read(min(remaining, 1 << 20))
                if not block:
                    break
                dst.write(block)
                remaining -= len(block)
        kept = truncate_to_last_newline(target)
        return (to_spark_path(target) if kept else None), piece.offset + kept
