"""The forecasting models a series chooses from, each on a batch of series at once (numpy).

Every candidate takes the history of a batch, ``hist`` of shape ``(series, bins)`` whose columns are
the consecutive absolute bins ``first_bin, first_bin + 1, ...`` (NaN before a series' first bin and,
for a gauge, where a bin has no value), and forecasts the ``horizon`` bins that follow it:

* ``naive_day`` / ``naive_week``: the last day (week) repeated (seasonal naive; ``naive_week`` falls
  back to the day while a series has less than half a week of history);
* ``decompose``: KQL's ``series_decompose_forecast``: median seasonal profile plus a least squares
  line over the ``lookback`` (:mod:`byoml.templates.decompose`), extrapolated; weekly period when the
  lookback holds three weeks of the series, else daily;
* ``profile_day`` / ``profile_week``: the seasonal profile with a flat trend (the mean of the lookback)
  plus the median residual of the last day: the forecaster of ``series-decompose``, held flat;
* ``theta``: the Theta method on the seasonally adjusted series: simple exponential smoothing
  (its alpha chosen per series by the one-step error over the lookback) plus half the slope of the
  lookback's line, the seasonal profile added back (what M3/M4 rank among the strong simple methods);
* ``hgb``: scikit-learn's HistGradientBoosting, one model per batch of series, on calendar and lag
  features taken at the forecast origin (hour, day of week, steps ahead, the same hour one day and
  one week before the origin, the daily and weekly profiles, the last day's and week's means), each
  series divided by its last week's mean: a direct multi-step forecast of every horizon at once.

statsforecast (AutoETS, AutoTheta, MSTL) was measured against these: it adds 250 MB to an install
that already has numpy, pandas, scipy and scikit-learn (statsmodels, fugue, coreforecast,
utilsforecast), and fits one series at a time. The candidates here are a few array operations per
batch of series, so the choice on a rolling-origin holdout stays cheap enough to run every week on
every series (``benchmarks/forecast_quality.py`` has the figures).

>>> import numpy as np
>>> t = np.arange(24 * 21)
>>> y = 10 + 5 * np.sin(2 * np.pi * t / 24)
>>> f = forecast(["naive_day", "profile_day"], y[None, :], 0, 48, ForecastSpec())
>>> bool(np.allclose(f["naive_day"][0], y[:48]) and np.allclose(f["profile_day"][0], y[:48]))
True
"""
from __future__ import annotations

import pickle
from dataclasses import dataclass
from typing import Dict, Optional, Sequence

import numpy as np

from ..decompose import DecomposeSpec, fit_components
from ..nanstats import nanmedian

CANDIDATES = ("naive_day", "naive_week", "decompose", "profile_day", "profile_week", "theta", "hgb")
ALPHAS = (0.02, 0.05, 0.1, 0.2, 0.35, 0.5, 0.8)
EPOCH_WEEKDAY = 3  # 1970-01-01 was a Thursday: weekday (Monday 0) of bin 0


@dataclass(frozen=True)
class ForecastSpec:
    """Bins per day, the lookback a forecast is made from, and the series' kind."""

    day: int = 24
    lookback: int = 28 * 24
    bin_seconds: int = 3600
    seed: int = 0
    hgb_iter: int = 100
    hgb_rows: int = 150_000

    @property
    def week(self) -> int:
        return 7 * self.day


def _tail(hist: np.ndarray, length: int) -> np.ndarray:
    """The last ``length`` columns of ``hist`` (NaN-padded on the left when it is shorter)."""
    n = hist.shape[1]
    if n >= length:
        return hist[:, n - length:]
    return np.concatenate([np.full((hist.shape[0], length - n), np.nan), hist], axis=1)


def _row_mean(x: np.ndarray) -> np.ndarray:
    count = np.isfinite(x).sum(axis=1)
    with np.errstate(invalid="ignore"):
        return np.where(count > 0, np.nansum(x, axis=1) / np.maximum(count, 1), np.nan)


def _filled(x: np.ndarray) -> np.ndarray:
    """NaN replaced by the previous finite value of the row (leading NaN by the first one; 0 if none)."""
    x = np.array(x, dtype=float)
    ok = np.isfinite(x)
    idx = np.where(ok, np.arange(x.shape[1])[None, :], 0)
    np.maximum.accumulate(idx, axis=1, out=idx)
    out = np.take_along_axis(x, idx, axis=1)
    first = np.where(ok.any(axis=1), np.argmax(ok, axis=1), 0)
    lead = np.take_along_axis(x, first[:, None], axis=1)
    lead = np.where(np.isfinite(lead), lead, 0.0)
    return np.where(np.isfinite(out), out, lead)


def _seen(hist: np.ndarray, length: int) -> np.ndarray:
    """Finite values of each series among its last ``length`` bins."""
    return np.isfinite(_tail(hist, length)).sum(axis=1)


def seasonal_naive(hist: np.ndarray, horizon: int, period: int) -> np.ndarray:
    """The last ``period`` bins repeated (a bin without a value: the mean of that cycle)."""
    last = _tail(hist, period)
    last = np.where(np.isfinite(last), last, _row_mean(last)[:, None])
    return last[:, np.arange(horizon) % period]


