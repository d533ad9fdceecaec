"""Template ``series-decompose``: KQL's ``series_decompose_anomalies``, made safe for any series, on Spark.

``make-series`` (group-by columns, time column, aggregation and bin from the config), then per
series, in parallel on the executors (``applyInPandas`` over buckets of series):

* **fit** (training window): the series' profile (:mod:`byoml.templates.series_profile`):
  count-like or a gauge (the scale it is modelled on), and its period (none, daily or weekly),
  kept only when it clearly lowers the forecast error on the end of the training window;
* **score**: the seasonal profile (median per phase of the ``lookback`` before, refitted daily)
  plus the series' recent level is the prediction of every bin, from data before it, read
  from the source; :mod:`byoml.templates.series_detector` turns its residuals into flags with a
  reason (spike, dip, level shift, missing data, new series).

Differences from KQL (no bit-for-bit parity), each measured in ``benchmarks/usage_quality.py``
on 33 real NAB series by category, with grouped cross-validation:

* KQL decomposes the whole series, including the points it scores; here every bin is judged by
  data before it, which is what a scheduled job sees.
* KQL's period comes from ``series_periods_detect``; here from the holdout error of the
  candidates (``period_candidates``) against none, with a margin: a gauge without a real
  period is not given 24 noisy medians.
* KQL's trend is the average or a line over the whole lookback; here the recent level (the
  median of the last ``level_window``), so a level shift is followed within hours, and once
  an episode lasts ``shift_after`` bins it is absorbed as a shift.
* KQL flags every bin beyond its fences (Tukey on the fit's own residuals); here the fences come
  from recent out-of-sample residuals, the threshold rises on heavy-tailed series, and an
  episode is flagged once.
* A missing bin of a count or sum is 0, as in ``make-series ... default=0``; of an average it
  has no value.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Dict, List, Sequence

import numpy as np
import pandas as pd

from ..errors import ConfigError
from ..timewindow import TimeWindow
from . import series_frame as sf
from .base import Model, RunInfo, learned_table, param
from .decompose import rolling_forecast
from .series_detector import NEW_SERIES, detect
from .series_profile import ProfileSpec, default_profile, fit_profiles
from .transform import ValueTransform

if TYPE_CHECKING:
    from pyspark.sql import DataFrame


@dataclass
class SeriesDecomposeConfig(sf.SeriesConfig):
    """Parameters of ``series-decompose`` (durations are whole numbers of bins).

    ``period``: ``auto`` (choose among none and ``period_candidates``), ``none``, or a duration.
    ``season_margin``: a period is kept when it lowers the holdout error by at least this share.
    ``lookback``: history each seasonal profile is fitted on (a weekly period uses at least 4 weeks).
    ``series_per_task``: series fitted and scored together in one pandas call. The flag rules
    (``threshold``, ``tail_factor``, ``level_window``, ``fence_window``, ``shift_after``...) are
    those of :class:`~byoml.templates.series_frame.SeriesConfig`.
    """

    period: str = param("auto", "auto (chosen among none and period_candidates), none, or a duration")
    period_candidates: List[str] = param(["1d", "7d"], "periods period: auto chooses from")
    season_margin: float = param(0.1, "a period is kept when it lowers the holdout error by at least this share")
    lookback: str = param("14d", "history each seasonal profile is fitted on (a weekly period uses 4 weeks)")
    series_per_task: int = param(100, "series fitted and scored together in one pandas call")

    def validate(self) -> None:
        super().validate()
        if self.period not in ("auto", "none"):
            self.bins(self.period, "period")
        for p in self.period_candidates:
            self.bins(p, "period_candidates")
        if self.bins(self.lookback, "lookback") < 2:
            raise ConfigError("lookback must be at least two bins")
        if not 0 <= self.season_margin < 1:
            raise ConfigError("season_margin must be in [0, 1)")
        if self.series_per_task < 1:
            raise ConfigError("series_per_task must be at least 1")

    def candidate_periods(self) -> List[int]:
        if self.period == "none":
            return []
        if self.period != "auto":
            return [self.bins(self.period, "period")]
        return [p for p in (self.bins(c, "period_candidates") for c in self.period_candidates) if p > 1]

    def profile_spec(self) -> ProfileSpec:
        return ProfileSpec(
            aggregation=self.aggregation, transform=self.transform, periods=tuple(self.candidate_periods()),
            season_margin=self.season_margin if self.period == "auto" else -1.0,
            lookback=self.bins(self.lookback, "lookback"), level_bins=self.bins(self.level_window, "level_window"),
            min_train_bins=self.min_train_bins, bins_per_day=self.day_bins,
        )

    @property
    def lookback_bins(self) -> int:
        """History a scored bin needs: the longest seasonal profile's lookback, then a fence window of residuals."""
        spec = self.profile_spec()
        seasonal = max([spec.seasonal_spec(p).lookback for p in [0, *self.candidate_periods()]])
        return seasonal + self.bins(self.fence_window, "fence_window")


