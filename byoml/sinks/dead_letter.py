"""Dead letters: chunks the service still refused after retries, kept with the reason.

One JSON file per chunk, ``<dir>/<Table>/<RunId>-<chunk>.json``::

    {"reason": "...", "status": 503, "endpoint": ..., "dcr_id": ..., "stream": ...,
     "table": ..., "run_id": ..., "chunk": 7, "rows": 812, "ledger": "<ledger dir>",
     "failed_at": "...", "attempts": 1, "logs": [ ...the exact rows... ]}

``byoml replay DIR`` sends them again (:func:`byoml.sinks.log_analytics.replay`). No
credential or token is ever written here.
"""
from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass
from typing import Iterator, Optional

from ..timewindow import UTC, format_time


@dataclass
class DeadLetter:
    """One dead-lettered chunk on disk."""

    path: str
    meta: dict
    body: bytes

    @property
    def rows(self) -> int:
        return int(self.meta.get("rows", 0))


def letter_path(root: str, table: str, run_id: str, chunk: int) -> str:
    return os.path.join(os.path.abspath(root), table, f"{run_id}-{chunk:05d}.json")


def write_letter(root: str, meta: dict, body: bytes) -> str:
    """Write (or overwrite) the dead letter of ``meta['chunk']`` atomically; returns its path."""
    path = letter_path(root, meta["table"], meta["run_id"], int(meta["chunk"]))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    previous = read_letter(path) if os.path.exists(path) else None
    meta = {**meta, "failed_at": format_time(dt.datetime.now(UTC)),
            "attempts": (previous.meta.get("attempts", 0) if previous else 0) + 1}
    head = json.dumps(meta, indent=1)[:-2]  # the object without its closing brace
    tmp = path + ".tmp"
    with open(tmp, "wb") as fh:
        fh.write(head.encode("utf-8") + b',\n "logs": ' + body + b"\n}\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return path


def read_letter(path: str) -> DeadLetter:
    with open(path, encoding="utf-8") as fh:
        data = json.load(fh)
    logs = data.pop("logs")
    body = json.dumps(logs, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return DeadLetter(path, data, body)


def iter_letters(root: str) -> Iterator[DeadLetter]:
    """Every dead letter under ``root`` (a dead-letter folder, a table folder, or one file)."""
    if os.path.isfile(root):
        yield read_letter(root)
        return
    for folder, _dirs, files in sorted(os.walk(root)):
        for name in sorted(files):
            if name.endswith(".json") and not name.endswith(".tmp"):
                yield read_letter(os.path.join(folder, name))


def remove_letter(root: str, table: str, run_id: str, chunk: int) -> Optional[str]:
    path = letter_path(root, table, run_id, chunk)
    if os.path.exists(path):
        os.remove(path)
        return path
    return None
