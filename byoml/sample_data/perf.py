"""A realistic ``Perf`` export (Windows performance counters per computer) with labelled anomaly windows.

Gauges, not volumes: the series ``series-decompose`` meets on the ``Perf`` table with
``templates/examples/config-perf.yaml`` (``CounterValue`` averaged per ``Computer``,
``ObjectName``, ``CounterName`` and ``InstanceName``). Each computer has a role (web, app,
sql, domain controller) that sets its rhythm, and reports every ``interval_minutes``:

* ``Processor / % Processor Time / _Total``: business-hours load, bounded 0..100, and on some
  computers a nightly job that spikes at the same hour every day (seasonal, not an anomaly);
* ``Memory / Available MBytes``: a level that wanders slowly;
* ``LogicalDisk / % Free Space / C:``: a slow decline, with a clean-up every few days;
* ``LogicalDisk / Avg. Disk sec/Transfer / C:``: latency with routine heavy-tailed spikes;
* ``Network Adapter / Bytes Received/sec / <adapter>``: traffic with a daily rhythm.

In the scoring days incidents are injected, each written to ``labels.json`` with its series:
a runaway process (CPU pinned high), a memory leak (available memory falls), a disk that
fills (free space drops), a storage stall (latency far above its usual spikes), and an agent
that stops reporting (every counter of the computer is missing for hours).
"""
from __future__ import annotations

import datetime as dt
import json
import os
import uuid
from dataclasses import dataclass
from typing import Dict, List, Tuple

import numpy as np

from ..timewindow import UTC, format_time
from .export_writer import ExportWriter, format_time_generated, workspace_resource_id

ROLES = ("web", "app", "sql", "dc")
COUNTERS: Tuple[Tuple[str, str, str], ...] = (
    ("Processor", "% Processor Time", "_Total"),
    ("Memory", "Available MBytes", ""),
    ("LogicalDisk", "% Free Space", "C:"),
    ("LogicalDisk", "Avg. Disk sec/Transfer", "C:"),
    ("Network Adapter", "Bytes Received/sec", "Microsoft Hyper-V Network Adapter"),
)
INCIDENTS = ("cpu_runaway", "memory_leak", "disk_fill", "storage_stall", "agent_down")
KEY = ["Computer", "ObjectName", "CounterName", "InstanceName"]


@dataclass
class PerfConfig:
    computers: int = 12
    days: int = 28
    score_days: int = 2
    seed: int = 7
    end: dt.datetime = dt.datetime(2026, 11, 3, tzinfo=UTC)
    layout: str = "hourly"
    interval_minutes: int = 15
    incidents: int = 5


def _computer_names(n: int) -> List[Tuple[str, str]]:
    return [(f"{ROLES[i % len(ROLES)]}-{i // len(ROLES) + 1:02d}.contoso.local", ROLES[i % len(ROLES)]) for i in range(n)]


def _business_hours(hour: np.ndarray, dow: np.ndarray) -> np.ndarray:
    """0..1: the share of a working day's load at each time (nights and weekends low)."""
    day = np.clip(np.sin((hour - 7.0) / 12.0 * np.pi), 0.0, None)
    return np.where(dow >= 5, 0.25 * day, day)


def simulate(rng: np.random.Generator, role: str, t: np.ndarray, start: dt.datetime, step_s: int) -> Dict[tuple, np.ndarray]:
    """Normal values of every counter of one computer at the sample times ``t`` (seconds from ``start``)."""
    when = np.array([start + dt.timedelta(seconds=int(s)) for s in t])
    hour = np.array([w.hour + w.minute / 60.0 for w in when])
    dow = np.array([w.weekday() for w in when])
    busy = _business_hours(hour, dow)
    n = len(t)
    base, peak = {"web": (8, 45), "app": (12, 55), "sql": (20, 60), "dc": (4, 15)}[role]
    cpu = base + (peak - base) * busy * rng.uniform(0.7, 1.1) + rng.gamma(2.0, 1.5, n)
    if rng.random() < 0.5:  # a nightly job at a fixed hour
        job_hour = int(rng.integers(0, 5))
        cpu = np.where(np.floor(hour) == job_hour, cpu + rng.uniform(30, 45), cpu)
    cpu = np.clip(cpu, 0.5, 100.0)
    ram = {"web": 8192, "app": 16384, "sql": 32768, "dc": 4096}[role]
    used = ram * (rng.uniform(0.35, 0.6) + 0.1 * busy) + np.cumsum(rng.normal(0, ram * 0.0015, n))
    available = np.clip(ram - used, ram * 0.05, ram)
    lost = rng.uniform(0.3, 1.2) * t / 86400.0  # points of free space written per day...
    cleaned = rng.uniform(2.0, 4.0)  # ...until a clean-up gives this much back
    free = np.clip(rng.uniform(35, 70) - np.mod(lost, cleaned) + rng.normal(0, 0.05, n), 1.0, 99.0)
    latency = rng.lognormal(np.log(0.004), 0.35, n) * (1 + busy)
    bursts = rng.random(n) < 0.01
    latency = np.where(bursts, latency * rng.uniform(3, 6, n), latency)
    net = {"web": 4e6, "app": 2e6, "sql": 6e6, "dc": 5e5}[role] * (0.15 + busy) * rng.lognormal(0, 0.15, n)
    return dict(zip(COUNTERS, (cpu, available, free, latency, net)))


