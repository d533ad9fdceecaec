"""Quantiles and medians that ignore NaN, along one axis, by one sort (numpy).

``np.nanquantile`` / ``np.nanmedian`` take a slow path per call (masked arrays for small
inputs), which dominated the per-series loops of the time-series templates. These sort
once, NaNs last, and interpolate linearly between order statistics, as ``np.quantile``'s
default (``method="linear"``) does. A slice without finite values gives NaN.

>>> a = np.array([[1.0, np.nan, 3.0, 2.0], [np.nan, np.nan, np.nan, np.nan]])
>>> nanquantile(a, [0.5, 1.0], axis=1).tolist()
[[2.0, nan], [3.0, nan]]
>>> bool(np.allclose(nanquantile(np.arange(10.0), 0.1), np.quantile(np.arange(10.0), 0.1)))
True
"""
from __future__ import annotations

from typing import Sequence, Union

import numpy as np


def nanquantile(a: np.ndarray, q: Union[float, Sequence[float]], axis: int = -1) -> np.ndarray:
    """Quantiles ``q`` of ``a`` along ``axis`` ignoring NaN; shape ``q.shape + a.shape without axis``."""
    a = np.moveaxis(np.asarray(a, dtype=float), axis, -1)
    qs = np.asarray(q, dtype=float)
    s = np.sort(a, axis=-1)  # NaN sort last
    count = np.isfinite(a).sum(axis=-1)
    h = (np.maximum(count, 1) - 1)[None, ...] * qs.reshape(-1, *([1] * count.ndim))
    lo = np.floor(h).astype(np.int64)
    hi = np.minimum(lo + 1, np.maximum(count, 1)[None, ...] - 1)
    s_b = np.broadcast_to(s, (len(qs.reshape(-1)),) + s.shape)
    x_lo = np.take_along_axis(s_b, lo[..., None], axis=-1)[..., 0]
    x_hi = np.take_along_axis(s_b, hi[..., None], axis=-1)[..., 0]
    out = x_lo + (h - lo) * (x_hi - x_lo)
    out = np.where(count[None, ...] > 0, out, np.nan)
    return out.reshape(qs.shape + count.shape)


def nanmedian(a: np.ndarray, axis: int = -1) -> np.ndarray:
    """Median along ``axis`` ignoring NaN (NaN where a slice has no finite value)."""
    return nanquantile(a, 0.5, axis=axis)


def rolling_nanmedian(x: np.ndarray, window: int) -> np.ndarray:
    """Median of ``x[..., max(0, i - window + 1): i + 1]`` for every ``i`` along the last axis.

    NaN ignored, as pandas' ``rolling(window, min_periods=1).median()``; works on a batch of
    rows at once.

    >>> rolling_nanmedian(np.array([1.0, 3.0, 2.0, np.nan, 10.0]), 2).tolist()
    [1.0, 2.0, 2.5, 2.0, 10.0]
    """
    x = np.asarray(x, dtype=float)
    if window <= 1 or x.shape[-1] == 0:
        return x.copy()
    pad = np.full(x.shape[:-1] + (window - 1,), np.nan)
    windows = np.lib.stride_tricks.sliding_window_view(np.concatenate([pad, x], axis=-1), window, axis=-1)
    return nanmedian(windows, axis=-1)
