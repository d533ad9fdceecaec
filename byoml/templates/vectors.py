"""Fixed-length vector arithmetic on ``array<double>`` columns, as plain Spark SQL expressions.

The rank is known when the expression is built, so every operation is unrolled into
element arithmetic (``a[0]*b[0] + a[1]*b[1] + ...``). Spark compiles that with
whole-stage code generation; higher-order functions (``zip_with``/``aggregate``) are
interpreted row by row, far slower. Give every operation
column inputs (chain steps with ``withColumn``): nesting unrolled operations multiplies
the expression size, and a generated method over 8000 bytes of bytecode is never compiled
by the JVM (it runs interpreted, many times slower). A scalar used by every element (a
norm) gets a column of its own: :func:`with_unit`, ``grouped_sum(norm_out=...)``.

Each operation is written as SQL text and parsed once (``F.expr``): built from ``Column``
objects, one rank-10 expression took hundreds of calls into the JVM on classic PySpark, about
a second of driver time per fit. Vectors are named by column; coefficients are numbers or SQL
expressions (``"n_users"``, ``"-w"``). No Python UDFs: it runs on Databricks shared clusters
and Spark Connect like any built-in expression.
"""
from __future__ import annotations

from typing import List, Optional, Sequence, Tuple, Union

Coefficient = Union[int, float, str]


def _F():
    from pyspark.sql import functions as F

    return F


def _name(column: str) -> str:
    if not isinstance(column, str):
        raise TypeError(f"vectors are named by column (a str), not {type(column).__name__}")
    return "`" + column.replace("`", "``") + "`"


def _number(value: float) -> str:
    """A double literal (``1.0D``): a bare ``1.0`` is a DECIMAL in Spark SQL."""
    return f"({float(value)!r}D)"


def _coefficient(value: Coefficient) -> str:
    if isinstance(value, (int, float)):
        return _number(value)
    if not isinstance(value, str):  # a Column would print as "Column<...>" into the SQL text
        raise TypeError(f"a coefficient is a number or SQL text (\"-w\"), not {type(value).__name__}")
    return f"({value})"


def _items(a: str, rank: int) -> List[str]:
    return [f"{_name(a)}[{i}]" for i in range(rank)]


def _dot_sql(a: str, b: str, rank: int) -> str:
    return " + ".join(f"{x} * {y}" for x, y in zip(_items(a, rank), _items(b, rank)))


def dot(a: str, b: str, rank: int):
    """Sum of the element-wise product."""
    return _F().expr(_dot_sql(a, b, rank))


def norm(a: str, rank: int):
    return _F().expr(f"sqrt({_dot_sql(a, a, rank)})")


def with_unit(df, vector: str, out: str, rank: int, norm_out: Optional[str] = None, eps: float = 1e-12):
    """``df`` plus ``out`` = ``vector / |vector|`` (a zero vector stays zero), and ``norm_out`` = ``|vector|`` if named.

    Two projections: the norm is computed once per row and every element divides by it (one
    expression repeating the norm per element made generated methods too big for the JIT).
    """
    F = _F()
    norm_col = norm_out or f"_norm_{out}"
    df = df.withColumn(norm_col, norm(vector, rank))
    n = f"greatest({_name(norm_col)}, {_number(eps)})"
    df = df.withColumn(out, F.expr(f"array({', '.join(f'{x} / {n}' for x in _items(vector, rank))})"))
    return df if norm_out else df.drop(norm_col)


def lincomb(terms: Sequence[Tuple[Coefficient, str]], rank: int):
    """``sum(coef * vector)`` for ``terms = [(coef, vector), ...]``: coefs are numbers or SQL
    expressions (``"-w"``), vectors column names.

    Each element refers to its inputs once, so chaining steps through ``withColumn`` keeps
    expression trees small.
    """
    parts = [(_coefficient(c), _name(vec)) for c, vec in terms]
    elements = [" + ".join(f"{c} * {vec}[{i}]" for c, vec in parts) for i in range(rank)]
    return _F().expr(f"array({', '.join(elements)})")


def cosine(a: str, b: str, rank: int, eps: float = 1e-12):
    return _F().expr(f"({_dot_sql(a, b, rank)}) / greatest(sqrt({_dot_sql(a, a, rank)}) * "
                     f"sqrt({_dot_sql(b, b, rank)}), {_number(eps)})")


def grouped_sum(df, keys, vector: str, out: str, rank: int, extra=(), norm_out: Optional[str] = None):
    """Element-wise sum of ``vector`` per group of ``keys`` (any group size, codegen-friendly).

    ``extra``: more aggregate columns (named) computed in the same aggregation;
    ``norm_out``: also the length of the sum, under this name.
    """
    F = _F()
    keys = list(keys)
    summed = df.groupBy(*keys).agg(*[F.expr(f"sum({x})").alias(f"_v{i}") for i, x in enumerate(_items(vector, rank))],
                                   *extra)
    extra_names = summed.columns[len(keys) + rank:]  # aggregate columns come in the order asked
    parts = [f"`_v{i}`" for i in range(rank)]
    norms = [F.expr(f"sqrt({' + '.join(f'{c} * {c}' for c in parts)})").alias(norm_out)] if norm_out else []
    return summed.select(*keys, F.expr(f"array({', '.join(parts)})").alias(out), *norms, *extra_names)


class Vectors:
    """The functions above with the rank bound: ``v = Vectors(10); v.dot("a", "b")``."""

    def __init__(self, rank: int) -> None:
        self.rank = rank

    def dot(self, a: str, b: str):
        return dot(a, b, self.rank)

    def norm(self, a: str):
        return norm(a, self.rank)

    def cosine(self, a: str, b: str):
        return cosine(a, b, self.rank)

    def lincomb(self, terms: Sequence[Tuple[Coefficient, str]]):
        return lincomb(terms, self.rank)

    def with_unit(self, df, vector: str, out: str, norm_out: Optional[str] = None):
        return with_unit(df, vector, out, self.rank, norm_out)

    def grouped_sum(self, df, keys, vector: str, out: str, extra=(), norm_out: Optional[str] = None):
        return grouped_sum(df, keys, vector, out, self.rank, extra, norm_out)
