"""Quality figures for anomaly flags on time series against labelled windows.

Three figures, computed per series key and added up over all series:

* **window recall**: the share of labelled windows with at least one flagged bin;
* **false flags per 1,000 bins**: flags outside every window, per 1,000 scored bins;
* **NAB score** (Numenta Anomaly Benchmark, standard profile): every window is worth
  ``A_TP = 1`` when its first flag is at the window's start, less the later it comes
  (a scaled sigmoid over the position in the window); a missed window costs ``A_FN = -1``;
  a flag outside windows costs ``A_FP = -0.11``, less just after a window. The raw sum
  is normalised to 0 (the detector that never flags) .. 100 (every window flagged at
  its first bin, no false flag), as NAB does.

A bin belongs to a window when its start lies in ``[start, end)``. Labels may limit
each series to a ``spans`` entry (bins outside it are not counted), and may name each
series' ``categories`` (the figures are then also given per category).
"""
from __future__ import annotations

import math
from typing import Any, Dict, List, Mapping, Optional

import numpy as np
import pandas as pd

from .errors import ConfigError

#: NAB's standard profile, in the paper's signs: A_TP, A_FP, A_FN.
NAB_STANDARD = {"tp": 1.0, "fp": -0.11, "fn": -1.0}


def scaled_sigmoid(position: float) -> float:
    """NAB's weight of a flag at ``position`` relative to a window (-1 = its first bin)."""
    if position > 3.0:
        return -1.0
    return 2.0 / (1.0 + math.exp(5.0 * position)) - 1.0


def _prepare(flags: pd.DataFrame, key: str) -> pd.DataFrame:
    df = flags[[key, "TimeGenerated", "Anomalies"]].copy()
    df["TimeGenerated"] = pd.to_datetime(df["TimeGenerated"], utc=True)
    df["flag"] = pd.to_numeric(df["Anomalies"], errors="coerce").fillna(0).astype(int) != 0
    return df.sort_values([key, "TimeGenerated"], kind="mergesort").reset_index(drop=True)


def _limit_to_spans(df: pd.DataFrame, spans: Optional[Mapping[str, dict]], key: str) -> pd.DataFrame:
    if not spans:
        return df
    keep = np.zeros(len(df), dtype=bool)
    for name, span in spans.items():
        lo, hi = pd.Timestamp(span["start"]), pd.Timestamp(span["end"])
        keep |= ((df[key] == name) & (df["TimeGenerated"] >= lo) & (df["TimeGenerated"] < hi)).to_numpy()
    keep |= ~df[key].isin(list(spans)).to_numpy()
    return df[keep].reset_index(drop=True)


def _series_nab(times: pd.Series, flags: np.ndarray, windows: List[dict], profile: Mapping[str, float]) -> Dict[str, float]:
    """NAB raw score of one series: flags (bool per bin, time-ordered) against its windows."""
    n = len(flags)
    t = times.reset_index(drop=True)
    spans = []  # (first index, last index) of each window that holds scored bins
    for w in sorted(windows, key=lambda w: w["start"]):
        lo, hi = pd.Timestamp(w["start"]), pd.Timestamp(w["end"])
        idx = np.flatnonzero(((t >= lo) & (t < hi)).to_numpy())
        if len(idx):
            spans.append((int(idx[0]), int(idx[-1])))
    max_tp = scaled_sigmoid(-1.0)
    score, detected = 0.0, 0
    in_window = np.full(n, -1)
    for k, (a, b) in enumerate(spans):
        in_window[a:b + 1] = k
    prev_right: Optional[int] = None
    prev_width = 0
    first_hit = {}
    for i in range(n):
        k = in_window[i]
        if k >= 0:
            a, b = spans[k]
            if flags[i] and k not in first_hit:
                width = b - a + 1
                first_hit[k] = scaled_sigmoid(-(b - i + 1) / width) * profile["tp"] / max_tp
            if i == b:
                prev_right, prev_width = b, b - a + 1
            continue
        if not flags[i]:
            continue
        if prev_right is None:
            weight = -1.0
        else:
            weight = scaled_sigmoid(abs(prev_right - i) / max(prev_width - 1, 1))
        score += weight * abs(profile["fp"])
    detected = len(first_hit)
    score += sum(first_hit.values()) + (len(spans) - detected) * profile["fn"]
    return {"raw": score, "windows": len(spans), "detected": detected}


