"""Template ``anomalous-resource-access``: which file-share accesses were out of character?

Trains on SecurityEvent 5140 and scores every (tenant, user, resource) pair of the
scoring window. How it works, and why (quality is held by ``tests/test_resource_access.py``,
speed is measured by ``benchmarks/access_scale.py``):

1. **Strength.** Per (tenant, user, resource) over the training window: events per
   active day, as in Sentinel BYO-ML (it measured better than active days, log events
   and binary on the project's sample data).
2. **Embedding.** Spark ML ALS with implicit feedback learns a vector per resource
   (and user) from who accesses what; resources used by the same people point the same
   way. Tenants get separate indices, so they never share factors. A resource few users
   touched is pulled towards the resources of its server (``item_prior``).
3. **Affinity** of a pair, by path (column ``ScoringPath``):

   * ``known_pair`` / ``new_pair`` (known user, known resource): the highest cosine
     between the resource and any resource in the user's history. A pair seen in
     training is its own neighbour (affinity 1): scored by the same formula, never flagged.
   * ``new_resource`` (known user): the resource is placed at the centre of the known
     resources of its server (``Computer``): a department's new share sits with that
     department's shares, so an outsider's first touch stays far from their history.
   * ``new_user`` / ``new_user_new_resource``: the user has no history, so the other
     resources they touched in the window (plus a weak prior towards what the tenant
     typically uses) form their context; a new hire using their department's shares is
     coherent, a new account sweeping several departments is not.

   Every affinity is at least the resource's popularity (the share of the tenant's users
   who accessed it), so first accesses to what everyone uses are never anomalies.
4. **Score.** ``AnomalyScore = (mean - affinity) / std`` of the same path's affinities on
   *normal* training behaviour of the same tenant (leave-one-out: each training pair scored
   as if it were new; for new users, each training user-day scored as if the user were
   new, each user-day weighing the same however many shares it holds). So the score is in
   standard deviations below the tenant's normal, comparable across paths:
   ``IsAnomaly = AnomalyScore >= threshold`` (default 2.5). A new user's rows also get the
   score of their window as a whole, and keep the higher of the two: each share of a
   cross-department sweep looks only a little odd, the sweep as a whole does not. The window's
   statistic is its affinities' shortfall from 1, summed and divided by ``sqrt(resources)``
   (against training user-days as if new), so evidence adds up: on sample seeds 1-8 a mean
   affinity instead left two of eight sweeps under the threshold (scores 1.7 and 2.4), the
   shortfall flags all eight (3.1-4.6) with no more false flags of new users.

Scoring is DataFrame and SQL expressions only (vector maths unrolled into element arithmetic,
see :mod:`byoml.templates.vectors`): no Python UDF, no RDD API.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Dict

from ..errors import ConfigError, EmptyWindowError
from ..spark import ObservedCounts, materialize, timestamp_literal
from ..timewindow import TimeWindow
from .vectors import Vectors
from .access_events import AccessMappingConfig, access_events, daily_summary, mapping_columns, pairs_from_daily
from .base import Model, RunInfo, Template

STRENGTHS = ("events_per_day", "active_days", "log_events", "binary")
KEYS = ["TenantId", "UserKey", "ResourceKey"]
PATHS = ("history", "new_resource", "new_user", "new_user_day")
DEFAULT_MEAN, DEFAULT_STD = 1.0, 0.25  # calibration of a tenant with no usable training pairs


@dataclass
class ResourceAccessConfig(AccessMappingConfig):
    """Parameters of ``anomalous-resource-access`` (defaults chosen by measurement).

    ``rank``, ``reg_param``, ``alpha``, ``max_iter``, ``seed``: Spark ML ALS (implicit).
    ``max_iter`` 5: on sample seeds 1-4, 3, 5 and 10 iterations scored alike (ROC-AUC of new pairs
    0.96-1.0 each); on the 1M-event benchmark 5 kept ROC-AUC 0.968 and cut the fit by a fifth.
    ``strength``: per-pair feature: ``events_per_day`` | ``active_days`` | ``log_events`` | ``binary``.
    ``context_prior``: weight of the tenant's typical direction in a new user's context.
    ``item_prior``: weight (in users) pulling a little-used resource towards its server's resources.
    ``threshold``: ``IsAnomaly`` when ``AnomalyScore`` (standard deviations) reaches it.
    ``calibration_pairs``: about this many training pairs (and user-day rows) at most are used for
    calibration, sampled by a seeded hash of their keys (whole user-days).
    ``als_blocks``: ALS user and item blocks; 0 picks half the shuffle partitions, between 1 and
    10 (2 on the local default: on 60k ratings, 4 blocks took 5.1 s where 2 took 3.0 s).
    """

    rank: int = 10
    reg_param: float = 1.0
    alpha: float = 1.0
    max_iter: int = 5
    seed: int = 42
    strength: str = "events_per_day"
    context_prior: float = 1.0
    item_prior: float = 2.0
    threshold: float = 2.5
    calibration_pairs: int = 200_000
    als_blocks: int = 0
    output_table: str = "AnomalousResourceAccessResult"

    def validate(self) -> None:
        super().validate()
        if self.strength not in STRENGTHS:
            raise ConfigError(f"strength must be one of {', '.join(STRENGTHS)}, not '{self.strength}'")
        if self.rank < 2 or self.max_iter < 1:
            raise ConfigError("rank must be >= 2 and max_iter >= 1")
        if self.als_blocks < 0:
            raise ConfigError("als_blocks must be >= 0 (0: from the shuffle partitions)")
        if self.reg_param < 0 or self.alpha <= 0 or self.context_prior < 0 or self.item_prior < 0:
            raise ConfigError("reg_param, context_prior and item_prior must be >= 0, alpha > 0")


def _strength(cfg: ResourceAccessConfig):
    from pyspark.sql import functions as F

    return {
        "events_per_day": F.col("AccessCount") / F.col("ActiveDays"),
        "active_days": F.col("ActiveDays").cast("double"),
        "log_events": F.log1p(F.col("AccessCount")),
        "binary": F.lit(1.0),
    }[cfg.strength]


def _auto_blocks(spark) -> int:
    """ALS blocks for this session: half the shuffle partitions, between 1 and 10."""
    try:
        partitions = int(spark.conf.get("spark.sql.shuffle.partitions", "20"))
    except ValueError:  # e.g. "auto" on some Databricks compute
        return 10
    return min(10, max(1, partitions // 2))


def _sample_by_key(df, keys, fraction: float, seed: int):
    """The rows whose ``keys`` fall in a seeded hash sample of about ``fraction``.

    Unlike ``DataFrame.sample``, the choice depends on the keys only, not on how Spark orders
    or partitions the rows: a frame used twice in one query, or a refit of the same data,
    sees the same sample.
    """
    from pyspark.sql import functions as F

    buckets = 1_000_000
    bucket = F.pmod(F.xxhash64(*keys, F.lit(seed)), F.lit(buckets))
    return df.filter(bucket < F.lit(int(buckets * fraction)))


def _top3(df, group, order, label, out):
    """Per group, the three ``label`` values with the highest ``order``, as one string."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    w = Window.partitionBy(*group).orderBy(F.col(order).desc(), F.col(label))
    ranked = df.withColumn("_rank", F.row_number().over(w)).filter("_rank <= 3")
    return ranked.groupBy(*group).agg(
        F.concat_ws(", ", F.transform(F.array_sort(F.collect_list(F.struct("_rank", label))), lambda s: s[label])).alias(out)
    )