FIT_SCHEMA_TAIL = (
    "status string, n_bins long, first_bin long, period int, transform string, offset double, "
    "count_like boolean, kind string, holdout_mae double"
)


def _batches(*columns: np.ndarray) -> list:
    """Row numbers grouped by equal values of ``columns`` (series that share a grid), in first-seen order."""
    keys = list(zip(*[np.asarray(c).tolist() for c in columns]))
    groups: Dict[tuple, list] = {}
    for i, k in enumerate(keys):
        groups.setdefault(k, []).append(i)
    return [np.asarray(v) for v in groups.values()]


def judge_batch(index: np.ndarray, Y: np.ndarray, start: int, profiles: Sequence[dict],
                cfg: SeriesDecomposeConfig) -> Dict[str, np.ndarray]:
    """Prediction, bounds, score, flags and reasons of every bin of ``Y`` (series sharing the bins ``index``
    and one period), each from the bins before it; the caller keeps the columns from ``start`` on."""
    Y = np.atleast_2d(np.asarray(Y, dtype=float))
    tfs = [ValueTransform(str(p["transform"]), float(p["offset"] or 0.0)) for p in profiles]
    Z = np.stack([tf.forward(y) for tf, y in zip(tfs, Y)])
    Z[~np.isfinite(Y)] = np.nan
    period = int(profiles[0]["period"] or 0)
    base = rolling_forecast(Z, index, 0, cfg.profile_spec().seasonal_spec(period))["baseline"]
    det = detect(Z, base, index, start, cfg.detector_spec(), zero=(Y == 0),
                 count_like=np.array([bool(p["count_like"]) for p in profiles]))
    inv = lambda v: np.stack([tf.inverse(row) for tf, row in zip(tfs, v)])  # noqa: E731
    return {"predicted": inv(det.predicted), "lower": inv(det.lower), "upper": inv(det.upper), "score": det.score,
            "flags": det.flags, "reasons": det.reasons, "ready": det.ready}


class SeriesDecomposeModel(Model):
    """Fitted ``series-decompose``: one row per series (status, kind, period, transform)."""

    series_: DataFrame = learned_table("per series: status, kind (count-like or gauge, period), transform")

    def score(self, prepared, run: RunInfo):
        from pyspark.sql import functions as F

        tpl: SeriesDecompose = self.template
        cfg = tpl.config
        keys = list(cfg.group_by)
        read_lo, start, end = sf.score_bins(run.window, cfg, cfg.lookback_bins)
        data = prepared.filter((F.col("bin") >= read_lo) & (F.col("bin") < end)).select(*keys, "bin", "Value")
        first_in_source = data.agg(F.min("bin")).first()[0]
        floor = max(read_lo, int(first_in_source) if first_in_source is not None else read_lo)
        buckets = int(self.metadata.get("buckets") or 1)
        series = self.series_.withColumn("bucket", sf.bucket_of(keys, buckets))
        data = data.withColumn("bucket", sf.bucket_of(keys, buckets))
        bin_seconds = cfg.bin_seconds

        judge = tpl.judge

        def score_bucket(values: pd.DataFrame, fitted: pd.DataFrame) -> pd.DataFrame:
            with sf.limit_threads():
                return _score_bucket(values, fitted, keys, cfg, floor, start, end, bin_seconds, judge)

        out = data.groupBy("bucket").cogroup(series.groupBy("bucket")).applyInPandas(score_bucket, sf.output_schema(cfg))
        return sf.finish_output(out, run)


