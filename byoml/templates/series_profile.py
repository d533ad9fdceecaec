"""What kind of series this is: count-like or a gauge, seasonal (at which period) or not (numpy).

A profile is learned per series at training and tells the detector how to model it:

* **count-like**: the series sums or counts rows (``aggregation`` sum or count) and is never
  negative: volumes, event counts, the Usage table. Its noise grows with its level, so it is
  modelled on a square-root scale (:mod:`byoml.templates.transform`) when it is almost never
  zero, and a 0 after a run without zeros is *missing data* (the source stopped sending).
  Averages, minima and maxima (``Perf``'s CPU %, latency, free space) are **gauges**: raw
  scale, and a missing bin is missing, not 0.
* **seasonal**: the period (1 day, 1 week) whose profile lowers the error of a one-step
  forecast on the end of the training window by at least ``season_margin`` (10%) against no
  profile, with at least ``min_cycles`` (3) cycles and a day of history. A weekly profile
  needs three weeks and a day. A series without a period worth its noise is modelled by its recent level alone:
  fitting a daily profile to a gauge adds the noise of 24 medians to every prediction.
* **status**: ``too_short`` with fewer than ``min_train_bins`` bins; such a series is still
  judged once the scoring lookback holds enough of its history, with a profile taken from it.

Measured while building it (33 NAB series and the sample data): the square root for every
non-negative series, gauges included, against none for all of them, traded NAB points between
categories (AWS and Traffic gauges lost up to 11, the sample volumes gained 14); the rule
here keeps the gauges of an ``avg`` table on their own scale and the volumes of a ``sum`` on the
square root. Requiring three cycles and a day, not three cycles before the holdout, let four
days of an AWS CPU series keep the daily job that spikes at one hour (both windows found
instead of none).

>>> import numpy as np
>>> t = np.arange(24 * 14)
>>> daily = 100 + 50 * np.sin(2 * np.pi * t / 24) + np.random.default_rng(0).normal(0, 3, len(t))
>>> p = fit_profiles(t, daily[None, :], ProfileSpec())[0]
>>> p["period"], p["transform"], p["kind"]
(24, 'sqrt', 'daily/count')
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Sequence

import numpy as np

from .decompose import DecomposeSpec, rolling_forecast
from .nanstats import rolling_nanmedian
from .transform import ValueTransform

OK, TOO_SHORT, NEW_SERIES, WARMUP = "ok", "too_short", "new_series", "warmup"
COUNTING = ("sum", "count")


@dataclass(frozen=True)
class ProfileSpec:
    """How profiles are learned (lengths in bins)."""

    aggregation: str = "sum"
    transform: str = "auto"
    periods: Sequence[int] = field(default_factory=lambda: (24, 168))
    season_margin: float = 0.1
    min_cycles: int = 3
    lookback: int = 14 * 24
    level_bins: int = 24
    min_train_bins: int = 24
    bins_per_day: int = 24

    def seasonal_spec(self, period: int) -> DecomposeSpec:
        """The rolling seasonal profile of ``period`` (0: none): refitted daily on its lookback."""
        lookback = max(self.lookback, 4 * period)
        return DecomposeSpec(period=period if period > 1 else 0, trend="avg", lookback=lookback,
                             refit=self.bins_per_day, level=0,
                             min_history=None if period > 1 else min(self.bins_per_day, lookback))


def season_name(period: int, bins_per_day: int) -> str:
    if period <= 1:
        return "none"
    if period == bins_per_day:
        return "daily"
    if period == 7 * bins_per_day:
        return "weekly"
    return f"{period}bins"


def choose_transform(y: np.ndarray, spec: ProfileSpec) -> ValueTransform:
    """The value transform: ``auto`` takes the square root of count-like series only."""
    finite = np.asarray(y, dtype=float)
    finite = finite[np.isfinite(finite)]
    if spec.transform == "auto" and spec.aggregation not in COUNTING:
        return ValueTransform("none")
    return ValueTransform.fit(finite if len(finite) else np.zeros(1), spec.transform)


def is_count_like(y: np.ndarray, spec: ProfileSpec) -> bool:
    finite = np.asarray(y, dtype=float)
    finite = finite[np.isfinite(finite)]
    return spec.aggregation in COUNTING and len(finite) > 0 and float(finite.min()) >= 0


def level_forecast(z: np.ndarray, base: np.ndarray, level_bins: int) -> np.ndarray:
    """``base`` plus the median of the last ``level_bins`` residuals of it, strictly before each bin."""
    med = rolling_nanmedian(z - base, level_bins)
    return base + np.concatenate([np.full(med.shape[:-1] + (1,), np.nan), med[..., :-1]], axis=-1)


def holdout_errors(z: np.ndarray, index: np.ndarray, periods: Sequence[int], spec: ProfileSpec, start: int) -> np.ndarray:
    """Mean absolute error of the level forecast over ``z[:, start:]`` with each period's profile: ``(periods, series)``."""
    out = np.full((len(periods), z.shape[0]), np.nan)
    for i, period in enumerate(periods):
        base = rolling_forecast(z, index, max(0, start - spec.level_bins), spec.seasonal_spec(period))["baseline"]
        err = np.abs(z - level_forecast(z, base, spec.level_bins))[:, start:]
        count = np.isfinite(err).sum(axis=1)
        out[i] = np.where(count >= spec.bins_per_day, np.nansum(err, axis=1) / np.maximum(count, 1), np.nan)
    return out