def _inject(kind: str, values: Dict[tuple, np.ndarray], present: np.ndarray, at: int, n: int,
            per_hour: int, rng: np.random.Generator) -> Tuple[List[tuple], int]:
    """Change the values of one computer from sample ``at`` on; returns the counters affected and the end."""
    if kind == "cpu_runaway":
        end = min(n, at + int(rng.integers(4, 10)) * per_hour)
        values[COUNTERS[0]][at:end] = np.clip(rng.uniform(92, 99) + rng.normal(0, 1.5, end - at), 0, 100)
        return [COUNTERS[0]], end
    if kind == "memory_leak":
        end = min(n, at + int(rng.integers(6, 12)) * per_hour)
        ram = values[COUNTERS[1]][at]
        values[COUNTERS[1]][at:end] *= np.linspace(1.0, 0.08, end - at)
        values[COUNTERS[1]][end:] = ram * 0.08
        return [COUNTERS[1]], n
    if kind == "disk_fill":
        values[COUNTERS[2]][at:] = np.clip(values[COUNTERS[2]][at:] - rng.uniform(20, 30), 0.5, 100)
        return [COUNTERS[2]], n
    if kind == "storage_stall":
        end = min(n, at + int(rng.integers(1, 3)) * per_hour)
        values[COUNTERS[3]][at:end] *= rng.uniform(25, 40)
        return [COUNTERS[3]], end
    end = min(n, at + int(rng.integers(3, 7)) * per_hour)  # agent_down
    present[at:end] = False
    return list(COUNTERS), end


def generate_perf(out_dir: str, **options) -> dict:
    """Write a Perf export under ``out_dir`` and ``labels.json``; return the labels."""
    cfg = PerfConfig(**options)
    rng = np.random.default_rng(cfg.seed)
    total_days = cfg.days + cfg.score_days
    start = cfg.end - dt.timedelta(days=total_days)
    step = cfg.interval_minutes * 60
    t = np.arange(0, total_days * 86400, step)
    per_hour = 3600 // step
    score_from = cfg.days * 86400 // step
    tenant_id = str(uuid.UUID(bytes=rng.bytes(16), version=4))
    resource_id = workspace_resource_id(str(uuid.UUID(bytes=rng.bytes(16), version=4)), "rg-ops", "law-ops")
    writer = ExportWriter(out_dir, "Perf", resource_id, cfg.layout)
    computers = _computer_names(cfg.computers)
    hit = rng.choice(len(computers), size=min(cfg.incidents, len(computers)), replace=False).tolist()
    windows: List[dict] = []
    rows = 0
    for idx, (computer, role) in enumerate(computers):
        values = simulate(rng, role, t, start, step)
        present = np.ones(len(t), dtype=bool)
        if idx in hit:
            kind = INCIDENTS[hit.index(idx) % len(INCIDENTS)]
            at = int(rng.integers(score_from + 2 * per_hour, len(t) - 8 * per_hour))
            at -= at % per_hour  # incidents start on the hour, the bin they are judged in
            counters, end = _inject(kind, values, present, at, len(t), per_hour, rng)
            for obj, counter, instance in counters:
                windows.append({"Computer": computer, "ObjectName": obj, "CounterName": counter, "InstanceName": instance,
                                "kind": kind, "start": format_time(start + dt.timedelta(seconds=int(t[at]))),
                                "end": format_time(start + dt.timedelta(seconds=int(t[end - 1]) + step))})
        for i in np.flatnonzero(present):
            when = start + dt.timedelta(seconds=int(t[i]))
            for (obj, counter, instance), series in values.items():
                path = f"\\\\{computer.split('.')[0]}\\{obj}({instance})\\{counter}" if instance else \
                    f"\\\\{computer.split('.')[0]}\\{obj}\\{counter}"
                writer.add(when, {
                    "TenantId": tenant_id, "TimeGenerated": format_time_generated(when), "SourceSystem": "OMS",
                    "Computer": computer, "ObjectName": obj, "CounterName": counter, "InstanceName": instance,
                    "CounterPath": path, "CounterValue": round(float(series[i]), 6), "Type": "Perf",
                    "_ResourceId": f"/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/rg-ops/"
                                   f"providers/microsoft.compute/virtualmachines/{computer.split('.')[0]}",
                })
                rows += 1
            if i % (per_hour * 24) == 0:
                writer.flush()
        writer.flush()
    labels = {
        "kind": "usage",
        "table": "Perf",
        "generator": "byoml.sample_data.perf",
        "seed": cfg.seed,
        "key": KEY,
        "train_window": {"start": format_time(start), "end": format_time(start + dt.timedelta(days=cfg.days))},
        "score_window": {"start": format_time(start + dt.timedelta(days=cfg.days)), "end": format_time(cfg.end)},
        "bin": "1h",
        "series": [[c, *k] for c, _ in computers for k in COUNTERS],
        "counts": {"rows": rows, "computers": len(computers), "series": len(computers) * len(COUNTERS)},
        "windows": windows,
    }
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "labels.json"), "w", encoding="utf-8") as fh:
        json.dump(labels, fh, indent=1)
    return labels
