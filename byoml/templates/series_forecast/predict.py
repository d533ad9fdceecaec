"""Forecast rows of a batch of fitted series: the chosen model from the scoring start, its intervals and
the threshold crossings (numpy, then one pandas frame of output rows)."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from .candidates import forecast
from .config import SeriesForecastConfig
from .intervals import PARAMS, bounds
from .thresholds import first_crossing, running, utilisation

#: the output columns after the series' key columns (``ModelVersion`` and ``RunId`` follow)
OUTPUT_COLUMNS = (
    "TimeGenerated timestamp, Step int, Forecast double, Lower80 double, Upper80 double, Lower95 double, "
    "Upper95 double, Model string, HoldoutMAE double, Threshold double, ThresholdCrossing timestamp, "
    "ThresholdCrossing80 timestamp, AnomalyScore double, IsAnomaly boolean, AnomalyReason string, "
    "TrainedThrough timestamp"
)
NAMES = [c.split()[0] for c in OUTPUT_COLUMNS.split(", ")]


def forecast_rows(keys: pd.DataFrame, fitted: pd.DataFrame, hist: np.ndarray, first_bin: int,
                  cfg: SeriesForecastConfig, hgb_model=None) -> pd.DataFrame:
    """Output rows of the series ``keys`` (one row each; ``fitted``: their model rows, same order)
    forecast from the history ``hist`` (``(series, bins)`` from ``first_bin``, ending at the start)."""
    hist = np.atleast_2d(np.asarray(hist, dtype=float))
    rows, n = hist.shape
    horizon = cfg.horizon_bins
    start = first_bin + n
    f = np.full((rows, horizon), np.nan)
    models = fitted["model"].to_numpy()
    for name in dict.fromkeys(models):
        sel = np.flatnonzero(models == name)
        f[sel] = forecast([name], hist[sel], first_bin, horizon, cfg.spec(), hgb_model=hgb_model)[name]
    params = fitted[list(PARAMS)].to_numpy(dtype=float)
    lo80, hi80 = bounds(f, params, 0.80, cfg.interval_scale)
    lo95, hi95 = bounds(f, params, 0.95, cfg.interval_scale)
    with np.errstate(invalid="ignore"):
        non_negative = ~(np.nanmin(np.where(np.isfinite(hist), hist, np.inf), axis=1) < 0)
    floor = np.where(non_negative, 0.0, -np.inf)[:, None]
    lo80, lo95 = np.maximum(lo80, floor), np.maximum(lo95, floor)
    future = np.arange(start, start + horizon, dtype=np.int64)
    crossing = _crossings(keys, hist, first_bin, future, f, hi80 if cfg.threshold_direction == "above" else lo80, cfg)
    out = pd.DataFrame({k: np.repeat(keys[k].to_numpy(), horizon) for k in keys.columns})
    seconds = cfg.bin_seconds
    out["TimeGenerated"] = pd.to_datetime(np.tile(future * seconds, rows), unit="s", utc=True)
    out["Step"] = np.tile(np.arange(1, horizon + 1, dtype=np.int32), rows)
    for name, values in (("Forecast", f), ("Lower80", lo80), ("Upper80", hi80), ("Lower95", lo95), ("Upper95", hi95)):
        out[name] = values.reshape(-1)
    out["Model"] = np.repeat(models, horizon)
    out["HoldoutMAE"] = np.repeat(fitted["holdout_mae"].to_numpy(dtype=float), horizon)
    threshold, point, bound, score = crossing
    out["Threshold"] = pd.array(np.repeat(threshold, horizon), dtype="Float64")
    out["Threshold"] = out["Threshold"].where(np.isfinite(np.repeat(threshold, horizon)), pd.NA)
    out["ThresholdCrossing"] = _times(point, start, horizon, seconds)
    out["ThresholdCrossing80"] = _times(bound, start, horizon, seconds)
    out["AnomalyScore"] = score.reshape(-1)
    flagged = (np.arange(horizon)[None, :] == bound[:, None]) & (bound[:, None] >= 0)
    out["IsAnomaly"] = flagged.reshape(-1)
    side = "upper80" if cfg.threshold_direction == "above" else "lower80"
    reason = np.where(point == bound, "threshold_forecast", f"threshold_{side}").astype(object)
    out["AnomalyReason"] = np.where(flagged, reason[:, None], "").reshape(-1)
    out["TrainedThrough"] = pd.to_datetime(np.repeat(fitted["trained_through"].to_numpy(dtype=np.int64) * seconds,
                                                     horizon), unit="s", utc=True)
    return out[[*keys.columns, *NAMES]]


def _crossings(keys: pd.DataFrame, hist: np.ndarray, first_bin: int, future: np.ndarray, f: np.ndarray,
               cautious: np.ndarray, cfg: SeriesForecastConfig):
    """Per series: threshold, column of the forecast's and of the cautious 80% bound's crossing (-1:
    none), and every bin's utilisation of the threshold."""
    threshold = np.array([cfg.threshold_of(k) if cfg.threshold_of(k) is not None else np.nan
                          for k in keys.itertuples(index=False, name=None)], dtype=float)
    window = cfg.bins(cfg.threshold_window, "threshold_window")
    start = int(future[0])
    observed = hist[:, hist.shape[1] - min(hist.shape[1], start % window):] if start % window else hist[:, :0]
    prefix_sum = np.nansum(observed, axis=1)
    prefix_count = np.isfinite(observed).sum(axis=1).astype(float)
    mean = cfg.gauge
    point_run = running(np.nan_to_num(f), future, window, prefix_sum, prefix_count, mean) * cfg.threshold_scale
    bound_run = running(np.nan_to_num(cautious), future, window, prefix_sum, prefix_count, mean) * cfg.threshold_scale
    direction = cfg.threshold_direction
    return (threshold, first_crossing(point_run, threshold, direction), first_crossing(bound_run, threshold, direction),
            utilisation(point_run, threshold, direction))


def _times(columns: np.ndarray, start: int, horizon: int, seconds: int) -> pd.Series:
    """The bin start of each series' crossing column (NaT where there is none), repeated per row."""
    at = np.where(columns >= 0, (start + columns) * seconds, 0)
    times = pd.to_datetime(np.repeat(at, horizon), unit="s", utc=True)
    return pd.Series(times).where(np.repeat(columns >= 0, horizon), pd.NaT)


def empty_rows(keys: Sequence[str]) -> pd.DataFrame:
    return pd.DataFrame({c: [] for c in [*keys, *NAMES]})


def output_ddl(cfg: SeriesForecastConfig) -> str:
    """The declared output columns: the series' key columns, then :data:`OUTPUT_COLUMNS`."""
    from ..series_frame import series_key_schema

    return f"{series_key_schema(cfg)}, {OUTPUT_COLUMNS}"