def _coherence(norm_sum: str, count: str):
    """How much a new user's resources agree: the length of their weighted sum over the weight
    total (mean resultant length, 1 for a single resource)."""
    from pyspark.sql import functions as F

    return F.when(F.col(count) > 1e-9, F.col(norm_sum) / F.col(count)).otherwise(F.lit(1.0))


def _window_shortfall(shortfall_sum, count):
    """A new user's window as a whole: how far its affinities fall short of 1, summed over its
    ``count`` resources and divided by ``sqrt(count)``. Evidence adds up: fifteen shares of a
    sweep that each fit a little badly weigh more than two (a mean would rate them alike)."""
    from pyspark.sql import functions as F

    return shortfall_sum / F.sqrt(count)


def _with_new_user_affinity(df, v, ctx: str, vec: str, coherence: str, out: str):
    """``df`` plus ``out``: a user without history, how well a resource fits the rest of their
    day (cosine of the unit vector ``vec`` with the context ``ctx``), capped by how coherent the
    day is as a whole (``coherence``, see :func:`_coherence`). The context weighs resources by
    ``1 - popularity``: what everyone uses says nothing about a user.

    A new hire's day clusters around their department; a sweep across departments does not,
    so every resource of it is suspicious, even one that fits a sibling of the same sweep.
    """
    from pyspark.sql import functions as F

    df = df.withColumn("_ctx_norm", v.norm(ctx))  # a column of its own: computed once per row
    cosine = v.dot(ctx, vec) / F.greatest(F.col("_ctx_norm"), F.lit(1e-12))
    return df.withColumn(out, F.least(cosine, F.col(coherence))).drop("_ctx_norm")


