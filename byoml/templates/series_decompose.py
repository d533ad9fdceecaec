"""Template ``series-decompose``: KQL's ``series_decompose_anomalies`` in Spark, for any table.

``make-series`` (group-by columns, time column, aggregation and bin from the config),
then per series, in parallel on the executors (``applyInPandas`` grouped by series):

* **fit** (training window): choose the transform (:mod:`byoml.templates.transform`: sqrt
  for non-negative series that are almost never zero), the period (none, daily or weekly:
  the one whose rolling forecast has the lowest error on a holdout at the end of the
  training window, KQL's ``Test_points``) and the Tukey fences of that holdout's residuals;
* **score**: the baseline (median per phase + trend, plus the recent level) is refitted
  every ``test_points`` on the ``lookback`` before, reading that history from the source,
  so every bin is judged only by data before it. The residual is scored with Tukey
  fences on the 10th/90th percentiles (k = 1.5) of the forecast's own errors over the
  ``fence_window`` before (``fences: recent``), taken per time of day (``fence_cycle``):
  quiet night hours and busy day hours each get fences of their size. Until there are
  enough recent errors, the holdout fences stand in.

Differences from KQL (no bit-for-bit parity):

* KQL decomposes the whole series, including the points it scores; here the baseline
  only looks back (``Test_points`` is always used), which is what a scheduled job sees.
* KQL detects the period with ``series_periods_detect`` (score threshold 0.6, any
  period); here the candidates are ``period_candidates`` (1d, 7d) and none, chosen by
  holdout error.
* KQL works on raw values; ``transform: auto`` takes square roots of non-negative series.
  KQL's fences come from the residuals of the fit itself (in sample, ``fences: refit``);
  here by default from the errors of past forecasts (out of sample) per time of day.
  ``level`` and the holdout fences have no KQL counterpart; the KQL defaults are
  ``period: 1d, trend: avg, level: "0", fences: refit, transform: none``.
* A missing bin is 0, as in ``make-series ... default=0``.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Dict, List

import numpy as np
import pandas as pd

from ..errors import ConfigError
from ..timewindow import TimeWindow
from . import series_frame as sf
from .base import Model, RunInfo, Template
from .decompose import TRENDS, DecomposeSpec, holdout_errors, rolling_forecast
from .transform import ValueTransform
from .tukey import Fences, recent_quantiles, tukey_flag, tukey_score

FENCES = ("recent", "widest", "holdout", "refit")
MIN_HOLDOUT_BINS = 12


@dataclass
class SeriesDecomposeConfig(sf.SeriesConfig):
    """Parameters of ``series-decompose`` (durations are whole numbers of bins).

    ``period``: ``auto`` (choose among none and ``period_candidates``), ``none``, or a duration.
    ``trend``: avg, linefit or none. ``lookback``: history each baseline is fitted on
    (a weekly period uses at least 4 weeks). ``test_points``: how often the baseline is
    refitted; the bins in between are forecast. ``level``: window of the recent-level
    correction ("0" turns it off).

    ``fences``: ``recent`` (the quantiles of the forecast's own errors over the ``fence_window``
    before each refit; the holdout fences until there are enough of them), ``holdout``
    (out-of-sample residuals at training), ``widest`` of these two, or ``refit`` (KQL: the
    residuals of the current fit, in sample). ``fence_cycle``: recent fences are taken per
    phase of this cycle (the time of day), from the errors within ``fence_width`` bins of the
    phase ("0": one fence for all bins). ``holdout``: the end of the training window on which
    the period is chosen and the holdout fences are measured (shorter when the history
    before it would be too short).
    """

    period: str = "auto"
    period_candidates: List[str] = field(default_factory=lambda: ["1d", "7d"])
    trend: str = "avg"
    lookback: str = "14d"
    test_points: str = "1d"
    level: str = "1d"
    fences: str = "recent"
    fence_window: str = "14d"
    fence_cycle: str = "1d"
    fence_width: int = 2
    holdout: str = "7d"

    def validate(self) -> None:
        super().validate()
        if self.trend not in TRENDS:
            raise ConfigError(f"trend must be one of {', '.join(TRENDS)}, not '{self.trend}'")
        if self.fences not in FENCES:
            raise ConfigError(f"fences must be one of {', '.join(FENCES)}, not '{self.fences}'")
        if self.period not in ("auto", "none"):
            self.bins(self.period, "period")
        for p in self.period_candidates:
            self.bins(p, "period_candidates")
        if self.bins(self.test_points, "test_points") < 1:
            raise ConfigError("test_points must be at least one bin")
        if self.bins(self.lookback, "lookback") < 2:
            raise ConfigError("lookback must be at least two bins")
        self.bins(self.level, "level")
        if self.bins(self.holdout, "holdout") < MIN_HOLDOUT_BINS:
            raise ConfigError(f"holdout must be at least {MIN_HOLDOUT_BINS} bins")
        if self.uses_recent_fences and self.bins(self.fence_window, "fence_window") < self.bins(self.test_points, "test_points"):
            raise ConfigError("fence_window must hold at least test_points bins")
        self.bins(self.fence_cycle, "fence_cycle")
        if self.fence_width < 0:
            raise ConfigError("fence_width must be >= 0")

    @property
    def uses_recent_fences(self) -> bool:
        return self.fences in ("recent", "widest")

    @property
    def fence_bins(self) -> int:
        """Bins of forecast errors the recent fences are taken from (0 when they are not used)."""
        return self.bins(self.fence_window, "fence_window") if self.uses_recent_fences else 0

    def candidate_periods(self) -> List[int]:
        if self.period == "none":
            return [0]
        if self.period != "auto":
            return [self.bins(self.period, "period")]
        return [0] + [p for p in (self.bins(c, "period_candidates") for c in self.period_candidates) if p > 1]

    def spec(self, period: int) -> DecomposeSpec:
        lookback = max(self.bins(self.lookback, "lookback"), 4 * period)
        return DecomposeSpec(
            period=period if period > 1 else 0, trend=self.trend, lookback=lookback,
            refit=self.bins(self.test_points, "test_points"), level=self.bins(self.level, "level"),
            min_history=None if period > 1 else max(2, min(24, lookback)),
        )


FIT_SCHEMA_TAIL = (
    "status string, n_bins long, first_bin long, period int, transform string, offset double, "
    "q_lo double, q_hi double, holdout_mae double"
)


def fit_series(index: np.ndarray, y: np.ndarray, cfg: SeriesDecomposeConfig) -> dict:
    """Fit one series: transform, period (by holdout error) and holdout fences."""
    status = sf.series_status(y, cfg.min_train_bins)
    out = {"status": status, "n_bins": len(y), "first_bin": int(index[0]) if len(index) else None,
           "period": None, "transform": None, "offset": None, "q_lo": None, "q_hi": None, "holdout_mae": None}
    if status != sf.OK:
        return out
    tf = ValueTransform.fit(y, cfg.transform)
    z = tf.forward(y)
    specs = [cfg.spec(p) for p in cfg.candidate_periods()]
    usable = [s for s in specs if s.history_needed + MIN_HOLDOUT_BINS <= len(z)] or [min(specs, key=lambda s: s.history_needed)]
    start = max(max(s.history_needed for s in usable), len(z) - cfg.bins(cfg.holdout, "holdout"))
    errors = holdout_errors(z, index, usable, start) if start < len(z) else [np.nan] * len(usable)
    best_i = int(np.nanargmin(errors)) if np.isfinite(errors).any() else 0
    best = usable[best_i]
    pred = rolling_forecast(z, index, max(best.history_needed, start), best)["baseline"]
    fences = Fences.from_residuals(z - pred, tuple(cfg.quantiles), cfg.threshold)
    out.update(period=int(best.period), transform=tf.kind, offset=tf.offset, q_lo=fences.q_lo, q_hi=fences.q_hi,
               holdout_mae=errors[best_i])
    return out


def score_series(index: np.ndarray, y: np.ndarray, first_scored: int, params: dict,
                 cfg: SeriesDecomposeConfig) -> Dict[str, np.ndarray]:
    """Baseline, bounds, score and flags of ``y[first_scored:]`` (every bin from data before it).

    With recent fences the forecast is rolled from ``fence_window`` before ``first_scored``:
    the errors it makes there (level correction included) are what the first blocks are fenced by.
    """
    tf = ValueTransform(str(params["transform"]), float(params["offset"] or 0.0))
    z = tf.forward(y)
    spec = cfg.spec(int(params["period"]))
    held = (np.full(len(z), params["q_lo"]), np.full(len(z), params["q_hi"]))
    if cfg.fences == "refit":
        fc = rolling_forecast(z, index, first_scored, spec, quantiles=tuple(cfg.quantiles))
        q_lo, q_hi = fc["q_lo"], fc["q_hi"]
    elif cfg.fences == "holdout":
        fc = rolling_forecast(z, index, first_scored, spec)
        q_lo, q_hi = held
    else:
        fc = rolling_forecast(z, index, max(0, first_scored - cfg.fence_bins), spec)
        cycle = cfg.bins(cfg.fence_cycle, "fence_cycle")
        q_lo, q_hi = recent_quantiles(z - fc["baseline"], index, first_scored, spec.refit, cfg.fence_bins,
                                      tuple(cfg.quantiles), min_count=spec.refit, cycle=cycle, width=cfg.fence_width)
        if cfg.fences == "widest":
            q_lo, q_hi = np.fmin(q_lo, held[0]), np.fmax(q_hi, held[1])
        else:  # until enough errors are seen, the holdout fences
            q_lo, q_hi = np.where(np.isfinite(q_lo), q_lo, held[0]), np.where(np.isfinite(q_hi), q_hi, held[1])
    sl = slice(first_scored, None)
    base = fc["baseline"][sl]
    spread = q_hi[sl] - q_lo[sl]
    k = cfg.threshold
    score = tukey_score(z[sl] - base, q_lo[sl], q_hi[sl])
    return {
        "predicted": tf.inverse(base),
        "lower": tf.inverse(base + q_lo[sl] - k * spread),
        "upper": tf.inverse(base + q_hi[sl] + k * spread),
        "score": score,
        "flags": tukey_flag(score, k),
        "ready": np.isfinite(base) & np.isfinite(spread),
    }


class SeriesDecomposeModel(Model):
    def anomaly_condition(self):
        from pyspark.sql import functions as F

        return F.col("Anomalies") != 0

    def score(self, prepared, run: RunInfo):
        from pyspark.sql import functions as F

        tpl: SeriesDecompose = self.template
        cfg = tpl.config
        keys = list(cfg.group_by)
        read_lo, start, end = sf.score_bins(run.window, cfg, tpl.lookback_bins)
        data = prepared.filter((F.col("bin") >= read_lo) & (F.col("bin") < end))
        first_in_source = data.agg(F.min("bin")).first()[0]
        floor = max(read_lo, int(first_in_source) if first_in_source is not None else read_lo)
        series = self.tables["series"]
        rows = series.join(data, keys, "full_outer")
        bin_seconds = cfg.bin_seconds

        def score_group(pdf: pd.DataFrame) -> pd.DataFrame:
            with sf.limit_threads():
                key = {k: pdf[k].iloc[0] for k in keys}
                params = pdf.iloc[0].to_dict()
                observed = pdf["bin"].dropna()
                known = isinstance(params.get("status"), str)
                first = params["first_bin"] if known and pd.notna(params.get("first_bin")) else (
                    observed.min() if len(observed) else end)
                lo = int(max(floor, first))
                index, y = sf.dense(pdf[["bin", "Value"]], lo, end)
                scored = max(start, lo) - lo
                if not known or params["status"] != sf.OK:
                    status = sf.NEW_SERIES if not known else params["status"]
                    return sf.unscored(key, index[scored:], y[scored:], bin_seconds, status)
                res = score_series(index, y, scored, params, cfg)
                status = np.where(res["ready"], sf.OK, sf.WARMUP)
                return sf.output_frame(key, index[scored:], bin_seconds, y[scored:], res["predicted"], res["lower"],
                                       res["upper"], res["score"], np.where(res["ready"], res["flags"], 0), status)

        out = rows.groupBy(*keys).applyInPandas(score_group, sf.output_schema(cfg))
        return sf.finish_output(out, run)


class SeriesDecompose(Template):
    """Seasonal decomposition anomalies per series (KQL series_decompose_anomalies)."""

    name = "series-decompose"
    version = "2.0"
    table = "Usage"
    output_table = "UsageAnomalies"
    Config = SeriesDecomposeConfig
    sample_data = "usage"
    model_class = SeriesDecomposeModel

    @property
    def lookback_bins(self) -> int:
        cfg = self.config
        return max(cfg.spec(p).lookback for p in cfg.candidate_periods()) + cfg.fence_bins

    @property
    def score_lookback(self) -> dt.timedelta:  # type: ignore[override]
        return dt.timedelta(seconds=self.lookback_bins * self.config.bin_seconds)

    def columns(self):
        return sf.series_columns(self.config)

    def required_columns(self):
        return sf.series_columns(self.config)

    def prepare(self, events):
        return sf.make_series(events, self.config)

    def fit(self, prepared, window: TimeWindow) -> Model:
        from pyspark import StorageLevel
        from pyspark.sql import functions as F

        cfg = self.config
        keys = list(cfg.group_by)
        lo_bin, hi_bin = sf.check_window(window, cfg)

        def fit_group(pdf: pd.DataFrame) -> pd.DataFrame:
            with sf.limit_threads():
                lo = int(pdf["bin"].min()) if lo_bin is None else max(lo_bin, int(pdf["bin"].min()))
                hi = int(pdf["bin"].max()) + 1 if hi_bin is None else hi_bin
                index, y = sf.dense(pdf, lo, hi)
                row = {k: pdf[k].iloc[0] for k in keys}
                row.update(fit_series(index, y, cfg))
                return pd.DataFrame([row])

        schema = f"{sf.series_key_schema(cfg)}, {FIT_SCHEMA_TAIL}"
        series = prepared.groupBy(*keys).applyInPandas(fit_group, schema).persist(StorageLevel.MEMORY_AND_DISK)
        counts = sf.check_fitted_series(series, cfg, keys)
        periods = {
            str(r["period"]): int(r["n"])
            for r in series.filter(F.col("status") == sf.OK).groupBy("period").agg(F.count(F.lit(1)).alias("n")).collect()
        }
        mae = series.agg(F.avg("holdout_mae")).first()[0]
        return SeriesDecomposeModel(
            self, tables={"series": series}, state={},
            metadata={"counts": counts, "periods_chosen": periods, "holdout_mae_mean": mae,
                      "score_lookback_bins": self.lookback_bins},
        )
