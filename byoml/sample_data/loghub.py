"""A loghub log as a ``Syslog`` export, and its ground truth, to measure grouping accuracy.

``byoml sample-data --template log-patterns --from-loghub Linux_2k.log_structured.csv --out DIR``
writes one ``Syslog`` record per line of a loghub ``*_structured.csv`` (``SyslogMessage`` =
``Content``), in the original order, spread evenly over ``days`` days, and ``labels.json`` of
kind ``loghub`` with each record's true ``EventId``. ``EventOriginId`` is derived from the
``LineId`` (:func:`origin_id`), so ``byoml evaluate --labels`` also takes the CSV itself.
"""
from __future__ import annotations

import csv
import datetime as dt
import json
import os
import uuid
from typing import Dict, List

from ..errors import ConfigError
from ..timewindow import UTC, format_time
from .export_writer import ExportWriter, format_time_generated, workspace_resource_id

LOGHUB_NAMESPACE = uuid.UUID("0b7f4c1e-61a5-4c52-9d1e-7a2f3c9b8e10")
NEEDED = ("LineId", "Content", "EventId")


def origin_id(line_id: str) -> str:
    """The ``EventOriginId`` of a loghub line."""
    return str(uuid.uuid5(LOGHUB_NAMESPACE, str(line_id).strip()))


def read_structured(path: str) -> List[Dict[str, str]]:
    """The rows of a loghub ``*_structured.csv``; a clear error when it is not one."""
    if not os.path.isfile(path):
        raise ConfigError(f"--from-loghub: no file {path} (give a loghub *_structured.csv)")
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in NEEDED if c not in (reader.fieldnames or [])]
        if missing:
            raise ConfigError(f"{path} is not a loghub structured CSV: it has no column(s) {', '.join(missing)}")
        rows = list(reader)
    if not rows:
        raise ConfigError(f"{path} holds no lines")
    return rows


def loghub_labels(path: str) -> dict:
    """Labels of kind ``loghub`` straight from a structured CSV (what ``generate_from_loghub`` writes)."""
    rows = read_structured(path)
    return {"kind": "loghub", "dataset": os.path.basename(path).split("_")[0], "source": os.path.basename(path),
            "truth": {origin_id(r["LineId"]): r["EventId"] for r in rows}}


def generate_from_loghub(out_dir: str, path: str, days: int = 2, end: dt.datetime = dt.datetime(2026, 11, 3, tzinfo=UTC),
                         layout: str = "hourly", max_lines_per_blob: int = 50_000) -> dict:
    """Write the lines of ``path`` as a Syslog export under ``out_dir``; return (and write) the labels."""
    rows = read_structured(path)
    if days < 1:
        raise ConfigError("--days must be at least 1")
    dataset = os.path.basename(path).split("_")[0]
    start = end - dt.timedelta(days=days)
    step = days * 86400.0 / len(rows)
    writer = ExportWriter(out_dir, "Syslog", workspace_resource_id("00000000-0000-0000-0000-000000000000", "rg-loghub",
                                                                  "law-loghub"), layout, max_lines_per_blob)
    tenant = str(uuid.uuid5(LOGHUB_NAMESPACE, dataset))
    for i, row in enumerate(rows):
        when = start + dt.timedelta(seconds=i * step)
        writer.add(when, {
            "TenantId": tenant, "TimeGenerated": format_time_generated(when), "SourceSystem": "Linux",
            "Computer": f"{dataset.lower()}.loghub", "Facility": "user", "SeverityLevel": (row.get("Level") or "info").lower(),
            "ProcessName": row.get("Component") or dataset, "SyslogMessage": row["Content"],
            "EventOriginId": origin_id(row["LineId"]), "Type": "Syslog",
        })
    writer.flush()
    labels = {
        **loghub_labels(path),
        "table": "Syslog",
        "generator": "byoml.sample_data.loghub",
        "train_window": {"start": format_time(start), "end": format_time(end)},
        "score_window": {"start": format_time(start), "end": format_time(end)},
        "counts": {"rows": len(rows), "events": len({r["EventId"] for r in rows})},
    }
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "labels.json"), "w", encoding="utf-8") as fh:
        json.dump(labels, fh)
    return labels
