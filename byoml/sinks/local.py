"""Local ``_CL`` sink: ``SINK/<Table>_CL/part-<RunId>-NNNNN.json``, JSON Lines.

The files hold exactly the rows the Log Analytics sink would send. Writing the
same RunId again replaces that run's files, so re-running a scoring window does
not duplicate its rows (the same promise the Log Analytics sink keeps with its ledger).
"""
from __future__ import annotations

import glob
import os
import shutil
import uuid

from ..paths import to_spark_path
from .base import SinkResult
from .rows import to_table_rows

ROWS_PER_FILE = 500_000


class LocalTableSink:
    """Write result rows as JSON Lines under a local folder (or a mounted volume)."""

    def __init__(self, root: str) -> None:
        self.root = os.path.abspath(root)
        self.uri = root

    def table_dir(self, table: str) -> str:
        return os.path.join(self.root, f"{table}_CL")

    def quarantine_dir(self, run_id: str, table: str) -> str:
        return os.path.join(self.root, "_quarantine", run_id, table)

    def write(self, df, table: str, run_id: str, rows: int) -> SinkResult:
        """Write ``df`` (``rows`` rows, already counted by the caller) as table ``table``."""
        out = self.table_dir(table)
        os.makedirs(out, exist_ok=True)
        staging = os.path.join(out, f".staging-{uuid.uuid4().hex}")
        parts = max(1, -(-rows // ROWS_PER_FILE))
        try:
            (
                to_table_rows(df)
                .coalesce(parts)
                .write.mode("overwrite")
                .option("ignoreNullFields", "false")
                .json(to_spark_path(staging))
            )
            for old in glob.glob(os.path.join(out, f"part-{run_id}-*.json")):
                os.remove(old)
            written = sorted(glob.glob(os.path.join(staging, "part-*.json")))
            for index, path in enumerate(written):
                os.replace(path, os.path.join(out, f"part-{run_id}-{index:05d}.json"))
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return SinkResult(rows, out)

    def describe(self) -> str:
        return self.root
