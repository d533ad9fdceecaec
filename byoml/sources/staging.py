"""A local staging folder for remote data, so every source reads through the one Spark reader.

Remote bytes (Blob ranges, Event Hubs bodies, query results) are streamed to files here
and never held as a table on the driver. On Databricks, set ``source: staging_dir`` to a
path every node sees (``/dbfs/...`` or ``/Volumes/...``). The folder is removed when the
process exits unless ``keep`` is set.
"""
from __future__ import annotations

import atexit
import os
import re
import shutil
import tempfile
from typing import Optional

_UNSAFE = re.compile(r"[^A-Za-z0-9=._-]+")


class StagingArea:
    """One folder of staged files for one source."""

    def __init__(self, root: Optional[str] = None, keep: bool = False) -> None:
        if root:
            os.makedirs(root, exist_ok=True)
            self.dir = tempfile.mkdtemp(prefix="byoml-staging-", dir=root)
        else:
            self.dir = tempfile.mkdtemp(prefix="byoml-staging-")
        if not keep:
            atexit.register(shutil.rmtree, self.dir, True)

    def path_for(self, name: str, offset: int = 0, suffix: str = ".json") -> str:
        """A file path mirroring ``name`` (a blob path) inside the staging folder."""
        parts = [_UNSAFE.sub("_", p) or "_" for p in name.split("/") if p]
        leaf = parts[-1] if parts else "file"
        stem, _, _ext = leaf.rpartition(".")
        leaf = f"{stem or leaf}.from-{offset}{suffix}" if offset else (leaf if leaf.endswith(suffix) else leaf + suffix)
        path = os.path.join(self.dir, *parts[:-1], leaf)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        return path

def truncate_to_last_newline(path: str, block: int = 65536) -> int:
    """Cut ``path`` after its last newline (a line still being appended is read next time); returns its size."""
    size = os.path.getsize(path)
    if size == 0:
        return 0
    with open(path, "rb+") as fh:
        pos = size
        while pos > 0:
            start = max(0, pos - block)
            fh.seek(start)
            data = fh.read(pos - start)
            idx = data.rfind(b"\n")
            if idx >= 0:
                keep = start + idx + 1
                if keep != size:
                    fh.truncate(keep)
                return keep
            pos = start
        fh.truncate(0)
        return 0
