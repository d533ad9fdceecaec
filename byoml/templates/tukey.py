"""Tukey fences on residuals, as KQL's ``series_outliers`` (``ctukey``: 10th/90th percentiles).

A residual ``r`` is scored against the quantiles ``q_lo`` and ``q_hi`` of reference
residuals: ``score = (r - q_hi) / (q_hi - q_lo)`` above ``q_hi``, ``(r - q_lo) / (q_hi - q_lo)``
below ``q_lo`` and 0 between them. ``|score| > k`` is an anomaly (k = 1.5 by default), so the
fences are ``q_lo - k * iqr`` and ``q_hi + k * iqr``.

>>> f = Fences.from_residuals([-1.0, 0.0, 1.0, 0.5, -0.5], (0.1, 0.9), k=1.5, min_spread=0.0)
>>> round(f.lower, 2), round(f.upper, 2)
(-3.2, 3.2)
>>> f.score(np.array([0.0, 5.0])).round(2).tolist(), f.flag(np.array([0.0, 5.0, -9.0])).tolist()
([0.0, 2.62], [0, 1, -1])
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence, Tuple

import numpy as np

from .nanstats import nanquantile


@dataclass(frozen=True)
class Fences:
    """Quantiles of reference residuals and the threshold ``k``."""

    q_lo: float
    q_hi: float
    k: float

    @classmethod
    def from_residuals(cls, residuals: Sequence[float], quantiles: Tuple[float, float], k: float,
                       min_spread: float = 0.0) -> "Fences":
        """Fences from residuals (NaN ignored); the quantile spread is at least ``min_spread``."""
        r = np.asarray(residuals, dtype=float)
        r = r[np.isfinite(r)]
        if len(r) == 0:
            return cls(np.nan, np.nan, k)
        lo, hi = np.quantile(r, quantiles)
        spread = hi - lo
        if spread < min_spread:  # widen symmetrically around the middle of the two quantiles
            mid = (lo + hi) / 2.0
            lo, hi = mid - min_spread / 2.0, mid + min_spread / 2.0
        return cls(float(lo), float(hi), float(k))

    @property
    def spread(self) -> float:
        return self.q_hi - self.q_lo

    @property
    def lower(self) -> float:
        return self.q_lo - self.k * self.spread

    @property
    def upper(self) -> float:
        return self.q_hi + self.k * self.spread

    def score(self, residuals: np.ndarray) -> np.ndarray:
        return tukey_score(residuals, self.q_lo, self.q_hi)

    def flag(self, residuals: np.ndarray) -> np.ndarray:
        return tukey_flag(self.score(residuals), self.k)


def tukey_score(residuals: np.ndarray, q_lo, q_hi) -> np.ndarray:
    """Signed distance beyond the quantiles in units of ``q_hi - q_lo`` (0 between them)."""
    r = np.asarray(residuals, dtype=float)
    q_lo = np.asarray(q_lo, dtype=float)
    q_hi = np.asarray(q_hi, dtype=float)
    spread = np.maximum(q_hi - q_lo, 1e-12)
    with np.errstate(invalid="ignore"):
        above = np.where(r > q_hi, (r - q_hi) / spread, 0.0)
        below = np.where(r < q_lo, (r - q_lo) / spread, 0.0)
    out = above + below
    return np.where(np.isfinite(r) & np.isfinite(q_lo) & np.isfinite(q_hi), out, np.nan)


def tukey_flag(score: np.ndarray, k: float) -> np.ndarray:
    """+1 / -1 where ``|score| > k``, else 0 (NaN scores are not flags)."""
    s = np.nan_to_num(np.asarray(score, dtype=float), nan=0.0)
    return np.where(s > k, 1, np.where(s < -k, -1, 0)).astype(np.int32)


#: a phase's fences are at least this share of the pooled spread (phases with few or tied residuals)
MIN_PHASE_SPREAD = 0.5


def recent_quantiles(residuals: np.ndarray, index: np.ndarray, start: int, block: int, window: int,
                     quantiles: Tuple[float, float], min_count: int, cycle: int = 0,
                     width: int = 0) -> Tuple[np.ndarray, np.ndarray]:
    """Quantiles of the residuals in the ``window`` bins before each block of ``block`` bins.

    ``residuals``: one series, or a batch ``(series, bins)`` on the absolute bin numbers ``index``.
    Blocks start on absolute multiples of ``block``, from the block holding element ``start`` on,
    so a bin's fences do not depend on the run's window. Each block's quantiles come only from
    residuals *before* the block; NaN for a series with fewer than ``min_count`` finite ones.

    With a ``cycle`` (bins per day, say), the quantiles of a bin come from the residuals whose
    phase (bin number modulo ``cycle``) is within ``width`` of its own: noise that differs
    between night and day gets fences of its own size. Their spread is at least
    :data:`MIN_PHASE_SPREAD` times the spread of all the window's residuals, around the
    phase's own middle (and that spread is used where a phase has fewer than 5 residuals).

    >>> r = np.r_[np.tile([-1.0, 1.0], 24), np.zeros(4)]
    >>> lo, hi = recent_quantiles(r, np.arange(52), 48, 4, 48, (0.1, 0.9), 24)
    >>> lo[48:].tolist(), hi[48:].tolist(), bool(np.isnan(lo[:48]).all())
    ([-1.0, -1.0, -1.0, -1.0], [1.0, 1.0, 1.0, 1.0], True)
    >>> r = np.r_[np.tile([-1.0, -2.0, 1.0, 2.0], 12), np.zeros(4)]  # odd phases are twice as noisy
    >>> lo, hi = recent_quantiles(r, np.arange(52), 48, 4, 48, (0.1, 0.9), 24, cycle=2, width=0)
    >>> hi[48:].tolist()
    [1.0, 2.0, 1.0, 2.0]
    """
    one = np.ndim(residuals) == 1
    r = np.atleast_2d(np.asarray(residuals, dtype=float))
    rows, n = r.shape
    q_lo, q_hi = np.full((rows, n), np.nan), np.full((rows, n), np.nan)
    index = np.asarray(index, dtype=np.int64)
    if start < n and window > 0:
        first = start - int(index[start] % block)
        for b in range(first, n, block):
            a, z = max(0, b - window), max(0, b)
            ref = r[:, a:z]
            enough = np.isfinite(ref).sum(axis=1) >= min_count
            if z <= a or not enough.any():
                continue
            lo, hi = nanquantile(ref, quantiles, axis=1)  # (series,)
            sl = slice(max(b, 0), min(n, b + block))
            if cycle <= 1:
                shape = (rows, sl.stop - sl.start)
                plo, phi = np.broadcast_to(lo[:, None], shape), np.broadcast_to(hi[:, None], shape)
            else:
                block_phase = index[sl] % cycle
                phases = np.unique(block_phase)
                d = np.abs((index[a:z] % cycle)[None, :] - phases[:, None])
                near = np.minimum(d, cycle - d) <= width  # (phase, residual)
                values = np.where(near[None, :, :], ref[:, None, :], np.nan)  # (series, phase, residual)
                plo, phi = nanquantile(values, quantiles, axis=2)  # (series, phase)
                few = np.isfinite(values).sum(axis=2) < 5
                plo, phi = np.where(few, lo[:, None], plo), np.where(few, hi[:, None], phi)
                floor = (MIN_PHASE_SPREAD * (hi - lo))[:, None]
                narrow = phi - plo < floor
                mid = (plo + phi) / 2.0
                plo, phi = np.where(narrow, mid - floor / 2.0, plo), np.where(narrow, mid + floor / 2.0, phi)
                at = np.searchsorted(phases, block_phase)
                plo, phi = plo[:, at], phi[:, at]
            q_lo[enough, sl], q_hi[enough, sl] = plo[enough], phi[enough]
    return (q_lo[0], q_hi[0]) if one else (q_lo, q_hi)
