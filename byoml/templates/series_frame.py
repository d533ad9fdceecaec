"""make-series in Spark, bin arithmetic, and the shared pieces of the time-series templates.

A series is identified by its key columns (``DataType`` for Usage). Bins are numbered
from the Unix epoch (``bin = floor(seconds / bin_seconds)``), as KQL's ``bin()`` does,
so a bin's phase in the day or week does not depend on the run. A series starts at its
first observed bin; after that **a missing bin is a value of 0** (silence is a signal).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import pandas as pd

from ..errors import ConfigError, SeriesError
from ..timewindow import TimeWindow, format_time
from .base import TemplateConfig, param
from .transform import TRANSFORMS

AGGREGATIONS = ("sum", "avg", "count", "min", "max")
BAD_SERIES = ("error", "skip")
_DURATION = re.compile(r"^\s*(\d+)\s*(s|m|min|h|d|w)\s*$")
_UNIT = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
#: status of a series in a model or an output row
OK, TOO_SHORT, CONSTANT, NEW_SERIES, WARMUP = "ok", "too_short", "constant", "new_series", "warmup"


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
class SeriesConfig(TemplateConfig):
    """How rows of a table become series: ``make-series <aggregation>(<value_column>) on <time_column>
    from <window start> to <window end> step <bin> by <group_by>``.

    ``where``: an extra Spark SQL filter on the rows. ``aggregation`` is one of sum, avg,
    count, min, max. ``transform``: auto, sqrt, log or none (:mod:`byoml.templates.transform`).
    ``bad_series``: ``error`` stops training when a series is too short or
    constant; ``skip`` trains without it and counts it in the model metadata.
    """

    table: str = param("Usage", "the Log Analytics table read")
    time_column: str = param("TimeGenerated", "the time column the series are binned on")
    value_column: str = param("Quantity", "the column aggregated per bin")
    aggregation: str = param("sum", "sum | avg | count | min | max of value_column per bin")
    group_by: List[str] = param(["DataType"], "columns naming a series")
    bin: str = param("1h", "bin width, a duration such as 30m, 1h, 1d")
    where: Optional[str] = param(None, "extra Spark SQL filter on the rows")
    output_table: str = param("UsageAnomalies", "the custom table written, without _CL")
    threshold: float = param(1.5, "Tukey k: flag residuals beyond the quantiles by k times their spread")
    quantiles: List[float] = param([0.1, 0.9], "the two quantiles of the Tukey fences")
    transform: str = param("auto", "value transform: auto | sqrt | log | none")
    min_train_bins: int = param(60, "a series needs at least this many training bins")
    bad_series: str = param("error", "a too short or constant series: error stops training, skip leaves it out")

    def validate(self) -> None:
        if self.aggregation not in AGGREGATIONS:
            raise ConfigError(f"aggregation must be one of {', '.join(AGGREGATIONS)}, not '{self.aggregation}'")
        if not self.group_by:
            raise ConfigError("group_by must name at least one column (e.g. DataType)")
        if parse_duration(self.bin, "bin") <= 0:
            raise ConfigError("bin must be a positive duration such as 1h")
        if self.threshold <= 0:
            raise ConfigError("threshold (Tukey k) must be > 0")
        if len(self.quantiles) != 2 or not 0 <= self.quantiles[0] < self.quantiles[1] <= 1:
            raise ConfigError("quantiles must be two increasing values in [0, 1], e.g. [0.1, 0.9]")
        if self.transform not in TRANSFORMS:
            raise ConfigError(f"transform must be one of {', '.join(TRANSFORMS)}, not '{self.transform}'")
        if self.bad_series not in BAD_SERIES:
            raise ConfigError(f"bad_series must be one of {', '.join(BAD_SERIES)}")
        if self.min_train_bins < 3:
            raise ConfigError("min_train_bins must be at least 3")

    @property
    def bin_seconds(self) -> int:
        return parse_duration(self.bin, "bin")

    def bins(self, text: str, what: str) -> int:
        """A duration from the config in bins (it must be a whole number of bins)."""
        seconds = parse_duration(text, what)
        if seconds % self.bin_seconds:
            raise ConfigError(f"{what} '{text}' is not a whole number of {self.bin} bins")
        return seconds // self.bin_seconds


def series_columns(cfg: SeriesConfig) -> List[str]:
    cols = [cfg.time_column, *cfg.group_by]
    if cfg.aggregation != "count":
        cols.append(cfg.value_column)
    return list(dict.fromkeys(cols))


def check_window(window: TimeWindow, cfg: SeriesConfig) -> Tuple[Optional[int], Optional[int]]:
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


def make_series(events, cfg: SeriesConfig):
    """Rows -> one row per (series key, bin): keys, ``bin``, aggregated ``Value``, ``TimeGenerated`` (bin start)."""
    from pyspark.sql import functions as F

    df = events
    if cfg.where:
        df = df.filter(F.expr(cfg.where))
    time = F.col(cfg.time_column).cast("timestamp")
    df = df.filter(time.isNotNull())
    bin_no = F.floor(F.unix_seconds(time) / F.lit(cfg.bin_seconds)).cast("long")
    keys = [F.coalesce(F.col(c).cast("string"), F.lit("")).alias(c) for c in cfg.group_by]
    if cfg.aggregation == "count":
        value = F.lit(1.0)
    else:
        value = F.col(cfg.value_column).cast("double")
        df = df.filter(value.isNotNull())
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


def dense_matrix(codes: np.ndarray, bins: np.ndarray, values: np.ndarray, lo: np.ndarray, hi: np.ndarray):
    """Many series on one grid of bins: ``(first bin, Y)`` with ``Y[s, j]`` the value of series ``s`` in
    bin ``first + j``: 0 where a bin of ``lo[s]..hi[s]-1`` is missing, NaN outside that range.

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
    Y = np.where((cols[None, :] >= lo[:, None]) & (cols[None, :] < hi[:, None]), 0.0, np.nan)
    codes, bins = np.asarray(codes, dtype=np.int64), np.asarray(bins, dtype=np.int64)
    keep = (bins >= lo[codes]) & (bins < hi[codes])
    Y[codes[keep], bins[keep] - first] = np.asarray(values, dtype=float)[keep]
    return first, Y


