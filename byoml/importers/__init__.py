"""Import events in other field layouts (Winlogbeat, NXLog, CSV) into the workspace export layout.

``byoml import --from winlogbeat|nxlog|csv --table SecurityEvent IN OUT`` reads IN (a file or a
folder of JSON Lines or CSV files, gzipped or not) one line at a time, maps every record onto
the table's Log Analytics columns (:mod:`byoml.importers.fieldmaps`,
:mod:`byoml.importers.records`) and appends it through
:class:`~byoml.sample_data.export_writer.ExportWriter` to
``OUT/am-<table>/WorkspaceResourceId=.../y=/m=/d=/h=/m=/PT05M.json``, the layout every byoml
source reads. Nothing is held but the lines of the current batch. A record that cannot be
imported (no timestamp, a value that does not fit its column, a line that is not a JSON object)
is counted under its reason with the first place it occurred; none is lost without a word.

From Python::

    from byoml.importers import import_events
    report = import_events("events.jsonl.gz", "export", fmt="nxlog", table="SecurityEvent")
    print(report.render())
"""
from __future__ import annotations

import csv
import gzip
import io
import json
import os
import re
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Optional, Tuple

from ..errors import ConfigError
from ..sources.layout import LAYOUTS, container_name, workspace_resource_id
from ..sources.schemas import canonical_table_name, declared_schema
from ..timewindow import format_time_generated
from .fieldmaps import BUILTIN, FORMATS, FieldMap, load_field_map
from .records import Skip, map_record, parse_timestamp

__all__ = ["FORMATS", "BUILTIN", "ImportReport", "import_events", "load_field_map", "map_record", "parse_timestamp"]

DEFAULT_RESOURCE_ID = workspace_resource_id("00000000-0000-0000-0000-000000000000", "byoml-import", "imported")
JSON_SUFFIXES = (".json", ".jsonl", ".ndjson", ".log")
CSV_SUFFIXES = (".csv",)
FLUSH_EVERY = 20_000  # lines buffered before they are appended to the export files
_UTC_SUFFIX = " [UTC]"  # the portal's CSV header: "TimeGenerated [UTC]"
_HAS_ZONE = re.compile(r"(Z|UTC|[+-]\d{2}:?\d{2})\s*$", re.IGNORECASE)


@dataclass
class ImportReport:
    """What an import read, wrote and skipped (with the reason and the first place of each)."""

    table: str
    fmt: str
    field_map: str
    out: str = ""
    files: int = 0
    read: int = 0
    written: int = 0
    skipped: Dict[str, int] = field(default_factory=dict)
    examples: Dict[str, str] = field(default_factory=dict)
    first: Optional[str] = None
    last: Optional[str] = None
    folders: int = 0
    layout: str = "5min"

    def skip(self, reason: str, where: str, detail: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1
        self.examples.setdefault(reason, f"{where}" + (f" ({detail})" if detail else ""))

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())

    def render(self) -> str:
        lines = [f"byoml import · {self.fmt} -> {self.table} (field map {self.field_map})",
                 f"  read         {self.files:,} files · {self.read:,} records",
                 f"  written      {self.written:,} records · {self.folders:,} {self.layout} folders · {self.out}"]
        if self.first:
            lines.append(f"  time         {self.first} -> {self.last}")
        lines.append(f"  skipped      {self.skipped_total:,}" + ("" if self.skipped else " (none)"))
        for reason, count in sorted(self.skipped.items(), key=lambda kv: (-kv[1], kv[0])):
            lines.append(f"    {count:>8,}  {reason}; first: {self.examples[reason]}")
        return "\n".join(lines)

    def to_dict(self) -> Dict[str, Any]:
        return {k: getattr(self, k) for k in ("table", "fmt", "field_map", "out", "files", "read", "written",
                                              "skipped", "examples", "first", "last", "folders", "layout")}


def input_files(path: str, fmt: str, out: Optional[str] = None) -> List[str]:
    """The files to import: ``path`` itself, or the JSON Lines (or CSV) files under the folder,
    sorted (the output folder ``out`` left out, should it lie inside)."""
    if os.path.isfile(path):
        return [path]
    if not os.path.isdir(path):
        raise ConfigError(f"input '{path}' does not exist")
    suffixes = CSV_SUFFIXES if fmt == "csv" else JSON_SUFFIXES
    skip = os.path.realpath(out) if out else None
    found = []
    for folder, dirs, names in os.walk(path):
        dirs[:] = sorted(d for d in dirs if os.path.realpath(os.path.join(folder, d)) != skip)
        for name in sorted(names):
            stem = name[:-3] if name.endswith(".gz") else name
            if stem.lower().endswith(suffixes) and not name.startswith("."):
                found.append(os.path.join(folder, name))
    if not found:
        raise ConfigError(f"no {'/'.join(s + '[.gz]' for s in suffixes)} files under '{path}'")
    return found