def window_flags(
    flags: pd.DataFrame, windows: List[dict], key: str = "DataType",
    spans: Optional[Mapping[str, dict]] = None, profile: Mapping[str, float] = NAB_STANDARD,
) -> Dict[str, Any]:
    """Window recall, false flags per 1,000 bins and the NAB score of flagged bins.

    ``flags``: one row per scored bin with columns ``key``, ``TimeGenerated`` (bin start) and
    ``Anomalies`` (-1/0/1). A window counts as found when a bin inside it is flagged; a flag
    outside every window is a false flag. Windows with no scored bin are left out (reported).

    >>> rows = pd.DataFrame({"DataType": ["A"] * 4, "Anomalies": [0, 1, 0, 1],
    ...                      "TimeGenerated": pd.date_range("2026-01-01", periods=4, freq="h", tz="UTC")})
    >>> w = [{"DataType": "A", "start": "2026-01-01T01:00:00Z", "end": "2026-01-01T03:00:00Z"}]
    >>> m = window_flags(rows, w); (m["window_recall"], m["false_flags"], round(m["nab_score"], 1))
    (1.0, 1, 94.6)
    """
    df = _limit_to_spans(_prepare(flags, key), spans, key)
    df["in_window"] = False
    by_key: Dict[str, List[dict]] = {}
    for w in windows:
        lo, hi = pd.Timestamp(w["start"]), pd.Timestamp(w["end"])
        inside = (df[key] == w[key]) & (df["TimeGenerated"] >= lo) & (df["TimeGenerated"] < hi)
        df.loc[inside, "in_window"] = True
        if inside.any():
            by_key.setdefault(w[key], []).append(w)
    scored_windows = sum(len(v) for v in by_key.values())
    found = 0
    raw = 0.0
    for name, grp in df.groupby(key, sort=True):
        res = _series_nab(grp["TimeGenerated"], grp["flag"].to_numpy(), by_key.get(name, []), profile)
        raw += res["raw"]
        found += res["detected"]
    null = profile["fn"] * scored_windows
    perfect = profile["tp"] * scored_windows
    false_flags = int((df["flag"] & ~df["in_window"]).sum())
    bins = int(len(df))
    return {
        "windows": scored_windows,
        "windows_not_scored": len(windows) - scored_windows,
        "windows_found": found,
        "window_recall": found / scored_windows if scored_windows else None,
        "bins": bins,
        "flags": int(df["flag"].sum()),
        "false_flags": false_flags,
        "false_flags_per_1000_bins": 1000.0 * false_flags / bins if bins else None,
        "nab_raw": raw,
        "nab_score": 100.0 * (raw - null) / (perfect - null) if scored_windows else None,
    }


def usage_metrics(scores: pd.DataFrame, labels: dict) -> Dict[str, Any]:
    """The figures above for a usage output (one row per scored bin) against ``labels.json``."""
    key = labels.get("key", "DataType")
    if isinstance(key, (list, tuple)):  # a series named by several columns (Perf): one joined key
        missing = [k for k in key if k not in scores.columns]
        if missing:
            raise ConfigError(f"scored rows lack column(s) {missing}; is this the output of the labelled table?")
        joined = "/".join(key)
        scores = scores.assign(**{joined: scores[list(key)].astype(str).agg("/".join, axis=1)})
        windows = [{**w, joined: "/".join(str(w[k]) for k in key)} for w in labels.get("windows", [])]
        labels = {**labels, "key": joined, "windows": windows}
        key = joined
    needed = {key, "TimeGenerated", "Anomalies"}
    if not needed <= set(scores.columns):
        raise ConfigError(f"scored rows lack column(s) {sorted(needed - set(scores.columns))}; is this a usage output?")
    if len(scores) and (pd.to_numeric(scores["Anomalies"], errors="coerce").fillna(0) != 0).all():
        raise ConfigError("the scored rows hold only anomalies: re-run 'byoml score' with '--emit all' to evaluate")
    dup = int(scores.duplicated([key, "TimeGenerated"]).sum())
    if dup:
        raise ConfigError(
            f"the scored rows hold {dup} bins more than once (several runs over the same hours in one sink); "
            "evaluate one run's output: score into an empty --sink"
        )
    out = window_flags(scores, labels.get("windows", []), key=key, spans=labels.get("spans"))
    by_kind: Dict[str, Dict[str, int]] = {}
    for kind in sorted({w.get("kind", "") for w in labels.get("windows", [])} - {""}):
        sub = [w for w in labels["windows"] if w.get("kind") == kind]
        m = window_flags(scores, sub, key=key, spans=labels.get("spans"))
        by_kind[kind] = {"windows": m["windows"], "found": m["windows_found"]}
    if by_kind:
        out["by_kind"] = by_kind
    categories = labels.get("categories") or {}
    if categories:
        out["by_category"] = {}
        for cat in sorted(set(categories.values())):
            names = {n for n, c in categories.items() if c == cat}
            sub = scores[scores[key].isin(names)]
            wins = [w for w in labels.get("windows", []) if w[key] in names]
            spans = {n: v for n, v in (labels.get("spans") or {}).items() if n in names}
            out["by_category"][cat] = {"series": len(names), **window_flags(sub, wins, key=key, spans=spans)}
    return out