def _score_bucket(values: pd.DataFrame, fitted: pd.DataFrame, keys: List[str], cfg: SeriesDecomposeConfig,
                  floor: int, start: int, end: int, bin_seconds: int, judge=judge_batch) -> pd.DataFrame:
    """Output rows of the series of one bucket: fitted ones (with or without new data) and new ones."""
    names = pd.concat([fitted[keys], values[keys]], ignore_index=True).drop_duplicates().sort_values(keys, kind="mergesort")
    names = names.reset_index(drop=True)
    if not len(names):
        return sf.empty_output(cfg)
    info = names.merge(fitted, on=keys, how="left")
    code = pd.MultiIndex.from_frame(names).get_indexer(pd.MultiIndex.from_frame(values[keys])) if len(values) else np.zeros(0, int)
    observed_first = pd.Series(values["bin"].to_numpy(), index=code).groupby(level=0).min() if len(values) else pd.Series(dtype=float)
    observed_first = observed_first.reindex(range(len(names))).to_numpy()
    known = info["status"].notna().to_numpy()
    first = np.where(known & info["first_bin"].notna().to_numpy(), info["first_bin"].fillna(0).to_numpy(),
                     np.nan_to_num(observed_first, nan=end)).astype(np.int64)
    lo = np.maximum(floor, first)
    grid0, Y = sf.dense_matrix(code, values["bin"].to_numpy() if len(values) else np.zeros(0),
                               values["Value"].to_numpy() if len(values) else np.zeros(0), lo, np.full(len(names), end),
                               missing=np.nan if cfg.gauge else 0.0)
    pspec = cfg.profile_spec()
    profiles = []
    for r in range(len(names)):
        status = info["status"].iloc[r] if known[r] else NEW_SERIES
        if status == sf.OK:
            profiles.append(info.iloc[r].to_dict())
        else:
            row = Y[r, int(lo[r]) - grid0:]
            profiles.append(default_profile(row[:max(0, start - int(lo[r]))], row, pspec, status))
    period = np.array([int(p["period"] or 0) for p in profiles])
    parts = []
    for rows in _batches(lo, period):
        r0 = int(rows[0])
        index = np.arange(int(lo[r0]), end, dtype=np.int64)
        Yb = Y[rows][:, int(lo[r0]) - grid0:]
        at = max(start, int(lo[r0])) - int(lo[r0])
        batch = [profiles[int(r)] for r in rows]
        res = judge(index, Yb, at, batch, cfg)
        flags, reasons = res["flags"][:, at:], res["reasons"][:, at:]
        status = np.where(res["ready"][:, at:], np.array([p["status"] for p in batch], dtype=object)[:, None], sf.WARMUP)
        if cfg.flag_new_series:  # the first bin of a series the model has not seen
            for j, r in enumerate(rows):
                f = observed_first[r]
                if not known[r] and np.isfinite(f) and start <= f < end:
                    col = int(f) - int(lo[r0]) - at
                    flags[j, col], reasons[j, col] = 1, NEW_SERIES
        parts.append(sf.output_frames(
            names.iloc[rows], index[at:], bin_seconds, Yb[:, at:], res["predicted"][:, at:], res["lower"][:, at:],
            res["upper"][:, at:], res["score"][:, at:], flags, reasons, status, [p["kind"] for p in batch],
        ))
    return pd.concat(parts, ignore_index=True)