def _open_binary(path: str):
    with open(path, "rb") as probe:
        gzipped = probe.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rb") if gzipped else open(path, "rb")


def _json_records(path: str) -> Iterator[Tuple[int, Any]]:
    """(line number, record or Skip) of a JSON Lines file, one line at a time (blank lines skipped)."""
    with _open_binary(path) as fh:
        for number, raw in enumerate(fh, start=1):
            try:
                text = raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError:
                yield number, Skip("not UTF-8 text")
                continue
            if not text.strip():
                continue
            try:
                record = json.loads(text)
            except ValueError:
                yield number, Skip("not JSON", text.strip()[:60])
                continue
            yield number, record if isinstance(record, dict) else Skip("not a JSON object", text.strip()[:60])


def _csv_records(path: str) -> Iterator[Tuple[int, Any]]:
    """(line number, record) of a CSV file with a header; empty cells are no value.

    A header ``Name [UTC]`` (the portal's export) is the column ``Name``, its times in UTC.
    Bytes that are not UTF-8 become U+FFFD (a row is not dropped for a stray byte in one cell).
    """
    with _open_binary(path) as raw, io.TextIOWrapper(raw, encoding="utf-8-sig", errors="replace", newline="") as text:
        reader = csv.reader(text)
        header = next(reader, None)
        if header is None:
            return
        names = [h[: -len(_UTC_SUFFIX)] if h.endswith(_UTC_SUFFIX) else h for h in (c.strip() for c in header)]
        utc = {n for n, h in zip(names, header) if h.strip().endswith(_UTC_SUFFIX)}
        for cells in reader:
            if not any(c.strip() for c in cells):
                continue
            if len(cells) != len(names):
                yield reader.line_num, Skip("CSV row with another number of cells than the header",
                                            f"{len(cells)} cells, {len(names)} columns")
                continue
            record = {n: c for n, c in zip(names, cells) if c != ""}
            for n in utc & set(record):
                if not _HAS_ZONE.search(record[n]):
                    record[n] = record[n].rstrip() + " UTC"
            yield reader.line_num, record


def import_events(
    source: str,
    out: str,
    fmt: str = "nxlog",
    table: str = "SecurityEvent",
    field_map: Optional[FieldMap] = None,
    map_file: Optional[str] = None,
    layout: str = "5min",
    resource_id: str = DEFAULT_RESOURCE_ID,
    append: bool = False,
) -> ImportReport:
    """Import ``source`` (a file or folder) into the export layout under ``out``; see the module docstring.

    ``field_map`` (or ``map_file``, a YAML/JSON map) changes the built-in map of ``fmt``.
    ``append=False`` refuses an ``out`` that already holds this table's container: importing
    the same events twice would double them.
    """
    if fmt not in FORMATS:
        raise ConfigError(f"--from must be one of {', '.join(FORMATS)}, not '{fmt}'")
    if layout not in LAYOUTS:
        raise ConfigError(f"--layout must be one of {', '.join(LAYOUTS)}, not '{layout}'")
    table = canonical_table_name(table)
    fmap = field_map or load_field_map(fmt, map_file)
    tz = fmap.tzinfo()
    files = input_files(source, fmt, out)
    container = os.path.join(out, container_name(table))
    if os.path.isdir(container) and os.listdir(container) and not append:
        raise ConfigError(f"'{container}' already holds data; importing into it again would add the records twice "
                          "(give --append to add to it, or another OUT)")
    from ..sample_data.export_writer import ExportWriter  # the sample generators' package: only when writing

    schema = dict(declared_schema(table) or {})
    report = ImportReport(table=table, fmt=fmt, field_map=fmap.name, out=container, layout=layout)
    writer = ExportWriter(out, table, resource_id, layout)
    first = last = None
    pending = 0
    for path in files:
        report.files += 1
        records = _csv_records(path) if fmt == "csv" else _json_records(path)
        for number, record in records:
            report.read += 1
            where = f"{path}:{number}"
            try:
                if isinstance(record, Skip):
                    raise record
                when, row = map_record(record, fmap, table, schema, tz)
            except Skip as skip:
                report.skip(skip.reason, where, skip.detail)
                continue
            writer.add(when, row)
            report.written += 1
            first = when if first is None or when < first else first
            last = when if last is None or when > last else last
            pending += 1
            if pending >= FLUSH_EVERY:
                writer.flush()
                pending = 0
    writer.flush()
    report.folders = len({os.path.dirname(f) for f in writer.files_written})
    if first is not None:
        report.first, report.last = format_time_generated(first), format_time_generated(last)
    return report
