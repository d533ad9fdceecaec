"""The ``anomalous-resource-access`` template: what to read, and the fit that ties the parts together."""
from __future__ import annotations

from typing import Any, Dict

from ...errors import EmptyWindowError
from ...spark import ObservedCounts, materialize
from ...timewindow import TimeWindow
from ..access_events import PAIR_OUTPUT_COLUMNS, AccessTemplate, daily_summary, pairs_from_daily
from ..base import Model
from ..vectors import Vectors
from .affinity import KEYS
from .calibration import calibrate
from .config import ResourceAccessConfig
from .embedding import fit_embedding, strength
from .scoring import ResourceAccessModel

OUTPUT_COLUMNS = (f"{PAIR_OUTPUT_COLUMNS}, AnomalyScore double, IsAnomaly boolean, ScoringPath string, "
                  "Explanation string, Affinity double, TrainingDays bigint")


class AnomalousResourceAccess(AccessTemplate):
    """Flags file-share accesses out of character for the user, by collaborative filtering (implicit ALS)."""

    name = "anomalous-resource-access"
    # 2.0: the calibration's new_user_day row holds the window shortfall's moments, not the mean
    # affinity's, so a 1.x model is refused on load instead of scoring new users wrongly
    version = "2.0"
    output_table = "AnomalousResourceAccessResult"
    output_columns = OUTPUT_COLUMNS
    report_kind = "access"
    Config = ResourceAccessConfig
    sample_data = "resource-access"
    model_class = ResourceAccessModel
    # per-tenant standard scores from fewer pairs, users or days mean nothing
    minimum_training = {"events": 200, "days": 3, "users": 10, "pairs": 50}

    def summarize(self, prepared):
        """Accesses per (tenant, user, resource, UTC day): all that fit and score need."""
        return daily_summary(prepared)

    def fit(self, prepared, window: TimeWindow) -> Model:
        from pyspark.sql import functions as F

        cfg: ResourceAccessConfig = self.config
        v = Vectors(cfg.rank)
        daily = prepared  # per (user, resource, day): see summarize
        built = ObservedCounts(
            pairs_from_daily(daily).withColumn("strength", strength(cfg)).withColumn("ComputerKey", F.lower("Computer")),
            "byoml_pairs", [F.count(F.lit(1)).alias("pairs"), F.sum("ActiveDays").alias("user_days")])
        pairs = materialize(built.df)
        pair_counts = built.get()
        if not pair_counts["pairs"]:
            raise EmptyWindowError(f"{self.name}: no access events in the training window {window}")

        tables, item_vecs = fit_embedding(cfg, v, pairs)
        items_n = ObservedCounts(tables["items"], "byoml_items", [F.count(F.lit(1)).alias("n")])
        users_n = ObservedCounts(tables["users"], "byoml_users", [F.count(F.lit(1)).alias("n")])
        tables["items"], tables["users"] = items_n.df, users_n.df
        # computed once and cut from the fit's plan: scoring joins them without replanning the fit
        # (history is a projection of the pairs, which are computed already)
        tables = {name: materialize(df) for name, df in tables.items()}
        tables["history"] = pairs.select(*KEYS, "ComputerKey", "Resource", "AccessCount", "ActiveDays", "strength")
        item_vecs.unpersist()
        n_items = int(items_n.get()["n"])
        tables["calibration"] = materialize(calibrate(
            cfg, v, daily, tables["history"], tables["items"], tables["servers"], tables["tenants"],
            int(pair_counts["pairs"]), int(pair_counts["user_days"]), n_items))
        counts: Dict[str, Any] = {"pairs": pair_counts["pairs"], "users": users_n.get()["n"], "resources": n_items}
        return ResourceAccessModel(
            self, {"counts": {k: int(n) for k, n in counts.items()}},
            **{f"{name}_": df for name, df in tables.items()},
        )
