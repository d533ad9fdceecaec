"""The embedding: implicit ALS over who accesses which resource, and the vectors derived from it.

Resources used by the same people point the same way. Tenants get separate indices, so they
never share factors. A resource few users touched has a vague factor: it is shrunk towards its
server's resources with the weight of ``item_prior`` users, so a department's new share sits
with that department's shares.
"""
from __future__ import annotations

from .explanations import top3


def strength(cfg):
    """The per-pair feature ALS learns from (``events_per_day`` measured best, as in Sentinel BYO-ML)."""
    from pyspark.sql import functions as F

    return {
        "events_per_day": F.col("AccessCount") / F.col("ActiveDays"),
        "active_days": F.col("ActiveDays").cast("double"),
        "log_events": F.log1p(F.col("AccessCount")),
        "binary": F.lit(1.0),
    }[cfg.strength]


def auto_blocks(spark) -> int:
    """ALS blocks for this session: half the shuffle partitions, between 1 and 10."""
    try:
        partitions = int(spark.conf.get("spark.sql.shuffle.partitions", "20"))
    except ValueError:  # e.g. "auto" on some Databricks compute
        return 10
    return min(10, max(1, partitions // 2))


def fit_embedding(cfg, v, pairs):
    """From the training ``pairs`` (with ``strength``): the model's tables, not yet materialized.

    Returns ``items`` (unit vector, popularity and top users per resource), ``servers`` (sum and
    unit vector of their resources' vectors, top users), ``tenants`` (typical direction
    ``mean_dir``, user count), ``users`` (top resources), and the item vectors to unpersist
    once those are computed.
    """
    from pyspark import StorageLevel
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    from ...spark import require_spark_ml

    require_spark_ml(pairs.sparkSession)  # said before anything runs: ALS over Connect 3.5 fails deep in Spark
    from pyspark.ml.recommendation import ALS

    # dense integer ids, tenant-separated (distinct users/resources only, never the events)
    users = pairs.select("TenantId", "UserKey").distinct().withColumn(
        "uid", F.dense_rank().over(Window.orderBy("TenantId", "UserKey")) - 1)
    items = pairs.groupBy("TenantId", "ResourceKey").agg(
        F.min("Computer").alias("Computer"), F.min("ComputerKey").alias("ComputerKey"),
        F.min("Resource").alias("Resource"), F.count(F.lit(1)).alias("n_users"),
    ).withColumn("iid", F.dense_rank().over(Window.orderBy("TenantId", "ResourceKey")) - 1)
    ratings = (
        pairs.join(users, ["TenantId", "UserKey"]).join(items.select("TenantId", "ResourceKey", "iid"), ["TenantId", "ResourceKey"])
        .select("uid", "iid", "strength")
    )
    blocks = cfg.als_blocks or auto_blocks(pairs.sparkSession)
    als = ALS(
        rank=cfg.rank, maxIter=cfg.max_iter, regParam=cfg.reg_param, alpha=cfg.alpha, implicitPrefs=True,
        userCol="uid", itemCol="iid", ratingCol="strength", seed=cfg.seed, nonnegative=False,
        numUserBlocks=blocks, numItemBlocks=blocks, coldStartStrategy="drop",
    )
    als_model = als.fit(ratings)
    tenant_users = users.groupBy("TenantId").agg(F.count(F.lit(1)).alias("tenant_users"))
    raw_vecs = v.with_unit(
        items.join(als_model.itemFactors.withColumnRenamed("id", "iid"), "iid")
        .join(F.broadcast(tenant_users), "TenantId")
        .select(
            "TenantId", "ResourceKey", "Computer", "ComputerKey", "Resource", "n_users",
            F.col("features").cast("array<double>").alias("factor"),
            (F.col("n_users") / F.col("tenant_users")).alias("popularity"),
        ), "factor", "raw_vec").drop("factor")
    centroids = v.grouped_sum(raw_vecs.withColumn("w", v.lincomb([("n_users", "raw_vec")])),
                              ["TenantId", "ComputerKey"], "w", "centroid")
    item_vecs = v.with_unit(raw_vecs.join(centroids, ["TenantId", "ComputerKey"]), "centroid", "unit_centroid")
    item_vecs = item_vecs.withColumn("mix", v.lincomb([("n_users", "raw_vec"), (cfg.item_prior, "unit_centroid")]))
    item_vecs = (
        v.with_unit(item_vecs, "mix", "vec")
        .drop("raw_vec", "centroid", "unit_centroid", "mix")
        .persist(StorageLevel.MEMORY_AND_DISK)
    )
    weighted = item_vecs.select("TenantId", v.lincomb([("popularity", "vec")]).alias("w"))
    tenants = (
        v.with_unit(v.grouped_sum(weighted, ["TenantId"], "w", "dir_sum"), "dir_sum", "mean_dir")
        .select("TenantId", "mean_dir")
        .join(tenant_users, "TenantId")
    )
    server_sums = v.with_unit(v.grouped_sum(item_vecs, ["TenantId", "ComputerKey"], "vec", "vec"), "vec", "unit_vec")
    server_users = top3(
        pairs.groupBy("TenantId", "ComputerKey", "UserKey").agg(F.sum("strength").alias("s")),
        ["TenantId", "ComputerKey"], "s", "UserKey", "top_users")
    servers = server_sums.join(server_users, ["TenantId", "ComputerKey"], "left")
    items_out = item_vecs.join(
        top3(pairs, ["TenantId", "ResourceKey"], "strength", "UserKey", "top_users"), ["TenantId", "ResourceKey"], "left")
    users_out = users.drop("uid").join(
        top3(pairs, ["TenantId", "UserKey"], "strength", "Resource", "top_resources"), ["TenantId", "UserKey"], "left")
    return {"items": items_out, "servers": servers, "tenants": tenants, "users": users_out}, item_vecs
