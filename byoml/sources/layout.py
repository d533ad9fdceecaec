"""The folder grammar of a Log Analytics workspace data export, and window pruning.

An export container ``am-<table>`` holds, per workspace::

    WorkspaceResourceId=/subscriptions/<sub>/resourcegroups/<rg>/providers/
        microsoft.operationalinsights/workspaces/<ws>/y=YYYY/m=MM/d=DD/h=HH/m=mm/PT05M.json

(hourly exports use ``m=00/PT1H.json``; overflow siblings are ``PT05M_1.json``...).
This module walks that tree through a tiny :class:`Listing` interface, so the same
pruning serves local folders and Blob Storage. Only the branches whose time range
overlaps the requested window are listed: a one-day window lists a handful of folders,
never the whole container.
"""
from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Iterator, List, Optional, Protocol, Sequence, Set, Tuple

from ..timewindow import UTC, TimeWindow

CONTAINER_PREFIX = "am-"
_LEVELS: Tuple[Tuple[str, int], ...] = (("y", 4), ("m", 2), ("d", 2), ("h", 2), ("m", 2))
_LEVEL_RE = re.compile(r"^([ymdh])=(\d{1,4})$")
MAX_WORKSPACE_DEPTH = 12


@dataclass(frozen=True)
class Entry:
    """One item of a folder listing."""

    name: str
    is_dir: bool
    size: int = 0
    etag: Optional[str] = None


class Listing(Protocol):
    """What the walker needs from a file system: list one folder, join names."""

    def list_dir(self, path: str) -> Sequence[Entry]: ...

    def join(self, base: str, name: str) -> str: ...


@dataclass(frozen=True)
class ExportFile:
    """A JSON blob/file of an export, with the start of the folder time it sits in."""

    path: str
    folder_time: Optional[dt.datetime]
    size: int = 0
    etag: Optional[str] = None


@dataclass
class WalkReport:
    """What a walk saw besides the files: folders it could not interpret, and folders
    (``partial``) holding anything that was not selected (other times, other files): every
    folder of the layout that is not partial holds exactly the files the walk yielded."""

    skipped: List[str] = field(default_factory=list)
    flat: bool = False
    partial: Set[str] = field(default_factory=set)


LAYOUTS = ("5min", "hourly")  # PT05M.json in 5-minute folders (since Oct 2021), PT1H.json in hourly ones


def workspace_resource_id(subscription: str, resource_group: str, workspace: str) -> str:
    """The workspace's resource id, as the ``WorkspaceResourceId=`` folder holds it."""
    return (
        f"/subscriptions/{subscription}/resourcegroups/{resource_group}"
        f"/providers/microsoft.operationalinsights/workspaces/{workspace}"
    )


def container_name(table: str) -> str:
    return f"{CONTAINER_PREFIX}{table}".lower()


def is_container_for(name: str, table: str) -> bool:
    """Container names match case-insensitively (``am-SecurityEvent`` == ``am-securityevent``)."""
    return name.lower() == container_name(table)


def table_from_container(name: str) -> Optional[str]:
    if name.lower().startswith(CONTAINER_PREFIX) and len(name) > len(CONTAINER_PREFIX):
        return name[len(CONTAINER_PREFIX):]
    return None


def _level_range(parts: Tuple[int, ...]) -> Tuple[dt.datetime, dt.datetime]:
    """Start and end of the period named by (year[, month[, day[, hour]]])."""
    year = parts[0]
    if len(parts) == 1:
        return dt.datetime(year, 1, 1, tzinfo=UTC), dt.datetime(year + 1, 1, 1, tzinfo=UTC)
    month = parts[1]
    if len(parts) == 2:
        days = calendar.monthrange(year, month)[1]
        lo = dt.datetime(year, month, 1, tzinfo=UTC)
        return lo, lo + dt.timedelta(days=days)
    lo = dt.datetime(year, month, parts[2], tzinfo=UTC)
    if len(parts) == 3:
        return lo, lo + dt.timedelta(days=1)
    lo = lo.replace(hour=parts[3])
    return lo, lo + dt.timedelta(hours=1)


def _parse_level(name: str, expected_key: str) -> Optional[int]:
    match = _LEVEL_RE.match(name)
    if not match or match.group(1) != expected_key:
        return None
    return int(match.group(2))


def _valid(parts: Tuple[int, ...]) -> bool:
    try:
        if len(parts) >= 2 and not 1 <= parts[1] <= 12:
            return False
        if len(parts) >= 3:
            dt.date(parts[0], parts[1], parts[2])
        if len(parts) >= 4 and not 0 <= parts[3] <= 23:
            return False
        if len(parts) >= 5 and not 0 <= parts[4] <= 59:
            return False
    except ValueError:
        return False
    return True


