"""Anomaly flags on a forecast's residuals, shared by ``series-decompose`` and ``usage-regression``.

A forecaster gives, for every bin, a *base* prediction from data before it (the seasonal
profile, or a regression's prediction). This module adds what turns residuals into flags an
analyst can act on, one bin after another, for a batch of series at once (numpy):

* **level**: the median of the last ``level_bins`` residuals of the base is added to it, so
  the prediction follows the series' recent level. A spike shorter than half the window
  does not move a median;
* **fences**: Tukey fences (KQL's ``series_outliers``) on the 10th/90th percentiles of the
  residuals of the last ``fence_bins`` bins, refreshed once per ``refit`` block, pooled over
  all bins. Fences per time of day were measured too and lost on real series
  (``benchmarks/usage_quality.py --grid``): a phase holds a fifth of the residuals, and its
  percentiles swing with them;
* **heavy tails**: the threshold ``k`` is raised to ``tail_factor`` x the ``tail_quantile`` of
  the series' own daily maxima of the score over the fence window, once it holds
  ``tail_blocks`` days (by default the 90th percentile of 14 daily maxima: a bin must beat the
  second-largest excursion of the last two weeks). A gauge that spikes every few days (CPU,
  latency) or a bursty volume then flags only what is larger than its usual excursions, while
  a quiet series keeps the plain Tukey threshold. This is what removes most false flags on
  non-seasonal gauges. Before a week of scores, the threshold stays at ``k``: the maxima of
  two or three days put it at the height of whatever happened in them;
* **episodes**: consecutive bins beyond the fences on the same side are one episode, flagged
  once, at its first bin (``spike`` or ``dip``). After ``shift_bins`` bins it is a **level
  shift**: the level is measured from the episode's start on, the fences restart from the
  residuals of the new regime (no flags until there are ``min_residuals`` of them), and the
  row where this happens carries the reason ``level_shift``. A jump back to the level before
  the shift (within the old fences) is a **recovery**: absorbed, not flagged;
* **missing data**: for count-like series, a bin of 0 where the last ``fence_bins`` bins held
  no zero (the source stopped sending); for other series, a missing bin where the series
  reported every bin before. Flagged once per gap.

``AnomalyScore`` is the Tukey score divided by the threshold in force, so ``|score| > 1`` is
beyond the bounds; ``IsAnomaly`` marks the first bin of each episode (and missing data).

Measured on the 33 real NAB series (``benchmarks/usage_quality.py``; NAB score pooled over the
four categories, false flags per 1,000 bins; the defaults are chosen there by grouped
cross-validation, and the first two rows are candidates of it):

* the tail threshold at the 90th percentile of the daily maxima, against the 75th: 63.6 / 4.3
  against 59.4 / 7.5; ``threshold`` 1.5 instead of 1.0 costs Traffic 5 to 11 points (subtle
  excursions of gauges) for fewer flags on the spiky AdExchange prices;
* flagging every bin beyond the fences with KQL's fences, as KQL does: 39.4 / 18.8;
* while building it, on the same series with an earlier harness: fences per time of day lost 1.5
  to 5.6 points against pooled ones; a tail threshold from two or three days of maxima instead
  of a week cost Traffic 14 points (62.1 -> 48.2: the first scored days set it); a 0 taken as
  missing data only after a fence window without zeros, not whenever the training had few,
  kept the Tweets (night-time zeros) at 81.7 instead of 80.2, and found one more silence of the
  sample data (sample NAB 75.8 -> 78.8).

>>> z = np.r_[np.sin(np.arange(96) * 2.1) * 0.5, 6.0, 6.0, 6.2, 6.1, 6.0, 6.1, 6.0, 6.2]
>>> d = detect(z[None, :], np.zeros((1, len(z))), np.arange(len(z)), 96, DetectorSpec(fence_bins=72))
>>> d.flags[0, 96:].tolist(), d.reasons[0, 96:100].tolist()
([1, 0, 0, 0, 0, 0, 0, 0], ['spike', '', '', 'level_shift'])
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from .nanstats import nanmedian, nanquantile

SPIKE, DIP, LEVEL_SHIFT, MISSING, NEW_SERIES = "spike", "dip", "level_shift", "missing_data", "new_series"
#: a fence's quantile spread is at least this share of the series' typical magnitude (constant series)
MIN_RELATIVE_SPREAD = 1e-3


@dataclass(frozen=True)
class DetectorSpec:
    """How residuals become flags (lengths in bins)."""

    level_bins: int = 24
    fence_bins: int = 14 * 24
    refit: int = 24
    quantiles: tuple = (0.1, 0.9)
    k: float = 1.0
    tail_quantile: float = 0.9
    tail_factor: float = 1.0
    tail_blocks: int = 7
    shift_bins: int = 4
    min_history: int = 12
    min_residuals: int = 24
    recovery_bins: int = 14 * 24


@dataclass
class Detection:
    """Per bin (arrays shaped like the input): prediction, bounds (on the modelled scale), score, flags."""

    predicted: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    score: np.ndarray
    flags: np.ndarray  # -1 / 0 / +1 on the first bin of an episode
    reasons: np.ndarray  # object: '' or one of the reasons above
    ready: np.ndarray  # bool: the bin was judged (enough history)


def _window(a: np.ndarray, t: int, length: int, since: np.ndarray) -> np.ndarray:
    """``a[:, t-length:t]`` with the columns before each row's ``since`` masked to NaN."""
    lo = max(0, t - length)
    w = a[:, lo:t].astype(float, copy=True)
    if w.shape[1]:
        cols = np.arange(lo, t)[None, :]
        w[cols < since[:, None]] = np.nan
    return w


