"""What a row of ``anomalous-resource-access`` says about itself: the ``Explanation`` column.

The fit keeps, per user, resource and server, the three names that matter most (:func:`top3`);
scoring joins them and :func:`explanation` words them: the user's usual resources and the
resource's usual users (or, for a new resource, the usual users of its server).
"""
from __future__ import annotations


def top3(df, group, order, label, out):
    """Per group, the three ``label`` values with the highest ``order``, as one string."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    w = Window.partitionBy(*group).orderBy(F.col(order).desc(), F.col(label))
    ranked = df.withColumn("_rank", F.row_number().over(w)).filter("_rank <= 3")
    return ranked.groupBy(*group).agg(
        F.concat_ws(", ", F.transform(F.array_sort(F.collect_list(F.struct("_rank", label))), lambda s: s[label])).alias(out)
    )


def explanation():
    """The ``Explanation`` column of scored pairs that carry ``known_user``, ``known_item``,
    ``top_resources``, ``top_users``, ``Computer`` and ``server_users``."""
    from pyspark.sql import functions as F

    user_part = F.when(
        F.col("known_user"), F.concat(F.lit("usual resources: "), F.coalesce("top_resources", F.lit("-")))
    ).otherwise(F.lit("new user: no history"))
    resource_part = F.when(
        F.col("known_item"), F.concat(F.lit("usual users: "), F.coalesce("top_users", F.lit("-")))
    ).otherwise(
        F.concat(F.lit("new resource; usual users of "), F.col("Computer"), F.lit(": "), F.coalesce("server_users", F.lit("-")))
    )
    return F.concat_ws(" | ", user_part, resource_part)
