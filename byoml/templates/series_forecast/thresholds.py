"""When a forecast reaches a threshold: a daily cap, a commitment tier, a floor of free space.

The threshold is compared with the forecast *aggregated over its window* (``threshold_window``,
windows aligned on the epoch like bins: ``1d`` is a UTC day): the running sum of the window so far
for sums and counts (a daily cap is on the day's total), the running mean for gauges. The part of
the first window observed before the forecast starts counts too: at 14:00, today's cap already
holds the morning's volume. The crossing is the first bin at which the running value reaches the
threshold (``above``: at or over it; ``below``: at or under it).

>>> import numpy as np
>>> f = np.full((1, 48), 3.0)  # 3 per hour from midnight: a cap of 50 per day is reached at 16:00
>>> run = running(f, np.arange(48), 24, np.zeros(1), np.zeros(1), mean=False)
>>> int(first_crossing(run, np.array([50.0]), "above")[0])
16
"""
from __future__ import annotations

import numpy as np


def running(values: np.ndarray, bins: np.ndarray, window: int, prefix_sum: np.ndarray, prefix_count: np.ndarray,
            mean: bool) -> np.ndarray:
    """Running sum (or mean) of ``values`` ``(series, bins)`` within each window of ``window`` bins,
    the first window starting from ``prefix_sum`` over ``prefix_count`` observed bins."""
    values = np.atleast_2d(np.asarray(values, dtype=float))
    win = np.asarray(bins, dtype=np.int64) // window
    cs = np.cumsum(values, axis=1)
    j = np.arange(values.shape[1])
    starts = np.flatnonzero(np.r_[True, win[1:] != win[:-1]])
    seg = starts[np.searchsorted(starts, j, side="right") - 1]  # first column of each column's window
    base = np.where(seg > 0, cs[:, np.maximum(seg - 1, 0)], 0.0)
    total = cs - base
    count = (j - seg + 1).astype(float)[None, :].repeat(values.shape[0], axis=0)
    first = win == win[0]
    total = total + np.where(first[None, :], np.asarray(prefix_sum, dtype=float)[:, None], 0.0)
    count = count + np.where(first[None, :], np.asarray(prefix_count, dtype=float)[:, None], 0.0)
    return total / count if mean else total


def first_crossing(run: np.ndarray, threshold: np.ndarray, direction: str) -> np.ndarray:
    """Per series, the column where ``run`` first reaches ``threshold`` (-1: never; NaN threshold: never)."""
    thr = np.asarray(threshold, dtype=float)[:, None]
    with np.errstate(invalid="ignore"):
        hit = run >= thr if direction == "above" else run <= thr
    hit &= np.isfinite(thr)
    return np.where(hit.any(axis=1), np.argmax(hit, axis=1), -1)


def utilisation(run: np.ndarray, threshold: np.ndarray, direction: str) -> np.ndarray:
    """How far toward the threshold each bin is: 1.0 at the threshold, above 1 beyond it; 0 without one."""
    thr = np.asarray(threshold, dtype=float)[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        share = run / thr if direction == "above" else thr / np.maximum(run, 1e-12)
    share = np.where(np.isfinite(thr) & (thr != 0), share, 0.0)
    return np.nan_to_num(share, nan=0.0, posinf=1e6, neginf=0.0)
