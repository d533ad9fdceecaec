"""Calibration: what normal looks like, per tenant and scoring path.

``AnomalyScore = (mean - affinity) / std`` of the same path's affinities on normal training
behaviour of the same tenant. Those affinities come from the functions scoring uses
(:mod:`.affinity`), applied to training data as if it were new:

* ``history`` and ``new_resource``: each training pair against the user's other resources
  (leave one out), the resource as itself and replaced by its server's other resources;
* ``new_user``: each training user-day as if the user were new that day (each user-day weighs
  the same however many shares it holds);
* ``new_user_day``: each training user-day's window shortfall (:func:`.affinity.window_shortfall`).

A path without normal examples borrows the tenant's ``history`` path; a tenant without any
falls back to a wide default.
"""
from __future__ import annotations

from .affinity import KEYS, history_vectors, nearest_history, window_shortfall, with_new_user_affinity

PATHS = ("history", "new_resource", "new_user", "new_user_day")
DEFAULT_MEAN, DEFAULT_STD = 1.0, 0.25  # calibration of a tenant with no usable training pairs
BROADCAST_ITEMS = 50_000  # resources (rank-10 vectors and names: about 10 MB) sent to every task


def sample_by_key(df, keys, fraction: float, seed: int):
    """The rows whose ``keys`` fall in a seeded hash sample of about ``fraction``.

    Unlike ``DataFrame.sample``, the choice depends on the keys only, not on how Spark orders
    or partitions the rows: a frame used twice in one query, or a refit of the same data,
    sees the same sample.
    """
    from pyspark.sql import functions as F

    buckets = 1_000_000
    bucket = F.pmod(F.xxhash64(*keys, F.lit(seed)), F.lit(buckets))
    return df.filter(bucket < F.lit(int(buckets * fraction)))


def _pair_moments(cfg, v, history, vecs, server_sums, mean_dir, n_pairs: int):
    """Per tenant: count, sum and sum of squares of the ``history`` and ``new_resource`` affinities."""
    from pyspark.sql import functions as F

    target = history.select(*KEYS).join(vecs, ["TenantId", "ResourceKey"])
    if n_pairs > cfg.calibration_pairs:
        target = sample_by_key(target, KEYS, cfg.calibration_pairs / n_pairs, cfg.seed)
    # new_resource: the resource replaced by its server's other resources, as if it were new
    target = target.join(
        server_sums.select("TenantId", "ComputerKey", F.col("vec").alias("s_vec")), ["TenantId", "ComputerKey"]
    ).join(mean_dir, "TenantId").withColumn("rest", v.lincomb([(1.0, "s_vec"), (-1.0, "vec")]))
    target = v.with_unit(target, "rest", "rest_unit", norm_out="rest_norm").withColumn(
        "c_vec", F.when(F.col("rest_norm") > 1e-9, F.col("rest_unit")).otherwise(F.col("mean_dir")))
    loo = nearest_history(
        target.select(*KEYS, "popularity", "vec", "c_vec"), history_vectors(history, vecs), v,
        {"a_history": "vec", "a_resource": "c_vec"}, group=[*KEYS, "popularity"], leave_one_out=True,
    ).withColumn("a_history", F.greatest("a_history", "popularity"))
    return loo.groupBy("TenantId").agg(*[
        agg for name in ("history", "resource") for agg in (
            F.count(f"a_{name}").alias(f"n_{name}"), F.sum(f"a_{name}").alias(f"s_{name}"),
            F.sum(F.col(f"a_{name}") * F.col(f"a_{name}")).alias(f"q_{name}"))
    ])


def _day_moments(cfg, v, daily, vecs, mean_dir, n_user_days: int):
    """Per tenant: the ``new_user`` and ``new_user_day`` moments of training user-days scored as new."""
    from pyspark.sql import functions as F

    days = daily.select("TenantId", "UserKey", F.col("Day").alias("day"), "ResourceKey").join(
        vecs, ["TenantId", "ResourceKey"])
    if n_user_days > cfg.calibration_pairs:
        # whole user-days: a day keeps all its resources (its context, as when scoring)
        days = sample_by_key(days, ["TenantId", "UserKey", "day"], cfg.calibration_pairs / n_user_days, cfg.seed)
    day_affinity = (
        with_new_user_affinity(days.join(mean_dir, "TenantId"), v, ["TenantId", "UserKey", "day"], "vec",
                               cfg.context_prior, "a_new")
        .select("TenantId", "UserKey", "day", F.greatest("a_new", "popularity").alias("a"))
        .groupBy("TenantId", "UserKey", "day")
        .agg(F.count(F.lit(1)).alias("n"), F.sum("a").alias("s"), F.sum(F.col("a") * F.col("a")).alias("q"))
    )
    # new_user: every resource of a day, weighted 1/n, so a user-day counts once however many
    # shares a backup account sweeps in it; new_user_day: the day as a whole (its shortfall)
    day_mean = F.col("s") / F.col("n")
    shortfall = window_shortfall(F.col("n") - F.col("s"), F.col("n"))
    return day_affinity.groupBy("TenantId").agg(
        F.count(F.lit(1)).alias("days"), F.sum("n").alias("n_user"),
        F.sum(day_mean).alias("s_user"), F.sum(F.col("q") / F.col("n")).alias("q_user"),
        F.sum(shortfall).alias("s_day"), F.sum(shortfall * shortfall).alias("q_day"),
    )


