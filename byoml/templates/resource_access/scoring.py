"""Scoring: every (tenant, user, resource) pair of the window gets a path, an affinity and a score.

Paths (column ``ScoringPath``): ``known_pair`` / ``new_pair`` (known user, known resource: the
nearest resource of the user's history), ``new_resource`` (known user: the resource stands at the
centre of its server's known resources), ``new_user`` / ``new_user_new_resource`` (the rest of the
user's window is the context, :func:`.affinity.with_new_user_affinity`), ``new_tenant``. Every
affinity is at least the resource's popularity, so first accesses to what everyone uses are never
anomalies. A new user's rows also get the score of their window as a whole and keep the higher of
the two: each share of a cross-department sweep looks only a little odd, the sweep as a whole does not.

DataFrame and SQL expressions only (vector maths unrolled, :mod:`byoml.templates.vectors`).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from ...spark import materialize
from ..access_events import pair_output, pairs_from_daily
from ..base import Model, RunInfo, learned_table
from ..vectors import Vectors
from .affinity import KEYS, history_vectors, nearest_history, window_shortfall, with_new_user_affinity
from .explanations import explanation

if TYPE_CHECKING:
    from pyspark.sql import DataFrame


def _path():
    from pyspark.sql import functions as F

    return (
        F.when(F.col("mean_dir").isNull(), F.lit("new_tenant"))
        .when(F.col("known_user") & F.col("known_item") & F.col("seen").isNotNull(), F.lit("known_pair"))
        .when(F.col("known_user") & F.col("known_item"), F.lit("new_pair"))
        .when(F.col("known_user"), F.lit("new_resource"))
        .when(F.col("known_item"), F.lit("new_user"))
        .otherwise(F.lit("new_user_new_resource"))
    )


def _calibration_path():
    """Which calibration row measures a scoring path."""
    from pyspark.sql import functions as F

    return (F.when(F.col("ScoringPath").isin("known_pair", "new_pair"), F.lit("history"))
            .when(F.col("ScoringPath") == "new_resource", F.lit("new_resource"))
            .otherwise(F.lit("new_user")))


def _score_column():
    """The higher of the pair's z-score and (new users) its window's, 0 where undefined."""
    from pyspark.sql import functions as F

    z = (F.col("mean") - F.col("Affinity")) / F.col("std")
    z = F.when(F.col("std").isNull() | F.isnan(z), F.lit(0.0)).otherwise(z)
    z_day = F.when(F.isnan("z_day"), F.lit(0.0)).otherwise(F.col("z_day"))
    return F.when(F.col("z_day").isNull(), z).otherwise(F.greatest(z, z_day))


class ResourceAccessModel(Model):
    """Fitted ``anomalous-resource-access``: resource vectors, histories, calibration."""

    items_: DataFrame = learned_table(
        "per resource: unit vector vec, popularity (share of the tenant's users), top_users, Computer")
    servers_: DataFrame = learned_table("per (tenant, server): sum vec and unit_vec of its resources, top_users")
    tenants_: DataFrame = learned_table("per tenant: typical direction mean_dir, tenant_users")
    users_: DataFrame = learned_table("per known user: top_resources")
    history_: DataFrame = learned_table("training pairs: AccessCount, ActiveDays, strength per (tenant, user, resource)")
    calibration_: DataFrame = learned_table("per (tenant, path): mean, std and n of normal affinities")

    def _pairs(self, prepared):
        """The window's pairs with everything the model knows of them, and their scoring path (computed once)."""
        from pyspark.sql import functions as F

        window = pairs_from_daily(prepared).withColumn("ComputerKey", F.lower("Computer"))
        items = self.items_.select("TenantId", "ResourceKey", "vec", "popularity", "top_users")
        servers = self.servers_.select("TenantId", "ComputerKey", F.col("unit_vec").alias("server_vec"),
                                       F.col("top_users").alias("server_users"))
        tenants = self.tenants_.select("TenantId", "mean_dir")
        users = self.users_.select("TenantId", "UserKey", "top_resources", F.lit(True).alias("known_user"))
        seen = self.history_.select(*KEYS, F.lit(True).alias("seen"), F.col("ActiveDays").alias("TrainingDays"))
        pairs = (
            window.join(items, ["TenantId", "ResourceKey"], "left")
            .join(servers, ["TenantId", "ComputerKey"], "left")
            .join(F.broadcast(tenants), ["TenantId"], "left")
            .join(users, ["TenantId", "UserKey"], "left")
            .join(seen, KEYS, "left")
            .withColumn("known_user", F.coalesce("known_user", F.lit(False)))
            .withColumn("known_item", F.col("vec").isNotNull())
            .withColumn("r_vec", F.coalesce("vec", "server_vec", "mean_dir"))
        )
        # computed once: the affinities below join it several times
        return materialize(pairs.withColumn("ScoringPath", _path()).withColumn("cal_path", _calibration_path()))

    def score(self, prepared, run: RunInfo):
        from pyspark.sql import Window
        from pyspark.sql import functions as F

        cfg = self.template.config
        v = Vectors(cfg.rank)
        pairs = self._pairs(prepared)
        known = nearest_history(pairs.filter(F.col("known_user") & F.col("r_vec").isNotNull()).select(*KEYS, "r_vec"),
                                history_vectors(self.history_, self.items_), v, {"a_known": "r_vec"})
        newcomers = pairs.filter(~F.col("known_user") & F.col("r_vec").isNotNull())
        fresh = with_new_user_affinity(newcomers, v, ["TenantId", "UserKey"], "r_vec", cfg.context_prior,
                                       "a_new").select(*KEYS, "a_new")
        calibration = self.calibration_.select("TenantId", F.col("path").alias("cal_path"), "mean", "std")
        day_calibration = self.calibration_.filter(F.col("path") == "new_user_day").select(
            "TenantId", F.col("mean").alias("day_shortfall_mean"), F.col("std").alias("day_shortfall_std"))
        scored = (
            pairs.join(known, KEYS, "left")
            .join(fresh, KEYS, "left")
            .join(F.broadcast(calibration), ["TenantId", "cal_path"], "left")
            .withColumn("Affinity", F.greatest(F.coalesce("a_known", "a_new", F.lit(-1.0)),
                                               F.coalesce("popularity", F.lit(0.0))))
        )
        # a new user's window as a whole: the shortfall of all they touched
        whole_window = Window.partitionBy("TenantId", "UserKey")
        scored = scored.join(F.broadcast(day_calibration), "TenantId", "left").withColumn(
            "z_day",
            F.when(~F.col("known_user"),
                   (window_shortfall(F.sum(F.lit(1.0) - F.col("Affinity")).over(whole_window),
                                     F.count(F.lit(1)).over(whole_window)) - F.col("day_shortfall_mean")) / F.col("day_shortfall_std")),
        )
        score = _score_column()
        return scored.select(
            *pair_output(run),
            score.cast("double").alias("AnomalyScore"),
            (score >= F.lit(cfg.threshold)).alias("IsAnomaly"),
            "ScoringPath",
            explanation().alias("Explanation"),
            F.col("Affinity").cast("double"),
            F.coalesce("TrainingDays", F.lit(0)).cast("long").alias("TrainingDays"),
        )
