"""Unrolled vector arithmetic on array<double> columns, against numpy."""
import numpy as np
import pytest

from byoml.templates.vectors import Vectors


@pytest.fixture()
def frame(spark):
    rows = [("a", [3.0, 4.0, 0.0]), ("a", [1.0, -2.0, 2.0]), ("b", [0.0, 0.0, 0.0])]
    return spark.createDataFrame(rows, "g string, x array<double>")


def test_with_unit_divides_by_the_norm_and_keeps_zero_vectors_zero(frame):
    v = Vectors(3)
    out = {r["x"][0]: r for r in v.with_unit(frame, "x", "u", norm_out="n").collect()}
    assert out[3.0]["u"] == pytest.approx([0.6, 0.8, 0.0])
    assert out[3.0]["n"] == pytest.approx(5.0)
    assert out[1.0]["u"] == pytest.approx([1 / 3, -2 / 3, 2 / 3])
    assert out[0.0]["u"] == [0.0, 0.0, 0.0] and out[0.0]["n"] == 0.0
    # without norm_out, no helper column is left behind
    assert v.with_unit(frame, "x", "u").columns == ["g", "x", "u"]


def test_grouped_sum_sums_elements_per_group_with_its_length(frame):
    from pyspark.sql import functions as F

    v = Vectors(3)
    out = {r["g"]: r for r in v.grouped_sum(frame, ["g"], "x", "s", extra=[F.count(F.lit(1)).alias("k")],
                                            norm_out="s_norm").collect()}
    assert out["a"]["s"] == pytest.approx([4.0, 2.0, 2.0])
    assert out["a"]["s_norm"] == pytest.approx(float(np.linalg.norm([4.0, 2.0, 2.0])))
    assert out["a"]["k"] == 2 and out["b"]["k"] == 1
    assert out["b"]["s_norm"] == 0.0


def test_dot_cosine_and_lincomb_match_numpy(spark):

    rng = np.random.default_rng(7)
    a, b = rng.normal(size=4), rng.normal(size=4)
    df = spark.createDataFrame([(a.tolist(), b.tolist(), 0.5)], "a array<double>, b array<double>, w double")
    v = Vectors(4)
    row = df.select(
        v.dot("a", "b").alias("dot"), v.cosine("a", "b").alias("cos"),
        v.lincomb([(2.0, "a"), ("-w", "b")]).alias("lin"),
    ).first()
    assert row["dot"] == pytest.approx(float(a @ b))
    assert row["cos"] == pytest.approx(float(a @ b / np.linalg.norm(a) / np.linalg.norm(b)))
    assert row["lin"] == pytest.approx((2 * a - 0.5 * b).tolist())


def test_a_vector_is_named_by_its_column_and_a_coefficient_is_a_number_or_sql(frame):
    with pytest.raises(TypeError, match="named by column"):
        Vectors(3).dot(frame["x"], "x")
    with pytest.raises(TypeError, match="number or SQL text"):
        Vectors(3).lincomb([(frame["x"], "x")])
