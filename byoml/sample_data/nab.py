"""The labelled real series of the Numenta Anomaly Benchmark as a Usage export, for evaluation.

Each NAB file becomes one DataType, in the category of its folder (AWS CloudWatch, AdExchange,
Traffic, Tweets): ``nab/`` and ``nab-extra/`` in ``../shared/data`` hold 33 of them. Values are
resampled to 1h: volumes and counts (tweets, bytes) are summed; utilisations, speeds, travel
times and prices (CPU, occupancy, speed, TravelTime, cpc, cpm) averaged, and hours without
samples of an averaged series are interpolated (a sensor that did not report is not a silent
table). The first and last hour (partial) are dropped.

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
AVERAGED = ("cpu_utilization", "occupancy", "speed", "grok_asg", "TravelTime", "cpc", "cpm")
CATEGORIES = {"realAWSCloudwatch": "AWS CloudWatch", "realAdExchange": "AdExchange", "realTraffic": "Traffic",
              "realTweets": "Tweets", "realKnownCause": "Known cause"}


def category(rel: str) -> str:
    """The category of a NAB file from its folder (``realTweets/...`` -> Tweets)."""
    folder = rel.split("/", 1)[0]
    return CATEGORIES.get(folder, folder)


def load_series(*nab_dirs: str) -> Dict[str, tuple]:
    """``{name: (hourly series, [(start, end) windows], category)}`` in the original times, for every
    file of ``data/`` in the folders (a folder's ``windows.json`` may list files it does not hold)."""
    out = {}
    for nab_dir in nab_dirs:
        path = os.path.join(nab_dir, "windows.json")
        if not os.path.exists(path):
            raise ConfigError(f"no NAB windows.json in '{nab_dir}'")
        with open(path, encoding="utf-8") as fh:
            windows = json.load(fh)
        for rel in sorted(windows):
            name = os.path.splitext(os.path.basename(rel))[0]
            if os.path.exists(os.path.join(nab_dir, "data", rel)) and name not in out:
                out[name] = _hourly(nab_dir, rel, windows[rel])
    return dict(sorted(out.items()))


def _hourly(nab_dir: str, rel: str, windows: list) -> tuple:
    """One file as ``(hourly series, windows, category)``."""
    raw = pd.read_csv(os.path.join(nab_dir, "data", rel), parse_dates=["timestamp"]).set_index("timestamp")["value"]
    hourly = raw.resample("1h")
    averaged = any(k in rel for k in AVERAGED)
    s = hourly.mean() if averaged else hourly.sum()
    s = s.iloc[1:-1]
    if averaged:
        s = s.interpolate("time").bfill()
    s.index = s.index.tz_localize("UTC")
    wins = [(pd.Timestamp(a, tz="UTC").floor("1h"), pd.Timestamp(b, tz="UTC").ceil("1h")) for a, b in windows]
    return s.astype(float), wins, category(rel)


def shift_to_split(s: pd.Series, train_share: float = TRAIN_SHARE) -> pd.Timedelta:
    """The whole hours that move the first scored hour of ``s`` to :data:`SPLIT`."""
    return pd.Timestamp(SPLIT) - s.index[int(len(s) * train_share)]


def generate_nab(out_dir: str, *nab_dirs: str, train_share: float = TRAIN_SHARE) -> dict:
    """Write the NAB series of ``nab_dirs`` as a Usage export under ``out_dir`` and ``labels.json``; return the labels."""
    series = load_series(*nab_dirs)
    rid = workspace_resource_id("00000000-0000-4000-8000-00000000a11b", "rg-nab", "law-nab")
    writer = ExportWriter(out_dir, "Usage", rid, "hourly")
    split = pd.Timestamp(SPLIT)
    windows, spans = [], {}
    lo, hi = split, split
    for name, (s, wins, _) in series.items():
        shift = shift_to_split(s, train_share)
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
        "categories": {name: cat for name, (_, _, cat) in series.items()},
        "spans": spans,
        "windows": windows,
    }
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "labels.json"), "w", encoding="utf-8") as fh:
        json.dump(labels, fh, indent=1)
    return labels
