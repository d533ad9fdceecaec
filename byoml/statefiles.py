"""State files that stay correct on object-store mounts (``/Volumes``, ``/dbfs``) as on local disks.

Object stores keep whole objects: a file there cannot be appended to in place, and renaming a
directory is a copy of every file in it, not one atomic step. byoml's state (the model store,
the delivery ledger, the watermark) therefore only ever

* writes a **new file** whose name nothing else uses (:func:`write_new`): one per delivered
  chunk, one per watermark step, one folder of files per model version;
* replaces one **small file** as a whole (:func:`write_json_atomic`: a temporary file, then
  ``os.replace`` of that file): the model's ``CURRENT`` pointer and a spool's manifest.

A reader of numbered steps takes the newest one that parses (:func:`latest_step`), so a step
cut off by a crash counts as not written.
"""
from __future__ import annotations

import json
import os
import re
import uuid
from typing import Any, List, Optional, Tuple

_STEP = re.compile(r"^step-(\d{8})\.json$")


def write_new(path: str, data: bytes) -> None:
    """Create ``path`` with ``data``, durable on return; ``FileExistsError`` if it exists."""
    with open(path, "xb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def write_json_atomic(path: str, data: Any) -> None:
    """Replace the small JSON file ``path`` as a whole (readers see the old or the new one)."""
    tmp = f"{path}.tmp-{uuid.uuid4().hex}"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2, sort_keys=True, default=str)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def steps(folder: str) -> List[Tuple[int, str]]:
    """The ``step-NNNNNNNN.json`` files of ``folder``, oldest first, as (number, path)."""
    if not os.path.isdir(folder):
        return []
    found = [(int(m.group(1)), os.path.join(folder, name)) for name in os.listdir(folder) if (m := _STEP.match(name))]
    return sorted(found)


def latest_step(folder: str) -> Optional[Tuple[int, Any]]:
    """(number, content) of the newest step of ``folder`` that parses, or None."""
    for number, path in reversed(steps(folder)):
        try:
            with open(path, encoding="utf-8") as fh:
                return number, json.load(fh)
        except (OSError, ValueError):
            continue  # cut off by a crash: as if never written
    return None


def write_step(folder: str, data: Any, keep: int = 5) -> str:
    """Write ``data`` as a new step after every existing one; drop all but the newest ``keep``."""
    os.makedirs(folder, exist_ok=True)
    existing = steps(folder)
    number = existing[-1][0] + 1 if existing else 1
    path = os.path.join(folder, f"step-{number:08d}.json")
    write_new(path, json.dumps(data, indent=1, sort_keys=True).encode("utf-8"))
    for _, old in (existing + [(number, path)])[:-keep]:
        try:
            os.remove(old)
        except OSError:
            pass
    return path
