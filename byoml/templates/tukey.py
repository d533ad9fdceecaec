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
