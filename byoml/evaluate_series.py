"""Quality figures for anomaly flags on time series against labelled windows."""
from __future__ import annotations

from typing import Any, Dict, List

import pandas as pd

from .errors import ConfigError


def window_flags(flags: pd.DataFrame, windows: List[dict], key: str = "DataType") -> Dict[str, Any]:
    """Window recall and false flags per 1,000 bins.

    ``flags``: one row per scored bin with columns ``key``, ``TimeGenerated`` (bin start) and
    ``Anomalies`` (-1/0/1). A window counts as found when a bin inside it is flagged; a flag
    outside every window is a false flag.
    """
    df = flags.copy()
    df["TimeGenerated"] = pd.to_datetime(df["TimeGenerated"], utc=True)
    df["flag"] = df["Anomalies"].fillna(0).astype(int) != 0
    df["in_window"] = False
    found = 0
    for w in windows:
        lo, hi = pd.Timestamp(w["start"]), pd.Timestamp(w["end"])
        inside = (df[key] == w[key]) & (df["TimeGenerated"] >= lo) & (df["TimeGenerated"] < hi)
        df.loc[inside, "in_window"] = True
        if (inside & df["flag"]).any():
            found += 1
    false_flags = int((df["flag"] & ~df["in_window"]).sum())
    bins = int(len(df))
    return {
        "windows": len(windows),
        "windows_found": found,
        "window_recall": found / len(windows) if windows else None,
        "bins": bins,
        "flags": int(df["flag"].sum()),
        "false_flags": false_flags,
        "false_flags_per_1000_bins": 1000.0 * false_flags / bins if bins else None,
    }


def usage_metrics(scores: pd.DataFrame, labels: dict) -> Dict[str, Any]:
    needed = {"DataType", "TimeGenerated", "Anomalies"}
    if not needed <= set(scores.columns):
        raise ConfigError(f"scored rows lack column(s) {sorted(needed - set(scores.columns))}; is this a usage output?")
    return window_flags(scores, labels.get("windows", []))
