"""Write records in the exact folder layout of a Log Analytics workspace data export."""
from __future__ import annotations

import datetime as dt
import json
import os
from collections import defaultdict
from typing import Dict, List, Optional, Tuple

from ..sources.layout import container_name
from ..timewindow import UTC

LAYOUTS = ("5min", "hourly")


def workspace_resource_id(subscription: str, resource_group: str, workspace: str) -> str:
    return (
        f"/subscriptions/{subscription}/resourcegroups/{resource_group}"
        f"/providers/microsoft.operationalinsights/workspaces/{workspace}"
    )


def format_time_generated(value: dt.datetime) -> str:
    """``2026-11-02T13:09:20.0412345Z`` style: up to 7 fractional digits, trailing zeros trimmed."""
    value = value.astimezone(UTC)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += ("." + f"{value.microsecond:06d}0").rstrip("0")
    return text + "Z"


class ExportWriter:
    """Append JSON lines to ``<out>/am-<table>/WorkspaceResourceId=.../y=/m=/d=/h=/m=/PT05M.json``.

    ``layout='hourly'`` writes ``m=00/PT1H.json``. After ``max_lines_per_blob`` lines a
    folder continues in ``PT05M_1.json``, ``PT05M_2.json``... as the export service does.
    Lines are buffered and appended on :meth:`flush` (call it at least once per day of data).
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