def _components(hist: np.ndarray, first_bin: int, length: int, period: int, trend: str):
    """Seasonal + trend fitted on the last ``length`` bins, and those bins' absolute numbers."""
    n = hist.shape[1]
    length = min(length, n)
    at = np.arange(first_bin + n - length, first_bin + n, dtype=np.int64)
    spec = DecomposeSpec(period=period if period > 1 else 0, trend=trend, lookback=length, refit=1)
    return fit_components(hist[:, n - length:], at, spec), at


def _period(hist: np.ndarray, spec: ForecastSpec, cycles: int) -> np.ndarray:
    """Per series: True where the lookback holds ``cycles`` weeks of it (a weekly period), else daily."""
    return _seen(hist, min(spec.lookback, hist.shape[1])) >= cycles * spec.week


def decompose_forecast(hist: np.ndarray, first_bin: int, horizon: int, spec: ForecastSpec, trend: str = "linefit",
                       weekly: Optional[np.ndarray] = None) -> np.ndarray:
    """KQL-style ``series_decompose_forecast``: seasonal profile + trend over the lookback, extrapolated."""
    future = np.arange(first_bin + hist.shape[1], first_bin + hist.shape[1] + horizon, dtype=np.int64)
    weekly = _period(hist, spec, 3) if weekly is None else weekly
    out = np.full((hist.shape[0], horizon), np.nan)
    for use_week, period in ((False, spec.day), (True, spec.week)):
        rows = weekly == use_week
        if rows.any():
            comp, _ = _components(hist[rows], first_bin, spec.lookback, period, trend)
            out[rows] = comp(future)
    return out


def profile_forecast(hist: np.ndarray, first_bin: int, horizon: int, spec: ForecastSpec, period: int) -> np.ndarray:
    """The seasonal profile over the lookback (flat trend) plus the median residual of the last day."""
    n = hist.shape[1]
    future = np.arange(first_bin + n, first_bin + n + horizon, dtype=np.int64)
    comp, at = _components(hist, first_bin, spec.lookback, period, "avg")
    recent = min(spec.day, n)
    level = nanmedian(hist[:, n - recent:] - comp(at[len(at) - recent:]), axis=1)
    return comp(future) + np.nan_to_num(level)[:, None]


def theta_forecast(hist: np.ndarray, first_bin: int, horizon: int, spec: ForecastSpec) -> np.ndarray:
    """Theta: SES of the seasonally adjusted lookback plus half its linear drift, the season added back."""
    from scipy.signal import lfilter

    n = hist.shape[1]
    future = np.arange(first_bin + n, first_bin + n + horizon, dtype=np.int64)
    weekly = _period(hist, spec, 2)
    out = np.full((hist.shape[0], horizon), np.nan)
    for use_week, period in ((False, spec.day), (True, spec.week)):
        rows = np.flatnonzero(weekly == use_week)
        if not len(rows):
            continue
        comp, at = _components(hist[rows], first_bin, spec.lookback, period, "avg")
        season = comp(at) - comp.level[:, None]
        adjusted = _filled(hist[rows, n - len(at):] - season)
        best, best_err = None, np.full(len(rows), np.inf)
        warm = len(at) // 4
        for a in ALPHAS:
            level = lfilter([a], [1.0, -(1.0 - a)], adjusted, axis=1, zi=((1 - a) * adjusted[:, :1]))[0]
            err = np.mean(np.abs(adjusted[:, warm + 1:] - level[:, warm:-1]), axis=1) if len(at) > warm + 1 else np.zeros(len(rows))
            better = err < best_err
            best = level[:, -1] if best is None else np.where(better, level[:, -1], best)
            best_err = np.where(better, err, best_err)
        x = np.arange(len(at), dtype=float)
        xc = x - x.mean()
        slope = (adjusted - adjusted.mean(axis=1, keepdims=True)) @ xc / max(float(xc @ xc), 1e-12)
        steps = np.arange(1, horizon + 1, dtype=float)
        seasonal_future = comp(future) - comp.level[:, None]
        out[rows] = best[:, None] + 0.5 * slope[:, None] * steps[None, :] + seasonal_future
    return out


# -- gradient boosting on calendar and lag features --------------------------------------------------
HGB_FEATURES = ("hour", "dow", "step", "lag_day", "lag_week", "profile_day", "profile_week", "mean_day", "mean_week")