class ResourceAccessModel(Model):
    """Fitted ``anomalous-resource-access``: resource vectors, histories, calibration."""

    def score(self, prepared, run: RunInfo):
        from pyspark.sql import Window
        from pyspark.sql import functions as F

        cfg: ResourceAccessConfig = self.template.config
        v = Vectors(int(self.state["rank"]))
        t = self.tables
        window = pairs_from_daily(prepared).withColumn("ComputerKey", F.lower("Computer"))
        items = t["items"].select("TenantId", "ResourceKey", "vec", "popularity", "top_users")
        servers = t["servers"].select("TenantId", "ComputerKey", F.col("unit_vec").alias("server_vec"),
                                      F.col("top_users").alias("server_users"))
        tenants = t["tenants"].select("TenantId", "mean_dir")
        users = t["users"].select("TenantId", "UserKey", "top_resources", F.lit(True).alias("known_user"))
        seen = t["history"].select(*KEYS, F.lit(True).alias("seen"), F.col("ActiveDays").alias("TrainingDays"))
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
        path = (
            F.when(F.col("mean_dir").isNull(), F.lit("new_tenant"))
            .when(F.col("known_user") & F.col("known_item") & F.col("seen").isNotNull(), F.lit("known_pair"))
            .when(F.col("known_user") & F.col("known_item"), F.lit("new_pair"))
            .when(F.col("known_user"), F.lit("new_resource"))
            .when(F.col("known_item"), F.lit("new_user"))
            .otherwise(F.lit("new_user_new_resource"))
        )
        # computed once: the affinities below join it several times
        pairs = materialize(pairs.withColumn("ScoringPath", path).withColumn(
            "cal_path",
            F.when(F.col("ScoringPath").isin("known_pair", "new_pair"), F.lit("history"))
            .when(F.col("ScoringPath") == "new_resource", F.lit("new_resource"))
            .otherwise(F.lit("new_user")),
        ))

        # known users: nearest resource of their history
        history = t["history"].select("TenantId", "UserKey", F.col("ResourceKey").alias("h_key")).join(
            t["items"].select("TenantId", F.col("ResourceKey").alias("h_key"), F.col("vec").alias("h_vec")),
            ["TenantId", "h_key"],
        )
        known = (
            pairs.filter(F.col("known_user") & F.col("r_vec").isNotNull())
            .select(*KEYS, "r_vec")
            .join(history, ["TenantId", "UserKey"])
            .groupBy(*KEYS)
            .agg(F.max(v.dot("r_vec", "h_vec")).alias("a_known"))
        )
        # new users: the other resources of their window, plus the tenant's typical direction
        newcomers = pairs.filter(~F.col("known_user") & F.col("r_vec").isNotNull())
        newcomers = newcomers.withColumn("w", F.lit(1.0) - F.coalesce("popularity", F.lit(0.0)))
        context = v.grouped_sum(newcomers.withColumn("wv", v.lincomb([(F.col("w"), "r_vec")])),
                                ["TenantId", "UserKey"], "wv", "ctx_sum", extra=[F.sum("w").alias("ctx_n")],
                                norm_out="ctx_sum_norm").withColumn("coherence", _coherence("ctx_sum_norm", "ctx_n"))
        fresh = newcomers.join(context, ["TenantId", "UserKey"]).withColumn(
            "ctx", v.lincomb([(1.0, "ctx_sum"), (-F.col("w"), "r_vec"), (cfg.context_prior, "mean_dir")]))
        fresh = _with_new_user_affinity(fresh, v, "ctx", "r_vec", "coherence", "a_new").select(*KEYS, "a_new")
        calibration = t["calibration"].select("TenantId", F.col("path").alias("cal_path"), "mean", "std")
        day_calibration = t["calibration"].filter(F.col("path") == "new_user_day").select(
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
                   (_window_shortfall(F.sum(F.lit(1.0) - F.col("Affinity")).over(whole_window),
                                      F.count(F.lit(1)).over(whole_window)) - F.col("day_shortfall_mean")) / F.col("day_shortfall_std")),
        )
        z = (F.col("mean") - F.col("Affinity")) / F.col("std")
        z = F.when(F.col("std").isNull() | F.isnan(z), F.lit(0.0)).otherwise(z)
        z_day = F.when(F.isnan("z_day"), F.lit(0.0)).otherwise(F.col("z_day"))
        score = F.when(F.col("z_day").isNull(), z).otherwise(F.greatest(z, z_day))
        user_part = F.when(
            F.col("known_user"), F.concat(F.lit("usual resources: "), F.coalesce("top_resources", F.lit("-")))
        ).otherwise(F.lit("new user: no history"))
        resource_part = F.when(
            F.col("known_item"), F.concat(F.lit("usual users: "), F.coalesce("top_users", F.lit("-")))
        ).otherwise(
            F.concat(F.lit("new resource; usual users of "), F.col("Computer"), F.lit(": "), F.coalesce("server_users", F.lit("-")))
        )
        return scored.select(
            timestamp_literal(run.run_time).alias("TimeGenerated"),
            timestamp_literal(run.window.start).alias("WindowStart"),
            timestamp_literal(run.window.end).alias("WindowEnd"),
            "TenantId",
            F.col("UserKey").alias("Account"),
            "Computer",
            "ShareName",
            "Resource",
            "AccessCount",
            "FirstSeen",
            "LastSeen",
            score.cast("double").alias("AnomalyScore"),
            (score >= F.lit(cfg.threshold)).alias("IsAnomaly"),
            "ScoringPath",
            F.concat_ws(" | ", user_part, resource_part).alias("Explanation"),
            F.col("Affinity").cast("double"),
            F.coalesce("TrainingDays", F.lit(0)).cast("long").alias("TrainingDays"),
        )


