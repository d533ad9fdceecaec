"""Baselines the shipped usage templates are measured against (not shipped as templates).

* :class:`KqlDefault`: KQL's ``series_decompose_anomalies`` with its defaults, as a user gets it
  for free in Log Analytics, run walk-forward the way a scheduled query would: every day the
  decomposition (daily period, ``avg`` trend, raw values) is refitted on the 14 days before,
  the next day is predicted from it, and every bin whose residual lies beyond Tukey fences
  (10th/90th percentiles of that fit's own residuals, k = 1.5) is flagged. No episodes, no
  level handling, no tail calibration.
* :class:`NotebookFeatures`: ``usage-regression`` with everything shipped except the features,
  which are the Azure Monitor notebook's Year/Month/Day/Hour: what the notebook's features
  are worth with byoml's flags.
"""
from __future__ import annotations

from typing import Dict, Sequence

import numpy as np
import pandas as pd

from byoml.templates.decompose import DecomposeSpec, rolling_forecast
from byoml.templates.series_decompose import SeriesDecompose
from byoml.templates.usage_regression import UsageRegression

KQL_CONFIG = {"period": "1d", "transform": "none", "lookback": "14d", "threshold": 1.5}


def tukey_score(residuals: np.ndarray, q_lo: np.ndarray, q_hi: np.ndarray) -> np.ndarray:
    """KQL's ``series_outliers``: the distance beyond the 10th/90th percentiles in units of their spread."""
    spread = np.maximum(q_hi - q_lo, 1e-12)
    with np.errstate(invalid="ignore"):
        out = np.where(residuals > q_hi, (residuals - q_hi) / spread, np.where(residuals < q_lo, (residuals - q_lo) / spread, 0.0))
    return np.where(np.isfinite(residuals) & np.isfinite(q_lo) & np.isfinite(q_hi), out, np.nan)


def kql_judge(index: np.ndarray, Y: np.ndarray, start: int, profiles: Sequence[dict], cfg) -> Dict[str, np.ndarray]:
    """Walk-forward ``series_decompose_anomalies`` defaults (see the module)."""
    Y = np.atleast_2d(np.asarray(Y, dtype=float))
    day = cfg.day_bins
    spec = DecomposeSpec(period=day, trend="avg", lookback=cfg.bins(cfg.lookback, "lookback"), refit=day, level=0)
    fc = rolling_forecast(Y, index, 0, spec, quantiles=tuple(cfg.quantiles))
    base, q_lo, q_hi = fc["baseline"], fc["q_lo"], fc["q_hi"]
    score = tukey_score(Y - base, q_lo, q_hi)
    k = cfg.threshold
    flags = np.where(np.nan_to_num(score) > k, 1, np.where(np.nan_to_num(score) < -k, -1, 0)).astype(np.int8)
    spread = q_hi - q_lo
    reasons = np.where(flags > 0, "spike", np.where(flags < 0, "dip", "")).astype(object)
    return {"predicted": base, "lower": base + q_lo - k * spread, "upper": base + q_hi + k * spread,
            "score": score / k, "flags": flags, "reasons": reasons, "ready": np.isfinite(base) & np.isfinite(spread)}


class KqlDefault(SeriesDecompose):
    """``series-decompose`` replaced by plain KQL defaults (same input, output and evaluation)."""

    judge = staticmethod(kql_judge)

    def __init__(self, config=None):
        super().__init__({**(config or {}), **KQL_CONFIG})


def notebook_features(v: np.ndarray, index: np.ndarray, bin_seconds: int) -> pd.DataFrame:
    t = pd.to_datetime(np.asarray(index, dtype=np.int64) * bin_seconds, unit="s", utc=True)
    return pd.DataFrame({"Year": t.year, "Month": t.month, "Day": t.day, "Hour": t.hour})


class NotebookFeatures(UsageRegression):
    """usage-regression with the notebook's Year/Month/Day/Hour features."""

    name = "usage-regression"  # same model format and output; only the features differ
    feature_columns = ["Year", "Month", "Day", "Hour", "code"]
    categorical = ["code"]

    def features(self, v, index):
        return notebook_features(v, index, self.config.bin_seconds)

    @property
    def history_bins(self) -> int:
        return 0