def _path_rows(moments):
    """(TenantId, path, mean, std, n): one row per path from the per-tenant moments."""
    from pyspark.sql import functions as F

    paths = {  # path: (rows, weight total, weighted sum, weighted sum of squares)
        "history": ("n_history", "n_history", "s_history", "q_history"),
        "new_resource": ("n_resource", "n_resource", "s_resource", "q_resource"),
        "new_user": ("n_user", "days", "s_user", "q_user"),
        "new_user_day": ("days", "days", "s_day", "q_day"),
    }
    # one step per quantity (mean, then std, then usable), each a column: small generated code
    stats = moments.select("TenantId", *[
        c for path, (rows, total, wsum, wsq) in paths.items() for c in (
            (F.col(wsum) / F.col(total)).alias(f"{path}_mean"), (F.col(wsq) / F.col(total)).alias(f"{path}_sq"),
            F.col(rows).alias(f"{path}_n"))
    ])
    stats = stats.select("TenantId", *[c for path in PATHS for c in (
        F.col(f"{path}_mean"), F.col(f"{path}_n"),
        F.sqrt(F.greatest(F.col(f"{path}_sq") - F.col(f"{path}_mean") * F.col(f"{path}_mean"), F.lit(0.0))).alias(f"{path}_std"),
    )])
    stats = stats.select("*", *[
        F.coalesce((F.col(f"{path}_n") >= 2) & (F.col(f"{path}_std") > 1e-6), F.lit(False)).alias(f"{path}_usable")
        for path in PATHS
    ])
    fallback_mean = F.when(F.col("history_usable"), F.col("history_mean")).otherwise(F.lit(DEFAULT_MEAN))
    fallback_std = F.when(F.col("history_usable"), F.col("history_std")).otherwise(F.lit(DEFAULT_STD))
    rows = [
        F.struct(
            F.lit(path).alias("path"),
            F.when(F.col(f"{path}_usable"), F.col(f"{path}_mean")).otherwise(fallback_mean).alias("mean"),
            F.when(F.col(f"{path}_usable"), F.col(f"{path}_std")).otherwise(fallback_std).alias("std"),
            F.when(F.col(f"{path}_usable"), F.col(f"{path}_n")).otherwise(F.lit(0)).cast("long").alias("n"),
        )
        for path in PATHS
    ]
    return stats.select("TenantId", F.explode(F.array(*rows)).alias("c")).select("TenantId", "c.*")


def calibrate(cfg, v, daily, history, items, servers, tenants, n_pairs: int, n_user_days: int, n_items: int):
    """Mean and std of each path's affinity on normal training behaviour, per tenant.

    ``daily`` holds the training accesses per (user, resource, day), ``n_pairs`` and
    ``n_user_days`` count the training pairs and daily rows (every one has a vector), ``n_items``
    the resources. One query: per tenant, the moments of every path, then one row per path.
    """
    from pyspark.sql import functions as F

    # the model tables are checkpoints, without a size Spark can plan with: resources, servers and
    # tenants are sent to every task when few (else Spark shuffles the pairs to join them, then
    # finds out they were small)
    def small(df):
        return F.broadcast(df) if n_items <= BROADCAST_ITEMS else df

    vecs = small(items.select("TenantId", "ResourceKey", "vec", "popularity", "ComputerKey"))
    mean_dir = small(tenants.select("TenantId", "mean_dir"))
    servers = small(servers)
    pair_moments = _pair_moments(cfg, v, history, vecs, servers, mean_dir, n_pairs)
    day_moments = _day_moments(cfg, v, daily, vecs, mean_dir, n_user_days)
    moments = tenants.select("TenantId").join(pair_moments, "TenantId", "left").join(day_moments, "TenantId", "left")
    return _path_rows(moments)
