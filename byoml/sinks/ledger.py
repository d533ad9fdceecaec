"""The delivery ledger: what a RunId sends, frozen once, and which of its chunks arrived.

Log Analytics does not deduplicate, so exactly-once delivery is kept here:

1. the rows of a run are *spooled* once to ``<ledger>/<Table>/<RunId>/chunks.jsonl``,
   one request body per line, then ``manifest.json`` marks the spool complete;
2. each chunk accepted by the service (HTTP 204) gets a new file of its own,
   ``delivered/NNNNNN``, durable before the next one is sent (nothing is appended in place:
   safe on object-store mounts such as ``/Volumes``, see :mod:`byoml.statefiles`).

A rerun of the same window has the same RunId: it finds the complete spool and sends
only the chunks without such a file. The spool, not a recomputation, is the
truth for a RunId, so a rerun sends the same bodies even when scoring is not bit-for-bit
repeatable (``TimeGenerated`` is the run time). A spool without a manifest was cut off
while spooling, before anything was sent, and is rebuilt.
"""
from __future__ import annotations

import json
import os
import shutil
import threading
from typing import Iterable, Iterator, Optional, Set, Tuple

from ..statefiles import write_json_atomic, write_new
from .chunks import Chunk

SPOOL = "chunks.jsonl"
MANIFEST = "manifest.json"
DELIVERED = "delivered"


class Ledger:
    """Spool and delivery record of one (table, RunId)."""

    def __init__(self, root: str, table: str, run_id: str) -> None:
        self.dir = os.path.join(os.path.abspath(root), table, run_id)
        self.table = table
        self.run_id = run_id
        self._lock = threading.Lock()

    # -- the spool -------------------------------------------------------
    def manifest(self) -> Optional[dict]:
        path = os.path.join(self.dir, MANIFEST)
        if not os.path.exists(path):
            return None
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)

    @property
    def spooled(self) -> bool:
        return self.manifest() is not None

    def spool(self, chunks: Iterable[Chunk], info: dict) -> dict:
        """Write every chunk, then the manifest (atomically); returns the manifest."""
        if os.path.exists(self.dir):
            shutil.rmtree(self.dir)  # an incomplete spool: nothing of it was sent
        os.makedirs(self.dir)
        n_chunks = n_rows = 0
        with open(os.path.join(self.dir, SPOOL), "wb") as fh:
            for chunk in chunks:
                fh.write(chunk.body + b"\n")
                n_chunks += 1
                n_rows += chunk.rows
            fh.flush()
            os.fsync(fh.fileno())
        manifest = {**info, "run_id": self.run_id, "table": self.table, "chunks": n_chunks, "rows": n_rows}
        write_json_atomic(os.path.join(self.dir, MANIFEST), manifest)
        return manifest

    def chunks(self) -> Iterator[Chunk]:
        """The spooled chunks in order (read line by line, never all at once)."""
        with open(os.path.join(self.dir, SPOOL), "rb") as fh:
            for index, line in enumerate(fh):
                body = line.rstrip(b"\n")
                yield Chunk(index, _count_rows(body), body)

    # -- deliveries ------------------------------------------------------
    def delivered(self) -> Set[int]:
        folder = os.path.join(self.dir, DELIVERED)
        if not os.path.isdir(folder):
            return set()
        return {int(name) for name in os.listdir(folder) if name.isdigit()}

    def mark_delivered(self, index: int) -> None:
        """Record chunk ``index`` as stored by the service (a new empty file); durable before returning."""
        folder = os.path.join(self.dir, DELIVERED)
        with self._lock:
            os.makedirs(folder, exist_ok=True)
            try:
                write_new(os.path.join(folder, f"{index:06d}"), b"")
            except FileExistsError:  # recorded by an earlier attempt
                pass

    def progress(self) -> Tuple[int, int]:
        """(delivered chunks, total chunks)."""
        manifest = self.manifest() or {}
        return len(self.delivered()), int(manifest.get("chunks", 0))

    def delivered_rows(self) -> int:
        done = self.delivered()
        return sum(c.rows for c in self.chunks() if c.index in done) if self.spooled else 0


def _count_rows(body: bytes) -> int:
    """Rows in a JSON array body (a parse of at most 1 MB, once per chunk)."""
    return len(json.loads(body))


def find_ledger(dir_path: str) -> Optional[Ledger]:
    """Re-open a ledger from its folder (``.../<Table>/<RunId>``), or None."""
    if not os.path.exists(os.path.join(dir_path, MANIFEST)):
        return None
    parent, run_id = os.path.split(os.path.abspath(dir_path))
    root, table = os.path.split(parent)
    return Ledger(root, table, run_id)
