"""Vector arithmetic on ``array<double>`` columns with Spark SQL higher-order functions.

No Python UDFs: every function returns a Column that Spark evaluates in the JVM,
so it runs on Databricks shared clusters and Spark Connect as fast as built-ins.
"""
from __future__ import annotations


def _F():
    from pyspark.sql import functions as F

    return F


def dot(a, b):
    """Sum of the element-wise product of two equal-length arrays."""
    F = _F()
    return F.aggregate(F.zip_with(a, b, lambda x, y: x * y), F.lit(0.0), lambda acc, v: acc + v)


def norm(a):
    F = _F()
    return F.sqrt(dot(a, a))


def scale(a, factor):
    F = _F()
    return F.transform(a, lambda x: x * factor)


def add(a, b):
    F = _F()
    return F.zip_with(a, b, lambda x, y: x + y)


def sub(a, b):
    F = _F()
    return F.zip_with(a, b, lambda x, y: x - y)


def normalize(a, eps: float = 1e-12):
    """``a / |a|``; a zero vector stays zero."""
    F = _F()
    n = norm(a)
    return F.transform(a, lambda x: x / F.greatest(n, F.lit(eps)))


def cosine(a, b, eps: float = 1e-12):
    F = _F()
    return dot(a, b) / F.greatest(norm(a) * norm(b), F.lit(eps))


def zeros(rank: int):
    F = _F()
    return F.array_repeat(F.lit(0.0), rank)


def sum_vectors(column, rank: int):
    """Aggregate: element-wise sum of the vectors of a group (use inside ``agg``)."""
    F = _F()
    return F.aggregate(F.collect_list(column), zeros(rank), lambda acc, x: add(acc, x))


def grouped_sum(df, keys, vector: str, out: str):
    """Element-wise sum of ``vector`` per group of ``keys``, for groups of any size.

    Explodes to (position, value), sums per position and re-assembles in order,
    so no group's vectors are ever collected into one row.
    """
    F = _F()
    keys = list(keys)
    exploded = df.select(*keys, F.posexplode(vector).alias("_pos", "_val"))
    summed = exploded.groupBy(*keys, "_pos").agg(F.sum("_val").alias("_val"))
    return summed.groupBy(*keys).agg(
        F.transform(F.array_sort(F.collect_list(F.struct("_pos", "_val"))), lambda s: s["_val"]).alias(out)
    )
