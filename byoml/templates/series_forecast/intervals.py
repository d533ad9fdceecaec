"""Prediction intervals calibrated from holdout errors: empirical quantiles, a width that grows with the horizon.

For each series, the cross-validated holdout errors (:mod:`.selection`; actual - forecast, per
origin and step ``j``) give:

* the *error scale* ``g(j) = a * j**b``: a power law fitted, in logs, to the mean absolute error of
  bands of steps (1, 2-3, 4-7, 8-15, ...), with ``b`` held in [0, 1]; it carries the width past the
  holdout's last step and never narrows with the horizon;
* the quantiles (2.5%, 10%, 90%, 97.5%) of the errors divided by ``g(j)``, over every origin and step:
  a conformal-style calibration that needs no assumption on the model or on the errors' shape
  (they may be skewed: a volume spikes up more than it drops).

The 80% interval at step ``j`` is ``forecast + g(j) * [q10, q90]``, the 95% one ``forecast + g(j) *
[q2.5, q97.5]``, each half-width times ``interval_scale`` (chosen on NAB categories by
``benchmarks/forecast_quality.py``: the errors of a week of holdout understate those of the weeks
after it, where level shifts and new regimes come).

>>> import numpy as np
>>> errors = np.random.default_rng(0).normal(0, 1, (1, 8, 24)) * np.sqrt(np.arange(1, 25))
>>> p = calibrate(errors)
>>> lo, hi = bounds(np.zeros((1, 24)), p, 0.80)
>>> bool((hi[0, -1] - lo[0, -1]) > (hi[0, 0] - lo[0, 0]) > 0)
True
"""
from __future__ import annotations

import numpy as np

from ..nanstats import nanquantile

PARAMS = ("scale_a", "scale_b", "q025", "q10", "q90", "q975")
MAX_EXPONENT = 1.0


def calibrate(errors: np.ndarray) -> np.ndarray:
    """``(series, 6)``: ``a``, ``b`` and the four error quantiles (see the module); NaN without errors."""
    errors = np.atleast_3d(np.asarray(errors, dtype=float))
    rows, _, steps = errors.shape
    out = np.full((rows, len(PARAMS)), np.nan)
    if steps == 0:
        return out
    step = np.arange(1, steps + 1, dtype=float)
    edges = [1]
    while edges[-1] <= steps:
        edges.append(edges[-1] * 2)
    absolute = np.abs(errors)
    for s in range(rows):
        centers, means, weights = [], [], []
        for lo, hi in zip(edges[:-1], edges[1:]):
            band = absolute[s, :, lo - 1:min(hi - 1, steps)]
            seen = np.isfinite(band)
            if seen.sum() and np.nanmean(band) > 0:
                centers.append(np.sqrt(lo * min(hi - 1, steps)))
                means.append(float(np.nanmean(band)))
                weights.append(float(seen.sum()))
        if not means:
            if np.isfinite(absolute[s]).any():  # every error is 0: a constant series
                out[s] = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
            continue
        x, y, w = np.log(centers), np.log(means), np.asarray(weights)
        if len(x) > 1:
            xm, ym = np.average(x, weights=w), np.average(y, weights=w)
            b = float(np.clip(np.sum(w * (x - xm) * (y - ym)) / max(np.sum(w * (x - xm) ** 2), 1e-12), 0.0, MAX_EXPONENT))
        else:
            xm, ym, b = float(x[0]), float(y[0]), 0.0
        a = float(np.exp(ym - b * xm))
        g = a * step ** b
        q = nanquantile((errors[s] / g[None, :]).reshape(-1), [0.025, 0.10, 0.90, 0.975])
        out[s] = (a, b, *[float(v) for v in q])
    return out


def error_scale(params: np.ndarray, horizon: int) -> np.ndarray:
    """``g(j)`` for steps 1..horizon: ``(series, horizon)``."""
    params = np.atleast_2d(params)
    step = np.arange(1, horizon + 1, dtype=float)
    return params[:, 0:1] * step[None, :] ** params[:, 1:2]


def bounds(forecast: np.ndarray, params: np.ndarray, level: float, scale: float = 1.0):
    """Lower and upper bounds of the ``level`` (0.80 or 0.95) interval around ``forecast``.

    The interval always holds the forecast: where the holdout's errors were all on one side (a
    series that grew through the holdout), the bound on the other side is the forecast itself.
    """
    params = np.atleast_2d(params)
    g = error_scale(params, forecast.shape[1]) * scale
    lo_q, hi_q = {0.80: (3, 4), 0.95: (2, 5)}[level]
    lower = forecast + g * params[:, lo_q:lo_q + 1]
    upper = forecast + g * params[:, hi_q:hi_q + 1]
    return np.minimum(lower, forecast), np.maximum(upper, forecast)
