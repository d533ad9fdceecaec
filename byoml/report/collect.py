"""Collecting what a report shows from the scored DataFrame, with bounds.

Only bounded results reach the driver: the top ``top_n`` rows (``limit``), a grid of at most
``max_grid`` x ``max_grid`` cells, at most ``max_series`` series of at most ``max_points`` bins
each, and a histogram of at most 162 buckets. The scored output itself stays a DataFrame
however large it is.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Sequence

import pandas as pd

if TYPE_CHECKING:  # pyspark is imported where used
    from pyspark.sql import Column, DataFrame

from ..templates.base import REPORT_KINDS as KINDS  # the kinds a template can name

DEFAULT_TOP = 50
DEFAULT_GRID = 30
DEFAULT_SERIES = 12
DEFAULT_POINTS = 24 * 31
HISTOGRAM_WIDTH = 0.25
HISTOGRAM_LOW, HISTOGRAM_HIGH = -10.0, 30.0

SERIES_COLUMNS = ("ActualUsage", "PredictedUsage", "LowerBound", "UpperBound")
ACCESS_COLUMNS = ("Account", "Resource", "AnomalyScore")
ACCESS_TABLE = ("TenantId", "Account", "Resource", "FirstSeen", "LastSeen", "AccessCount", "AnomalyScore",
                "ScoringPath", "Affinity", "TrainingDays", "Explanation")
PROCESS_TABLE = ("Computer", "Account", "ProcessPath", "Reason", "ImitatedProcess", "ImitatedPath", "ParentProcess",
                 "AnomalyScore", "Count", "Explanation")
TABLES = {"access": ACCESS_TABLE, "process": PROCESS_TABLE}
PATTERN_COLUMNS = ("PatternId", "Pattern", "Count", "Baseline", "IsNew", "IsAnomaly")
PATTERN_TABLE = ("TimeGenerated", "Pattern", "AnomalyReason", "Count", "Baseline", "AnomalyScore", "ErrorCount",
                 "ExampleMessage")
DEFAULT_PATTERNS = 25



@dataclass
class ReportData:
    """What a report shows: small pandas frames collected with bounds, plus the run's header."""

    kind: str
    header: Dict[str, str]
    top: pd.DataFrame
    top_flagged: bool = True
    grid: Optional[pd.DataFrame] = None
    histogram: Optional[pd.DataFrame] = None
    threshold: Optional[float] = None
    series: Optional[pd.DataFrame] = None
    series_keys: List[str] = field(default_factory=list)
    series_shown: int = 0
    series_flagged: int = 0
    grid_note: str = ""
    unit: str = ""  # what a series' values are, for the axes
    patterns: Optional[pd.DataFrame] = None
    flagged: int = 0
    history: Optional[pd.DataFrame] = None  # forecast: the shown series' bins before the forecasts
    reasons: Optional[pd.DataFrame] = None
    limits: Dict[str, int] = field(default_factory=dict)


