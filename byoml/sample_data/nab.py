"""The labelled real series of the Numenta Anomaly Benchmark as a Usage export, for evaluation.

Each NAB file becomes one DataType. Values are resampled to 1h: volumes and counts
(tweets, bytes) are summed, utilisations (CPU, occupancy, speed) averaged, and hours
without samples of an averaged series are interpolated (a sensor that did not report
is not a silent table). The first and last hour (partial) are dropped.

Every series is trained on its first 30% and scored on the rest. NAB files cover
different years, so each series is shifted by whole hours to put its 30% split at the
same instant (``SPLIT``): one training window and one scoring window then serve them
all, and a shift by whole hours keeps each series' daily and weekly rhythm (only the
phase relative to the clock moves). ``labels.json`` has the shifted windows (widened
to whole hours) and, per series, the span of hours that exist (``spans``): bins past a
series' end are not evaluated.
"""
from __future__ import annotations

import datetime as dt
import json
import os
from typing import Dict

import numpy as np
import pandas as pd

from ..errors import ConfigError
from ..timewindow import UTC, format_time
from .export_writer import ExportWriter, format_time_generated, workspace_resource_id

SPLIT = dt.datetime(2026, 1, 1, tzinfo=UTC)
TRAIN_SHARE = 0.3
AVERAGED = ("cpu_utilization", "occupancy", "speed", "grok_asg")


def load_series(nab_dir: str) -> Dict[str, tuple]:
    """``{name: (hourly series, [(start, end) windows])}`` in the original times."""
    path = os.path.join(nab_dir, "windows.json")
    if not os.path.exists(path):
        raise ConfigError(f"no NAB windows.json in '{nab_dir}'")
    with open(path, encoding="utf-8") as fh:
        windows = json.load(fh)
    out = {}
    for rel in sorted(windows):
        raw = pd.read_csv(os.path.join(nab_dir, "data", rel), parse_dates=["timestamp"]).set_index("timestamp")["value"]
        hourly = raw.resample("1h")
        averaged = any(k in rel for k in AVERAGED)
        s = hourly.mean() if averaged else hourly.sum()
        s = s.iloc[1:-1]
        if averaged:
            s = s.interpolate("time").bfill()
        s.index = s.index.tz_localize("UTC")
        name = os.path.splitext(os.path.basename(rel))[0]
        wins = [(pd.Timestamp(a, tz="UTC").floor("1h"), pd.Timestamp(b, tz="UTC").ceil("1h")) for a, b in windows[rel]]
        out[name] = (s.astype(float), wins)
    return out


def generate_nab(out_dir: str, nab_dir: str, train_share: float = TRAIN_SHARE) -> dict:
    """Write the NAB series as a Usage export under ``out_dir`` and ``labels.json``; return the labels."""
    series = load_series(nab_dir)
    rid = workspace_resource_id("00000000-0000-4000-8000-00000000a11b", "rg-nab", "law-nab")
    writer = ExportWriter(out_dir, "Usage", rid, "hourly")
    split = pd.Timestamp(SPLIT)
    windows, spans = [], {}
    lo, hi = split, split
    for name, (s, wins) in series.items():
        shift = split - s.index[int(len(s) * train_share)]
        times = s.index + shift
        lo, hi = min(lo, times[0]), max(hi, times[-1] + pd.Timedelta(hours=1))
        spans[name] = {"start": format_time(split.to_pydatetime()), "end": format_time((times[-1] + pd.Timedelta(hours=1)).to_pydatetime())}
        for a, b in wins:
            windows.append({"DataType": name, "kind": "nab", "start": format_time((a + shift).to_pydatetime()),
                            "end": format_time((b + shift).to_pydatetime())})
        for when, value in zip(times, s.to_numpy()):
            if not np.isfinite(value) or value == 0:
                continue  # a zero hour is simply absent, as in the Usage table
            when = when.to_pydatetime()
            writer.add(when, {"TimeGenerated": format_time_generated(when), "DataType": name, "Quantity": float(value),
                              "QuantityUnit": "MBytes", "IsBillable": True, "Type": "Usage"})
        writer.flush()
    labels = {
        "kind": "usage",
        "table": "Usage",
        "generator": "byoml.sample_data.nab",
        "train_window": {"start": format_time(lo.to_pydatetime()), "end": format_time(split.to_pydatetime())},
        "score_window": {"start": format_time(split.to_pydatetime()), "end": format_time(hi.to_pydatetime())},
        "bin": "1h",
        "series": list(series),
        "spans": spans,
        "windows": windows,
    }
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "labels.json"), "w", encoding="utf-8") as fh:
        json.dump(labels, fh, indent=1)
    return labels
