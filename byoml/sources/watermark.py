"""Per-source watermark: a scheduled score job reads only what is new since its last success.

State lives in a folder per (source, table) under the ``source: watermark:`` folder, one new
file per step (``step-NNNNNNNN.json``, never rewritten: safe on object-store mounts, see
:mod:`byoml.statefiles`); the newest step that parses is the state::

    {"files": {path: {"size": bytes consumed, "etag": ..., "folder": iso}},
     "high_water": newest folder time consumed,
     "pending": the increment being read (pinned until committed)}

An *increment* is a list of :class:`Piece` byte ranges: a new file from byte 0, or the
bytes appended to a known file since its recorded size (export blobs are append blobs;
a file that shrank was rewritten and is read again in full). A run pins its increment
before anything is written and the caller commits it after the sink succeeded. A run
that failed leaves it pending: the next run reads exactly the same bytes again (same
RunId, so the sink's ledger sends nothing twice) before it looks for newer data.
Late records (up to ``late_hours``, 12 by default) appended to older folders are found
by listing back that far from the high-water mark.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from dataclasses import asdict, dataclass
from typing import Dict, List, Optional, Sequence

from ..statefiles import latest_step, write_step
from ..timewindow import UTC, TimeWindow, format_time, parse_time
from .layout import ExportFile

DEFAULT_LATE_HOURS = 12.0


@dataclass(frozen=True)
class Piece:
    """Bytes ``[offset, end)`` of one export file; ``record`` says whether the watermark keeps it."""

    path: str
    folder_time: Optional[str]
    offset: int
    end: int
    etag: Optional[str] = None
    record: bool = True

    @property
    def folder(self) -> Optional[dt.datetime]:
        return parse_time(self.folder_time) if self.folder_time else None


@dataclass
class Increment:
    id: str
    table: str
    window: TimeWindow
    pieces: List[Piece]

    def to_dict(self) -> dict:
        return {"id": self.id, "table": self.table, "window": self.window.to_dict(),
                "pieces": [asdict(p) for p in self.pieces]}

    @classmethod
    def from_dict(cls, data: dict) -> "Increment":
        w = data["window"]
        return cls(data["id"], data["table"], TimeWindow.parse(w["start"], w["end"]),
                   [Piece(**p) for p in data["pieces"]])


def increment_id(pieces: Sequence[Piece]) -> str:
    text = json.dumps([[p.path, p.offset, p.end, p.etag] for p in pieces], separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def hour_floor(t: dt.datetime) -> dt.datetime:
    return t.replace(minute=0, second=0, microsecond=0)


def folder_inside(folder: Optional[dt.datetime], window: TimeWindow) -> bool:
    """True when a folder (which never crosses an hour boundary) lies wholly in ``window``."""
    if folder is None:
        return window.start is None and window.end is None
    if window.start is not None and folder < window.start:
        return False
    if window.end is not None and hour_floor(folder) + dt.timedelta(hours=1) > window.end:
        return False
    return True


class Watermark:
    """The watermark file of one source and table."""

    def __init__(self, directory: str, source_key: str, table: str, late_hours: float = DEFAULT_LATE_HOURS) -> None:
        digest = hashlib.sha256(f"{source_key}|{table.lower()}".encode("utf-8")).hexdigest()[:16]
        self.path = os.path.join(os.path.abspath(directory), f"{table.lower()}-{digest}")
        self.source_key = source_key
        self.table = table
        self.late = dt.timedelta(hours=late_hours)
        self.state = self._load()

    def _load(self) -> dict:
        found = latest_step(self.path)
        if found is not None:
            return found[1]
        if os.path.isfile(self.path + ".json"):  # a watermark of an earlier byoml: one file, rewritten in place
            with open(self.path + ".json", encoding="utf-8") as fh:
                return json.load(fh)
        return {"source": self.source_key, "table": self.table, "files": {}, "high_water": None, "pending": None}

    def _save(self) -> None:
        write_step(self.path, self.state)

    # -- reading -----------------------------------------------------------
    def pending(self) -> Optional[Increment]:
        data = self.state.get("pending")
        return Increment.from_dict(data) if data else None

    def discovery_window(self) -> Optional[TimeWindow]:
        """Folders to list for new data: from ``late_hours`` before the high-water mark on (None: first run)."""
        high = self.state.get("high_water")
        if not high:
            return None
        return TimeWindow(hour_floor(parse_time(high) - self.late), None)

    def new_pieces(self, files: Sequence[ExportFile], window: TimeWindow) -> List[Piece]:
        """The unread byte ranges of ``files``; only files wholly inside ``window`` are recorded."""
        known: Dict[str, dict] = self.state["files"]
        out = []
        for f in files:
            prev = known.get(f.path)
            offset = 0
            if prev is not None:
                if f.size == prev["size"]:
                    continue  # unchanged (an append blob changes size with every append)
                if f.size > prev["size"]:
                    offset = prev["size"]  # appended since: read the new bytes only
                # smaller: rewritten, read it whole
            folder = format_time(f.folder_time) if f.folder_time else None
            out.append(Piece(f.path, folder, offset, f.size, f.etag, folder_inside(f.folder_time, window)))
        return out

    def pin(self, table: str, window: TimeWindow, pieces: List[Piece]) -> Increment:
        """Make ``pieces`` the pending increment (before any output is written)."""
        inc = Increment(increment_id(pieces), table, window, pieces)
        self.state["pending"] = inc.to_dict()
        self._save()
        return inc

    def commit(self, inc: Increment) -> None:
        """The run that read ``inc`` succeeded: remember its bytes as consumed."""
        files = self.state["files"]
        high = parse_time(self.state["high_water"]) if self.state.get("high_water") else None
        for p in inc.pieces:
            if not p.record:
                continue
            files[p.path] = {"size": p.end, "etag": p.etag, "folder": p.folder_time}
            if p.folder is not None and (high is None or p.folder > high):
                high = p.folder
        if high is not None:
            self.state["high_water"] = format_time(high)
            horizon = high - self.late - dt.timedelta(days=1)
            self.state["files"] = {
                k: v for k, v in files.items() if not v.get("folder") or parse_time(v["folder"]) >= horizon
            }
        self.state["pending"] = None
        self._save()


def covering_window(pieces: Sequence[Piece]) -> Optional[TimeWindow]:
    """Whole hours covering the folders of ``pieces`` (None when no piece has a folder time)."""
    times = [p.folder for p in pieces if p.folder is not None]
    if not times:
        return None
    return TimeWindow(hour_floor(min(times)), hour_floor(max(times)) + dt.timedelta(hours=1))


__all__ = ["Increment", "Piece", "Watermark", "covering_window", "folder_inside", "UTC"]
