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
from dataclasses import dataclass
from typing import TYPE_CHECKING, Dict, List, Sequence

import numpy as np
import pandas as pd

from ..errors import ConfigError
from ..timewindow import TimeWindow
from . import series_frame as sf
from .base import Model, RunInfo, Template, learned_table, param
from .decompose import TRENDS, DecomposeSpec, holdout_errors, rolling_forecast
from .nanstats import nanquantile
from .transform import ValueTransform
from .tukey import recent_quantiles, tukey_flag, tukey_score

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

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
    before it would be too short). ``series_per_task``: series fitted and scored together in one
    pandas call (their arrays are processed as one batch).
    """

    period: str = param("auto", "auto (chosen among none and period_candidates), none, or a duration")
    period_candidates: List[str] = param(["1d", "7d"], "periods period: auto chooses from")
    trend: str = param("avg", "trend of the baseline: avg | linefit | none")
    lookback: str = param("14d", "history each baseline is fitted on (a weekly period uses at least 4 weeks)")
    test_points: str = param("1d", "how often the baseline is refitted; the bins between are forecast")
    level: str = param("1d", "window of the recent-level correction (0: off)")
    fences: str = param("recent", "recent | holdout | widest | refit (KQL: in-sample residuals)")
    fence_window: str = param("14d", "forecast errors the recent fences are taken from")
    fence_cycle: str = param("1d", "recent fences per phase of this cycle (0: one fence for all bins)")
    fence_width: int = param(2, "recent fences use the errors within this many bins of the phase")
    holdout: str = param("7d", "end of the training window that chooses the period and measures holdout fences")
    series_per_task: int = param(100, "series fitted and scored together in one pandas call")

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
        if self.series_per_task < 1:
            raise ConfigError("series_per_task must be at least 1")

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


def _batches(*columns: np.ndarray) -> list:
    """Row numbers grouped by equal values of ``columns`` (series that share a grid), in first-seen order."""
    keys = list(zip(*[np.asarray(c).tolist() for c in columns]))
    groups: Dict[tuple, list] = {}
    for i, k in enumerate(keys):
        groups.setdefault(k, []).append(i)
    return [np.asarray(v) for v in groups.values()]


def fit_batch(index: np.ndarray, Y: np.ndarray, cfg: SeriesDecomposeConfig) -> List[dict]:
    """Fit series that share the bins ``index`` (rows of ``Y``, no NaN): transform, period (by holdout
    error) and holdout fences. One dict per row, in the columns of ``FIT_SCHEMA_TAIL``."""
    Y = np.atleast_2d(np.asarray(Y, dtype=float))
    n = Y.shape[1]
    out = [{"status": sf.series_status(y, cfg.min_train_bins), "n_bins": n,
            "first_bin": int(index[0]) if n else None, "period": None, "transform": None, "offset": None,
            "q_lo": None, "q_hi": None, "holdout_mae": None} for y in Y]
    ok = np.flatnonzero([o["status"] == sf.OK for o in out])
    if not len(ok):
        return out
    tfs = [ValueTransform.fit(Y[i], cfg.transform) for i in ok]
    Z = np.stack([tf.forward(Y[i]) for tf, i in zip(tfs, ok)])
    specs = [cfg.spec(p) for p in cfg.candidate_periods()]
    usable = [s for s in specs if s.history_needed + MIN_HOLDOUT_BINS <= n] or [min(specs, key=lambda s: s.history_needed)]
    start = max(max(s.history_needed for s in usable), n - cfg.bins(cfg.holdout, "holdout"))
    errors = holdout_errors(Z, index, usable, start) if start < n else np.full((len(usable), len(ok)), np.nan)
    best = np.where(np.isfinite(errors).any(axis=0), np.argmin(np.where(np.isfinite(errors), errors, np.inf), axis=0), 0)
    q = np.full((2, len(ok)), np.nan)
    for b in np.unique(best):
        rows = np.flatnonzero(best == b)
        spec = usable[b]
        pred = rolling_forecast(Z[rows], index, max(spec.history_needed, start), spec)["baseline"]
        q[:, rows] = nanquantile(Z[rows] - pred, tuple(cfg.quantiles), axis=1)
    for j, i in enumerate(ok):
        out[i].update(period=int(usable[best[j]].period), transform=tfs[j].kind, offset=tfs[j].offset,
                      q_lo=float(q[0, j]), q_hi=float(q[1, j]), holdout_mae=float(errors[best[j], j]))
    return out


def score_batch(index: np.ndarray, Y: np.ndarray, first_scored: int, params: Sequence[dict],
                cfg: SeriesDecomposeConfig) -> Dict[str, np.ndarray]:
    """Baseline, bounds, score and flags of ``Y[:, first_scored:]`` for series fitted with the same period.

    Rows of ``Y`` share the bins ``index`` and hold no NaN; every bin is judged by data before it.
    With recent fences the forecast is rolled from ``fence_window`` before ``first_scored``: the
    errors it makes there (level correction included) are what the first blocks are fenced by.
    """
    Y = np.atleast_2d(np.asarray(Y, dtype=float))
    tfs = [ValueTransform(str(p["transform"]), float(p["offset"] or 0.0)) for p in params]
    Z = np.stack([tf.forward(y) for tf, y in zip(tfs, Y)])
    spec = cfg.spec(int(params[0]["period"]))
    shape = Z.shape
    held = (np.broadcast_to(np.array([float(p["q_lo"]) for p in params])[:, None], shape),
            np.broadcast_to(np.array([float(p["q_hi"]) for p in params])[:, None], shape))
    if cfg.fences == "refit":
        fc = rolling_forecast(Z, index, first_scored, spec, quantiles=tuple(cfg.quantiles))
        q_lo, q_hi = fc["q_lo"], fc["q_hi"]
    elif cfg.fences == "holdout":
        fc = rolling_forecast(Z, index, first_scored, spec)
        q_lo, q_hi = held
    else:
        fc = rolling_forecast(Z, index, max(0, first_scored - cfg.fence_bins), spec)
        q_lo, q_hi = recent_quantiles(Z - fc["baseline"], index, first_scored, spec.refit, cfg.fence_bins,
                                      tuple(cfg.quantiles), min_count=spec.refit,
                                      cycle=cfg.bins(cfg.fence_cycle, "fence_cycle"), width=cfg.fence_width)
        if cfg.fences == "widest":
            q_lo, q_hi = np.fmin(q_lo, held[0]), np.fmax(q_hi, held[1])
        else:  # until enough errors are seen, the holdout fences
            q_lo, q_hi = np.where(np.isfinite(q_lo), q_lo, held[0]), np.where(np.isfinite(q_hi), q_hi, held[1])
    sl = (slice(None), slice(first_scored, None))
    base = fc["baseline"][sl]
    spread = q_hi[sl] - q_lo[sl]
    k = cfg.threshold
    score = tukey_score(Z[sl] - base, q_lo[sl], q_hi[sl])
    lower, upper = base + q_lo[sl] - k * spread, base + q_hi[sl] + k * spread
    inv = lambda v: np.stack([tf.inverse(row) for tf, row in zip(tfs, v)])  # noqa: E731
    return {
        "predicted": inv(base),
        "lower": inv(lower),
        "upper": inv(upper),
        "score": score,
        "flags": tukey_flag(score, k),
        "ready": np.isfinite(base) & np.isfinite(spread),
    }


def _bucket(keys: List[str], buckets: int):
    from pyspark.sql import functions as F

    return F.pmod(F.xxhash64(*keys), F.lit(max(1, buckets))).cast("int")


class SeriesDecomposeModel(Model):
    """Fitted ``series-decompose``: one row per series (period, transform, holdout fences)."""

    series_: DataFrame = learned_table("per series: status, chosen period, transform and holdout fences")

    def score(self, prepared, run: RunInfo):
        from pyspark.sql import functions as F

        tpl: SeriesDecompose = self.template
        cfg = tpl.config
        keys = list(cfg.group_by)
        read_lo, start, end = sf.score_bins(run.window, cfg, tpl.lookback_bins)
        data = prepared.filter((F.col("bin") >= read_lo) & (F.col("bin") < end)).select(*keys, "bin", "Value")
        first_in_source = data.agg(F.min("bin")).first()[0]
        floor = max(read_lo, int(first_in_source) if first_in_source is not None else read_lo)
        buckets = int(self.metadata.get("buckets") or 1)
        series = self.series_.withColumn("bucket", _bucket(keys, buckets))
        data = data.withColumn("bucket", _bucket(keys, buckets))
        bin_seconds = cfg.bin_seconds

        def score_bucket(values: pd.DataFrame, fitted: pd.DataFrame) -> pd.DataFrame:
            with sf.limit_threads():
                return _score_bucket(values, fitted, keys, cfg, floor, start, end, bin_seconds)

        out = data.groupBy("bucket").cogroup(series.groupBy("bucket")).applyInPandas(score_bucket, sf.output_schema(cfg))
        return sf.finish_output(out, run)


def _score_bucket(values: pd.DataFrame, fitted: pd.DataFrame, keys: List[str], cfg: SeriesDecomposeConfig,
                  floor: int, start: int, end: int, bin_seconds: int) -> pd.DataFrame:
    """Output rows of the series of one bucket: fitted ones (with or without new data) and new ones."""
    names = pd.concat([fitted[keys], values[keys]], ignore_index=True).drop_duplicates().sort_values(keys, kind="mergesort")
    names = names.reset_index(drop=True)
    if not len(names):
        return sf.empty_output(cfg)
    info = names.merge(fitted, on=keys, how="left")
    code = pd.MultiIndex.from_frame(names).get_indexer(pd.MultiIndex.from_frame(values[keys])) if len(values) else np.zeros(0, int)
    observed_first = pd.Series(values["bin"].to_numpy(), index=code).groupby(level=0).min() if len(values) else pd.Series(dtype=float)
    known = info["status"].notna().to_numpy()
    first = np.where(known & info["first_bin"].notna().to_numpy(), info["first_bin"].fillna(0).to_numpy(),
                     observed_first.reindex(range(len(names))).fillna(end).to_numpy()).astype(np.int64)
    lo = np.maximum(floor, first)
    grid0, Y = sf.dense_matrix(code, values["bin"].to_numpy() if len(values) else np.zeros(0), values["Value"].to_numpy()
                               if len(values) else np.zeros(0), lo, np.full(len(names), end))
    scored_from = np.maximum(start, lo)
    status = np.where(known, info["status"].fillna("").to_numpy(), sf.NEW_SERIES)
    ok = status == sf.OK
    period = np.where(ok, info["period"].fillna(-1).to_numpy(), -1)
    parts = []
    for rows in _batches(lo, period, ok):
        r0 = int(rows[0])
        s0 = int(scored_from[r0])
        index = np.arange(int(lo[r0]), end, dtype=np.int64)
        Yb = Y[rows][:, int(lo[r0]) - grid0:]
        at = s0 - int(lo[r0])
        out_index = index[at:]
        if not ok[r0]:
            nan = np.full((len(rows), len(out_index)), np.nan)
            parts.append(sf.output_frames(names.iloc[rows], out_index, bin_seconds, Yb[:, at:], nan, nan, nan, nan,
                                          np.zeros(nan.shape), status[rows][:, None]))
            continue
        params = info.iloc[rows].to_dict("records")
        res = score_batch(index, Yb, at, params, cfg)
        parts.append(sf.output_frames(
            names.iloc[rows], out_index, bin_seconds, Yb[:, at:], res["predicted"], res["lower"], res["upper"],
            res["score"], np.where(res["ready"], res["flags"], 0), np.where(res["ready"], sf.OK, sf.WARMUP),
        ))
    return pd.concat(parts, ignore_index=True)


def _fit_bucket(pdf: pd.DataFrame, keys: List[str], cfg: SeriesDecomposeConfig, lo_bin, hi_bin) -> pd.DataFrame:
    """Fit the series of one bucket, batched by their grid of bins."""
    names = pdf[keys].drop_duplicates().sort_values(keys, kind="mergesort").reset_index(drop=True)
    code = pd.MultiIndex.from_frame(names).get_indexer(pd.MultiIndex.from_frame(pdf[keys]))
    b = pdf["bin"].to_numpy(dtype=np.int64)
    first = pd.Series(b).groupby(code).min().reindex(range(len(names))).to_numpy()
    last = pd.Series(b).groupby(code).max().reindex(range(len(names))).to_numpy()
    lo = first if lo_bin is None else np.maximum(lo_bin, first)
    hi = last + 1 if hi_bin is None else np.full(len(names), hi_bin)
    grid0, Y = sf.dense_matrix(code, b, pdf["Value"].to_numpy(), lo, hi)
    rows_out: List[dict] = [{} for _ in range(len(names))]
    for rows in _batches(lo, hi):
        r0 = int(rows[0])
        index = np.arange(int(lo[r0]), int(hi[r0]), dtype=np.int64)
        Yb = Y[rows][:, int(lo[r0]) - grid0:int(hi[r0]) - grid0]
        for i, fitted in zip(rows, fit_batch(index, Yb, cfg)):
            rows_out[int(i)] = fitted
    fitted = pd.DataFrame(rows_out)
    for col in ("n_bins", "first_bin", "period"):  # integers, None where a series was not fitted
        fitted[col] = fitted[col].astype("Int64")
    return pd.concat([names, fitted], axis=1)


class SeriesDecompose(Template):
    """Seasonal decomposition anomalies per series (KQL series_decompose_anomalies)."""

    name = "series-decompose"
    version = "2.0"
    table = "Usage"
    output_table = "UsageAnomalies"
    report_kind = "series"
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

    def output_ddl(self) -> str:
        return sf.output_ddl(self.config)

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

        n_series = prepared.select(*keys).distinct().count()
        buckets = max(1, -(-n_series // cfg.series_per_task))

        def fit_bucket(pdf: pd.DataFrame) -> pd.DataFrame:
            with sf.limit_threads():
                return _fit_bucket(pdf, keys, cfg, lo_bin, hi_bin)

        schema = f"{sf.series_key_schema(cfg)}, {FIT_SCHEMA_TAIL}"
        series = (
            prepared.select(*keys, "bin", "Value").withColumn("bucket", _bucket(keys, buckets))
            .groupBy("bucket").applyInPandas(fit_bucket, schema).persist(StorageLevel.MEMORY_AND_DISK)
        )
        counts = sf.check_fitted_series(series, cfg, keys)
        periods = {
            str(r["period"]): int(r["n"])
            for r in series.filter(F.col("status") == sf.OK).groupBy("period").agg(F.count(F.lit(1)).alias("n")).collect()
        }
        mae = series.agg(F.avg("holdout_mae")).first()[0]
        return SeriesDecomposeModel(
            self, series_=series,
            metadata={"counts": counts, "periods_chosen": periods, "holdout_mae_mean": mae,
                      "score_lookback_bins": self.lookback_bins, "buckets": buckets},
        )
