"""Write records in the exact folder layout of a Log Analytics workspace data export.

:class:`ExportWriter` is the way to write that layout from Python (data you converted yourself,
test fixtures, a replay of other logs); ``byoml import`` (:mod:`byoml.importers`) uses it for
Winlogbeat, NXLog and CSV input, and the sample-data generators for their exports.
"""
from __future__ import annotations

import datetime as dt
import json
import os
from collections import defaultdict
from typing import Dict, List, Optional, Tuple

from ..sources.layout import LAYOUTS, container_name, workspace_resource_id
from ..timewindow import UTC, format_time_generated

__all__ = ["LAYOUTS", "ExportWriter", "format_time_generated", "workspace_resource_id"]


class ExportWriter:
    r"""Append JSON lines to ``<out>/am-<table>/WorkspaceResourceId=.../y=/m=/d=/h=/m=/PT05M.json``.

    Each record goes to the folder of the time passed with it (its ``TimeGenerated``), as the
    export service files it::

        from byoml.sample_data.export_writer import ExportWriter, workspace_resource_id

        w = ExportWriter("export", "SecurityEvent", workspace_resource_id("sub", "rg", "ws"))
        w.add(when, {"TimeGenerated": "2026-11-02T10:00:00Z", "EventID": 5140, "Computer": "FS1",
                     "Account": "CONTOSO\\alice", "ShareName": "\\\\*\\Finance", "Type": "SecurityEvent"})
        w.flush()   # byoml train --source export ... reads it

    Records are written as given: use the table's Log Analytics column names and types
    (:mod:`byoml.sources.schemas`; ``byoml import`` maps other names). ``layout='hourly'``
    writes ``m=00/PT1H.json``. After ``max_lines_per_blob`` lines a folder continues in
    ``PT05M_1.json``, ``PT05M_2.json``... as the export service does. Lines are buffered and
    appended on :meth:`flush` (call it every few thousand records to bound the memory held);
    files are appended to, so a second writer on the same folder adds to what is there.
    """

    def __init__(
        self,
        out_dir: str,
        table: str,
        resource_id: str,
        layout: str = "5min",
        max_lines_per_blob: int = 50_000,
        container: Optional[str] = None,
    ) -> None:
        if layout not in LAYOUTS:
            raise ValueError(f"layout must be one of {LAYOUTS}")
        self.root = os.path.join(out_dir, container or container_name(table))
        self.resource_id = resource_id
        self.layout = layout
        self.max_lines = max_lines_per_blob
        self._buffer: Dict[str, List[str]] = defaultdict(list)
        self._lines: Dict[str, Tuple[int, int]] = {}  # folder -> (file index, lines in it)
        self.files_written = set()
        self.lines_written = 0

    def folder(self, when: dt.datetime) -> str:
        when = when.astimezone(UTC)
        minute = 0 if self.layout == "hourly" else when.minute - when.minute % 5
        return os.path.join(
            self.root,
            "WorkspaceResourceId=" + self.resource_id.lstrip("/"),
            f"y={when:%Y}", f"m={when:%m}", f"d={when:%d}", f"h={when:%H}", f"m={minute:02d}",
        )

    def add(self, when: dt.datetime, record: dict) -> None:
        self.add_line(when, json.dumps(record, separators=(",", ":")))

    def add_line(self, when: dt.datetime, line: str) -> None:
        """Buffer one raw line (use it to write malformed lines on purpose)."""
        self._buffer[self.folder(when)].append(line)

    def flush(self) -> None:
        base = "PT1H" if self.layout == "hourly" else "PT05M"
        for folder, lines in self._buffer.items():
            os.makedirs(folder, exist_ok=True)
            index, used = self._lines.get(folder, (0, 0))
            pos = 0
            while pos < len(lines):
                room = self.max_lines - used
                if room <= 0:
                    index, used = index + 1, 0
                    continue
                chunk = lines[pos : pos + room]
                name = f"{base}.json" if index == 0 else f"{base}_{index}.json"
                path = os.path.join(folder, name)
                with open(path, "a", encoding="utf-8") as fh:
                    fh.write("\n".join(chunk) + "\n")
                self.files_written.add(path)
                used += len(chunk)
                pos += len(chunk)
            self._lines[folder] = (index, used)
            self.lines_written += len(lines)
        self._buffer.clear()