def hgb_features(hist: np.ndarray, first_bin: int, horizon: int, spec: ForecastSpec):
    """Features of the ``horizon`` bins after ``hist`` (rows: series-major) and each series' scale.

    Values are divided by the series' mean over its last week (its scale), so one model serves
    series of any size; every feature comes from bins before the origin.
    """
    rows, n = hist.shape
    day, week = spec.day, spec.week
    scale = _row_mean(np.abs(_tail(hist, week)))
    scale = np.where(np.isfinite(scale) & (scale > 0), scale, 1.0)
    v = hist / scale[:, None]
    steps = np.arange(1, horizon + 1)
    future = first_bin + n - 1 + steps
    lag_d = _tail(v, day)[:, (steps - 1) % day]
    lag_w = _tail(v, week)[:, (steps - 1) % week]
    prof_d, _ = _components(v, first_bin, week, day, "none")
    prof_w, _ = _components(v, first_bin, 4 * week, week, "none")
    feats = np.empty((rows, horizon, len(HGB_FEATURES)))
    seconds = future * spec.bin_seconds
    feats[:, :, 0] = (seconds % 86400) // 3600 if day > 1 else 0
    feats[:, :, 1] = (seconds // 86400 + EPOCH_WEEKDAY) % 7
    feats[:, :, 2] = steps
    feats[:, :, 3] = lag_d
    feats[:, :, 4] = lag_w
    feats[:, :, 5] = prof_d(future) if day > 1 else np.nan
    feats[:, :, 6] = prof_w(future)
    feats[:, :, 7] = _row_mean(_tail(v, day))[:, None]
    feats[:, :, 8] = _row_mean(_tail(v, week))[:, None]
    return feats.reshape(rows * horizon, -1), scale


def fit_hgb(hist: np.ndarray, first_bin: int, cutoff: int, horizon: int, spec: ForecastSpec) -> Optional[bytes]:
    """One HistGradientBoosting model (pickled) for the batch, from origins before column ``cutoff``.

    Training origins are spaced a quarter of the horizon (at least a day) apart, from a week after
    the first values to ``cutoff``; only targets before ``cutoff`` are used. None without enough rows.
    """
    from sklearn.ensemble import HistGradientBoostingRegressor

    step = max(spec.day, horizon // 4)
    start = spec.week + 1
    X, y = [], []
    for origin in range(cutoff - 1, start - 1, -step):
        h = min(horizon, cutoff - origin)
        feats, scale = hgb_features(hist[:, :origin], first_bin, h, spec)
        target = (hist[:, origin:origin + h] / scale[:, None]).reshape(-1)
        keep = np.isfinite(target) & np.isfinite(feats[:, 3])
        X.append(feats[keep])
        y.append(target[keep])
    if not X or sum(len(t) for t in y) < 10 * spec.day:
        return None
    X, y = np.concatenate(X), np.concatenate(y)
    if len(y) > spec.hgb_rows:
        keep = np.random.default_rng(spec.seed).choice(len(y), spec.hgb_rows, replace=False)
        X, y = X[keep], y[keep]
    model = HistGradientBoostingRegressor(loss="absolute_error", max_iter=spec.hgb_iter, learning_rate=0.1,
                                          categorical_features=[0, 1] if spec.day > 1 else [1],
                                          random_state=spec.seed)
    model.fit(X, y)
    return pickle.dumps(model)


def hgb_forecast(hist: np.ndarray, first_bin: int, horizon: int, spec: ForecastSpec, model) -> np.ndarray:
    """The fitted model's forecast (NaN for every series when there is no model)."""
    if model is None:
        return np.full((hist.shape[0], horizon), np.nan)
    feats, scale = hgb_features(hist, first_bin, horizon, spec)
    return model.predict(feats).reshape(hist.shape[0], horizon) * scale[:, None]


def forecast(names: Sequence[str], hist: np.ndarray, first_bin: int, horizon: int, spec: ForecastSpec,
             hgb_model=None) -> Dict[str, np.ndarray]:
    """Forecasts ``(series, horizon)`` of each named candidate from the history ``hist`` (see the module).

    A series with no value in the lookback gets NaN; one that has never been below 0 is never forecast below 0.
    """
    hist = np.atleast_2d(np.asarray(hist, dtype=float))
    with np.errstate(invalid="ignore"):
        non_negative = ~(np.nanmin(np.where(np.isfinite(hist), hist, np.inf), axis=1) < 0)
    out: Dict[str, np.ndarray] = {}
    for name in names:
        if name == "naive_day":
            f = seasonal_naive(hist, horizon, spec.day)
        elif name == "naive_week":
            f = np.where((_seen(hist, spec.week) >= spec.week // 2)[:, None], seasonal_naive(hist, horizon, spec.week),
                         seasonal_naive(hist, horizon, spec.day))
        elif name == "decompose":
            f = decompose_forecast(hist, first_bin, horizon, spec)
        elif name == "profile_day":
            f = profile_forecast(hist, first_bin, horizon, spec, spec.day)
        elif name == "profile_week":
            weekly = _period(hist, spec, 2)
            f = np.where(weekly[:, None], profile_forecast(hist, first_bin, horizon, spec, spec.week),
                         profile_forecast(hist, first_bin, horizon, spec, spec.day))
        elif name == "theta":
            f = theta_forecast(hist, first_bin, horizon, spec)
        elif name == "hgb":
            f = hgb_forecast(hist, first_bin, horizon, spec, hgb_model)
        else:
            raise ValueError(f"unknown forecast candidate {name!r}; candidates: {', '.join(CANDIDATES)}")
        empty = _seen(hist, min(spec.lookback, hist.shape[1])) == 0
        f = np.where(empty[:, None], np.nan, f)
        out[name] = np.where(non_negative[:, None], np.maximum(f, 0.0), f)
    return out