def series_status(values: np.ndarray, min_bins: int) -> str:
    if len(values) < min_bins:
        return TOO_SHORT
    if np.ptp(values) == 0:
        return CONSTANT
    return OK


def check_fitted_series(series, cfg: SeriesConfig, keys: Sequence[str]) -> Dict[str, int]:
    """Count series per status; raise :class:`SeriesError` for bad ones unless ``bad_series: skip``."""
    from pyspark.sql import functions as F

    counts = {r["status"]: int(r["n"]) for r in series.groupBy("status").agg(F.count(F.lit(1)).alias("n")).collect()}
    if not counts:
        from ..errors import EmptyWindowError

        raise EmptyWindowError("no series to fit: the training window holds no rows of the input table "
                               "(check the training window, the table and 'where')")
    bad = {s: n for s, n in counts.items() if s != OK}
    if bad and (cfg.bad_series == "error" or not counts.get(OK)):
        examples = []
        for row in series.filter(F.col("status") != OK).select(*keys, "status", "n_bins").limit(5).collect():
            name = "/".join(str(row[k]) for k in keys)
            examples.append(f"{name} ({row['status'].replace('_', ' ')}, {row['n_bins']} bins)")
        what = []
        if TOO_SHORT in bad:
            what.append(f"{bad[TOO_SHORT]} too short (fewer than {cfg.min_train_bins} {cfg.bin} bins)")
        if CONSTANT in bad:
            what.append(f"{bad[CONSTANT]} constant (nothing to learn, every change would be an anomaly)")
        fix = ("lengthen the training window, drop them with 'where', or set bad_series: skip"
               if counts.get(OK) else "lengthen the training window or check the input")
        raise SeriesError(f"{' and '.join(what)} series cannot be fitted, e.g. {', '.join(examples)}: {fix}")
    return {f"series_{k}": v for k, v in counts.items()}


def series_key_schema(cfg: SeriesConfig) -> str:
    return ", ".join(f"`{c}` string" for c in cfg.group_by)


OUTPUT_COLUMNS = (
    "TimeGenerated timestamp, ActualUsage double, PredictedUsage double, LowerBound double, UpperBound double, "
    "Residual double, AnomalyScore double, Anomalies int, SeriesStatus string"
)


