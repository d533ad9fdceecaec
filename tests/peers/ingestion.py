"""An HTTPS server that follows the Logs Ingestion API contract, with scriptable failures.

``POST /dataCollectionRules/{dcr}/streams/{stream}?api-version=2023-01-01`` with a bearer
token and a (gzipped) JSON array body. The server checks what the service checks (token,
DCR id, stream, api-version, JSON array) plus what byoml promises (gzip, body <= 1 MB
before and after compression) and records every violation. Each request takes the next
scripted action, or ``ok``:

* ``("ok",)`` store the rows, answer 204;
* ``("status", code[, headers])`` answer ``code`` without storing (429 + Retry-After, 500, 401, 403...);
* ``("hang", seconds)`` read the request, store nothing, stay silent, then drop the connection.
"""
from __future__ import annotations

import collections
import gzip
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Deque, List, Optional, Tuple
from urllib.parse import parse_qs, urlparse

from .tls import server_context

LIMIT = 1_048_576


@dataclass
class RequestLog:
    path: str
    status: int
    gzipped: bool
    wire_bytes: int
    raw_bytes: int
    rows: int


@dataclass
class IngestionServer:
    cert: str
    key: str
    token: str = "test-token"
    dcr_id: str = "dcr-00000000000000000000000000000001"
    streams: Tuple[str, ...] = ("Custom-Test",)
    script: Deque[tuple] = field(default_factory=collections.deque)
    received: List[dict] = field(default_factory=list)
    requests: List[RequestLog] = field(default_factory=list)
    violations: List[str] = field(default_factory=list)
    on_stored: Optional[Callable[[int], None]] = None  # called with the number of accepted requests

    def __post_init__(self) -> None:
        self.lock = threading.Lock()
        self.accepted = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep pytest output clean
                pass

            def do_POST(self):
                server._handle(self)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.socket = server_context(self.cert, self.key).wrap_socket(self.httpd.socket, server_side=True)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        return f"https://127.0.0.1:{self.httpd.server_address[1]}"

    def start(self) -> "IngestionServer":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def rows_by(self, key: str) -> collections.Counter:
        with self.lock:
            return collections.Counter(row.get(key) for row in self.received)

    # -- the contract ------------------------------------------------------
    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length)
        url = urlparse(h.path)
        parts = url.path.strip("/").split("/")
        gzipped = h.headers.get("Content-Encoding", "").lower() == "gzip"
        with self.lock:
            action = self.script.popleft() if self.script else ("ok",)

        def answer(status: int, code: str = "", message: str = "", headers=None, rows: int = 0, raw: int = 0):
            with self.lock:
                self.requests.append(RequestLog(url.path, status, gzipped, len(body), raw, rows))
            payload = json.dumps({"error": {"code": code, "message": message}}).encode() if code else b""
            h.send_response(status)
            for k, v in (headers or {}).items():
                h.send_header(k, v)
            h.send_header("Content-Length", str(len(payload)))
            if payload:
                h.send_header("Content-Type", "application/json")
            h.end_headers()
            h.wfile.write(payload)

        if len(parts) != 4 or parts[0] != "dataCollectionRules" or parts[2] != "streams":
            return answer(404, "NotFound", f"unknown path {url.path}")
        if parse_qs(url.query).get("api-version") != ["2023-01-01"]:
            self.violations.append(f"api-version {url.query}")
            return answer(400, "InvalidApiVersion", "api-version 2023-01-01 expected")
        if h.headers.get("Authorization") != f"Bearer {self.token}":
            return answer(401, "InvalidToken", "The provided token is invalid or expired.")
        if parts[1] != self.dcr_id:
            return answer(404, "NotFound", f"Data collection rule with immutable Id '{parts[1]}' not found.")
        if parts[3] not in self.streams:
            return answer(404, "InvalidStream", f"Stream '{parts[3]}' is not declared in the DCR.")
        if not gzipped:
            self.violations.append(f"request {len(self.requests)} not gzipped")
        if len(body) > LIMIT:
            self.violations.append(f"request body {len(body)} bytes on the wire")
            return answer(413, "ContentLengthLimitExceeded", "Maximum allowed content length: 1048576 bytes (1 MB).")
        raw = gzip.decompress(body) if gzipped else body
        if len(raw) > LIMIT:
            self.violations.append(f"request body {len(raw)} bytes uncompressed")
            return answer(413, "ContentLengthLimitExceeded", "Maximum allowed content length: 1048576 bytes (1 MB).")
        try:
            rows = json.loads(raw)
            assert isinstance(rows, list)
        except Exception:
            self.violations.append("body is not a JSON array")
            return answer(400, "InvalidContent", "The request body is not a JSON array.")

        kind = action[0]
        if kind == "hang":
            with self.lock:
                self.requests.append(RequestLog(url.path, 0, gzipped, len(body), len(raw), len(rows)))
            time.sleep(action[1])
            h.close_connection = True
            try:
                h.connection.close()
            except OSError:
                pass
            return None
        if kind == "status":
            status = action[1]
            headers = action[2] if len(action) > 2 else {}
            code = {429: "TooManyRequests", 403: "OperationFailed", 401: "InvalidToken"}.get(status, "ServerError")
            message = {
                403: f"The authentication token provided does not have access to ingest data for the data "
                     f"collection rule with immutable Id '{self.dcr_id}'.",
            }.get(status, f"scripted {status}")
            return answer(status, code, message, headers)
        with self.lock:
            self.received.extend(rows)
            self.accepted += 1
            accepted = self.accepted
        if self.on_stored is not None:  # before the 204, so the client's next request sees its effect
            self.on_stored(accepted)
        answer(204, rows=len(rows), raw=len(raw))