def fit_profiles(index: np.ndarray, Y: np.ndarray, spec: ProfileSpec) -> List[dict]:
    """Profiles of series that share the bins ``index`` (rows of ``Y``; NaN where a gauge has no value)."""
    Y = np.atleast_2d(np.asarray(Y, dtype=float))
    n = Y.shape[1]
    out = []
    for y in Y:
        seen = int(np.isfinite(y).sum())
        tf = choose_transform(y, spec)
        count = is_count_like(y, spec)
        out.append({"status": OK if seen >= spec.min_train_bins else TOO_SHORT, "n_bins": seen,
                    "first_bin": int(index[0]) if n else None, "transform": tf.kind, "offset": tf.offset,
                    "count_like": count, "period": 0, "holdout_mae": None,
                    "constant": bool(seen and np.nanmax(y) == np.nanmin(y))})
    ok = [i for i, p in enumerate(out) if p["status"] == OK]
    if not ok:
        return _with_kind(out, spec)
    Z = np.stack([ValueTransform(out[i]["transform"], out[i]["offset"]).forward(Y[i]) for i in ok])
    hold = max(spec.bins_per_day, min(n // 3, 7 * spec.bins_per_day))
    start = n - hold
    candidates = [0] + [p for p in spec.periods if p > 1 and n >= spec.min_cycles * p + spec.bins_per_day]
    errors = holdout_errors(Z, index, candidates, spec, start)
    best = np.zeros(len(ok), dtype=int)
    best_error = np.full(len(ok), np.inf)
    for c in range(1, len(candidates)):  # the lowest error among the periods that beat none by the margin
        better = np.isfinite(errors[c]) & (errors[c] < (1 - spec.season_margin) * errors[0]) & (errors[c] < best_error)
        best[better] = c
        best_error[better] = errors[c][better]
    for j, i in enumerate(ok):
        out[i]["period"] = int(candidates[best[j]])
        mae = errors[best[j], j]
        out[i]["holdout_mae"] = float(mae) if np.isfinite(mae) else None
    return _with_kind(out, spec)


def _with_kind(profiles: List[dict], spec: ProfileSpec) -> List[dict]:
    for p in profiles:
        values = "constant" if p.pop("constant") else ("count" if p["count_like"] else "gauge")
        p["kind"] = f"{season_name(int(p['period'] or 0), spec.bins_per_day)}/{values}"
    return profiles


def default_profile(y_before: np.ndarray, y_all: np.ndarray, spec: ProfileSpec, status: str) -> dict:
    """The profile of a series without a fitted one (new, or too short at training): no season, and the
    transform of the values before the scored window (of the whole window when there are none)."""
    basis = y_before if np.isfinite(y_before).sum() >= spec.level_bins else y_all
    tf = choose_transform(basis, spec)
    p = {"status": status, "transform": tf.kind, "offset": tf.offset, "count_like": is_count_like(basis, spec),
         "period": 0, "constant": False}
    return _with_kind([p], spec)[0]
