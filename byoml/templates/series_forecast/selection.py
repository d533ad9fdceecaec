"""Choosing each series' model on a rolling-origin holdout, and the errors its intervals come from.

The holdout is the end of the training window: ``origins`` forecasts, ``step`` bins apart, the last
one reaching the end of the window; each forecast covers ``min(horizon, bins available)`` bins and
sees only the bins before its origin. A series takes the candidate with the lowest mean absolute
error over every origin and step.

The errors the intervals are calibrated from are *cross-validated over the origins*: the error at
origin k is that of the candidate chosen on the other origins. The chosen candidate's own errors
would be optimistic (it was chosen because they were low), and intervals taken from them cover
less than they claim.

>>> import numpy as np
>>> t = np.arange(24 * 28)
>>> y = 50 + 20 * np.sin(2 * np.pi * t / 24) + np.random.default_rng(1).normal(0, 2, len(t))
>>> h = holdout(["naive_day", "profile_day"], y[None, :], 0, 48, ForecastSpec(), origins=3, step=24)
>>> h.chosen[0], h.errors.shape
('profile_day', (1, 3, 48))
>>> origin_columns(24 * 28, 168, 3, 24, 24), origin_columns(24 * 28, 168, 3, 24, 24, first=24 * 24)
(([456, 480, 504], 168), ([624, 648], 24))
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Sequence

import numpy as np

from .candidates import ForecastSpec, fit_hgb, forecast

#: fewest bins before a holdout origin
MIN_HISTORY_DAYS = 2


@dataclass
class Holdout:
    """What the holdout measured for a batch of series."""

    chosen: List[Optional[str]]  # per series: the candidate with the lowest holdout MAE (None: none measured)
    mae: np.ndarray  # (candidates, series): mean absolute error of each candidate
    naive_mae: np.ndarray  # (series,): in-sample MAE of the daily seasonal naive (the MASE scale)
    errors: np.ndarray  # (series, origins, steps): cross-validated errors of the chosen candidate (actual - forecast)
    hgb_model: Optional[bytes]  # the gradient boosting model fitted before the first origin (None: not a candidate)


def origin_columns(n: int, horizon: int, origins: int, step: int, day: int, first: int = 0):
    """Columns of the holdout origins of a series whose values start at column ``first`` of a history
    of ``n`` bins, and the steps each holdout forecast covers (the last one ends at ``n``).

    The forecasts keep ``MIN_HISTORY_DAYS`` of history before them. A series too short for ``origins``
    origins of ``horizon`` steps gets shorter forecasts (down to a day), then fewer origins.
    """
    available = n - first - MIN_HISTORY_DAYS * day
    if available < 1:
        return [], 0
    least = min(horizon, day)
    k = origins if available - (origins - 1) * step >= least else max(1, (available - least) // step + 1)
    steps = max(1, min(horizon, available - (k - 1) * step))
    last = n - steps
    return [last - (k - 1 - i) * step for i in range(k)], steps


def naive_scale(hist: np.ndarray, period: int) -> np.ndarray:
    """Mean absolute one-season difference of each series (the MASE denominator; NaN without one)."""
    if hist.shape[1] <= period:
        return np.full(hist.shape[0], np.nan)
    diff = np.abs(hist[:, period:] - hist[:, :-period])
    count = np.isfinite(diff).sum(axis=1)
    return np.where(count > 0, np.nansum(diff, axis=1) / np.maximum(count, 1), np.nan)


def holdout_errors(names: Sequence[str], hist: np.ndarray, first_bin: int, horizon: int, spec: ForecastSpec,
                   origins: int, step: int):
    """Errors ``(candidates, series, origins, steps)`` (actual - forecast) of every candidate at every
    holdout origin (NaN where a short series has fewer), and the gradient boosting model (pickled)
    when it is a candidate, fitted on the targets before the earliest origin."""
    import pickle

    hist = np.atleast_2d(np.asarray(hist, dtype=float))
    rows, n = hist.shape
    seen = np.isfinite(hist)
    firsts = np.where(seen.any(axis=1), np.argmax(seen, axis=1), n)
    plans = {}
    for s, first in enumerate(firsts):
        cols, steps = origin_columns(n, horizon, origins, step, spec.day, int(first))
        if cols:
            plans.setdefault((tuple(cols), steps), []).append(s)
    width = max((steps for _, steps in plans), default=0)
    E = np.full((len(names), rows, origins, width), np.nan)
    cutoff = min((cols[0] for cols, _ in plans), default=0)
    blob = fit_hgb(hist, first_bin, cutoff, horizon, spec) if "hgb" in names and plans else None
    hgb = pickle.loads(blob) if blob is not None else None
    for (cols, steps), members in plans.items():
        sel = np.asarray(members)
        for k, o in enumerate(cols):
            f = forecast(names, hist[sel, :o], first_bin, steps, spec, hgb_model=hgb)
            for c, name in enumerate(names):
                E[c, sel, k, :steps] = hist[sel, o:o + steps] - f[name]
    return E, blob


def select(E: np.ndarray, names: Sequence[str]):
    """Per series the candidate with the lowest MAE over every origin and step, the MAEs ``(candidates,
    series)``, and the cross-validated errors ``(series, origins, steps)`` of the choice (see the module)."""
    absolute = np.abs(E)
    count = np.isfinite(absolute).sum(axis=(2, 3))
    total = np.nansum(absolute, axis=(2, 3))
    mae = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    rows, origins, steps = E.shape[1:]
    errors = np.full((rows, origins, steps), np.nan)
    series = np.arange(rows)
    for k in range(origins):  # the error at origin k of the candidate chosen on the other origins
        rest_count = count - np.isfinite(absolute[:, :, k, :]).sum(axis=2)
        rest = (total - np.nansum(absolute[:, :, k, :], axis=2)) / np.maximum(rest_count, 1)
        pick = _argmin_index(np.where(rest_count > 0, rest, mae))  # a single origin: its own choice
        errors[:, k] = np.where((pick >= 0)[:, None], E[np.maximum(pick, 0), series, k], np.nan)
    return _argmin(mae, names), mae, errors


def holdout(names: Sequence[str], hist: np.ndarray, first_bin: int, horizon: int, spec: ForecastSpec,
            origins: int, step: int) -> Holdout:
    """Forecast the holdout with every candidate, choose per series, keep the cross-validated errors."""
    hist = np.atleast_2d(np.asarray(hist, dtype=float))
    E, blob = holdout_errors(names, hist, first_bin, horizon, spec, origins, step)
    chosen, mae, errors = select(E, names)
    return Holdout(chosen, mae, naive_scale(hist, spec.day), errors, blob)


def _argmin_index(score: np.ndarray) -> np.ndarray:
    """Per column, the row of the lowest finite value (the first on ties; -1 without one)."""
    finite = np.isfinite(score)
    best = np.argmin(np.where(finite, score, np.inf), axis=0)
    return np.where(finite.any(axis=0), best, -1)


def _argmin(mae: np.ndarray, names: Sequence[str]) -> List[Optional[str]]:
    return [names[i] if i >= 0 else None for i in _argmin_index(mae)]
