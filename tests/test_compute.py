"""Which Spark runs the suite, and the computes byoml refuses with a named alternative."""
from __future__ import annotations

import pytest

from byoml.errors import ComputeError, ConfigError
from byoml.spark import is_classic, require_spark_ml, spark_major, spark_ml_problem
from tests.conftest import TEST_SPARK


def test_the_session_is_the_leg_asked_for(spark):
    assert is_classic(spark) == (TEST_SPARK == "classic")
    assert spark.conf.get("spark.sql.session.timeZone") == "UTC"
    require_spark_ml(spark)  # every leg of the suite can fit ALS (classic, or Connect on Spark 4)


@pytest.mark.parametrize("version", ["3.5.0", "3.5.2"])
def test_als_over_connect_before_spark_4_names_the_compute_to_use(version):
    problem = spark_ml_problem(version, classic=False)
    assert problem and "DBR 17.3 LTS" in problem and "dedicated" in problem and version in problem
    assert spark_ml_problem(version, classic=True) is None
    assert spark_ml_problem("4.0.0", classic=False) is None
    assert issubclass(ComputeError, ConfigError)  # exit 2: the choice of compute, not the data


def test_no_spark_context_in_the_package():
    """Spark Connect has no SparkContext, JVM handle or RDD: the package must not reach for them."""
    import pathlib
    import re

    package = pathlib.Path(__file__).resolve().parents[1] / "byoml"
    pattern = re.compile(r"\.sparkContext\b|\._jvm\b|\._jsc\b|\.rdd\b|SparkContext[.(]|import .*SparkContext")
    found = [f"{p.relative_to(package)}:{i}" for p in package.rglob("*.py")
             for i, line in enumerate(p.read_text().splitlines(), 1) if pattern.search(line)]
    assert found == [], found
    assert spark_major() in (3, 4)


def test_progress_counts_tasks_under_connect_and_stays_quiet_on_classic(spark):
    from byoml.summary import SparkProgress

    progress = SparkProgress()
    attached = progress.attach(spark)
    try:
        spark.range(0, 1000, 1, 4).groupBy("id").count().count()
    finally:
        progress.detach(spark)
    assert attached == (TEST_SPARK == "connect")
    done, total = progress.counts()
    if attached:
        assert total >= 4 and 0 < done <= total and progress.text().startswith(", Spark tasks ")  # AQE may skip stages
    else:
        assert (done, total) == (0, 0) and progress.text() == ""
