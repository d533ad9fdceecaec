"""make-series in Spark, bin arithmetic, and the shared pieces of the time-series templates.

A series is identified by its key columns (``DataType`` for Usage). Bins are numbered
from the Unix epoch (``bin = floor(seconds / bin_seconds)``), as KQL's ``bin()`` does,
so a bin's phase in the day or week does not depend on the run. A series starts at its
first observed bin; after that a missing bin of a count or sum is **0** (silence is a
signal), and a missing bin of an average, minimum or maximum (a gauge) has no value.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import pandas as pd

from ..errors import ConfigError, SeriesError
from ..timewindow import TimeWindow, format_time
from .base import Template, TemplateConfig, param
from .transform import TRANSFORMS

AGGREGATIONS = ("sum", "avg", "count", "min", "max")
BAD_SERIES = ("error", "skip")
_DURATION = re.compile(r"^\s*(\d+)\s*(s|m|min|h|d|w)\s*$")
_UNIT = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
#: status of a series in a model or an output row
OK, TOO_SHORT, NEW_SERIES, WARMUP = "ok", "too_short", "new_series", "warmup"


def parse_duration(text: str, what: str = "duration") -> int:
    """Seconds in ``"1h"``, ``"30m"``, ``"14d"``, ``"1w"``; ``"0"`` is 0.

    >>> parse_duration("1h"), parse_duration("14d"), parse_duration("0")
    (3600, 1209600, 0)
    """
    if str(text).strip() == "0":
        return 0
    m = _DURATION.match(str(text))
    if not m:
        raise ConfigError(f"{what} '{text}' is not a duration like 30m, 1h, 1d or 1w")
    return int(m.group(1)) * _UNIT[m.group(2)]


@dataclass
class SeriesInput(TemplateConfig):
    """How rows of a table become series: ``make-series <aggregation>(<value_column>) on <time_column>
    from <window start> to <window end> step <bin> by <group_by>``: the input every series template shares.

    ``where``: an extra Spark SQL filter on the rows. ``aggregation`` is one of sum, avg,
    count, min, max.
    """

    table: str = param("Usage", "the Log Analytics table read")
    time_column: str = param("TimeGenerated", "the time column the series are binned on")
    value_column: str = param("Quantity", "the column aggregated per bin")
    aggregation: str = param("sum", "sum | avg | count | min | max of value_column per bin (avg, min, max: gauges)")
    group_by: List[str] = param(["DataType"], "columns naming a series")
    bin: str = param("1h", "bin width, a duration such as 30m, 1h, 1d")
    where: Optional[str] = param(None, "extra Spark SQL filter on the rows")
    min_train_bins: int = param(24, "fewer training bins: the series is too_short")
    bad_series: str = param("skip", "a too short series: skip trains the rest (it is judged later), error stops")

    def validate(self) -> None:
        if self.bad_series not in BAD_SERIES:
            raise ConfigError(f"bad_series must be one of {', '.join(BAD_SERIES)}")
        if self.min_train_bins < 3:
            raise ConfigError("min_train_bins must be at least 3")
        if self.aggregation not in AGGREGATIONS:
            raise ConfigError(f"aggregation must be one of {', '.join(AGGREGATIONS)}, not '{self.aggregation}'")
        if not self.group_by:
            raise ConfigError("group_by must name at least one column (e.g. DataType)")
        if parse_duration(self.bin, "bin") <= 0:
            raise ConfigError("bin must be a positive duration such as 1h")

    @property
    def bin_seconds(self) -> int:
        return parse_duration(self.bin, "bin")

    @property
    def day_bins(self) -> int:
        """Bins per day (at least one): the block on which fences and profiles are refreshed."""
        return max(1, 86400 // self.bin_seconds)

    @property
    def gauge(self) -> bool:
        """Averages, minima and maxima: a missing bin has no value (counts and sums: 0)."""
        return self.aggregation in ("avg", "min", "max")

    def bins(self, text: str, what: str) -> int:
        """A duration from the config in bins (it must be a whole number of bins)."""
        seconds = parse_duration(text, what)
        if seconds % self.bin_seconds:
            raise ConfigError(f"{what} '{text}' is not a whole number of {self.bin} bins")
        return seconds // self.bin_seconds


@dataclass
class SeriesConfig(SeriesInput):
    """The input of :class:`SeriesInput` and the flags shared by the anomaly templates on series
    (:mod:`byoml.templates.series_detector`).

    ``transform``: auto (square root of count-like series, see
    :mod:`byoml.templates.series_profile`), sqrt, log or none. The flag rules are those of
    :mod:`byoml.templates.series_detector`; each option's line below says what it does.
    """

    output_table: str = param("UsageAnomalies", "the custom table written, without _CL")
    threshold: float = param(1.0, "Tukey k on the 10th/90th percentiles of recent residuals (the least threshold)")
    quantiles: List[float] = param([0.1, 0.9], "the two quantiles of the Tukey fences")
    tail_factor: float = param(1.0, "the threshold is at least this x tail_quantile of the daily maximum scores (0: off)")
    tail_quantile: float = param(0.9, "quantile of the series' daily maximum scores over the fence window")
    tail_days: int = param(7, "days of scores before the tail threshold applies")
    level_window: str = param("2d", "the recent level is the median residual of this window")
    fence_window: str = param("14d", "residuals the fences are taken from")
    shift_after: int = param(4, "bins beyond the fences on one side that make a level shift (0: never)")
    min_history: int = param(12, "bins of a series' own history before a bin is judged")
    transform: str = param("auto", "value transform: auto (sqrt for count-like series) | sqrt | log | none")
    flag_new_series: bool = param(True, "flag the first bin of a series the model has not seen")

    def validate(self) -> None:
        super().validate()
        if self.threshold <= 0:
            raise ConfigError("threshold (Tukey k) must be > 0")
        if len(self.quantiles) != 2 or not 0 <= self.quantiles[0] < self.quantiles[1] <= 1:
            raise ConfigError("quantiles must be two increasing values in [0, 1], e.g. [0.1, 0.9]")
        if self.tail_factor < 0 or not 0 <= self.tail_quantile <= 1 or self.tail_days < 1:
            raise ConfigError("tail_factor must be >= 0 (0: off), tail_quantile in [0, 1] and tail_days >= 1")
        if self.transform not in TRANSFORMS:
            raise ConfigError(f"transform must be one of {', '.join(TRANSFORMS)}, not '{self.transform}'")
        if self.bins(self.level_window, "level_window") < 1:
            raise ConfigError("level_window must be at least one bin")
        if self.bins(self.fence_window, "fence_window") < 2 * self.day_bins:
            raise ConfigError("fence_window must hold at least two days of bins")
        if self.shift_after < 0 or self.min_history < 1:
            raise ConfigError("shift_after must be >= 0 (0: never) and min_history >= 1")

    def detector_spec(self):
        """The flag rules (:class:`~byoml.templates.series_detector.DetectorSpec`) of this config."""
        from .series_detector import DetectorSpec

        return DetectorSpec(
            level_bins=self.bins(self.level_window, "level_window"), fence_bins=self.bins(self.fence_window, "fence_window"),
            refit=self.day_bins, quantiles=tuple(self.quantiles), k=self.threshold, tail_quantile=self.tail_quantile,
            tail_factor=self.tail_factor, tail_blocks=self.tail_days, shift_bins=self.shift_after, min_history=self.min_history,
            min_residuals=self.day_bins, recovery_bins=self.bins(self.fence_window, "fence_window"),
        )


class SeriesTemplate(Template):
    """What every template on series shares: it reads the series of its :class:`SeriesInput` config
    (``make-series``), the rows :func:`series_filters` keeps, and ``lookback_bins`` of history before
    a scoring window (the config's ``lookback_bins`` unless the template says otherwise)."""

    table = "Usage"
    sample_data = "usage"

    @property
    def sample_kind(self):
        """Perf counters when configured for the ``Perf`` table, else the Usage table."""
        return "perf" if self.input_table.lower() == "perf" else self.sample_data

    @property
    def lookback_bins(self) -> int:
        return self.config.lookback_bins

    @property
    def score_lookback(self) -> dt.timedelta:  # type: ignore[override]
        return dt.timedelta(seconds=self.lookback_bins * self.config.bin_seconds)

    def columns(self):
        return series_columns(self.config)

    def required_columns(self):
        return series_columns(self.config)

    def prepare(self, events):
        return make_series(events, self.config)

    def input_filters(self):
        return series_filters(self.config)

    def filter_hint(self) -> str:
        return "Check the config's where:, time_column and value_column."

    def buckets(self, prepared) -> int:
        """Buckets of about ``series_per_task`` series each, fitted together in one pandas call."""
        n_series = prepared.select(*self.config.group_by).distinct().count()
        return max(1, -(-n_series // self.config.series_per_task))


def series_columns(cfg: SeriesInput) -> List[str]:
    cols = [cfg.time_column, *cfg.group_by]
    if cfg.aggregation != "count":
        cols.append(cfg.value_column)
    return list(dict.fromkeys(cols))


def check_window(window: TimeWindow, cfg: SeriesInput) -> Tuple[Optional[int], Optional[int]]:
    """The window's first and end bin numbers; the bin size must divide it and its start."""
    step = cfg.bin_seconds
    out: List[Optional[int]] = []
    for value in (window.start, window.end):
        if value is None:
            out.append(None)
            continue
        seconds = int(value.timestamp())
        if seconds % step or value.microsecond:
            raise ConfigError(
                f"the bin size {cfg.bin} does not divide the window {window}: {format_time(value)} is not on a "
                f"{cfg.bin} boundary; start and end the window on whole bins"
            )
        out.append(seconds // step)
    return out[0], out[1]


def series_filters(cfg: SeriesInput) -> List[Tuple[str, object]]:
    """The rows that make series, as ``(reason, keep)`` conditions (see ``Template.input_filters``)."""
    from pyspark.sql import functions as F

    filters = [("excluded by where", F.expr(cfg.where))] if cfg.where else []
    filters.append((f"no {cfg.time_column}", F.col(cfg.time_column).cast("timestamp").isNotNull()))
    if cfg.aggregation != "count":
        filters.append((f"no numeric {cfg.value_column}", F.col(cfg.value_column).cast("double").isNotNull()))
    return filters


def make_series(events, cfg: SeriesInput):
    """Rows -> one row per (series key, bin): keys, ``bin``, aggregated ``Value``, ``TimeGenerated`` (bin start)."""
    from pyspark.sql import functions as F

    df = events
    for _, keep in series_filters(cfg):
        df = df.filter(keep)
    time = F.col(cfg.time_column).cast("timestamp")
    bin_no = F.floor(F.unix_seconds(time) / F.lit(cfg.bin_seconds)).cast("long")
    keys = [F.coalesce(F.col(c).cast("string"), F.lit("")).alias(c) for c in cfg.group_by]
    value = F.lit(1.0) if cfg.aggregation == "count" else F.col(cfg.value_column).cast("double")
    agg = {
        "sum": F.sum, "avg": F.avg, "min": F.min, "max": F.max, "count": F.sum,
    }[cfg.aggregation]
    return (
        df.select(*keys, bin_no.alias("bin"), value.alias("v"))
        .groupBy(*cfg.group_by, "bin")
        .agg(agg("v").cast("double").alias("Value"))
        .withColumn("TimeGenerated", F.timestamp_seconds(F.col("bin") * F.lit(cfg.bin_seconds)))
    )


def dense(values: pd.DataFrame, lo: int, hi: int) -> Tuple[np.ndarray, np.ndarray]:
    """Bin numbers ``lo..hi-1`` and their values (a missing bin is 0) from rows ``bin``, ``Value``."""
    index = np.arange(lo, hi, dtype=np.int64)
    out = np.zeros(len(index))
    if len(values):
        rows = values.dropna(subset=["bin"])
        b = rows["bin"].to_numpy(dtype=np.int64)
        keep = (b >= lo) & (b < hi)
        out[b[keep] - lo] = rows["Value"].to_numpy(dtype=float)[keep]
    return index, out


def dense_matrix(codes: np.ndarray, bins: np.ndarray, values: np.ndarray, lo: np.ndarray, hi: np.ndarray,
                 missing: float = 0.0):
    """Many series on one grid of bins: ``(first bin, Y)`` with ``Y[s, j]`` the value of series ``s`` in
    bin ``first + j``: ``missing`` (0, or NaN for gauges) where a bin of ``lo[s]..hi[s]-1`` is missing,
    NaN outside that range.

    ``codes``/``bins``/``values``: one row per observed (series, bin), series numbered 0..S-1.

    >>> first, Y = dense_matrix(np.array([0, 0, 1]), np.array([10, 12, 11]), np.array([1.0, 2.0, 5.0]),
    ...                         lo=np.array([10, 11]), hi=np.array([13, 13]))
    >>> first, Y.tolist()
    (10, [[1.0, 0.0, 2.0], [nan, 5.0, 0.0]])
    """
    lo, hi = np.asarray(lo, dtype=np.int64), np.asarray(hi, dtype=np.int64)
    if len(lo) == 0:
        return 0, np.zeros((0, 0))
    first, last = int(lo.min()), int(hi.max())
    cols = np.arange(first, max(first, last), dtype=np.int64)
    Y = np.where((cols[None, :] >= lo[:, None]) & (cols[None, :] < hi[:, None]), missing, np.nan)
    codes, bins = np.asarray(codes, dtype=np.int64), np.asarray(bins, dtype=np.int64)
    keep = (bins >= lo[codes]) & (bins < hi[codes])
    Y[codes[keep], bins[keep] - first] = np.asarray(values, dtype=float)[keep]
    return first, Y


def bucket_of(keys: Sequence[str], buckets: int):
    """Spark column: the bucket (0..buckets-1) of a series, a hash of its key columns; a bucket's series
    are fitted and scored together in one pandas call."""
    from pyspark.sql import functions as F

    return F.pmod(F.xxhash64(*keys), F.lit(max(1, buckets))).cast("int")


def check_fitted_series(series, cfg: SeriesInput, keys: Sequence[str]) -> Dict[str, int]:
    """Count series per status; raise :class:`SeriesError` for too short ones when ``bad_series: error``
    (or when no series could be fitted)."""
    from pyspark.sql import functions as F

    counts = {r["status"]: int(r["n"]) for r in series.groupBy("status").agg(F.count(F.lit(1)).alias("n")).collect()}
    if not counts:
        from ..errors import EmptyWindowError

        raise EmptyWindowError("no series to fit: the training window holds no rows of the input table "
                               "(check the training window, the table and 'where')")
    short = counts.get(TOO_SHORT, 0)
    if short and (cfg.bad_series == "error" or not counts.get(OK)):
        examples = []
        for row in series.filter(F.col("status") != OK).select(*keys, "n_bins").limit(5).collect():
            examples.append(f"{'/'.join(str(row[k]) for k in keys)} ({row['n_bins']} bins)")
        fix = ("lengthen the training window, drop them with 'where', or set bad_series: skip (they are then "
               "judged once scoring has enough of their history)" if counts.get(OK) else
               "lengthen the training window or check the input")
        raise SeriesError(f"{short} series too short (fewer than {cfg.min_train_bins} {cfg.bin} bins) cannot be "
                          f"fitted, e.g. {', '.join(examples)}: {fix}")
    return {f"series_{k}": v for k, v in counts.items()}


def series_key_schema(cfg: SeriesInput) -> str:
    return ", ".join(f"`{c}` string" for c in cfg.group_by)


OUTPUT_COLUMNS = (
    "TimeGenerated timestamp, ActualUsage double, PredictedUsage double, LowerBound double, UpperBound double, "
    "Residual double, AnomalyScore double, Anomalies int, IsAnomaly boolean, AnomalyReason string, "
    "SeriesStatus string, SeriesKind string"
)


def output_schema(cfg: SeriesConfig) -> str:
    return f"{series_key_schema(cfg)}, {OUTPUT_COLUMNS}"


def output_ddl(cfg: SeriesConfig) -> str:
    """The declared output columns of the usage templates (before ``ModelVersion`` and ``RunId``)."""
    return output_schema(cfg)


def output_frames(keys: pd.DataFrame, index: np.ndarray, bin_seconds: int, actual: np.ndarray, predicted: np.ndarray,
                  lower: np.ndarray, upper: np.ndarray, score: np.ndarray, flags: np.ndarray, reasons, status,
                  kinds) -> pd.DataFrame:
    """Output rows of a batch of series (``keys``: one row per series; arrays ``(series, len(index))``;
    ``status`` per bin or per series, ``kinds`` per series)."""
    rows, m = len(keys), len(index)
    out = pd.DataFrame({k: np.repeat(keys[k].to_numpy(), m) for k in keys.columns})
    out["TimeGenerated"] = pd.to_datetime(np.tile(np.asarray(index, dtype=np.int64) * bin_seconds, rows), unit="s", utc=True)
    for name, values in (("ActualUsage", actual), ("PredictedUsage", predicted), ("LowerBound", lower),
                         ("UpperBound", upper)):
        out[name] = np.asarray(values, dtype=float).reshape(-1)
    out["Residual"] = out["ActualUsage"] - out["PredictedUsage"]
    out["AnomalyScore"] = np.asarray(score, dtype=float).reshape(-1)
    out["Anomalies"] = np.asarray(flags, dtype=np.int32).reshape(-1)
    out["IsAnomaly"] = out["Anomalies"] != 0
    out["AnomalyReason"] = np.broadcast_to(np.asarray(reasons, dtype=object), (rows, m)).reshape(-1)
    status = np.asarray(status, dtype=object)
    out["SeriesStatus"] = np.broadcast_to(status if status.ndim == 2 else status.reshape(-1, 1), (rows, m)).reshape(-1)
    out["SeriesKind"] = np.repeat(np.asarray(kinds, dtype=object).reshape(-1), m)
    return out


def empty_output(cfg: SeriesConfig) -> pd.DataFrame:
    cols = list(cfg.group_by) + [c.split()[0] for c in OUTPUT_COLUMNS.split(", ")]
    return pd.DataFrame({c: [] for c in cols})


def finish_output(df, run) -> "object":
    """Add ``ModelVersion`` and ``RunId`` (Spark)."""
    from pyspark.sql import functions as F

    return df.withColumn("ModelVersion", F.lit(run.model_version)).withColumn("RunId", F.lit(run.run_id))


def score_bins(window: TimeWindow, cfg: SeriesInput, lookback_bins: int) -> Tuple[int, int, int]:
    """(first bin read, first scored bin, end bin) of a scoring window."""
    start, end = check_window(window, cfg)
    if start is None or end is None:
        raise ConfigError("scoring needs a bounded window (--start and --end)")
    return start - lookback_bins, start, end


def limit_threads():
    """One BLAS/OpenMP thread per Python worker: Spark already runs one task per core.

    threadpoolctl only limits the thread pools of libraries already loaded, and scikit-learn
    loads its OpenMP runtime with its compiled modules: load it first, or HistGradientBoosting
    starts a thread per core in every task (each spinning against the others on a busy machine).
    """
    from threadpoolctl import threadpool_limits

    try:
        import sklearn.utils._openmp_helpers  # noqa: F401  (loads the OpenMP runtime)
    except ImportError:  # pragma: no cover - scikit-learn without OpenMP
        pass
    return threadpool_limits(1)
