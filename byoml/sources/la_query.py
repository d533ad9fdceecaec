"""``--source la-query://<workspace-id>``: pull a window straight from a workspace (no data export).

Uses ``azure-monitor-query``'s ``LogsQueryClient``, as the Azure Monitor notebooks do, and
stays inside the query API's limits (500,000 rows, 64 MB, 10 minutes per query):

1. one cheap *plan* query counts rows and estimated bytes per time bin
   (``summarize count(), sum(estimate_data_size(*)) by bin(TimeGenerated, ...)``);
2. consecutive bins are merged into slices under ``max_rows`` / ``max_bytes``; a bin over
   the limits is planned again with bins ten times finer;
3. each slice is fetched with ``server_timeout`` (at most 600 s) and streamed to a staging
   JSON Lines file, which the one Spark reader reads.

A partial result (``LogsQueryPartialResult``) is an error, never a success: a window is
scored whole or not at all.

Options (``source:`` section): ``table`` (default: the template's table) or ``query`` (KQL
that yields the table's rows), ``max_rows`` (450000), ``max_bytes`` (50000000),
``slice_minutes`` (60), ``server_timeout`` (600), ``query_endpoint``, ``staging_dir``.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
from dataclasses import dataclass
from typing import Any, List, Mapping, Optional, Sequence, Tuple
from urllib.parse import urlparse

from ..credentials import monitor_credential, redact
from ..errors import ConfigError, SourceError
from ..paths import to_spark_path
from ..timewindow import UTC, TimeWindow, format_time
from .base import ExportSource
from .layout import ExportFile, WalkReport
from .staging import StagingArea

log = logging.getLogger(__name__)

API_MAX_ROWS = 500_000
API_MAX_BYTES = 64 * 1024 * 1024
API_MAX_SECONDS = 600
MIN_BIN = dt.timedelta(seconds=1)
READER_ROLE_HINT = "give the identity the 'Log Analytics Reader' role on the workspace (or a custom role with read on the table)"
_GUID = re.compile(r"^[0-9a-fA-F-]{36}$")


@dataclass(frozen=True)
class Slice:
    start: dt.datetime
    end: dt.datetime
    rows: int
    bytes: int


def kql_time(t: dt.datetime) -> str:
    return f"datetime({format_time(t)})"


def plan_slices(bins: Sequence[Tuple[dt.datetime, int, int]], width: dt.timedelta, window: TimeWindow,
                max_rows: int, max_bytes: int) -> Tuple[List[Slice], List[Tuple[dt.datetime, dt.datetime]]]:
    """Merge consecutive ``(bin start, rows, bytes)`` into slices; returns (slices, bins over the limits).

    Empty stretches between bins are folded into the neighbouring slice so the slices tile the window.
    """
    slices: List[Slice] = []
    too_big: List[Tuple[dt.datetime, dt.datetime]] = []
    cur_start, rows, size = window.start, 0, 0
    for start, n, b in sorted(bins):
        lo, hi = max(start, window.start), min(start + width, window.end)
        if n > max_rows or b > max_bytes:
            if lo > cur_start:
                slices.append(Slice(cur_start, lo, rows, size))
            too_big.append((lo, hi))
            cur_start, rows, size = hi, 0, 0
            continue
        if rows + n > max_rows or size + b > max_bytes:
            slices.append(Slice(cur_start, lo, rows, size))
            cur_start, rows, size = lo, 0, 0
        rows += n
        size += b
    if cur_start < window.end:
        slices.append(Slice(cur_start, window.end, rows, size))
    return slices, too_big


class LogAnalyticsQuerySource(ExportSource):
    """A Log Analytics workspace read through the query API, slice by slice."""

    def __init__(self, workspace_id: str, options: Optional[Mapping[str, Any]] = None, credential=None, client=None) -> None:
        options = dict(options or {})
        if not _GUID.match(workspace_id):
            raise ConfigError(f"la-query://{workspace_id}: the workspace id is a GUID (Log Analytics workspace > Overview)")
        self.workspace_id = workspace_id
        self.uri = f"la-query://{workspace_id}"
        self.table: Optional[str] = options.get("table")
        self.query: Optional[str] = options.get("query")
        self.max_rows = int(options.get("max_rows", 450_000))
        self.max_bytes = int(options.get("max_bytes", 50_000_000))
        self.slice_width = dt.timedelta(minutes=float(options.get("slice_minutes", 60)))
        self.server_timeout = int(options.get("server_timeout", API_MAX_SECONDS))
        if not 0 < self.max_rows <= API_MAX_ROWS or not 0 < self.max_bytes <= API_MAX_BYTES:
            raise ConfigError(f"source.max_rows must be 1..{API_MAX_ROWS:,} and source.max_bytes 1..{API_MAX_BYTES:,}")
        if not 0 < self.server_timeout <= API_MAX_SECONDS:
            raise ConfigError(f"source.server_timeout must be 1..{API_MAX_SECONDS} seconds")
        self.staging_dir = options.get("staging_dir")
        self._staging: Optional[StagingArea] = None
        self.queries: List[str] = []
        self.slices: List[Slice] = []
        if client is None:
            from azure.monitor.query import LogsQueryClient

            kwargs = {}
            if options.get("query_endpoint"):
                kwargs["endpoint"] = options["query_endpoint"]
            if "connection_verify" in options:
                kwargs["connection_verify"] = options["connection_verify"]
            client = LogsQueryClient(credential if credential is not None else monitor_credential(), **kwargs)
        self.client = client

    @classmethod
    def from_uri(cls, uri: str, options: Optional[Mapping[str, Any]] = None) -> "LogAnalyticsQuerySource":
        parsed = urlparse(uri)
        if parsed.path.strip("/") or parsed.query:
            raise ConfigError("la-query:// takes only the workspace id; put table/query in the config's source: section")
        return cls(parsed.netloc, options)

    # -- queries -----------------------------------------------------------
    def _base(self, table: str) -> str:
        if self.query:
            return f"({self.query.strip().rstrip(';')})"
        name = self.table or table
        if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name):
            raise ConfigError(f"table name '{name}' is not a plain identifier; use source.query for KQL")
        return name

    def _run(self, query: str, start: Optional[dt.datetime], end: Optional[dt.datetime], what: str):
        from azure.core.exceptions import AzureError, ClientAuthenticationError, HttpResponseError
        from azure.monitor.query import LogsQueryStatus

        self.queries.append(query)
        timespan = (start, end) if start is not None and end is not None else dt.timedelta(days=31)
        try:
            response = self.client.query_workspace(
                self.workspace_id, query, timespan=timespan, server_timeout=self.server_timeout
            )
        except ClientAuthenticationError as exc:
            raise SourceError(f"{what}: could not sign in to Log Analytics ({redact(str(exc).splitlines()[0])}); "
                              "run 'az login', use a managed identity, or set BYOML_ACCESS_TOKEN") from None
        except HttpResponseError as exc:
            if exc.status_code in (401, 403):
                raise SourceError(f"{what}: HTTP {exc.status_code}, access denied to workspace {self.workspace_id}; "
                                  f"{READER_ROLE_HINT}") from None
            raise SourceError(f"{what}: the query API answered HTTP {exc.status_code}: "
                              f"{redact(str(exc).splitlines()[0])}") from None
        except AzureError as exc:
            raise SourceError(f"{what}: {type(exc).__name__}: {redact(str(exc).splitlines()[0] if str(exc) else '')}") from None
        if response.status == LogsQueryStatus.PARTIAL:
            err = response.partial_error
            detail = f"{getattr(err, 'code', '')}: {getattr(err, 'message', '')}"
            details = getattr(err, "details", None)
            if details:
                detail += " (" + "; ".join(_detail_text(d) for d in details)[:300] + ")"
            raise SourceError(
                f"{what} returned a partial result ({detail}); byoml does not score partial data. Lower "
                "source.max_rows / source.max_bytes or source.slice_minutes, or narrow source.query"
            )
        table = response.tables[0]
        return table

    def _bins(self, base: str, start: dt.datetime, end: dt.datetime, width: dt.timedelta):
        seconds = max(1, int(width.total_seconds()))
        query = (f"{base} | where TimeGenerated >= {kql_time(start)} and TimeGenerated < {kql_time(end)} "
                 f"| summarize Rows=count(), Bytes=sum(estimate_data_size(*)) by bin(TimeGenerated, {seconds}s)")
        table = self._run(query, start, end, f"planning {format_time(start)}..{format_time(end)}")
        idx = {c: i for i, c in enumerate(table.columns)}
        out = []
        for row in table.rows:
            t = row[idx["TimeGenerated"]]
            if isinstance(t, str):
                from ..timewindow import parse_time

                t = parse_time(t)
            out.append((t.astimezone(UTC), int(row[idx["Rows"]] or 0), int(row[idx["Bytes"]] or 0)))
        return out

    def plan(self, table: str, window: TimeWindow) -> List[Slice]:
        """Slices of ``window`` that each stay under the row and byte limits."""
        if not window.bounded:
            raise ConfigError("la-query needs a bounded window: give --start and --end (or neither for the newest day)")
        base = self._base(table)
        todo = [(window, self.slice_width)]
        slices: List[Slice] = []
        while todo:
            part, width = todo.pop()
            planned, too_big = plan_slices(self._bins(base, part.start, part.end, width), width, part,
                                           self.max_rows, self.max_bytes)
            slices.extend(planned)
            for lo, hi in too_big:
                finer = width / 10
                if finer < MIN_BIN:
                    raise SourceError(
                        f"{table} has more than {self.max_rows:,} rows or {self.max_bytes:,} bytes within one second "
                        f"at {format_time(lo)}: the query API cannot return it; narrow source.query"
                    )
                todo.append((TimeWindow(lo, hi), finer))
        return sorted(slices, key=lambda s: s.start)

    # -- the source interface ---------------------------------------------------
    def list_files(self, table: str, window: TimeWindow) -> Tuple[List[ExportFile], WalkReport]:
        """Fetch every slice of ``window`` to a staging file; the 'files' are those."""
        if self._staging is None:
            self._staging = StagingArea(self.staging_dir)
        self.slices = self.plan(table, window)
        base = self._base(table)
        files = []
        for s in self.slices:
            if s.rows == 0:
                continue
            query = f"{base} | where TimeGenerated >= {kql_time(s.start)} and TimeGenerated < {kql_time(s.end)}"
            result = self._run(query, s.start, s.end, f"slice {format_time(s.start)}..{format_time(s.end)}")
            if len(result.rows) >= API_MAX_ROWS:
                raise SourceError(f"slice {format_time(s.start)}..{format_time(s.end)} hit the API's {API_MAX_ROWS:,}-row cap: "
                                  "treated as partial; lower source.max_rows")
            path = self._staging.path_for(f"{table}/{s.start:%Y%m%dT%H%M%S}-{s.end:%Y%m%dT%H%M%S}.json")
            size = _write_rows(path, result.columns, result.rows)
            files.append(ExportFile(path, s.start, size))
        return files, WalkReport()

    def spark_paths(self, files: Sequence[ExportFile]) -> List[str]:
        return [to_spark_path(f.path) for f in files]

    def latest_time(self, table: str) -> Optional[dt.datetime]:
        result = self._run(f"{self._base(table)} | summarize TimeGenerated=max(TimeGenerated)", None, None,
                           "finding the newest record")
        if not result.rows or result.rows[0][0] in (None, ""):
            return None
        value = result.rows[0][0]
        if isinstance(value, str):
            from ..timewindow import parse_time

            value = parse_time(value)
        return value.astimezone(UTC)


def _detail_text(detail: Any) -> str:
    if isinstance(detail, Mapping):
        return str(detail.get("message") or detail.get("code") or detail)
    return str(getattr(detail, "message", None) or getattr(detail, "code", None) or detail)


def _json_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return format_time(value if value.tzinfo else value.replace(tzinfo=UTC))
    if isinstance(value, (dt.timedelta,)):
        return str(value)
    return value


def _write_rows(path: str, columns: Sequence[str], rows) -> int:
    """Write query rows as JSON Lines (the export's record shape); returns bytes written."""
    with open(path, "w", encoding="utf-8") as fh:
        for row in rows:
            record = {c: _json_value(v) for c, v in zip(columns, row) if v is not None}
            fh.write(json.dumps(record, separators=(",", ":"), default=str) + "\n")
    return os.path.getsize(path)
