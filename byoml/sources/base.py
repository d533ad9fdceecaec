"""The interface every source implements: list an export's files, read them with Spark.

Incremental reads (``source: watermark: DIR``) are shared here: a source that can stage
byte ranges (:meth:`ExportSource.stage_piece`), or hand them to the executors
(:meth:`ExportSource.pieces_input`), gets them for free. ``run.score`` calls
:meth:`ExportSource.incremental_window` (when no window is given), :meth:`ExportSource.begin`
before scoring and :meth:`ExportSource.commit` after the sink succeeded.
"""
from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from typing import Callable, List, Optional, Sequence, Tuple

from ..errors import EmptyWindowError, SourceError
from ..timewindow import TimeWindow
from .layout import ExportFile, WalkReport
from .reader import Inputs, ReadResult, ReadStats, read_export_files
from .watermark import Increment, Piece, Watermark, covering_window


class ExportSource(ABC):
    """A Log Analytics export (local folder, Blob container, ...) that yields tables by window."""

    uri: str
    watermark_dir: Optional[str] = None
    late_hours: float = 12.0
    wrapped_bodies: Optional[bool] = None  # lines are {"records":[...]} bodies; None: the reader finds out
    _increment: Optional[Increment] = None
    _watermark: Optional[Watermark] = None

    #: ``latest_time`` only lists folders (no Spark, no consuming): windows can be checked before Spark starts
    lists_folders: bool = False

    @abstractmethod
    def list_files(self, table: str, window: TimeWindow) -> Tuple[List[ExportFile], WalkReport]:
        """The export files of ``table`` whose folders overlap ``window``."""

    @abstractmethod
    def latest_time(self, table: str) -> Optional[dt.datetime]:
        """Start of the newest folder holding data of ``table`` (None when there is none)."""

    def spark_paths(self, files: Sequence[ExportFile]) -> List[str]:
        """Paths Spark can read for ``files`` (a remote source stages them first)."""
        return [f.path for f in files]

    def read_paths(self, files: Sequence[ExportFile], report: WalkReport) -> Inputs:
        """What Spark is given to read ``files``: files, or folders that hold exactly them
        (or the lines the executors fetch, for a source that overrides :meth:`pieces_input`)."""
        return self.spark_paths(files)

    def pieces_input(self, pieces: Sequence[Piece], history: Sequence[ExportFile]) -> Inputs:
        """What the reader reads for an increment's ``pieces`` plus whole ``history`` files."""
        return self._increment_paths(pieces) + self.spark_paths(history)

    def piece_end(self, piece: Piece) -> int:
        """The end of the last complete line in ``piece``'s bytes (what a watermark may record as read)."""
        return self._stage(piece)[1]

    def stage_piece(self, piece: Piece) -> Tuple[Optional[str], int]:
        """Make bytes ``[offset, end)`` of ``piece`` readable by Spark.

        Returns the Spark path (None when nothing complete was there) and the end of the
        last complete line, which is what the watermark records as consumed.
        """
        raise SourceError(f"{type(self).__name__} cannot read byte ranges: drop source.watermark")

    def describe(self) -> str:
        return self.uri

    def for_hints(self) -> "ExportSource":
        """The source to look in for an error message's hint (the day store's: without ingesting)."""
        return self

    # -- incremental reads ---------------------------------------------------
    def _wm(self, table: str) -> Optional[Watermark]:
        if not self.watermark_dir:
            return None
        if self._watermark is None or self._watermark.table != table:
            self._watermark = Watermark(self.watermark_dir, self.describe(), table, self.late_hours)
        return self._watermark

    def incremental_window(self, table: str) -> Optional[TimeWindow]:
        """With a watermark and no window given: whole hours covering the data not read yet."""
        if self._wm(table) is None:
            return None
        return self._plan(table, None).window

    def begin(self, table: str, window: TimeWindow) -> str:
        """Pin what this run reads; returns an id of it ("" when the source is not incremental)."""
        if self._wm(table) is None:
            return ""
        return self._plan(table, window).id

    def commit(self) -> None:
        """The run's output is written: the pinned increment counts as read."""
        if self._increment is not None and self._watermark is not None:
            self._watermark.commit(self._increment)
            self._increment = None

    def _plan(self, table: str, window: Optional[TimeWindow]) -> Increment:
        if self._increment is not None and self._increment.table == table:
            if window is None or window == self._increment.window:
                return self._increment
        wm = self._wm(table)
        pending = wm.pending()
        if pending is not None:
            if window is not None and window != pending.window:
                raise SourceError(
                    f"a run over {pending.window} read {self.describe()} but did not finish; rerun that window "
                    f"first (it resumes where it stopped), or delete the folder {wm.path} to forget it"
                )
            self._increment = pending
            return pending
        listing = window or wm.discovery_window()
        if listing is None:  # first run: the newest day
            latest = self.latest_time(table)
            if latest is None:
                raise EmptyWindowError(f"no {table} data under {self.describe()}: nothing to score")
            day = latest.replace(hour=0, minute=0, second=0, microsecond=0)
            listing = TimeWindow(day, day + dt.timedelta(days=1))
        files, _report = self.list_files(table, listing)
        pieces = []
        candidates = wm.new_pieces(files, window or TimeWindow())
        for piece, end in zip(candidates, self._piece_ends(candidates)):
            if end > piece.offset:
                pieces.append(Piece(piece.path, piece.folder_time, piece.offset, end, piece.etag, piece.record))
        if not pieces:
            raise EmptyWindowError(f"nothing new in {table} under {self.describe()} since the last run ({listing})")
        chosen = window or covering_window(pieces)
        if chosen is None:
            raise SourceError("source.watermark needs the export folder layout (y=/m=/d=/h=/m=) to place new data in time")
        self._increment = wm.pin(table, chosen, pieces)
        return self._increment

    def _stage(self, piece: Piece) -> Tuple[Optional[str], int]:
        """:meth:`stage_piece`, once per byte range (planning stages what the read then uses)."""
        cache = self.__dict__.setdefault("_staged", {})
        hit = cache.get((piece.path, piece.offset))
        if hit is not None and piece.end in (hit[1], hit[2]):
            return hit[0], hit[1]
        path, end = self.stage_piece(piece)
        cache[(piece.path, piece.offset)] = (path, end, piece.end)
        return path, end

    def _piece_ends(self, pieces: Sequence[Piece]) -> List[int]:
        """:meth:`piece_end` of several pieces (sources with slow I/O override this to work in parallel)."""
        return [self.piece_end(p) for p in pieces]

    def _increment_paths(self, pieces: Sequence[Piece]) -> List[str]:
        paths = []
        for piece in pieces:
            path, end = self._stage(piece)
            if end != piece.end:
                raise SourceError(f"{piece.path} changed under a pending run (expected bytes up to {piece.end}, got {end})")
            if path:
                paths.append(path)
        return paths

    # -- reading -------------------------------------------------------------
    def read(
        self,
        spark,
        table: str,
        window: TimeWindow,
        columns: Optional[Sequence[str]] = None,
        required: Sequence[str] = (),
        build: Optional[Callable] = None,
    ) -> ReadResult:
        """Read ``table`` for ``window`` into a :class:`ReadResult` (see :mod:`byoml.sources.reader`).

        ``build`` turns the clean records into the frame the result keeps (default: the records),
        computed in the same pass as the read.

        With a pinned increment only its bytes are read, plus (whole) the files of any history
        ``window`` reaches back before it (a template's scoring lookback).
        """
        inc = self._increment if self._increment is not None and self._increment.table == table else None
        if inc is not None:
            history: List[ExportFile] = []
            skipped: List[str] = []
            if window.start is not None and inc.window.start is not None and window.start < inc.window.start:
                history, report = self.list_files(table, TimeWindow(window.start, inc.window.start))
                history = [f for f in history if f.folder_time is not None and f.folder_time < inc.window.start]
                skipped = list(report.skipped)
            paths = self.pieces_input(inc.pieces, history)
            size = sum(p.end - p.offset for p in inc.pieces) + sum(f.size for f in history)
            stats = ReadStats(table=table, files=len(paths), bytes=size, layout="export", skipped_folders=skipped)
            return read_export_files(spark, paths, table, window, columns, required, stats, build, self.wrapped_bodies)
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
        return read_export_files(spark, self.read_paths(files, report), table, window, columns, required, stats, build,
                                 self.wrapped_bodies)