def collect(
    scored: "DataFrame",
    flag: "Column",
    *,
    kind: str,
    header: Optional[Mapping[str, Any]] = None,
    series_keys: Optional[Sequence[str]] = None,
    threshold: Optional[float] = None,
    top_n: int = DEFAULT_TOP,
    max_grid: int = DEFAULT_GRID,
    max_series: int = DEFAULT_SERIES,
    max_points: int = DEFAULT_POINTS,
    flagged: Optional[int] = None,
    context: Optional["DataFrame"] = None,
    unit: str = "",
) -> ReportData:
    """Collect what the report shows from the scored DataFrame; ``flag`` is the anomaly column.

    ``kind``: the template's report kind (one of :data:`KINDS`; the template declares it).
    ``flagged``: the number of flagged rows when the caller knows it (else counted in Spark).
    ``context``: rows the kind draws beside the scored ones (``forecast``: the series' history,
    ``TimeGenerated`` and ``Value`` per series). Every frame brought to the driver is capped.
    """
    from pyspark.sql import functions as F

    if kind not in KINDS:
        raise ValueError(f"report kind {kind!r} is none of {', '.join(KINDS)}")
    flagged_df = scored.filter(flag)
    flagged = int(flagged_df.count()) if flagged is None else int(flagged)
    data = ReportData(kind=kind, header={k: str(v) for k, v in (header or {}).items()}, top=pd.DataFrame(),
                      flagged=flagged, threshold=threshold, unit=unit,
                      limits={"top_n": top_n, "max_grid": max_grid, "max_series": max_series, "max_points": max_points})
    has_score = "AnomalyScore" in scored.columns
    if kind == "patterns" and set(PATTERN_COLUMNS) <= set(scored.columns):
        _collect_patterns(data, scored, flagged_df, list(series_keys or []), top_n)
        return data
    if kind == "series":
        keys = [k for k in (series_keys or _string_keys(scored)) if k in scored.columns]
        data.series_keys = keys
        _collect_series(data, scored, flagged_df, keys, max_series, max_points, top_n)
        return data
    if kind == "forecast":
        keys = [k for k in (series_keys or []) if k in scored.columns]
        data.series_keys = keys
        _collect_forecast(data, scored, context, keys, max_series, max_points, top_n)
        return data
    base = flagged_df if flagged else scored
    data.top_flagged = bool(flagged)
    order = [F.col("AnomalyScore").desc_nulls_last()] if has_score else []
    columns = [c for c in TABLES.get(kind, scored.columns) if c in scored.columns]
    data.top = _to_pandas(base.orderBy(*order).select(*columns).limit(top_n))
    if kind == "access":
        if "TenantId" in data.top and data.top["TenantId"].nunique() <= 1:
            data.header.setdefault("tenant", str(data.top["TenantId"].iloc[0]) if len(data.top) else "")
            data.top = data.top.drop(columns=["TenantId"])
        data.grid, data.grid_note = _collect_grid(base, scored, max_grid, bool(flagged))
        data.histogram = _collect_histogram(scored)
    if kind == "process":
        data.reasons = _collect_reasons(flagged_df) if "Reason" in scored.columns else None
        data.histogram = _collect_histogram(scored)
    return data


def _collect_reasons(flagged_df: "DataFrame") -> pd.DataFrame:
    """Flagged rows per reason (a row with two reasons counts for both): a handful of rows."""
    from pyspark.sql import functions as F

    reasons = flagged_df.select(F.explode(F.split("Reason", ",")).alias("Reason")).filter(F.length("Reason") > 0)
    return _to_pandas(reasons.groupBy("Reason").agg(F.count(F.lit(1)).alias("rows")).orderBy(F.desc("rows"), "Reason").limit(20))


def _string_keys(df: "DataFrame") -> List[str]:
    from pyspark.sql import types as T

    known = set(SERIES_COLUMNS) | {"SeriesStatus", "SeriesKind", "AnomalyReason", "IsAnomaly", "ModelVersion", "RunId"}
    return [f.name for f in df.schema.fields if isinstance(f.dataType, T.StringType) and f.name not in known]


def _to_pandas(df: "DataFrame") -> pd.DataFrame:
    """The only way frames reach the driver here: every caller has bounded ``df`` (limit or aggregate)."""
    return df.toPandas()


def _collect_grid(base: "DataFrame", scored: "DataFrame", max_grid: int, flagged: bool) -> "tuple[pd.DataFrame, str]":
    """Cells (user, resource) -> highest score: the top users of ``base`` (the anomalies) with every
    pair they have in ``scored``, so their usual resources show beside the odd ones.

    Every flagged cell is shown first: its resources take the columns before the other resources of
    those users (by score). The note says how many users and resources a capped grid leaves out."""
    from pyspark.sql import functions as F

    user_keys = ["TenantId", "Account"] if "TenantId" in base.columns else ["Account"]
    ranked_users = base.groupBy(*user_keys).agg(F.max("AnomalyScore").alias("_u"))
    users = ranked_users.orderBy(F.col("_u").desc_nulls_last(), *user_keys).limit(max_grid)
    mine = scored.join(F.broadcast(users.select(*user_keys)), user_keys)
    if flagged:  # resources of a flagged cell come first
        marks = base.select(*user_keys, "Resource").distinct().withColumn("_f", F.lit(1))
        mine = mine.join(marks, [*user_keys, "Resource"], "left")
    else:
        mine = mine.withColumn("_f", F.lit(None).cast("int"))
    by_resource = mine.groupBy("Resource").agg(F.max(F.coalesce("_f", F.lit(0))).alias("_f"),
                                               F.max("AnomalyScore").alias("_r"))
    resources = by_resource.orderBy(F.col("_f").desc(), F.col("_r").desc_nulls_last(), "Resource").limit(max_grid)
    explanation = F.max_by("Explanation", "AnomalyScore") if "Explanation" in base.columns else F.lit("")
    cells = (
        mine.join(F.broadcast(resources.select("Resource")), "Resource")
        .groupBy(*user_keys, "Resource")
        .agg(F.max("AnomalyScore").alias("AnomalyScore"), explanation.alias("Explanation"),
             F.max(F.coalesce("_f", F.lit(0))).alias("Flagged"))
        .limit(max_grid * max_grid)
    )
    totals = by_resource.agg(F.count(F.lit(1)).alias("resources"), F.sum("_f").alias("flagged_resources")).first()
    n_users = ranked_users.count()
    grid = _to_pandas(cells)
    left_users = max(0, n_users - max_grid)
    left_resources = max(0, int(totals["resources"] or 0) - max_grid)
    note = ""
    if left_users or left_resources:
        note = (f"The grid is capped at {max_grid} x {max_grid}: {left_users} of {n_users} users with anomalies and "
                f"{left_resources} of {int(totals['resources'] or 0)} of their resources are left out (the table below "
                "lists the top anomalies).")
        hidden = int(totals["flagged_resources"] or 0) - max_grid
        note += (f" {hidden} resources with a flagged access of these users are among those left out." if hidden > 0
                 else " Every flagged access of the users shown is in it.")
    return grid, note


