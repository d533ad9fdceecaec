"""Each pattern's baseline rate per group and hour of the day, and how far an hour is from it (Spark).

**Fit.** From the records per (pattern, group, hour) of the training window (an hour without
records counts as 0):

* the flat rate ``r`` = records / hours of the training span;
* per hour of the day ``h``: ``mu_h = (S_h + prior * r) / (D_h + prior)``, with ``S_h`` the records
  at that hour over the ``D_h`` days that have it and ``prior`` = ``profile_prior_days``: a
  daily rhythm where the data shows one, the flat rate where it is thin;
* the dispersion ``phi`` >= 1: Pearson's chi-square of the hourly counts around ``mu_h``, per
  degree of freedom (bursty patterns get a wider band);
* per pattern, the same over its groups' average: the baseline of a group the pattern was
  never seen in (a new computer behaves like a typical one).

**Score.** ``AnomalyScore = 2 (sqrt(count) - sqrt(mu_h)) / sqrt(phi)``: the variance-stabilised
distance of a Poisson count from its mean, in standard deviations, positive for a surge and
negative for a drop, and meaningful for counts of 0 to millions alike. An hour is a **surge**
when the score is at least ``threshold`` and it holds at least ``min_count`` records, a **drop**
when the score is at most ``-threshold`` and the baseline at least ``min_expected`` (hours of
such series without a record are written, with ``Count`` 0), and a pattern the model never saw
is **new**.

Why not :mod:`byoml.templates.series_detector`, which the usage templates share: it judges each
bin from the bins before it, so an hourly job would read weeks of raw log records every hour;
here the baseline is learned once by the weekly training and scoring reads only its hour.
"""
from __future__ import annotations

from typing import List

HOURS_PER_DAY = 24
NEW_PATTERN, SURGE, DROP = "new_pattern", "surge", "drop"


def _hod(column):
    from pyspark.sql import functions as F

    return F.hour(column).cast("int")


def learn_baselines(counts, keys: List[str], first_hour: int, last_hour: int, prior_days: float):
    """``counts``: ``PatternId``, ``keys``, ``hour`` (timestamp), ``Count`` -> per (pattern, keys, hod):
    ``Baseline`` and ``Dispersion``. ``first_hour``/``last_hour``: the training span in epoch hours."""
    from pyspark.sql import functions as F

    spark = counts.sparkSession
    n_hours = max(1, last_hour - first_hour + 1)
    # D_h: the hours of the span at each hour of the day
    days = spark.createDataFrame(
        [(h, sum(1 for e in range(first_hour, last_hour + 1) if e % HOURS_PER_DAY == h)) for h in range(HOURS_PER_DAY)],
        "hod int, days long")
    series = counts.groupBy("PatternId", *keys).agg(F.sum("Count").alias("total"))
    at_hour = counts.groupBy("PatternId", *keys, _hod(F.col("hour")).alias("hod")).agg(F.sum("Count").alias("s"))
    grid = (series.crossJoin(F.broadcast(days))
            .join(at_hour, ["PatternId", *keys, "hod"], "left")
            .withColumn("rate", F.col("total") / F.lit(float(n_hours)))
            .withColumn("mu", (F.coalesce(F.col("s"), F.lit(0)) + F.lit(prior_days) * F.col("rate"))
                        / (F.col("days") + F.lit(prior_days)).cast("double")))
    grid = grid.withColumn("mu", F.when(F.col("days") + F.lit(prior_days) > 0, F.col("mu")).otherwise(F.col("rate")))
    # Pearson chi-square: observed hours, plus mu for every hour without records
    observed = (counts.withColumn("hod", _hod(F.col("hour")))
                .join(grid.select("PatternId", *keys, "hod", "mu"), ["PatternId", *keys, "hod"])
                .groupBy("PatternId", *keys).agg(
                    F.sum((F.col("Count") - F.col("mu")) ** 2 / F.col("mu")).alias("chi_observed"),
                    F.sum("mu").alias("mu_observed")))
    expected = grid.groupBy("PatternId", *keys).agg(F.sum(F.col("mu") * F.col("days")).alias("mu_all"))
    dispersion = (expected.join(observed, ["PatternId", *keys], "left").select(
        "PatternId", *keys,
        F.greatest(F.lit(1.0), (F.coalesce(F.col("chi_observed"), F.lit(0.0)) + F.col("mu_all")
                                - F.coalesce(F.col("mu_observed"), F.lit(0.0))) / F.lit(float(max(1, n_hours - 1))))
        .alias("Dispersion")))
    return grid.select("PatternId", *keys, "hod", F.col("mu").alias("Baseline")).join(dispersion, ["PatternId", *keys])


def pattern_baselines(baselines, keys: List[str]):
    """Per (pattern, hod): the average baseline of the pattern's groups, and their largest dispersion."""
    from pyspark.sql import functions as F

    return baselines.groupBy("PatternId", "hod").agg(
        F.avg("Baseline").alias("PatternBaseline"), F.max("Dispersion").alias("PatternDispersion"))


def judge(rows, cfg):
    """``rows`` with ``Count``, ``Baseline``, ``Dispersion``, ``IsNew`` -> plus ``AnomalyScore``,
    ``AnomalyReason`` and ``IsAnomaly``."""
    from pyspark.sql import functions as F

    score = F.lit(2.0) * (F.sqrt(F.col("Count").cast("double")) - F.sqrt(F.col("Baseline"))) / F.sqrt(F.col("Dispersion"))
    reason = (F.when(F.col("IsNew") & F.lit(cfg.flag_new) & (F.col("Count") > 0), F.lit(NEW_PATTERN))
              .when((F.col("AnomalyScore") >= F.lit(cfg.threshold)) & (F.col("Count") >= F.lit(cfg.min_count)), F.lit(SURGE))
              .when((F.col("AnomalyScore") <= F.lit(-cfg.threshold)) & (F.col("Baseline") >= F.lit(cfg.min_expected)),
                    F.lit(DROP))
              .otherwise(F.lit("")))
    return (rows.withColumn("AnomalyScore", score).withColumn("AnomalyReason", reason)
            .withColumn("IsAnomaly", F.col("AnomalyReason") != F.lit("")))
