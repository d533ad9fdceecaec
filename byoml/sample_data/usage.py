"""A realistic Usage table export (hourly MB per DataType) with labelled anomaly windows.

Each DataType is a series with its own scale (kB to GB per hour), daily and weekly
seasonality of its own strength, a slow trend, multiplicative noise, and for some a
bursty or intermittent shape. Hours are split into billable / non-billable rows as the
real table does, so a template must sum them. In the last ``score_days`` days anomalies
are injected: spikes, drops, silence (missing rows: the table simply stops), and level
shifts. Every injected window is written to ``labels.json``.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import uuid
from dataclasses import dataclass
from typing import Dict, List, Optional

import numpy as np

from ..timewindow import UTC, format_time
from .export_writer import ExportWriter, format_time_generated, workspace_resource_id

DATA_TYPES = [
    ("SecurityEvent", "Security", 900.0), ("Syslog", "LogManagement", 350.0), ("AzureDiagnostics", "AzureResources", 500.0),
    ("Perf", "LogManagement", 120.0), ("Heartbeat", "LogManagement", 8.0), ("SigninLogs", "SecurityInsights", 60.0),
    ("AuditLogs", "SecurityInsights", 25.0), ("CommonSecurityLog", "Security", 700.0), ("AzureActivity", "AzureActivity", 4.0),
    ("StorageBlobLogs", "LogManagement", 90.0), ("ContainerLogV2", "ContainerInsights", 400.0), ("AppTraces", "Application", 70.0),
    ("W3CIISLog", "LogManagement", 30.0), ("Event", "LogManagement", 45.0), ("DeviceEvents", "SecurityInsights", 220.0),
    ("OfficeActivity", "SecurityInsights", 35.0), ("AADNonInteractiveUserSignInLogs", "SecurityInsights", 150.0),
    ("SecurityAlert", "Security", 0.8), ("Update", "Updates", 3.0), ("InsightsMetrics", "LogManagement", 55.0),
]
KINDS = ("spike", "drop", "silence", "level_shift")


@dataclass
class UsageConfig:
    series: int = 20
    days: int = 35
    score_days: int = 2
    seed: int = 7
    end: dt.datetime = dt.datetime(2026, 11, 3, tzinfo=UTC)
    layout: str = "hourly"
    anomalies: Optional[int] = None  # default: about one per three series
    duplicate_rate: float = 0.002
    malformed_lines: int = 0


def _series_names(n: int) -> List[tuple]:
    out = list(DATA_TYPES[:n])
    k = 0
    while len(out) < n:
        out.append((f"Custom{k:04d}_CL", "LogManagement", float(10 ** np.random.default_rng(k).uniform(-1, 2.5))))
        k += 1
    return out


def simulate_series(rng: np.random.Generator, hours: int, start: dt.datetime, scale: float) -> np.ndarray:
    """One DataType's normal hourly MB: level x daily x weekly x trend x noise."""
    t = np.arange(hours)
    hour = np.array([(start + dt.timedelta(hours=int(i))).hour for i in t])
    dow = np.array([(start + dt.timedelta(hours=int(i))).weekday() for i in t])
    daily_amp = rng.uniform(0.05, 0.8)
    peak = rng.uniform(10, 16)
    daily = 1 + daily_amp * np.cos((hour - peak) / 24 * 2 * np.pi)
    weekend_drop = rng.choice([0.0, rng.uniform(0.1, 0.6)], p=[0.35, 0.65])
    weekly = np.where(dow >= 5, 1 - weekend_drop, 1.0)
    trend = 1 + rng.uniform(-0.004, 0.006) * t / 24
    sigma = rng.uniform(0.04, 0.25)
    noise = rng.lognormal(0, sigma, size=hours)
    values = scale * daily * weekly * trend * noise
    shape = rng.random()
    if shape < 0.12:  # bursty: mostly small, occasional batches
        values = values * np.where(rng.random(hours) < 0.15, rng.uniform(3, 6), 0.3)
    elif shape < 0.2:  # intermittent: nothing in some night hours
        values = np.where((hour < 5) & (rng.random(hours) < 0.6), 0.0, values)
    return values