def output_schema(cfg: SeriesConfig) -> str:
    return f"{series_key_schema(cfg)}, {OUTPUT_COLUMNS}"


# The flag every template writes: IsAnomaly (true where Anomalies, the direction, is not 0) and why.
FLAG_COLUMNS = "IsAnomaly boolean, AnomalyReason string"


def output_ddl(cfg: SeriesConfig) -> str:
    """The declared output columns of the usage templates (before ``ModelVersion`` and ``RunId``):
    the scored frame's, and the flag columns :func:`finish_output` adds where it has none."""
    written = output_schema(cfg)
    names = {c.split()[0].strip("`") for c in written.split(", ")}
    added = [c for c in FLAG_COLUMNS.split(", ") if c.split()[0] not in names]
    return ", ".join([written, *added])


def output_frame(key: dict, index: np.ndarray, bin_seconds: int, actual: np.ndarray, predicted: np.ndarray,
                 lower: np.ndarray, upper: np.ndarray, score: np.ndarray, flags: np.ndarray, status) -> pd.DataFrame:
    """Output rows of one series: :func:`output_frames` for a batch of one."""
    one = lambda v: np.asarray(v, dtype=float)[None, :]  # noqa: E731
    return output_frames(pd.DataFrame([key]), index, bin_seconds, one(actual), one(predicted), one(lower),
                         one(upper), one(score), np.asarray(flags)[None, :], status)


def output_frames(keys: pd.DataFrame, index: np.ndarray, bin_seconds: int, actual: np.ndarray, predicted: np.ndarray,
                  lower: np.ndarray, upper: np.ndarray, score: np.ndarray, flags: np.ndarray, status) -> pd.DataFrame:
    """Output rows of a batch of series (``keys``: one row per series; arrays ``(series, len(index))``)."""
    rows, m = len(keys), len(index)
    out = pd.DataFrame({k: np.repeat(keys[k].to_numpy(), m) for k in keys.columns})
    out["TimeGenerated"] = pd.to_datetime(np.tile(np.asarray(index, dtype=np.int64) * bin_seconds, rows), unit="s", utc=True)
    for name, values in (("ActualUsage", actual), ("PredictedUsage", predicted), ("LowerBound", lower),
                         ("UpperBound", upper)):
        out[name] = np.asarray(values, dtype=float).reshape(-1)
    out["Residual"] = out["ActualUsage"] - out["PredictedUsage"]
    out["AnomalyScore"] = np.asarray(score, dtype=float).reshape(-1)
    out["Anomalies"] = np.asarray(flags, dtype=np.int32).reshape(-1)
    out["SeriesStatus"] = np.broadcast_to(np.asarray(status, dtype=object), (rows, m)).reshape(-1)
    return out


def empty_output(cfg: SeriesConfig) -> pd.DataFrame:
    cols = list(cfg.group_by) + [c.split()[0] for c in OUTPUT_COLUMNS.split(", ")]
    return pd.DataFrame({c: [] for c in cols})


def unscored(key: dict, index: np.ndarray, actual: np.ndarray, bin_seconds: int, status: str) -> pd.DataFrame:
    nan = np.full(len(index), np.nan)
    return output_frame(key, index, bin_seconds, actual, nan, nan, nan, nan, np.zeros(len(index)), status)


def finish_output(df, run) -> "object":
    """Add the flag (``IsAnomaly``, ``AnomalyReason``: spike above, dip below), ``ModelVersion`` and ``RunId``."""
    from pyspark.sql import functions as F

    direction = F.col("Anomalies")
    if "IsAnomaly" not in df.columns:
        df = df.withColumn("IsAnomaly", direction != 0)
    if "AnomalyReason" not in df.columns:
        df = df.withColumn("AnomalyReason", F.when(direction > 0, F.lit("spike"))
                           .when(direction < 0, F.lit("dip")).otherwise(F.lit("")))
    return df.withColumn("ModelVersion", F.lit(run.model_version)).withColumn("RunId", F.lit(run.run_id))


def score_bins(window: TimeWindow, cfg: SeriesConfig, lookback_bins: int) -> Tuple[int, int, int]:
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