def _tail_threshold(scores: np.ndarray, t: int, spec: DetectorSpec) -> np.ndarray:
    """``k``, raised to ``tail_factor`` x the ``tail_quantile`` of the daily maxima of ``|score|`` in the
    fence window before ``t`` (blocks of ``refit`` bins, each at least half scored; ``tail_blocks`` of them).
    Scores from before a level shift count: how large a series' excursions are does not change with it."""
    out = np.full(scores.shape[0], spec.k)
    blocks = min(t, spec.fence_bins) // spec.refit
    if spec.tail_factor <= 0 or blocks < spec.tail_blocks:
        return out
    past = np.abs(scores[:, t - blocks * spec.refit:t]).reshape(scores.shape[0], blocks, spec.refit)
    scored = np.isfinite(past).sum(axis=2) >= spec.refit / 2
    daily = np.where(scored, np.nanmax(np.where(np.isfinite(past), past, -np.inf), axis=2), np.nan)
    enough = scored.sum(axis=1) >= spec.tail_blocks
    tail = nanquantile(daily, spec.tail_quantile, axis=1)
    return np.where(enough & np.isfinite(tail), np.fmax(spec.k, spec.tail_factor * tail), spec.k)


def detect(z: np.ndarray, base: np.ndarray, index: np.ndarray, start: int, spec: DetectorSpec,
           zero: Optional[np.ndarray] = None, count_like: Optional[np.ndarray] = None) -> Detection:
    """Judge every bin of ``z`` (series x bins on the absolute bin numbers ``index``) from the bins before it.

    ``z``: values on the modelled scale, NaN where a series has no value (before it starts, or a
    missing bin of a gauge). ``base``: the forecaster's prediction without the level (NaN where
    it has none). ``zero``: bins whose original value is 0; ``count_like``: series for which a 0
    is missing data. State is built from column 0 on; flags are returned for every column, and
    a caller keeps ``[:, start:]``.
    """
    z = np.atleast_2d(np.asarray(z, dtype=float))
    base = np.atleast_2d(np.asarray(base, dtype=float))
    S, T = z.shape
    index = np.asarray(index, dtype=np.int64)
    zero = np.zeros((S, T), bool) if zero is None else np.asarray(zero, bool)
    count_like = np.zeros(S, bool) if count_like is None else np.asarray(count_like, bool)
    observed = np.isfinite(z)
    # zeros and observations in the fence window before each bin (prefix sums)
    zeros_before = np.concatenate([np.zeros((S, 1)), np.cumsum(zero, axis=1)], axis=1)
    seen_before = np.concatenate([np.zeros((S, 1)), np.cumsum(observed, axis=1)], axis=1)
    first_seen = np.where(observed.any(axis=1), observed.argmax(axis=1), T)

    pred = np.full((S, T), np.nan)
    resid = np.full((S, T), np.nan)
    score = np.full((S, T), np.nan)  # Tukey scores (the tail threshold is taken from them)
    norm = np.full((S, T), np.nan)  # ... divided by the threshold in force
    lower = np.full((S, T), np.nan)
    upper = np.full((S, T), np.nan)
    flags = np.zeros((S, T), np.int8)
    reasons = np.full((S, T), "", dtype=object)
    ready = np.zeros((S, T), bool)

    q_lo = np.full(S, np.nan)
    q_hi = np.full(S, np.nan)
    thr = np.full(S, spec.k)
    level_from = np.zeros(S, np.int64)
    fence_from = np.zeros(S, np.int64)
    fence_before = np.zeros(S, np.int64)
    ep_sign = np.zeros(S, np.int8)
    ep_len = np.zeros(S, np.int64)
    ep_start = np.zeros(S, np.int64)
    shift_at = np.full(S, -1, np.int64)  # bin of the last unrecovered level shift (-1: none)
    shift_level = np.zeros(S)
    shift_spread = np.zeros(S)
    in_gap = np.zeros(S, bool)
    stale_lo = np.full(S, np.nan)  # the fences before a level shift, shown until the new regime has its own
    stale_hi = np.full(S, np.nan)
    refresh = np.ones(S, bool)
    lo_q, hi_q = spec.quantiles

    for t in range(T):
        if index[t] % spec.refit == 0:
            refresh[:] = True
        rows = np.flatnonzero(refresh)
        if len(rows):
            past = _window(resid[rows], t, spec.fence_bins, fence_from[rows])
            enough = np.isfinite(past).sum(axis=1) >= spec.min_residuals
            ql, qh = nanquantile(past, (lo_q, hi_q), axis=1) if past.shape[1] else (np.full(len(rows), np.nan),) * 2
            magnitude = np.abs(nanmedian(_window(z[rows], t, spec.fence_bins, fence_from[rows]), axis=1)) if past.shape[1] else 0.0
            floor = np.maximum(MIN_RELATIVE_SPREAD * np.nan_to_num(magnitude), 1e-9)
            narrow = (qh - ql) < floor
            mid = (ql + qh) / 2.0
            ql, qh = np.where(narrow, mid - floor / 2.0, ql), np.where(narrow, mid + floor / 2.0, qh)
            q_lo[rows] = np.where(enough, ql, np.nan)
            q_hi[rows] = np.where(enough, qh, np.nan)
            thr[rows] = _tail_threshold(score[rows], t, spec)
            refresh[rows] = ~enough  # fences as soon as there are enough residuals, then once per block

        # -- prediction: base + the median of the recent residuals of the base (from the last shift on)
        recent = _window(z - base, t, spec.level_bins, level_from) if t else np.full((S, 0), np.nan)
        have = np.isfinite(recent).sum(axis=1) if recent.shape[1] else np.zeros(S, int)
        need = np.minimum(spec.min_history, np.maximum(1, t - level_from))
        level = nanmedian(recent, axis=1) if recent.shape[1] else np.full(S, np.nan)
        can = (have >= need) & (t - first_seen >= spec.min_history) & np.isfinite(base[:, t])
        p = np.where(can, base[:, t] + level, np.nan)
        pred[:, t] = p
        obs = observed[:, t]
        r = z[:, t] - p
        resid[:, t] = np.where(can & obs, r, np.nan)
        fenced = can & np.isfinite(q_lo)
        spread = q_hi - q_lo
        with np.errstate(invalid="ignore", divide="ignore"):
            tukey = np.where(r > q_hi, (r - q_hi) / spread, np.where(r < q_lo, (r - q_lo) / spread, 0.0))
        judged = fenced & obs
        score[:, t] = np.where(judged, tukey, np.nan)
        sign = np.where(judged & (tukey > thr), 1, np.where(judged & (tukey < -thr), -1, 0)).astype(np.int8)
        # after a level shift, until the new regime has fences of its own: bounds and score from the old
        # fences around the new level, shown but not flagged (nor used for the tail threshold)
        relearning = can & ~fenced & np.isfinite(stale_lo)
        show_lo, show_hi = np.where(relearning, stale_lo, q_lo), np.where(relearning, stale_hi, q_hi)
        show = show_hi - show_lo
        with np.errstate(invalid="ignore", divide="ignore"):
            shown = np.where(r > show_hi, (r - show_hi) / show, np.where(r < show_lo, (r - show_lo) / show, 0.0))
        norm[:, t] = np.where((fenced | relearning) & obs, shown / thr, np.nan)
        ready[:, t] = fenced | relearning
        lower[:, t] = np.where(fenced | relearning, p + show_lo - thr * show, np.nan)
        upper[:, t] = np.where(fenced | relearning, p + show_hi + thr * show, np.nan)

        # -- missing data: a 0 in a count-like series that had none recently; a gap in a gauge that reported every bin
        lo = max(0, t - spec.fence_bins)
        no_zero_recently = (zeros_before[:, t] - zeros_before[:, lo]) == 0
        silent = count_like & zero[:, t] & no_zero_recently & fenced & (sign <= 0)
        sign[silent] = -1  # the start of an episode, like a dip, so the silence is flagged once
        gap = ~obs & (t > first_seen) & ~count_like
        lo_seen = np.maximum(lo, first_seen)
        full_before = (seen_before[:, t] - seen_before[np.arange(S), np.minimum(lo_seen, T)]) >= 0.99 * (t - lo_seen)
        gap_start = gap & ~in_gap & full_before & (t - first_seen >= spec.min_history)
        in_gap = gap
        flags[gap_start, t] = -1
        reasons[gap_start, t] = MISSING

        # -- a jump back to the level before the last shift: a recovery, absorbed
        recovering = (sign != 0) & (sign != ep_sign) & (shift_at >= 0) & (t - shift_at <= spec.recovery_bins)
        recovering &= np.abs(z[:, t] - base[:, t] - shift_level) <= (np.maximum(thr, 1.0) + 1.0) * shift_spread
        if recovering.any():
            level_from[recovering] = t
            fence_from[recovering] = fence_before[recovering]
            refresh[recovering] = True
            shift_at[recovering] = -1
            ep_sign[recovering] = 0
            ep_len[recovering] = 0
            sign[recovering] = 0

        # -- episodes
        going_on = (sign != 0) & (sign == ep_sign)
        ep_len[going_on] += 1
        shifted = going_on & (ep_len == spec.shift_bins) if spec.shift_bins > 0 else np.zeros(S, bool)
        if shifted.any():
            for s in np.flatnonzero(shifted):  # few series shift at once: the level before, from its own window
                a = max(0, int(ep_start[s]) - spec.level_bins, int(level_from[s]))
                before = z[s, a:ep_start[s]] - base[s, a:ep_start[s]]
                shift_level[s] = float(np.nanmedian(before)) if np.isfinite(before).any() else np.nan
                shift_spread[s] = float(spread[s])
            shift_at[shifted] = t
            fence_before[shifted] = fence_from[shifted]
            level_from[shifted] = ep_start[shifted]
            fence_from[shifted] = ep_start[shifted]
            stale_lo[shifted], stale_hi[shifted] = q_lo[shifted], q_hi[shifted]
            q_lo[shifted] = np.nan
            q_hi[shifted] = np.nan
            refresh[shifted] = True
            reasons[shifted, t] = LEVEL_SHIFT
        starts = (sign != 0) & (sign != ep_sign)
        ep_sign[starts] = sign[starts]
        ep_len[starts] = 1
        ep_start[starts] = t
        flags[starts, t] = sign[starts]
        reasons[starts, t] = np.where(silent[starts], MISSING, np.where(sign[starts] > 0, SPIKE, DIP))
        ended = (sign == 0) & (ep_sign != 0)
        ep_sign[ended] = 0
        ep_len[ended] = 0

    return Detection(pred, lower, upper, norm, flags, reasons, ready)
