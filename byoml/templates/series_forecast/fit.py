"""Fitting a batch of series: status, the holdout's choice and errors, the interval calibration (numpy).

One call per bucket of series, on the executors (:mod:`.spark`). Series with fewer than
``min_train_bins`` values, or too short for a holdout origin, are ``too_short`` and not forecast.
"""
from __future__ import annotations

import json
from typing import Optional, Tuple

import numpy as np
import pandas as pd

from ..series_frame import OK, TOO_SHORT
from .config import SeriesForecastConfig
from .intervals import PARAMS, calibrate
from .selection import holdout

#: the columns of a fitted series (after its key columns)
SERIES_COLUMNS = ("status", "n_bins", "first_bin", "trained_through", "model", "holdout_mae", "holdout_mase",
                  "candidate_mae", *PARAMS)
SERIES_SCHEMA = (
    "status string, n_bins long, first_bin long, trained_through long, model string, holdout_mae double, "
    "holdout_mase double, candidate_mae string, " + ", ".join(f"{p} double" for p in PARAMS)
)


def fit_batch(hist: np.ndarray, first_bin: int, cfg: SeriesForecastConfig) -> Tuple[pd.DataFrame, Optional[bytes]]:
    """One row per series of ``hist`` (``(series, bins)`` from ``first_bin``, NaN before a series'
    start) with :data:`SERIES_COLUMNS`, and the batch's gradient boosting model (pickled, or None)."""
    hist = np.atleast_2d(np.asarray(hist, dtype=float))
    rows, n = hist.shape
    seen = np.isfinite(hist)
    n_bins = seen.sum(axis=1)
    starts = np.where(seen.any(axis=1), np.argmax(seen, axis=1), n) + first_bin
    out = pd.DataFrame({"status": np.where(n_bins >= cfg.min_train_bins, OK, TOO_SHORT).astype(object),
                        "n_bins": n_bins.astype(np.int64), "first_bin": starts.astype(np.int64),
                        "trained_through": np.full(rows, first_bin + n, dtype=np.int64),
                        "model": None, "holdout_mae": np.nan, "holdout_mase": np.nan, "candidate_mae": None})
    for p in PARAMS:
        out[p] = np.nan
    ok = np.flatnonzero(out["status"].to_numpy() == OK)
    if not len(ok):
        return out, None
    names = list(cfg.candidates)
    h = holdout(names, hist[ok], first_bin, cfg.horizon_bins, cfg.spec(), cfg.holdout_origins,
                cfg.bins(cfg.holdout_step, "holdout_step"))
    params = calibrate(h.errors)
    for j, i in enumerate(ok):
        chosen = h.chosen[j]
        if chosen is None or not np.isfinite(params[j]).all():
            out.loc[i, "status"] = TOO_SHORT
            continue
        mae = float(h.mae[names.index(chosen), j])
        out.loc[i, "model"] = chosen
        out.loc[i, "holdout_mae"] = mae
        scale = h.naive_mae[j]
        out.loc[i, "holdout_mase"] = mae / scale if np.isfinite(scale) and scale > 0 else np.nan
        out.loc[i, "candidate_mae"] = json.dumps({c: round(float(m), 6) for c, m in zip(names, h.mae[:, j])
                                                  if np.isfinite(m)}, sort_keys=True)
        out.loc[i, list(PARAMS)] = params[j]
    return out, h.hgb_model