def _collect_histogram(scored: "DataFrame") -> pd.DataFrame:
    """Counts of ``AnomalyScore`` in buckets of :data:`HISTOGRAM_WIDTH` (one Spark aggregation).

    Scores are clipped to [:data:`HISTOGRAM_LOW`, :data:`HISTOGRAM_HIGH`], so the number of
    buckets brought to the driver is bounded whatever the data.
    """
    from pyspark.sql import functions as F

    score = F.least(F.greatest(F.col("AnomalyScore"), F.lit(HISTOGRAM_LOW)), F.lit(HISTOGRAM_HIGH))
    bucket = F.floor(score / F.lit(HISTOGRAM_WIDTH)).cast("int")
    valid = scored.filter(F.col("AnomalyScore").isNotNull() & ~F.isnan("AnomalyScore"))
    limit = int((HISTOGRAM_HIGH - HISTOGRAM_LOW) / HISTOGRAM_WIDTH) + 2
    counts = _to_pandas(valid.groupBy(bucket.alias("b")).agg(F.count(F.lit(1)).alias("n")).limit(limit))
    counts = counts.sort_values("b").reset_index(drop=True)
    counts["lo"] = counts["b"] * HISTOGRAM_WIDTH
    counts["hi"] = counts["lo"] + HISTOGRAM_WIDTH
    return counts[["lo", "hi", "n"]]


