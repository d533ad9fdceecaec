"""An HTTPS server following the Log Analytics query API (``POST /v1/workspaces/{id}/query``).

It answers the request shapes byoml sends (plan, slice, newest-record queries) from an
in-memory table, in the API's response shape (``tables[].columns[{name,type}]``, ``rows``),
and applies the service's result limit: a result over ``max_rows`` rows comes back
truncated with an ``error`` object, which the SDK turns into a ``LogsQueryPartialResult``.
"""
from __future__ import annotations

import datetime as dt
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import List

from byoml.timewindow import parse_time

from .tls import server_context

_T = r"datetime\(([^)]+)\)"
WHERE = re.compile(rf"^(\w+) \| where TimeGenerated >= {_T} and TimeGenerated < {_T}$")
PLAN = re.compile(rf"^(\w+) \| where TimeGenerated >= {_T} and TimeGenerated < {_T} "
                  r"\| summarize Rows=count\(\), Bytes=sum\(estimate_data_size\(\*\)\) by bin\(TimeGenerated, (\d+)s\)$")
LATEST = re.compile(r"^(\w+) \| summarize TimeGenerated=max\(TimeGenerated\)$")


@dataclass
class QueryServer:
    cert: str
    key: str
    workspace_id: str
    records: List[dict]
    table: str = "SecurityEvent"
    token: str = "test-token"
    max_rows: int = 500_000
    queries: List[dict] = field(default_factory=list)

    def __post_init__(self) -> None:
        server = self
        self._times = [parse_time(r["TimeGenerated"]) for r in self.records]

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                status, payload = server._answer(self)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.socket = server_context(self.cert, self.key).wrap_socket(self.httpd.socket, server_side=True)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def endpoint(self) -> str:
        return f"https://127.0.0.1:{self.httpd.server_address[1]}"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def _answer(self, h):
        body = json.loads(h.rfile.read(int(h.headers.get("Content-Length") or 0)))
        if not re.fullmatch(rf"/v1/workspaces/{self.workspace_id}/query", h.path.split("?")[0]):
            return 404, {"error": {"code": "PathNotFoundError", "message": f"unknown path {h.path}"}}
        if h.headers.get("Authorization") != f"Bearer {self.token}":
            return 401, {"error": {"code": "AuthorizationRequiredError", "message": "Valid authentication was not provided"}}
        query, timespan = body.get("query", ""), body.get("timespan")
        self.queries.append({"query": query, "timespan": timespan, "prefer": h.headers.get("Prefer")})
        lo = hi = None
        if timespan and "/" in timespan:
            a, b = timespan.split("/")
            lo = parse_time(a)
            hi = parse_time(b) if not b.startswith("P") else None
        m = PLAN.match(query)
        if m:
            start, end, width = parse_time(m.group(2)), parse_time(m.group(3)), int(m.group(4))
            bins = {}
            for rec, t in zip(self.records, self._times):
                if start <= t < end and (lo is None or t >= lo) and (hi is None or t < hi):
                    key = int(t.timestamp()) // width * width
                    n, b = bins.get(key, (0, 0))
                    bins[key] = (n + 1, b + len(json.dumps(rec)))
            rows = [[dt.datetime.fromtimestamp(k, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), n, b]
                    for k, (n, b) in sorted(bins.items())]
            return 200, self._table([("TimeGenerated", "datetime"), ("Rows", "long"), ("Bytes", "long")], rows)
        m = WHERE.match(query)
        if m:
            start, end = parse_time(m.group(2)), parse_time(m.group(3))
            chosen = [r for r, t in zip(self.records, self._times) if start <= t < end]
            columns = sorted({k for r in self.records for k in r}, key=lambda c: (c != "TimeGenerated", c))
            types = [(c, "datetime" if c == "TimeGenerated" else "int" if c == "EventID" else "string") for c in columns]
            rows = [[r.get(c) for c in columns] for r in chosen]
            payload = self._table(types, rows[: self.max_rows])
            if len(rows) > self.max_rows:
                payload["error"] = {
                    "code": "PartialError", "message": "There were some errors when processing your query.",
                    "details": [{"code": "EngineError", "message": "Query result set has exceeded the internal record "
                                 f"count limit {self.max_rows} records", "innererror": {"code": "E_QUERY_RESULT_SET_TOO_LARGE"}}],
                }
            return 200, payload
        m = LATEST.match(query)
        if m:
            latest = max(self._times).strftime("%Y-%m-%dT%H:%M:%S.%fZ") if self._times else None
            return 200, self._table([("TimeGenerated", "datetime")], [[latest]])
        return 400, {"error": {"code": "BadArgumentError", "message": f"the stand-in does not know this query: {query}"}}

    @staticmethod
    def _table(columns, rows):
        return {"tables": [{"name": "PrimaryResult", "columns": [{"name": n, "type": t} for n, t in columns], "rows": rows}]}
