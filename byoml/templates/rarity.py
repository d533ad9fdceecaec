"""Template ``access-rarity``: how surprising is this resource for this user, in bits.

A simple, transparent reference scorer. Per tenant, from the training window:

* ``P(r)`` is the resource's share of all access events (add-one smoothed, with room
  for resources never seen);
* ``P(r|u) = (n(u,r) + prior * P(r)) / (n(u) + prior)`` blends the user's own history
  with the tenant's, so a user with little history leans on what everyone does.

The score is the surprise ``-log2 P(r|u)``: 1 bit more means half as likely. A new
user is scored by ``P(r)`` alone; a new resource gets the unseen-resource probability.
Every pair gets a finite score. It knows nothing about which users are alike; the
``anomalous-resource-access`` template does.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import ConfigError, EmptyWindowError
from ..timewindow import TimeWindow
from .access_events import PAIR_OUTPUT_COLUMNS, AccessMappingConfig, AccessTemplate, pair_output, pair_summary
from .base import Model, RunInfo, learned_table, param

if TYPE_CHECKING:
    from pyspark.sql import DataFrame


@dataclass
class AccessRarityConfig(AccessMappingConfig):
    """Options of ``access-rarity`` (``byoml templates --describe access-rarity`` lists them)."""

    prior: float = param(5.0, "weight (in events) of the tenant-wide distribution in each user's estimate")
    threshold: float = param(14.0, "surprise in bits at and above which a pair is an anomaly (IsAnomaly)")
    output_table: str = param("AccessRarity", "the custom table written, without _CL")

    def validate(self) -> None:
        super().validate()
        if self.prior <= 0:
            raise ConfigError("prior must be > 0")


class AccessRarityModel(Model):
    """Fitted ``access-rarity``: event counts per pair, user, resource and tenant."""

    pairs_: DataFrame = learned_table("events n per (TenantId, UserKey, ResourceKey) in training")
    users_: DataFrame = learned_table("events n per (TenantId, UserKey)")
    resources_: DataFrame = learned_table("events n per (TenantId, ResourceKey)")
    tenants_: DataFrame = learned_table("per TenantId: events n, distinct resources and users")

    def score(self, prepared, run: RunInfo):
        from pyspark.sql import functions as F

        cfg = self.template.config
        window_pairs = pair_summary(prepared)
        pairs = self.pairs_.select("TenantId", "UserKey", "ResourceKey", F.col("n").alias("n_ur"))
        users = self.users_.select("TenantId", "UserKey", F.col("n").alias("n_u"))
        resources = self.resources_.select("TenantId", "ResourceKey", F.col("n").alias("n_r"))
        tenants = self.tenants_.select("TenantId", F.col("n").alias("n_t"), F.col("resources").alias("k_t"))
        joined = (
            window_pairs.join(pairs, ["TenantId", "UserKey", "ResourceKey"], "left")
            .join(users, ["TenantId", "UserKey"], "left")
            .join(resources, ["TenantId", "ResourceKey"], "left")
            .join(F.broadcast(tenants), ["TenantId"], "left")
        )
        n_t = F.coalesce(F.col("n_t"), F.lit(0))
        k_t = F.coalesce(F.col("k_t"), F.lit(0))
        p_r = (F.coalesce(F.col("n_r"), F.lit(0)) + 1.0) / (n_t + k_t + 1.0)
        p_ru = (F.coalesce(F.col("n_ur"), F.lit(0)) + F.lit(cfg.prior) * p_r) / (
            F.coalesce(F.col("n_u"), F.lit(0)) + F.lit(cfg.prior)
        )
        path = (
            F.when(F.col("n_ur").isNotNull(), F.lit("known_pair"))
            .when(F.col("n_u").isNull() & F.col("n_r").isNull(), F.lit("new_user_new_resource"))
            .when(F.col("n_u").isNull(), F.lit("new_user"))
            .when(F.col("n_r").isNull(), F.lit("new_resource"))
            .otherwise(F.lit("new_pair"))
        )
        score = -F.log2(p_ru)
        return joined.select(
            *pair_output(run),
            score.alias("AnomalyScore"),
            (score >= F.lit(cfg.threshold)).alias("IsAnomaly"),
            path.alias("ScoringPath"),
            F.coalesce(F.col("n_ur"), F.lit(0)).cast("long").alias("TrainingAccessCount"),
        )


class AccessRarity(AccessTemplate):
    """Scores each file share a user accessed by how surprising it is for that user, in bits."""

    name = "access-rarity"
    version = "1.0"
    output_table = "AccessRarity"
    output_columns = (f"{PAIR_OUTPUT_COLUMNS}, AnomalyScore double, IsAnomaly boolean, ScoringPath string, "
                      "TrainingAccessCount bigint")
    report_kind = "access"
    Config = AccessRarityConfig
    sample_data = "resource-access"
    model_class = AccessRarityModel

    def fit(self, prepared, window: TimeWindow) -> Model:
        from pyspark.sql import functions as F

        pairs = prepared.groupBy("TenantId", "UserKey", "ResourceKey").agg(F.count(F.lit(1)).alias("n")).cache()
        if pairs.isEmpty():
            raise EmptyWindowError(f"{self.name}: no access events in the training window {window}")
        users = pairs.groupBy("TenantId", "UserKey").agg(F.sum("n").alias("n"))
        resources = pairs.groupBy("TenantId", "ResourceKey").agg(F.sum("n").alias("n"))
        tenants = pairs.groupBy("TenantId").agg(
            F.sum("n").alias("n"), F.count_distinct("ResourceKey").alias("resources"),
            F.count_distinct("UserKey").alias("users"),
        )
        got = pairs.agg(F.count(F.lit(1)).alias("pairs"), F.count_distinct("TenantId", "UserKey").alias("users"),
                        F.count_distinct("TenantId", "ResourceKey").alias("resources")).first().asDict()
        return AccessRarityModel(self, {"counts": {k: int(v) for k, v in got.items()}},
                                 pairs_=pairs, users_=users, resources_=resources, tenants_=tenants)
