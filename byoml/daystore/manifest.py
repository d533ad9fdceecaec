"""The day store's manifest: which version of each export day is current, what it was read from, its counts.

A table's store is a folder ``<store>/<table>/``::

    d=2026-11-02/v-00000007-1a2b3c4d/part-*.parquet     one folder per ingest of a day, never rewritten
    _quarantine/d=2026-11-02/v-00000007-1a2b3c4d/     that ingest's quarantined records (JSON Lines)
    _manifest/step-NNNNNNNN.json                     the state: the newest step that parses

Replacing a day writes its new version folder first, then a new manifest step naming it
(:func:`byoml.statefiles.write_step`): readers see the old version or the new one, never a mix,
and nothing is appended to or renamed (object-store mounts, ``/Volumes``). The superseded
version folder is deleted after the step is written. Per day the manifest keeps the files read
and their sizes: it is the store's watermark (a day whose files grew or gained a file is
ingested again, and only that day).
"""
from __future__ import annotations

import datetime as dt
import os
import shutil
import uuid
from dataclasses import asdict, dataclass, field
from typing import Dict, List, Optional, Sequence

from ..errors import ConfigError
from ..sources.layout import ExportFile
from ..statefiles import latest_step, write_step
from ..timewindow import UTC, TimeWindow, format_time, parse_time

FORMAT = 2  # 2: a day's rows keep copies of a record (format 1 collapsed them into a _copies count)
#: the read counts a day keeps; a read of several days sums them
DAY_COUNTS = ("files", "bytes", "records", "malformed", "schema_errors", "other_table", "duplicates", "rows",
              "truncated_bodies", "recovered", "cut_off")


@dataclass
class DayEntry:
    """One ingested export day: its current version folder, the files it was read from and its counts."""

    day: str
    version: str
    files: Dict[str, List] = field(default_factory=dict)  # path -> [size, etag]
    counts: Dict[str, int] = field(default_factory=dict)
    latest: Optional[str] = None  # the newest folder time holding a file, ISO
    quarantine: Optional[str] = None
    ingested: str = ""

    @property
    def start(self) -> dt.datetime:
        return dt.datetime.strptime(self.day, "%Y-%m-%d").replace(tzinfo=UTC)


def day_of(folder_time: dt.datetime) -> str:
    return folder_time.astimezone(UTC).strftime("%Y-%m-%d")


def file_listing(files: Sequence[ExportFile]) -> Dict[str, List]:
    """``{path: [size, etag]}`` of ``files``: what a day was read from."""
    return {f.path: [int(f.size), f.etag] for f in files}


def whole_days(window: TimeWindow) -> TimeWindow:
    """``window`` widened to whole UTC days (unbounded sides stay unbounded)."""
    start = window.start.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0) if window.start else None
    end = None
    if window.end is not None:
        end_day = window.end.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        end = end_day if end_day == window.end.astimezone(UTC) else end_day + dt.timedelta(days=1)
    return TimeWindow(start, end)


class Manifest:
    """The manifest of one table in a store folder (``store/<table>/``)."""

    def __init__(self, store_dir: str, table: str) -> None:
        if "://" in store_dir and not store_dir.startswith("file://"):
            raise ConfigError(f"--store '{store_dir}': give a folder path (a local folder, or /Volumes/... and /dbfs/... "
                              "on Databricks), not a URL")
        store_dir = store_dir[len("file://"):] if store_dir.startswith("file://") else store_dir
        if os.path.exists(store_dir) and not os.path.isdir(store_dir):
            raise ConfigError(f"--store '{store_dir}' is a file, not a folder")
        self.store_dir = os.path.abspath(store_dir)
        self.table = table
        self.root = os.path.join(self.store_dir, table.lower())
        self._load()

    def _load(self) -> None:
        found = latest_step(os.path.join(self.root, "_manifest"))
        state = found[1] if found else {"format": FORMAT, "table": self.table, "days": {}}
        if int(state.get("format", 0)) > FORMAT:
            raise ConfigError(f"the store {self.root} was written by a newer byoml (format {state['format']}); upgrade")
        if found and int(state.get("format", 0)) < FORMAT:
            raise ConfigError(f"the store {self.root} was written by an older byoml (format {state.get('format')}); "
                              "ingest again into a new folder")
        self.days: Dict[str, DayEntry] = {d: DayEntry(**e) for d, e in state.get("days", {}).items()}
        self._sequence = max(int(state.get("sequence", 0)), getattr(self, "_sequence", 0))
        self._retired: List[str] = list(state.get("retired", []))

    # -- reading --------------------------------------------------------------
    def path_of(self, entry: DayEntry) -> str:
        return os.path.join(self.root, f"d={entry.day}", entry.version)

    def changed(self, day: str, files: Sequence[ExportFile]) -> bool:
        """True when ``day`` is not stored, or a file of it is new or has another size or etag than when stored."""
        entry = self.days.get(day)
        if entry is None:
            return True
        known = entry.files
        return any(f.path not in known or list(known[f.path]) != [int(f.size), f.etag] for f in files)

    def days_in(self, window: TimeWindow) -> List[DayEntry]:
        """Stored days overlapping ``window``, oldest first."""
        return [e for d, e in sorted(self.days.items())
                if window.overlaps(e.start, e.start + dt.timedelta(days=1))]

    def latest_time(self) -> Optional[dt.datetime]:
        """The newest export folder time stored (None: the store is empty)."""
        times = [parse_time(e.latest) for e in self.days.values() if e.latest]
        return max(times) if times else None

    # -- writing --------------------------------------------------------------
    def new_version(self, day: str) -> DayEntry:
        """A version name for ``day`` that no other ingest uses (its folder is written before it is committed)."""
        self._sequence += 1
        return DayEntry(day=day, version=f"v-{self._sequence:08d}-{uuid.uuid4().hex[:8]}")

    def commit(self, entry: DayEntry) -> None:
        """Make ``entry`` the current version of its day (one new manifest step).

        The version it replaces is retired, and deleted at the next commit: a reader that listed
        the old version just before this one has that long to read it. The newest state is read
        again first, so days another job committed meanwhile are kept (two jobs writing the same
        step number: the second one reads again and writes the next).
        """
        entry.ingested = format_time(dt.datetime.now(UTC))
        for attempt in range(3):
            self._load()
            old = self.days.get(entry.day)
            self.days[entry.day] = entry
            doomed, retired = self._retired, []
            if old is not None and old.version != entry.version:
                retired = [self.path_of(old)] + ([old.quarantine] if old.quarantine else [])
            state = {"format": FORMAT, "table": self.table, "sequence": self._sequence, "retired": retired,
                     "days": {d: asdict(e) for d, e in sorted(self.days.items())}}
            try:
                write_step(os.path.join(self.root, "_manifest"), state)
            except FileExistsError:
                if attempt == 2:
                    raise
                continue
            self._retired = retired
            for path in doomed:
                shutil.rmtree(path, ignore_errors=True)
            return

    def discard(self, entry: DayEntry) -> None:
        """Remove what an ingest that failed wrote for ``entry`` (never committed)."""
        shutil.rmtree(self.path_of(entry), ignore_errors=True)
        if entry.quarantine:
            shutil.rmtree(entry.quarantine, ignore_errors=True)

    def quarantine_path(self, entry: DayEntry) -> str:
        return os.path.join(self.root, "_quarantine", f"d={entry.day}", entry.version)
