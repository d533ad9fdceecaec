"""Fixed-length vector arithmetic on ``array<double>`` columns, as plain Spark SQL expressions.

The rank is known when the expression is built, so every operation is unrolled into
element arithmetic (``a[0]*b[0] + a[1]*b[1] + ...``). Spark compiles that with
whole-stage code generation; higher-order functions (``zip_with``/``aggregate``) are
interpreted row by row, far slower. Give every operation
column inputs (chain steps with ``withColumn``): nesting unrolled operations multiplies
the expression size, and a generated method over 8000 bytes of bytecode is never compiled
by the JVM (it runs interpreted, many times slower). A scalar used by every element (a
norm) gets a column of its own: :func:`with_unit`, ``grouped_sum(norm_out=...)``.
No Python UDFs: it runs on Databricks shared clusters and Spark Connect like any
built-in expression.
"""
from __future__ import annotations

from functools import reduce
from typing import List, Optional


def _F():
    from pyspark.sql import functions as F

    return F


def _items(a, rank: int) -> List:
    return [a.getItem(i) for i in range(rank)]


def _col(a):
    F = _F()
    return F.col(a) if isinstance(a, str) else a


def dot(a, b, rank: int):
    """Sum of the element-wise product."""
    a, b = _col(a), _col(b)
    return reduce(lambda x, y: x + y, [x * y for x, y in zip(_items(a, rank), _items(b, rank))])


def norm(a, rank: int):
    F = _F()
    return F.sqrt(dot(a, a, rank))


def with_unit(df, vector: str, out: str, rank: int, norm_out: Optional[str] = None, eps: float = 1e-12):
    """``df`` plus ``out`` = ``vector / |vector|`` (a zero vector stays zero), and ``norm_out`` = ``|vector|`` if named.

    Two projections: the norm is computed once per row and every element divides by it (one
    expression repeating the norm per element made generated methods too big for the JIT).
    """
    F = _F()
    norm_col = norm_out or f"_norm_{out}"
    df = df.withColumn(norm_col, norm(vector, rank))
    n = F.greatest(F.col(norm_col), F.lit(eps))
    df = df.withColumn(out, F.array(*[x / n for x in _items(F.col(vector), rank)]))
    return df if norm_out else df.drop(norm_col)


def lincomb(terms, rank: int):
    """``sum(coef * vector)`` for ``terms = [(coef, vector), ...]``; coefs are numbers or Columns.

    Pass vectors as column names or plain column references: each element refers to its
    inputs once, so chaining steps through ``withColumn`` keeps expression trees small.
    """
    F = _F()
    cols = [(c if not isinstance(c, (int, float)) else F.lit(float(c)), _col(vec)) for c, vec in terms]
    return F.array(*[reduce(lambda x, y: x + y, [c * vec.getItem(i) for c, vec in cols]) for i in range(rank)])


def cosine(a, b, rank: int, eps: float = 1e-12):
    F = _F()
    return dot(a, b, rank) / F.greatest(norm(a, rank) * norm(b, rank), F.lit(eps))


def grouped_sum(df, keys, vector: str, out: str, rank: int, extra=(), norm_out: Optional[str] = None):
    """Element-wise sum of ``vector`` per group of ``keys`` (any group size, codegen-friendly).

    ``extra``: more aggregate columns (named) computed in the same aggregation;
    ``norm_out``: also the length of the sum, under this name.
    """
    F = _F()
    keys = list(keys)
    v = F.col(vector)
    summed = df.groupBy(*keys).agg(*[F.sum(v.getItem(i)).alias(f"_v{i}") for i in range(rank)], *extra)
    extra_names = summed.columns[len(keys) + rank:]  # aggregate columns come in the order asked
    parts = [F.col(f"_v{i}") for i in range(rank)]
    norms = [F.sqrt(reduce(lambda x, y: x + y, [c * c for c in parts])).alias(norm_out)] if norm_out else []
    return summed.select(*keys, F.array(*parts).alias(out), *norms, *extra_names)


class Vectors:
    """The functions above with the rank bound: ``v = Vectors(10); v.dot("a", "b")``."""

    def __init__(self, rank: int) -> None:
        self.rank = rank

    def dot(self, a, b):
        return dot(a, b, self.rank)

    def norm(self, a):
        return norm(a, self.rank)

    def cosine(self, a, b):
        return cosine(a, b, self.rank)

    def lincomb(self, terms):
        return lincomb(terms, self.rank)

    def with_unit(self, df, vector: str, out: str, norm_out: Optional[str] = None):
        return with_unit(df, vector, out, self.rank, norm_out)

    def grouped_sum(self, df, keys, vector: str, out: str, extra=(), norm_out: Optional[str] = None):
        return grouped_sum(df, keys, vector, out, self.rank, extra, norm_out)
