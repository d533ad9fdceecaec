"""Headless Chromium (Debian ``chromium``) driven over the DevTools protocol.

:func:`open_page` loads a page and returns what the browser said about it: console
messages (``Runtime.consoleAPICalled``), uncaught exceptions (``Runtime.exceptionThrown``)
and browser log entries (``Log.entryAdded``: failed loads, CSP and network errors), plus
the values of JavaScript expressions evaluated once the page has loaded and settled.

Chromium runs with its background networking off: the only page it loads is the one given.
"""
from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional

CANDIDATES = ("chromium", "chromium-browser", "google-chrome")
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
    "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-extensions",
    "--disable-default-apps", "--disable-domain-reliability", "--disable-client-side-phishing-detection",
    "--metrics-recording-only", "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
    "--window-size=1300,1800",
)


def find_chromium() -> Optional[str]:
    """Path of a Chromium binary, or None."""
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


@dataclass
class PageReport:
    """What the browser reported while loading and rendering a page."""

    console: List[Dict[str, Any]] = field(default_factory=list)  # {"type", "text"}
    exceptions: List[str] = field(default_factory=list)
    log: List[Dict[str, Any]] = field(default_factory=list)  # {"level", "source", "text", "url"}
    values: Dict[str, Any] = field(default_factory=dict)

    @property
    def errors(self) -> List[str]:
        """Every console error, uncaught exception and error-level log entry, as text."""
        out = [f"console.{c['type']}: {c['text']}" for c in self.console if c["type"] in ("error", "assert")]
        out += [f"exception: {e}" for e in self.exceptions]
        out += [f"log {e['source']}: {e['text']} {e.get('url', '')}".strip() for e in self.log if e["level"] == "error"]
        return out


class _Session:
    """A DevTools websocket: numbered commands, events kept in arrival order."""

    def __init__(self, ws_url: str, timeout: float) -> None:
        import websocket  # websocket-client

        self.ws = websocket.create_connection(ws_url, timeout=timeout, suppress_origin=True)
        self.ids = itertools.count(1)
        self.events: List[Mapping[str, Any]] = []

    def send(self, method: str, params: Optional[Mapping[str, Any]] = None, timeout: float = 30.0) -> Mapping[str, Any]:
        msg_id = next(self.ids)
        self.ws.send(json.dumps({"id": msg_id, "method": method, "params": dict(params or {})}))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == msg_id:
                if "error" in msg:
                    raise RuntimeError(f"DevTools {method}: {msg['error']}")
                return msg.get("result", {})
            if "method" in msg:
                self.events.append(msg)
        raise TimeoutError(f"DevTools {method}: no answer in {timeout:.0f}s")

    def wait_for(self, method: str, timeout: float) -> None:
        if any(e["method"] == method for e in self.events):
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.ws.settimeout(max(0.1, deadline - time.monotonic()))
            msg = json.loads(self.ws.recv())
            if "method" in msg:
                self.events.append(msg)
                if msg["method"] == method:
                    return
        raise TimeoutError(f"no {method} in {timeout:.0f}s")

    def drain(self, seconds: float) -> None:
        """Keep reading events for ``seconds`` (late console messages, async exceptions)."""
        import websocket

        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.ws.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                msg = json.loads(self.ws.recv())
            except websocket.WebSocketTimeoutException:
                return
            if "method" in msg:
                self.events.append(msg)

    def close(self) -> None:
        self.ws.close()


def _console_text(params: Mapping[str, Any]) -> str:
    parts = []
    for arg in params.get("args", []):
        parts.append(str(arg.get("value", arg.get("description", arg.get("type", "")))))
    return " ".join(parts)


def open_page(url: str, expressions: Optional[Mapping[str, str]] = None, settle: float = 1.5,
              timeout: float = 90.0, binary: Optional[str] = None) -> PageReport:
    """Load ``url`` in headless Chromium; return its console, exceptions, log and ``expressions`` values."""
    binary = binary or find_chromium()
    if not binary:
        raise FileNotFoundError("chromium is not installed (Debian: apt-get install -y chromium)")
    profile = tempfile.mkdtemp(prefix="byoml-chromium-")
    proc = subprocess.Popen([binary, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    session = None
    try:
        port = _devtools_port(profile, proc, timeout)
        targets = _targets(port, timeout)
        page = next(t for t in targets if t.get("type") == "page")
        session = _Session(page["webSocketDebuggerUrl"], timeout)
        for domain in ("Runtime.enable", "Log.enable", "Page.enable"):
            session.send(domain)
        session.send("Page.navigate", {"url": url})
        session.wait_for("Page.loadEventFired", timeout)
        session.drain(settle)
        values = {}
        for name, expression in (expressions or {}).items():
            result = session.send("Runtime.evaluate", {"expression": expression, "returnByValue": True})
            if "exceptionDetails" in result:
                values[name] = RuntimeError(result["exceptionDetails"].get("text", "evaluation failed"))
            else:
                values[name] = result.get("result", {}).get("value")
        session.drain(0.2)
        report = PageReport(values=values)
        for event in session.events:
            params = event.get("params", {})
            if event["method"] == "Runtime.consoleAPICalled":
                report.console.append({"type": params.get("type"), "text": _console_text(params)})
            elif event["method"] == "Runtime.exceptionThrown":
                details = params.get("exceptionDetails", {})
                exc = details.get("exception", {})
                report.exceptions.append(exc.get("description") or details.get("text", "exception"))
            elif event["method"] == "Log.entryAdded":
                entry = params.get("entry", {})
                report.log.append({k: entry.get(k) for k in ("level", "source", "text", "url")})
        return report
    finally:
        if session is not None:
            session.close()
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(profile, ignore_errors=True)


def _devtools_port(profile: str, proc: subprocess.Popen, timeout: float) -> int:
    marker = os.path.join(profile, "DevToolsActivePort")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"chromium exited with code {proc.returncode} before DevTools started")
        if os.path.exists(marker):
            with open(marker, encoding="utf-8") as fh:
                first = fh.readline().strip()
            if first.isdigit():
                return int(first)
        time.sleep(0.1)
    raise TimeoutError(f"chromium did not open a DevTools port in {timeout:.0f}s")


def _targets(port: int, timeout: float) -> List[Mapping[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        try:
            opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: never a proxy
            with opener.open(f"http://127.0.0.1:{port}/json/list", timeout=5) as resp:
                targets = json.load(resp)
            if any(t.get("type") == "page" for t in targets):
                return targets
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError("chromium lists no page target")
        time.sleep(0.1)