def find_workspace_roots(fs: Listing, container: str, report: WalkReport) -> List[str]:
    """Folders under ``container`` that hold ``y=YYYY`` children (one per workspace)."""
    roots: List[str] = []
    frontier = [(container, 0)]
    while frontier:
        path, depth = frontier.pop()
        entries = fs.list_dir(path)
        if any(e.is_dir and _parse_level(e.name, "y") is not None for e in entries):
            roots.append(path)
            continue
        if depth >= MAX_WORKSPACE_DEPTH:
            continue
        for entry in entries:
            if entry.is_dir:
                frontier.append((fs.join(path, entry.name), depth + 1))
    return sorted(roots)


def iter_time_folder_files(
    fs: Listing, root: str, window: TimeWindow, report: WalkReport
) -> Iterator[ExportFile]:
    """Yield the ``*.json`` files under ``root/y=/m=/d=/h=/m=`` whose folder overlaps ``window``."""

    def walk(path: str, parts: Tuple[int, ...]) -> Iterator[ExportFile]:
        level = len(parts)
        key = _LEVELS[level][0]
        entries = fs.list_dir(path)
        children: List[Tuple[int, Entry]] = []
        complete = True
        for entry in entries:
            if not entry.is_dir:
                complete = False
                continue
            value = _parse_level(entry.name, key)
            if value is None or not _valid(parts + (value,)):
                report.skipped.append(fs.join(path, entry.name))
                complete = False
                continue
            children.append((value, entry))
        children.sort(key=lambda item: item[0])
        if level < 4:
            for value, entry in children:
                lo, hi = _level_range(parts + (value,))
                child = fs.join(path, entry.name)
                if window.overlaps(lo, hi):
                    yield from walk(child, parts + (value,))
                    complete = complete and child not in report.partial
                else:
                    complete = False
            if not complete:
                report.partial.add(path)
            return
        # Minute level: a folder spans until the next sibling (5 min) or the end of the hour (PT1H).
        hour_lo, hour_hi = _level_range(parts)
        for index, (minute, entry) in enumerate(children):
            lo = hour_lo + dt.timedelta(minutes=minute)
            hi = hour_lo + dt.timedelta(minutes=children[index + 1][0]) if index + 1 < len(children) else hour_hi
            if not window.overlaps(lo, hi):
                complete = False
                continue
            folder = fs.join(path, entry.name)
            for item in sorted(fs.list_dir(folder), key=lambda e: e.name):
                if not item.is_dir and item.name.lower().endswith(".json"):
                    yield ExportFile(fs.join(folder, item.name), lo, item.size, item.etag)
                # a folder read whole must hold only what was selected, named as Spark lists it
                if item.is_dir or not item.name.endswith(".json") or item.name.startswith(("_", ".")):
                    report.partial.add(folder)
                    complete = False
        if not complete:
            report.partial.add(path)

    yield from walk(root, ())


def iter_flat_files(fs: Listing, root: str) -> Iterator[ExportFile]:
    """Every ``*.json`` under ``root`` (for folders that do not follow the export layout)."""
    stack = [root]
    while stack:
        path = stack.pop()
        for entry in sorted(fs.list_dir(path), key=lambda e: e.name, reverse=True):
            full = fs.join(path, entry.name)
            if entry.is_dir:
                stack.append(full)
            elif entry.name.lower().endswith((".json", ".jsonl")):
                yield ExportFile(full, None, entry.size, entry.etag)


def iter_export_files(
    fs: Listing, container: str, window: TimeWindow, report: Optional[WalkReport] = None
) -> Iterator[ExportFile]:
    """All export files of one container whose folder time overlaps ``window``.

    A container without the ``y=/m=/d=/h=/m=`` layout is read flat (every JSON
    file, no pruning; exact filtering on ``TimeGenerated`` still applies).
    """
    report = report if report is not None else WalkReport()
    roots = find_workspace_roots(fs, container, report)
    if not roots:
        report.flat = True
        yield from iter_flat_files(fs, container)
        return
    for root in roots:
        yield from iter_time_folder_files(fs, root, window, report)


def latest_folder_time(fs: Listing, container: str) -> Optional[dt.datetime]:
    """Start of the newest minute folder holding a JSON file, across workspaces; None if empty."""
    report = WalkReport()
    best: Optional[dt.datetime] = None
    for root in find_workspace_roots(fs, container, report):
        found = _latest_in_root(fs, root, ())
        if found is not None and (best is None or found > best):
            best = found
    return best


def _latest_in_root(fs: Listing, path: str, parts: Tuple[int, ...]) -> Optional[dt.datetime]:
    level = len(parts)
    if level == 5:
        if any(not e.is_dir and e.name.lower().endswith(".json") for e in fs.list_dir(path)):
            year, month, day, hour, minute = parts
            return dt.datetime(year, month, day, hour, minute, tzinfo=UTC)
        return None
    key = _LEVELS[level][0]
    children = []
    for entry in fs.list_dir(path):
        value = _parse_level(entry.name, key) if entry.is_dir else None
        if value is not None and _valid(parts + (value,)):
            children.append((value, entry.name))
    for value, name in sorted(children, reverse=True):
        found = _latest_in_root(fs, fs.join(path, name), parts + (value,))
        if found is not None:
            return found
    return None