def generate_usage(out_dir: str, **options) -> dict:
    """Write a Usage export under ``out_dir`` and ``labels.json``; return the labels."""
    cfg = UsageConfig(**options)
    rng = np.random.default_rng(cfg.seed)
    total_days = cfg.days + cfg.score_days
    start = cfg.end - dt.timedelta(days=total_days)
    hours = total_days * 24
    score_from = cfg.days * 24
    tenant_id = str(uuid.UUID(bytes=rng.bytes(16), version=4))
    resource_id = workspace_resource_id(str(uuid.UUID(bytes=rng.bytes(16), version=4)), "rg-ops", "law-ops")
    writer = ExportWriter(out_dir, "Usage", resource_id, cfg.layout)
    names = _series_names(cfg.series)
    n_anom = cfg.anomalies if cfg.anomalies is not None else max(2, cfg.series // 3)
    anomalous = set(rng.choice(len(names), size=min(n_anom, len(names)), replace=False).tolist())
    windows: List[dict] = []
    counts = {"rows": 0, "duplicates": 0}
    series_values: Dict[str, np.ndarray] = {}
    for idx, (data_type, solution, base) in enumerate(names):
        scale = base * float(rng.lognormal(0, 0.5))
        values = simulate_series(rng, hours, start, scale)
        present = np.ones(hours, dtype=bool)
        if idx in anomalous:
            kind = KINDS[len(windows) % len(KINDS)]
            at = int(rng.integers(score_from, hours - 6))
            if kind == "spike":
                length = int(rng.integers(1, 4))
                values[at:at + length] *= rng.uniform(3, 8)
            elif kind == "drop":
                length = int(rng.integers(2, 6))
                values[at:at + length] *= rng.uniform(0.05, 0.25)
            elif kind == "silence":
                length = int(rng.integers(3, 10))
                present[at:at + length] = False
                values[at:at + length] = 0.0
            else:
                length = hours - at
                values[at:] *= rng.choice([rng.uniform(0.3, 0.5), rng.uniform(2.0, 3.0)])
            end_at = min(hours, at + length)
            windows.append({
                "DataType": data_type, "kind": kind,
                "start": format_time(start + dt.timedelta(hours=at)),
                "end": format_time(start + dt.timedelta(hours=end_at)),
            })
        series_values[data_type] = values
        billable = data_type not in ("Heartbeat", "Usage", "AzureActivity", "SecurityAlert")
        for h in range(hours):
            if not present[h] or values[h] <= 0:
                continue
            when = start + dt.timedelta(hours=h)
            parts = [(values[h], billable)]
            if billable and rng.random() < 0.3:  # part of the volume is free (e.g. benefit data)
                free = values[h] * rng.uniform(0.02, 0.2)
                parts = [(values[h] - free, True), (free, False)]
            for quantity, is_billable in parts:
                rec = {
                    "TenantId": tenant_id,
                    "TimeGenerated": format_time_generated(when),
                    "StartTime": format_time_generated(when),
                    "EndTime": format_time_generated(when + dt.timedelta(hours=1)),
                    "SourceSystem": "OMS",
                    "DataType": data_type,
                    "Solution": solution,
                    "Quantity": round(float(quantity), 6),
                    "QuantityUnit": "MBytes",
                    "IsBillable": bool(is_billable),
                    "MeterId": "a4e29a95-5b4c-408b-b737-c113f5d1b1ba",
                    "BatchesWithinSla": int(rng.integers(50, 500)),
                    "BatchesOutsideSla": 0,
                    "BatchesCapped": 0,
                    "TotalBatches": int(rng.integers(50, 500)),
                    "AvgLatencyInSeconds": round(float(rng.uniform(20, 180)), 3),
                    "Type": "Usage",
                }
                writer.add(when, rec)
                counts["rows"] += 1
                if rng.random() < cfg.duplicate_rate:
                    writer.add(when, rec)
                    counts["duplicates"] += 1
        writer.flush()
    if cfg.malformed_lines:
        when = start + dt.timedelta(hours=score_from)
        for k in range(cfg.malformed_lines):
            writer.add_line(when, ['{"DataType":"Perf","Quantity":', "garbage", '{"TimeGenerated":"'
                                   + format_time_generated(when) + '","DataType":"Perf","Quantity":"lots","Type":"Usage"}'][k % 3])
        writer.flush()
        counts["malformed"] = cfg.malformed_lines
    labels = {
        "kind": "usage",
        "table": "Usage",
        "generator": "byoml.sample_data.usage",
        "seed": cfg.seed,
        "train_window": {"start": format_time(start), "end": format_time(start + dt.timedelta(hours=score_from))},
        "score_window": {"start": format_time(start + dt.timedelta(hours=score_from)), "end": format_time(cfg.end)},
        "bin": "1h",
        "series": [n[0] for n in names],
        "counts": counts,
        "windows": windows,
    }
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "labels.json"), "w", encoding="utf-8") as fh:
        json.dump(labels, fh, indent=1)
    return labels
