"""Scoring a window: every message to a pattern (known or new), then one row per (pattern, group, hour).

1. the window's distinct masked messages are assigned to the model's variants
   (:func:`.merge.assign`);
2. messages no variant matches are mined on their own (:func:`.miner.mine`, with the window's
   frequencies): each starts a new pattern, unless its pattern's id is one the model knows (the
   same statement with a variable where the model had a constant, say);
3. records are counted per (pattern, group, hour); series whose baseline expects at least
   ``min_expected`` records in an hour also get the hours without any (``Count`` 0), so a drop
   shows; :func:`.rates.judge` scores them.
"""
from __future__ import annotations

from typing import List

from ...spark import timestamp_literal
from . import merge, miner, rates


def pattern_map(msgs, model):
    """``msgs`` (``Masked``, ``n``) -> ``Masked``, ``PatternId``, ``Pattern``, ``IsNew`` for every message."""
    from pyspark.sql import functions as F

    spec = model.template.config.miner_spec
    known = model.patterns_.select("PatternId", "Pattern")
    assigned = merge.assign(msgs, model.variants_, spec).select("Masked", "PatternId")
    unmatched = msgs.join(assigned, "Masked", "left_anti")
    mined = miner.mine(unmatched, spec)
    variants = merge.merge_variants(mined)
    fresh = merge.patterns_of(variants).select("PatternId", F.col("Pattern").alias("NewPattern"))
    by_text = mined.select("Masked", merge.pattern_id(merge.masking.skeleton(F.col("Template"))).alias("PatternId"))
    both = assigned.unionByName(by_text)
    return (both.join(F.broadcast(known), "PatternId", "left").join(fresh, "PatternId", "left")
            .select("Masked", "PatternId", F.coalesce("Pattern", "NewPattern").alias("Pattern"),
                    F.col("Pattern").isNull().alias("IsNew")))


def window_hours(spark, window):
    """The hours of a bounded window, as a one-column frame ``hour`` (timestamps)."""
    from pyspark.sql import functions as F

    start, end = int(window.start.timestamp()) // 3600, -(-int(window.end.timestamp()) // 3600)
    return spark.range(start, end).select(F.timestamp_seconds(F.col("id") * F.lit(3600)).alias("hour"))


def pattern_hours(prepared, patterns, model, run, keys: List[str]):
    """One row per (pattern, group, hour) of the window: counts, baseline, score, flags."""
    from pyspark.sql import functions as F

    cfg = model.template.config
    counted = (prepared.join(patterns, "Masked").groupBy("PatternId", *keys, "hour").agg(
        F.sum("n").alias("Count"), F.sum("errors").alias("ErrorCount"), F.min("example").alias("ExampleMessage"),
        F.min("Pattern").alias("Pattern"), F.max("IsNew").alias("IsNew")))
    lo, hi = timestamp_literal(run.window.start), timestamp_literal(run.window.end)
    counted = counted.filter((F.col("hour") >= lo) & (F.col("hour") < hi))
    hod = F.hour("hour").cast("int")
    # the hours a series expects records and has none: written with Count 0, so drops show
    expecting = model.baselines_.filter(F.col("Baseline") >= F.lit(cfg.min_expected)).select("PatternId", *keys, "hod")
    silent = (expecting.join(window_hours(prepared.sparkSession, run.window), hod == F.col("hod"))
              .drop("hod").join(counted.select("PatternId", *keys, "hour"), ["PatternId", *keys, "hour"], "left_anti")
              .join(model.patterns_.select("PatternId", "Pattern", "ExampleMessage"), "PatternId")
              .select("PatternId", *keys, "hour", F.lit(0).cast("long").alias("Count"),
                      F.lit(0).cast("long").alias("ErrorCount"), "ExampleMessage", "Pattern", F.lit(False).alias("IsNew")))
    rows = counted.unionByName(silent).withColumn("hod", hod)
    per_series = model.baselines_.select("PatternId", *keys, "hod", "Baseline", "Dispersion")
    per_pattern = rates.pattern_baselines(model.baselines_, keys)
    rows = (rows.join(per_series, ["PatternId", *keys, "hod"], "left").join(per_pattern, ["PatternId", "hod"], "left")
            .withColumn("Baseline", F.coalesce("Baseline", "PatternBaseline", F.lit(0.0)))
            .withColumn("Dispersion", F.coalesce("Dispersion", "PatternDispersion", F.lit(1.0))))
    judged = rates.judge(rows, cfg)
    return judged.select(
        F.col("hour").alias("TimeGenerated"), *keys, "PatternId", "Pattern", F.col("Count").cast("long").alias("Count"),
        F.col("Baseline").cast("double").alias("Baseline"), "IsNew", F.col("AnomalyScore").cast("double").alias("AnomalyScore"),
        "IsAnomaly", "AnomalyReason", F.col("ErrorCount").cast("long").alias("ErrorCount"), "ExampleMessage")