class AnomalousResourceAccess(Template):
    """Collaborative filtering (implicit ALS) over who accesses which file share."""

    name = "anomalous-resource-access"
    # 2.0: the calibration's new_user_day row holds the window shortfall's moments, not the mean
    # affinity's, so a 1.x model is refused on load instead of scoring new users wrongly
    version = "2.0"
    table = "SecurityEvent"
    output_table = "AnomalousResourceAccessResult"
    Config = ResourceAccessConfig
    sample_data = "resource-access"
    model_class = ResourceAccessModel

    def columns(self):
        return mapping_columns(self.config)

    def required_columns(self):
        c = self.config
        return [c.user_column, c.computer_column, c.share_column, "EventID"]

    def prepare(self, events):
        return access_events(events, self.config)

    def summarize(self, prepared):
        """Accesses per (tenant, user, resource, UTC day): all that fit and score need."""
        return daily_summary(prepared)

    def fit(self, prepared, window: TimeWindow) -> Model:
        from pyspark import StorageLevel
        from pyspark.ml.recommendation import ALS
        from pyspark.sql import Window
        from pyspark.sql import functions as F

        cfg: ResourceAccessConfig = self.config
        rank = cfg.rank
        v = Vectors(rank)
        daily = prepared  # per (user, resource, day): see summarize
        built = ObservedCounts(
            pairs_from_daily(daily).withColumn("strength", _strength(cfg)).withColumn("ComputerKey", F.lower("Computer")),
            "byoml_pairs", [F.count(F.lit(1)).alias("pairs"), F.sum("ActiveDays").alias("user_days")])
        pairs = materialize(built.df)
        pair_counts = built.get()
        if not pair_counts["pairs"]:
            raise EmptyWindowError(f"{self.name}: no access events in the training window {window}")

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
        blocks = cfg.als_blocks or _auto_blocks(prepared.sparkSession)
        als = ALS(
            rank=rank, maxIter=cfg.max_iter, regParam=cfg.reg_param, alpha=cfg.alpha, implicitPrefs=True,
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
        # A resource few users touched has a vague factor: shrink it towards its server's resources,
        # with the weight of ``item_prior`` users (a new share sits with its department's shares).
        centroids = v.grouped_sum(raw_vecs.withColumn("w", v.lincomb([(F.col("n_users"), "raw_vec")])),
                                  ["TenantId", "ComputerKey"], "w", "centroid")
        item_vecs = v.with_unit(raw_vecs.join(centroids, ["TenantId", "ComputerKey"]), "centroid", "unit_centroid")
        item_vecs = item_vecs.withColumn("mix", v.lincomb([(F.col("n_users"), "raw_vec"), (cfg.item_prior, "unit_centroid")]))
        item_vecs = (
            v.with_unit(item_vecs, "mix", "vec")
            .drop("raw_vec", "centroid", "unit_centroid", "mix")
            .persist(StorageLevel.MEMORY_AND_DISK)
        )
        weighted = item_vecs.select("TenantId", v.lincomb([(F.col("popularity"), "vec")]).alias("w"))
        tenants = (
            v.with_unit(v.grouped_sum(weighted, ["TenantId"], "w", "dir_sum"), "dir_sum", "mean_dir")
            .select("TenantId", "mean_dir")
            .join(tenant_users, "TenantId")
        )
        server_sums = v.with_unit(v.grouped_sum(item_vecs, ["TenantId", "ComputerKey"], "vec", "vec"), "vec", "unit_vec")
        history = pairs.select(*KEYS, "ComputerKey", "Resource", "AccessCount", "ActiveDays", "strength")

        server_users = _top3(
            pairs.groupBy("TenantId", "ComputerKey", "UserKey").agg(F.sum("strength").alias("s")),
            ["TenantId", "ComputerKey"], "s", "UserKey", "top_users")
        servers = server_sums.join(server_users, ["TenantId", "ComputerKey"], "left")
        items_n = ObservedCounts(item_vecs.join(
            _top3(pairs, ["TenantId", "ResourceKey"], "strength", "UserKey", "top_users"), ["TenantId", "ResourceKey"], "left"),
            "byoml_items", [F.count(F.lit(1)).alias("n")])
        users_n = ObservedCounts(users.drop("uid").join(
            _top3(pairs, ["TenantId", "UserKey"], "strength", "Resource", "top_resources"), ["TenantId", "UserKey"], "left"),
            "byoml_users", [F.count(F.lit(1)).alias("n")])
        items_out, users_out = items_n.df, users_n.df

        # computed once and cut from the fit's plan: scoring joins them without replanning the fit
        # (history is a projection of the pairs, which are computed already)
        tables = {"items": items_out, "servers": servers, "tenants": tenants, "users": users_out}
        tables = {name: materialize(df) for name, df in tables.items()}
        tables["history"] = history
        item_vecs.unpersist()
        tables["calibration"] = materialize(self._calibrate(
            daily, history, tables["items"], tables["servers"], tables["tenants"],
            int(pair_counts["pairs"]), int(pair_counts["user_days"])))
        counts: Dict[str, Any] = {"pairs": pair_counts["pairs"], "users": users_n.get()["n"], "resources": items_n.get()["n"]}
        model = ResourceAccessModel(
            self,
            tables=tables,
            state={"rank": rank},
            metadata={"counts": {k: int(v) for k, v in counts.items()}},
        )
        return model

    def _calibrate(self, daily, history, item_vecs, server_sums, tenants, n_pairs: int, n_user_days: int):
        """Mean and std of each path's affinity on normal training behaviour, per tenant.

        ``daily`` holds the training accesses per (user, resource, day) (:func:`daily_summary`),
        ``n_pairs`` and ``n_user_days`` count the training pairs and daily rows (every one has a
        vector). One query: per tenant, the moments of every path, then one row per path.
        """
        from pyspark.sql import functions as F

        cfg: ResourceAccessConfig = self.config
        v = Vectors(cfg.rank)
        vecs = item_vecs.select("TenantId", "ResourceKey", "vec", "popularity", "ComputerKey")
        mean_dir = tenants.select("TenantId", "mean_dir")
        target = history.select(*KEYS).join(vecs, ["TenantId", "ResourceKey"])
        if n_pairs > cfg.calibration_pairs:
            target = _sample_by_key(target, KEYS, cfg.calibration_pairs / n_pairs, cfg.seed)
        others = history.select("TenantId", "UserKey", F.col("ResourceKey").alias("h_key")).join(
            vecs.select("TenantId", F.col("ResourceKey").alias("h_key"), F.col("vec").alias("h_vec")), ["TenantId", "h_key"])
        # Each sampled pair against the user's other resources (leave one out), in one join:
        # * history: the resource itself;
        # * new_resource: the resource replaced by its server's other resources, as if it were new.
        target = target.join(
            server_sums.select("TenantId", "ComputerKey", F.col("vec").alias("s_vec")), ["TenantId", "ComputerKey"]
        ).join(mean_dir, "TenantId").withColumn("rest", v.lincomb([(1.0, "s_vec"), (-1.0, "vec")]))
        target = v.with_unit(target, "rest", "rest_unit", norm_out="rest_norm").withColumn(
            "c_vec", F.when(F.col("rest_norm") > 1e-9, F.col("rest_unit")).otherwise(F.col("mean_dir")))
        loo = (
            target.select(*KEYS, "popularity", "vec", "c_vec").join(others, ["TenantId", "UserKey"])
            .filter(F.col("h_key") != F.col("ResourceKey"))
            .groupBy(*KEYS, "popularity")
            .agg(F.max(v.dot("vec", "h_vec")).alias("a_history"), F.max(v.dot("c_vec", "h_vec")).alias("a_resource"))
            .withColumn("a_history", F.greatest("a_history", "popularity"))
        )
        pair_moments = loo.groupBy("TenantId").agg(*[
            agg for name in ("history", "resource") for agg in (
                F.count(f"a_{name}").alias(f"n_{name}"), F.sum(f"a_{name}").alias(f"s_{name}"),
                F.sum(F.col(f"a_{name}") * F.col(f"a_{name}")).alias(f"q_{name}"))
        ])
        # each training user-day scored as if the user were new that day
        days = daily.select("TenantId", "UserKey", F.col("Day").alias("day"), "ResourceKey").join(
            vecs, ["TenantId", "ResourceKey"])
        if n_user_days > cfg.calibration_pairs:
            # whole user-days: a day keeps all its resources (its context, as when scoring)
            days = _sample_by_key(days, ["TenantId", "UserKey", "day"], cfg.calibration_pairs / n_user_days, cfg.seed)
        days = days.withColumn("w", F.lit(1.0) - F.col("popularity"))
        day_sums = v.grouped_sum(days.withColumn("wv", v.lincomb([(F.col("w"), "vec")])),
                                 ["TenantId", "UserKey", "day"], "wv", "ctx_sum", extra=[F.sum("w").alias("ctx_n")],
                                 norm_out="ctx_sum_norm").withColumn("coherence", _coherence("ctx_sum_norm", "ctx_n"))
        day_rows = days.join(day_sums, ["TenantId", "UserKey", "day"]).join(mean_dir, "TenantId").withColumn(
            "ctx", v.lincomb([(1.0, "ctx_sum"), (-F.col("w"), "vec"), (cfg.context_prior, "mean_dir")]))
        day_affinity = (
            _with_new_user_affinity(day_rows, v, "ctx", "vec", "coherence", "a_new")
            .select("TenantId", "UserKey", "day", F.greatest("a_new", "popularity").alias("a"))
            .groupBy("TenantId", "UserKey", "day")
            .agg(F.count(F.lit(1)).alias("n"), F.sum("a").alias("s"), F.sum(F.col("a") * F.col("a")).alias("q"))
        )
        # new_user: every resource of a day, weighted 1/n, so a user-day counts once however many
        # shares a backup account sweeps in it; new_user_day: the day as a whole (its shortfall)
        day_mean = F.col("s") / F.col("n")
        shortfall = _window_shortfall(F.col("n") - F.col("s"), F.col("n"))
        day_moments = day_affinity.groupBy("TenantId").agg(
            F.count(F.lit(1)).alias("days"), F.sum("n").alias("n_user"),
            F.sum(day_mean).alias("s_user"), F.sum(F.col("q") / F.col("n")).alias("q_user"),
            F.sum(shortfall).alias("s_day"), F.sum(shortfall * shortfall).alias("q_day"),
        )
        moments = tenants.select("TenantId").join(pair_moments, "TenantId", "left").join(day_moments, "TenantId", "left")
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
        # a path without normal examples borrows the tenant's history path, and a tenant without
        # any falls back to a wide default
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