def _collect_series(data: ReportData, scored: "DataFrame", flagged_df: "DataFrame", keys: List[str],
                    max_series: int, max_points: int, top_n: int) -> None:
    """The top ``max_series`` flagged series (most flags first), their latest ``max_points`` bins,
    and the ``top_n`` flagged bins with the largest scores."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    if not data.flagged:
        data.series = pd.DataFrame()
        return
    score = F.abs(F.col("AnomalyScore")) if "AnomalyScore" in scored.columns else F.lit(0.0)
    ranked = (flagged_df.groupBy(*keys).agg(F.count(F.lit(1)).alias("_flags"), F.max(score).alias("_top"))
              .orderBy(F.col("_flags").desc(), F.col("_top").desc_nulls_last(), *keys))
    data.series_flagged = int(ranked.count())
    chosen = ranked.limit(max_series)
    columns = [*keys, "TimeGenerated", *SERIES_COLUMNS,
               *[c for c in ("IsAnomaly", "Anomalies", "AnomalyScore", "SeriesStatus") if c in scored.columns]]
    latest = Window.partitionBy(*keys).orderBy(F.col("TimeGenerated").desc())
    rows = (
        scored.join(F.broadcast(chosen.select(*keys)), keys)
        .select(*columns)
        .withColumn("_n", F.row_number().over(latest))
        .filter(F.col("_n") <= max_points)
        .drop("_n")
        .limit(max_series * max_points)
    )
    data.series = _to_pandas(rows)
    if not len(data.series):
        data.series_shown = 0
    else:
        data.series_shown = int(data.series.groupby(keys).ngroups) if keys else 1
    top_cols = [*keys, "TimeGenerated", *SERIES_COLUMNS,
                *[c for c in ("Anomalies", "AnomalyReason", "AnomalyScore", "SeriesKind") if c in scored.columns]]
    data.top = _to_pandas(flagged_df.orderBy(score.desc_nulls_last(), "TimeGenerated").select(*top_cols).limit(top_n))


FORECAST_COLUMNS = ("Forecast", "Lower80", "Upper80", "Lower95", "Upper95")
FORECAST_SUMMARY = ("Model", "HoldoutMAE", "Threshold", "ThresholdCrossing", "ThresholdCrossing80")


def _collect_forecast(data: ReportData, scored: "DataFrame", context: Optional["DataFrame"], keys: List[str],
                      max_series: int, max_points: int, top_n: int) -> None:
    """The top ``max_series`` series (those whose 80% bound crosses a threshold first, earliest first;
    then the largest forecast totals), their forecast rows, their latest ``max_points`` bins of
    history, and one summary row per series for the table (at most ``top_n``)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    summary = [F.first(c, ignorenulls=True).alias(c) for c in FORECAST_SUMMARY if c in scored.columns]
    ranked = (scored.groupBy(*keys)
              .agg(F.max(F.col("IsAnomaly").cast("int")).alias("_flag"), F.sum("Forecast").alias("ForecastTotal"),
                   F.min("TimeGenerated").alias("From"), F.max("TimeGenerated").alias("To"), *summary)
              .orderBy(F.col("_flag").desc(), F.col("ThresholdCrossing80").asc_nulls_last(),
                       F.col("ForecastTotal").desc_nulls_last(), *keys))
    data.series_flagged = int(ranked.filter(F.col("_flag") == 1).count())
    chosen = ranked.limit(max_series)
    columns = [*keys, "TimeGenerated", *FORECAST_COLUMNS, "IsAnomaly", "Step"]
    rows = (scored.join(F.broadcast(chosen.select(*keys)), keys).select(*columns)
            .filter(F.col("Step") <= max_points).limit(max_series * max_points))
    data.series = _to_pandas(rows)
    data.series_shown = int(data.series.groupby(keys).ngroups) if len(data.series) and keys else int(bool(len(data.series)))
    data.top = _to_pandas(ranked.drop("_flag").limit(min(top_n, max(max_series, 1) * 4)))
    if context is not None:
        latest = Window.partitionBy(*keys).orderBy(F.col("TimeGenerated").desc())
        history = (context.join(F.broadcast(chosen.select(*keys)), keys)
                   .select(*keys, "TimeGenerated", "Value")
                   .withColumn("_n", F.row_number().over(latest)).filter(F.col("_n") <= max_points).drop("_n")
                   .limit(max_series * max_points))
        data.history = _to_pandas(history)
def _collect_patterns(data: ReportData, scored: "DataFrame", flagged_df: "DataFrame", keys: List[str], top_n: int) -> None:
    """The ``DEFAULT_PATTERNS`` patterns with the most records in the window (records, baseline, flagged
    hours, new), and the ``top_n`` flagged pattern-hours: new ones first, then by ``|AnomalyScore|``."""
    from pyspark.sql import functions as F

    per_pattern = scored.groupBy("PatternId").agg(
        F.min("Pattern").alias("Pattern"), F.sum("Count").alias("Count"), F.sum("Baseline").alias("Baseline"),
        F.sum(F.col("IsAnomaly").cast("int")).alias("FlaggedHours"), F.max("IsNew").alias("IsNew"),
        F.count_distinct(*keys).alias("Groups") if keys else F.lit(1).alias("Groups"))
    data.patterns = _to_pandas(per_pattern.orderBy(F.col("Count").desc(), "PatternId").limit(DEFAULT_PATTERNS))
    columns = [c for c in ("TimeGenerated", *keys, *PATTERN_TABLE[1:]) if c in scored.columns]
    base = flagged_df if data.flagged else scored
    data.top_flagged = bool(data.flagged)
    order = [F.col("IsNew").desc(), F.abs(F.col("AnomalyScore")).desc_nulls_last(), "TimeGenerated", "PatternId"]
    data.top = _to_pandas(base.orderBy(*order).select(*columns).limit(top_n))
