"""The engine of ``series-decompose``: a rolling seasonal decomposition, for many series at once (numpy).

KQL's ``series_decompose`` splits a series into seasonal + trend + residual over the
whole series. Here the decomposition is a *forecaster* that only looks back: every
``refit`` bins (KQL's ``Test_points``) the components are fitted on the ``lookback``
bins before, and the next ``refit`` bins are predicted from them:

* seasonal: the median per phase (bin index modulo the period) of the detrended history;
* trend: ``avg`` (the mean), ``linefit`` (least squares line, extrapolated) or ``none``;
* level (optional): the median of the last ``level`` residuals is added to each bin's
  prediction, so a level shift is absorbed after about ``level / 2`` bins.

Each bin is therefore predicted from data strictly before it. Values may first be
transformed (:mod:`byoml.templates.transform`).

Every function takes a batch: ``z`` of shape ``(series, bins)`` on one grid of absolute bin
numbers ``index``, NaN before a series' first bin (a 1-D ``z`` is a batch of one). The
work per refit is a few array operations over the whole batch, not a loop over series.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional, Tuple

import numpy as np

from .nanstats import nanmedian, nanquantile, rolling_nanmedian

TRENDS = ("avg", "linefit", "none")


@dataclass(frozen=True)
class DecomposeSpec:
    """How one baseline is fitted and rolled forward (all lengths in bins)."""

    period: int = 24
    trend: str = "avg"
    lookback: int = 14 * 24
    refit: int = 24
    level: int = 0
    min_history: Optional[int] = None

    @property
    def history_needed(self) -> int:
        """Fewest bins of history a fit needs: two cycles of the period, at least one day of 1h bins."""
        if self.min_history is not None:
            return self.min_history
        return max(2 * self.period, 24)


def _phase_median(values: np.ndarray, first_phase: int, period: int) -> np.ndarray:
    """Median per phase 0..period-1 of consecutive ``values`` (per row) whose first has ``first_phase``.

    NaN for a phase without values.
    """
    rows = values.shape[0]
    tail = (-(first_phase + values.shape[1])) % period
    padded = np.concatenate([np.full((rows, first_phase), np.nan), values, np.full((rows, tail), np.nan)], axis=1)
    return nanmedian(padded.reshape(rows, -1, period), axis=1)


@dataclass
class Components:
    """Fitted trend and seasonal of every series of a batch."""

    level: np.ndarray  # (series,)
    slope: np.ndarray  # (series,)
    x0: np.ndarray  # (series,)
    seasonal: Optional[np.ndarray]  # (series, period)
    period: int

    def __call__(self, at: np.ndarray) -> np.ndarray:
        """The baseline at absolute bin numbers ``at``: shape ``(series, len(at))``."""
        x = at.astype(float)[None, :]
        base = self.level[:, None] + self.slope[:, None] * (x - self.x0[:, None])
        if self.seasonal is not None:
            base = base + self.seasonal[:, (at % self.period).astype(int)]
        return base


def fit_components(history: np.ndarray, index: np.ndarray, spec: DecomposeSpec) -> Components:
    """Fit trend and seasonal on ``history`` (series x consecutive absolute bin numbers ``index``)."""
    history = np.atleast_2d(history)
    rows = history.shape[0]
    ok = np.isfinite(history)
    n = ok.sum(axis=1)
    x = np.broadcast_to(index.astype(float)[None, :], history.shape)
    zero = np.zeros(rows)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n > 0, np.where(ok, history, 0.0).sum(axis=1) / np.maximum(n, 1), np.nan)
        if spec.trend == "avg":
            level, slope, x0 = mean, zero, zero
        elif spec.trend == "linefit":  # least squares on the finite values of each row
            x0 = np.where(ok, x, 0.0).sum(axis=1) / np.maximum(n, 1)
            dx = np.where(ok, x - x0[:, None], 0.0)
            dy = np.where(ok, history - mean[:, None], 0.0)
            sxx = (dx * dx).sum(axis=1)
            fit = (n >= 2) & (sxx > 0)
            slope = np.where(fit, (dx * dy).sum(axis=1) / np.where(sxx > 0, sxx, 1.0), 0.0)
            level = mean  # the fitted line passes through (mean x, mean y)
        else:
            level, slope, x0 = zero, zero, zero
    comp = Components(level, slope, x0, None, spec.period)
    if spec.period > 1:
        detrended = history - comp(index)
        comp.seasonal = np.nan_to_num(_phase_median(detrended, int(index[0] % spec.period), spec.period), nan=0.0)
    return comp


def rolling_forecast(z: np.ndarray, index: np.ndarray, start: int, spec: DecomposeSpec,
                     quantiles: Optional[Tuple[float, float]] = None) -> Dict[str, np.ndarray]:
    """Predict ``z[:, start:]`` block by block, each block from the ``lookback`` bins before it.

    ``index`` holds the absolute bin number of every column (phases follow the clock). A
    series' fit uses its own finite history only, and a block is left NaN for a series with
    less than ``spec.history_needed`` bins of it. Returns ``baseline`` and, when ``quantiles``
    is given, the in-sample residual quantiles ``q_lo`` / ``q_hi`` of the fit used for each
    bin (KQL's fences, recomputed with every fit); arrays shaped like ``z``.
    """
    one = np.ndim(z) == 1
    z = np.atleast_2d(np.asarray(z, dtype=float))
    rows, n = z.shape
    baseline = np.full((rows, n), np.nan)
    q_lo = np.full((rows, n), np.nan)
    q_hi = np.full((rows, n), np.nan)
    need = spec.history_needed
    if start < n:
        # blocks start on absolute multiples of ``refit``: a bin's prediction does not depend on the run's window
        first = start - int(index[start] % spec.refit)
        first += -(-max(0, -first) // spec.refit) * spec.refit  # the first block boundary at or after column 0
        finite = np.isfinite(z)
        for r in range(first, n, spec.refit):
            stop = min(n, r + spec.refit)
            h0 = max(0, r - spec.lookback)
            enough = finite[:, h0:r].sum(axis=1) >= need
            if r - h0 < need or not enough.any():
                continue
            model = fit_components(z[:, h0:r], index[h0:r], spec)
            block = model(index[r:stop])
            if spec.level > 0:
                lo = max(h0, r - spec.level)
                resid = z[:, lo:stop] - model(index[lo:stop])
                med = rolling_nanmedian(resid, spec.level)
                med = np.concatenate([np.full((rows, 1), np.nan), med[:, :-1]], axis=1)  # bins strictly before
                block = block + np.nan_to_num(med[:, r - lo:], nan=0.0)
            baseline[enough, r:stop] = block[enough]
            if quantiles is not None:
                qs = nanquantile(z[:, h0:r] - model(index[h0:r]), quantiles, axis=1)  # (2, series)
                q_lo[enough, r:stop] = qs[0][enough, None]
                q_hi[enough, r:stop] = qs[1][enough, None]
    out = {"baseline": baseline, "q_lo": q_lo, "q_hi": q_hi}
    return {k: v[0] for k, v in out.items()} if one else out
