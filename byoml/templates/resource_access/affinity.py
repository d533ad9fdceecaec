"""Affinity: how well a resource fits what a user does, the one definition scoring and calibration share.

Calibration scores training behaviour *as if it were new* with exactly these functions, so the
statistics a score is measured against come from the same formula as the score itself:

* :func:`nearest_history`: a known user's affinity to a resource is the highest cosine between it
  and any resource of their history (``leave_one_out``: without the resource itself, as if new);
* :func:`with_new_user_affinity`: a user without history is judged by the rest of their window;
* :func:`window_shortfall`: the window of a new user as a whole.

Every resource vector here is a unit vector, so a dot product is a cosine.
"""
from __future__ import annotations

from typing import Mapping, Sequence

KEYS = ["TenantId", "UserKey", "ResourceKey"]


def history_vectors(history, items):
    """(TenantId, UserKey, ``h_key``, ``h_vec``): every resource of every user's training history."""
    from pyspark.sql import functions as F

    return history.select("TenantId", "UserKey", F.col("ResourceKey").alias("h_key")).join(
        items.select("TenantId", F.col("ResourceKey").alias("h_key"), F.col("vec").alias("h_vec")),
        ["TenantId", "h_key"],
    )


def nearest_history(targets, history, v, vectors: Mapping[str, str], group: Sequence[str] = KEYS,
                    leave_one_out: bool = False):
    """Per ``group`` row of ``targets``: for each ``out: vector column`` of ``vectors``, the highest
    cosine between that vector and the user's history (:func:`history_vectors`).

    ``leave_one_out``: the resource itself is left out of the history (a training pair scored as if new).
    """
    from pyspark.sql import functions as F

    joined = targets.join(history, ["TenantId", "UserKey"])
    if leave_one_out:
        joined = joined.filter(F.col("h_key") != F.col("ResourceKey"))
    return joined.groupBy(*group).agg(*[F.max(v.dot(vec, "h_vec")).alias(out) for out, vec in vectors.items()])


def coherence(norm_sum: str, count: str):
    """How much a new user's resources agree: the length of their weighted sum over the weight
    total (mean resultant length, 1 for a single resource)."""
    from pyspark.sql import functions as F

    return F.when(F.col(count) > 1e-9, F.col(norm_sum) / F.col(count)).otherwise(F.lit(1.0))


def window_shortfall(shortfall_sum, count):
    """A new user's window as a whole: how far its affinities fall short of 1, summed over its
    ``count`` resources and divided by ``sqrt(count)``. Evidence adds up: fifteen shares of a
    sweep that each fit a little badly weigh more than two (a mean would rate them alike)."""
    from pyspark.sql import functions as F

    return shortfall_sum / F.sqrt(count)


def with_new_user_affinity(rows, v, group: Sequence[str], vec: str, context_prior: float, out: str):
    """``rows`` plus ``out``: for a user without history, how well each resource fits the rest of
    their window.

    ``rows`` holds one row per resource the user touched in the window; ``group`` names the
    window (tenant and user when scoring; tenant, user and day in calibration). Each row needs
    the resource's unit vector ``vec``, its ``popularity`` and the tenant's ``mean_dir``.

    The context is the other resources of the window, weighted by ``1 - popularity`` (what
    everyone uses says nothing about a user), plus ``context_prior`` times the tenant's typical
    direction. The affinity is the cosine of ``vec`` with that context, capped by how coherent
    the window is as a whole (:func:`coherence`): a new hire's day clusters around their
    department; a sweep across departments does not, so every resource of it is suspicious,
    even one that fits a sibling of the same sweep.
    """
    from pyspark.sql import functions as F

    rows = rows.withColumn("w", F.lit(1.0) - F.coalesce("popularity", F.lit(0.0)))
    sums = v.grouped_sum(rows.withColumn("wv", v.lincomb([("w", vec)])), list(group), "wv", "ctx_sum",
                         extra=[F.sum("w").alias("ctx_n")], norm_out="ctx_sum_norm")
    sums = sums.withColumn("coherence", coherence("ctx_sum_norm", "ctx_n"))
    rows = rows.join(sums, list(group)).withColumn(
        "ctx", v.lincomb([(1.0, "ctx_sum"), ("-w", vec), (context_prior, "mean_dir")]))
    rows = rows.withColumn("_ctx_norm", v.norm("ctx"))  # a column of its own: computed once per row
    cosine = v.dot("ctx", vec) / F.greatest(F.col("_ctx_norm"), F.lit(1e-12))
    return rows.withColumn(out, F.least(cosine, F.col("coherence"))).drop("_ctx_norm")
