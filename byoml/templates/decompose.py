"""The per-series engine of ``series-decompose``: a rolling seasonal decomposition (numpy).

KQL's ``series_decompose`` splits a series into seasonal + trend + residual over the
whole series. Here the decomposition is a *forecaster* that only looks back: every
``refit`` bins (KQL's ``Test_points``) the components are fitted on the ``lookback``
bins before, and the next ``refit`` bins are predicted from them:

* seasonal: the median per phase (bin index modulo the period) of the detrended history;
* trend: ``avg`` (the mean), ``linefit`` (least squares line, extrapolated) or ``none``;
* level (optional): the median of the last ``level`` residuals is added to each bin's
  prediction, so a level shift is absorbed after about ``level / 2`` bins.

Each bin is therefore predicted from data strictly before it. Values may first be
log-transformed (``log(y + offset)``), which makes components and fences relative.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional, Sequence, Tuple

import numpy as np

from .nanstats import nanmedian, rolling_nanmedian

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
    """Median per phase 0..period-1 of consecutive ``values`` whose first has ``first_phase``.

    NaN for a phase without values.
    """
    tail = (-(first_phase + len(values))) % period
    padded = np.concatenate([np.full(first_phase, np.nan), values, np.full(tail, np.nan)])
    return nanmedian(padded.reshape(-1, period), axis=0)


def fit_components(history: np.ndarray, index: np.ndarray, spec: DecomposeSpec):
    """Fit trend and seasonal on ``history`` (consecutive absolute bin numbers ``index``).

    Returns a function mapping absolute bin numbers to the baseline.
    """
    x = index.astype(float)
    if spec.trend == "avg":
        level = float(np.nanmean(history))
        slope, x0 = 0.0, 0.0
    elif spec.trend == "linefit":
        x0 = float(x.mean())
        ok = np.isfinite(history)
        slope, level = np.polyfit(x[ok] - x0, history[ok], 1) if ok.sum() >= 2 else (0.0, float(np.nanmean(history)))
        slope, level = float(slope), float(level)
    else:
        level, slope, x0 = 0.0, 0.0, 0.0
    detrended = history - (level + slope * (x - x0))
    seasonal = None
    if spec.period > 1:
        seasonal = _phase_median(detrended, int(index[0] % spec.period), spec.period)
        seasonal = np.nan_to_num(seasonal, nan=0.0)

    def baseline(at: np.ndarray) -> np.ndarray:
        base = level + slope * (at.astype(float) - x0)
        if seasonal is not None:
            base = base + seasonal[(at % spec.period).astype(int)]
        return base

    return baseline


def rolling_forecast(z: np.ndarray, index: np.ndarray, start: int, spec: DecomposeSpec,
                     quantiles: Optional[Tuple[float, float]] = None) -> Dict[str, np.ndarray]:
    """Predict ``z[start:]`` block by block, each block from the ``lookback`` bins before it.

    ``index`` holds the absolute bin number of every element (phases follow the clock).
    Returns ``baseline`` (NaN where the history is too short) and, when ``quantiles`` is
    given, the in-sample residual quantiles ``q_lo`` / ``q_hi`` of the fit used for each
    bin (KQL's fences, recomputed with every fit).
    """
    n = len(z)
    baseline = np.full(n, np.nan)
    q_lo = np.full(n, np.nan)
    q_hi = np.full(n, np.nan)
    need = spec.history_needed
    if start >= n:
        return {"baseline": baseline, "q_lo": q_lo, "q_hi": q_hi}
    # blocks start on absolute multiples of ``refit``: a bin's prediction does not depend on the run's window
    first = start - int(index[start] % spec.refit)
    for r in range(first, n, spec.refit):
        stop = min(n, r + spec.refit)
        h0 = max(0, r - spec.lookback)
        if r - h0 < need or r < 0:
            continue
        model = fit_components(z[h0:r], index[h0:r], spec)
        block = model(index[r:stop])
        if spec.level > 0:
            lo = max(h0, r - spec.level)
            resid = z[lo:stop] - model(index[lo:stop])
            med = np.r_[np.nan, rolling_nanmedian(resid, spec.level)[:-1]]  # bins strictly before
            block = block + np.nan_to_num(med[r - lo:], nan=0.0)
        baseline[r:stop] = block
        if quantiles is not None:
            fitted = z[h0:r] - model(index[h0:r])
            fitted = fitted[np.isfinite(fitted)]
            if len(fitted):
                q_lo[r:stop], q_hi[r:stop] = np.quantile(fitted, quantiles)
    return {"baseline": baseline, "q_lo": q_lo, "q_hi": q_hi}


def holdout_errors(z: np.ndarray, index: np.ndarray, specs: Sequence[DecomposeSpec], holdout_from: int) -> list:
    """Mean absolute one-block-ahead error of each spec on the bins of ``z[holdout_from:]`` all specs predict."""
    preds = [rolling_forecast(z, index, holdout_from, spec)["baseline"][holdout_from:] for spec in specs]
    actual = z[holdout_from:]
    common = np.isfinite(actual)
    for p in preds:
        common &= np.isfinite(p)
    if not common.any():
        return [float("nan")] * len(specs)
    return [float(np.mean(np.abs(actual[common] - p[common]))) for p in preds]
