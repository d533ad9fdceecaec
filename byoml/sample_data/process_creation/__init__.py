"""A realistic SecurityEvent 4688 (process creation) export of a Windows estate, with masquerades.

Per tenant, a few hundred computers (:mod:`.estate`): Windows 10 and 11 workstations with a user
each, servers by role (domain controllers, file, SQL, web, application servers; two on Server 2012
R2, whose 4688 has no parent), and what each has installed (Office, browsers, per-user installs of
Teams, Zoom, Slack, OneDrive and VS Code under ``AppData``, developers' and DBAs' tools, 32-bit
software). Every day (:mod:`.behaviour`): boots with the real sequence (smss -> csrss / wininit /
winlogon -> services / lsass -> svchost...), logons (userinit -> explorer), applications and their
children, what Windows, Defender, the monitoring agent and the updaters run in the background,
servicing from WinSxS and ``Windows\\Temp\\{GUID}``, and the servers' work; 4689 records share the
table. Benign look-alikes that a detector must leave alone: the SysWOW64 copies of Windows
binaries, vendor binaries named like Windows ones (``Ssms.exe``, ``Notepad2.exe``,
``Explorer++.exe``), per-user installs and Windows binaries one edit from each other.

On the scoring day (the last), masquerades of every kind of :mod:`.incidents` are injected (some
also ran on days before). ``labels.json`` lists every injected (computer, process path) row with its
kind and the reason expected, and the benign look-alike rows of the scoring day; every other scored
row is normal. Records are written in the export layout by :class:`..export_writer.ExportWriter`.
"""
from __future__ import annotations

import collections
import datetime as dt
import json
import os
from typing import Dict, List, Tuple

from ...timewindow import format_time
from ..export_writer import ExportWriter, format_time_generated
from .behaviour import computer_day
from .estate import Estate, ProcessSampleConfig
from .incidents import KINDS, REASON, benign_kind, plan_incidents
from .rendering import Emitter

__all__ = ["KINDS", "REASON", "ProcessSampleConfig", "generate_process_creation"]


def _malformed(writer: ExportWriter, at: dt.datetime, n: int) -> None:
    samples = ['{"TenantId":"x","TimeGenerated":"2026-1', "not json at all",
               '{"EventID":"4688x","TimeGenerated":"' + format_time_generated(at) + '","Type":"SecurityEvent"}']
    for k in range(n):
        writer.add_line(at + dt.timedelta(minutes=k), samples[k % len(samples)])
    writer.flush()


def generate_process_creation(out_dir: str, **options) -> dict:
    """Write a SecurityEvent 4688 export under ``out_dir`` and its ``labels.json``; return the labels.

    >>> labels = generate_process_creation("/tmp/proc", computers=60, days=5, seed=1)  # doctest: +SKIP
    """
    cfg = ProcessSampleConfig(**options)
    g = Estate(cfg)
    os.makedirs(out_dir, exist_ok=True)
    sizes = [cfg.computers] + [max(40, cfg.computers // 3)] * (cfg.tenants - 1)
    tenants = [g.build_tenant(i, n) for i, n in enumerate(sizes)]
    score_day = cfg.days
    plans = {t.tenant_id: plan_incidents(g, t, score_day, cfg.incidents_per_kind) for t in tenants}
    writers = {t.tenant_id: ExportWriter(out_dir, "SecurityEvent", t.resource_id, cfg.layout, cfg.max_lines_per_blob)
               for t in tenants}
    counts: Dict[str, int] = collections.defaultdict(int)
    benign: Dict[Tuple[str, str, str], str] = {}
    for day in range(cfg.days + 1):
        for t in tenants:
            events: List[Tuple[dt.datetime, dict]] = []
            plan = plans[t.tenant_id]
            for c in t.computers:
                e = Emitter(g, t, c, events)
                computer_day(g, t, c, day, e)
                for run in plan.runs.get((day, c.name), []):
                    run(e)
                if day == score_day:
                    for path, tag in e.paths.items():
                        kind = None if tag else benign_kind(path)
                        if kind:
                            benign[(t.tenant_id, c.name, path)] = kind
            events.sort(key=lambda item: item[0])
            w = writers[t.tenant_id]
            for when, rec in events:
                w.add(when, rec)
                counts["events"] += 1
                counts["process_creations"] += rec["EventID"] == 4688
                if g.rng.random() < cfg.duplicate_rate:  # an export retry: the same record again
                    w.add(when, rec)
                    counts["duplicates"] += 1
            w.flush()
    if cfg.malformed_lines:
        _malformed(writers[tenants[0].tenant_id], g.day_start(score_day) + dt.timedelta(hours=6), cfg.malformed_lines)
        counts["malformed"] = cfg.malformed_lines
    rows = [row for t in tenants for row in plans[t.tenant_id].labels]
    rows += [{"TenantId": tid, "Computer": comp, "ProcessPath": path, "kind": kind, "label": 0, "reason": "",
              "imitated": ""} for (tid, comp, path), kind in sorted(benign.items())]
    incidents = [dict(i, TenantId=t.tenant_id) for t in tenants for i in plans[t.tenant_id].incidents]
    by_kind = collections.Counter(r["kind"] for r in rows)
    labels = {
        "kind": "process-creation",
        "table": "SecurityEvent",
        "generator": "byoml.sample_data.process_creation",
        "seed": cfg.seed,
        "train_window": {"start": format_time(g.day_start(0)), "end": format_time(g.day_start(score_day))},
        "score_window": {"start": format_time(g.day_start(score_day)), "end": format_time(g.day_start(score_day + 1))},
        "tenants": [t.tenant_id for t in tenants],
        "counts": {**counts, "computers": sum(len(t.computers) for t in tenants),
                   "masquerade_rows": sum(r["label"] for r in rows), **{f"rows_{k}": n for k, n in sorted(by_kind.items())}},
        "kinds": list(KINDS),
        "reasons": dict(REASON),
        "incidents": incidents,
        "rows": rows,
    }
    with open(os.path.join(out_dir, "labels.json"), "w", encoding="utf-8") as fh:
        json.dump(labels, fh, indent=1, ensure_ascii=False)
    return labels