def _fit_bucket(pdf: pd.DataFrame, keys: List[str], cfg: SeriesDecomposeConfig, lo_bin, hi_bin) -> pd.DataFrame:
    """Profiles of the series of one bucket, batched by their grid of bins."""
    names = pdf[keys].drop_duplicates().sort_values(keys, kind="mergesort").reset_index(drop=True)
    code = pd.MultiIndex.from_frame(names).get_indexer(pd.MultiIndex.from_frame(pdf[keys]))
    b = pdf["bin"].to_numpy(dtype=np.int64)
    first = pd.Series(b).groupby(code).min().reindex(range(len(names))).to_numpy()
    last = pd.Series(b).groupby(code).max().reindex(range(len(names))).to_numpy()
    lo = first if lo_bin is None else np.maximum(lo_bin, first)
    hi = last + 1 if hi_bin is None else np.full(len(names), hi_bin)
    grid0, Y = sf.dense_matrix(code, b, pdf["Value"].to_numpy(), lo, hi, missing=np.nan if cfg.gauge else 0.0)
    rows_out: List[dict] = [{} for _ in range(len(names))]
    spec = cfg.profile_spec()
    for rows in _batches(lo, hi):
        r0 = int(rows[0])
        index = np.arange(int(lo[r0]), int(hi[r0]), dtype=np.int64)
        Yb = Y[rows][:, int(lo[r0]) - grid0:int(hi[r0]) - grid0]
        for i, fitted in zip(rows, fit_profiles(index, Yb, spec)):
            rows_out[int(i)] = fitted
    fitted = pd.DataFrame(rows_out)
    for col in ("n_bins", "first_bin", "period"):  # integers, None where a series was not fitted
        fitted[col] = fitted[col].astype("Int64")
    return pd.concat([names, fitted], axis=1)


class SeriesDecompose(sf.SeriesTemplate):
    """Flags spikes, dips, level shifts and missing data in any metric series, like KQL series_decompose_anomalies."""

    name = "series-decompose"
    version = "3.0"
    output_table = "UsageAnomalies"
    Config = SeriesDecomposeConfig
    minimum_training = {"days": 2, "series_ok": 1}  # a series' own minimum is min_train_bins
    model_class = SeriesDecomposeModel
    #: ``(index, Y, start, profiles, config) -> arrays`` of :func:`judge_batch`; a variant may replace it
    judge = staticmethod(judge_batch)
    report_kind = "series"

    def output_ddl(self) -> str:
        return sf.output_ddl(self.config)

    def fit(self, prepared, window: TimeWindow) -> Model:
        from pyspark import StorageLevel
        from pyspark.sql import functions as F

        cfg = self.config
        keys = list(cfg.group_by)
        lo_bin, hi_bin = sf.check_window(window, cfg)
        buckets = self.buckets(prepared)

        def fit_bucket(pdf: pd.DataFrame) -> pd.DataFrame:
            with sf.limit_threads():
                return _fit_bucket(pdf, keys, cfg, lo_bin, hi_bin)

        schema = f"{sf.series_key_schema(cfg)}, {FIT_SCHEMA_TAIL}"
        series = (
            prepared.select(*keys, "bin", "Value").withColumn("bucket", sf.bucket_of(keys, buckets))
            .groupBy("bucket").applyInPandas(fit_bucket, schema).persist(StorageLevel.MEMORY_AND_DISK)
        )
        counts = sf.check_fitted_series(series, cfg, keys)
        kinds = {
            str(r["kind"]): int(r["n"])
            for r in series.filter(F.col("status") == sf.OK).groupBy("kind").agg(F.count(F.lit(1)).alias("n")).collect()
        }
        mae = series.agg(F.avg("holdout_mae")).first()[0]
        return SeriesDecomposeModel(
            self, series_=series,
            metadata={"counts": counts, "series_kinds": kinds, "holdout_mae_mean": mae,
                      "score_lookback_bins": cfg.lookback_bins, "buckets": buckets},
        )
