"""The Spark session: reuse the active one (Databricks), or start a local one.

A local session needs Java: :func:`get_spark` checks for it first and says how
to install it, instead of letting PySpark fail with a gateway error.
"""
from __future__ import annotations

import itertools
import os
import shutil
import sys
from typing import Optional, Sequence

from .errors import JavaNotFoundError

DEFAULT_MASTER = "local[2]"


def _java_available() -> bool:
    java_home = os.environ.get("JAVA_HOME")
    if java_home and os.path.exists(os.path.join(java_home, "bin", "java")):
        return True
    return shutil.which("java") is not None


def check_java() -> None:
    """Raise :class:`JavaNotFoundError` with install advice when no Java runtime is found."""
    if not _java_available():
        raise JavaNotFoundError(
            "Java was not found, and local Spark runs need it. Install a Java 17 or 21 runtime "
            "(Debian/Ubuntu: 'sudo apt-get install -y openjdk-17-jre-headless'; macOS: "
            "'brew install openjdk@17') or set JAVA_HOME to an existing JDK."
        )


def active_session():
    """The active SparkSession (Databricks, Spark Connect, a notebook), or None."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:  # pragma: no cover - pyspark is a hard dependency
        return None
    session = SparkSession.getActiveSession()
    return session


def get_spark(master: Optional[str] = None, app_name: str = "byoml"):
    """Return the active SparkSession or start a local one.

    The session time zone is set to UTC: Log Analytics times are UTC and hour
    bins, day boundaries and output timestamps must not depend on the machine.

    Local sessions honour ``BYOML_SPARK_MASTER`` (default ``local[2]``) and
    ``BYOML_SPARK_DRIVER_MEMORY`` (default ``2g``).
    """
    session = active_session()
    if session is None:
        session = _start_local(master or os.environ.get("BYOML_SPARK_MASTER", DEFAULT_MASTER), app_name)
    session.conf.set("spark.sql.session.timeZone", "UTC")
    return session


def _start_local(master: str, app_name: str):
    check_java()
    # Python workers (pandas UDFs) must run this interpreter, not whatever 'python' is on PATH.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from pyspark.sql import SparkSession

    builder = (
        SparkSession.builder.master(master)
        .appName(app_name)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", os.environ.get("BYOML_SPARK_SHUFFLE_PARTITIONS", "4"))
        .config("spark.default.parallelism", "4")
        .config("spark.driver.memory", os.environ.get("BYOML_SPARK_DRIVER_MEMORY", "2g"))
        .config("spark.sql.session.timeZone", "UTC")
        # the parallel collector: G1's concurrent work competes with the task threads on few cores
        # (benchmarks/README.md)
        .config("spark.driver.extraJavaOptions", "-Duser.timezone=UTC -XX:+UseParallelGC")
        .config("spark.executor.extraJavaOptions", "-Duser.timezone=UTC")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.hadoop.mapreduce.fileoutputcommitter.marksuccessfuljobs", "false")
        .config("spark.sql.sources.parallelPartitionDiscovery.threshold", "1000000")
        # exports are many small files: pack them into few tasks instead of one task per 32 files
        .config("spark.sql.files.openCostInBytes", "65536")
    )
    session = builder.getOrCreate()
    try:  # FATAL: a failed task's ERROR log repeats, in JVM form, the error byoml reports (--debug: WARN)
        session.sparkContext.setLogLevel(os.environ.get("BYOML_SPARK_LOG_LEVEL", "FATAL"))
    except Exception:  # pragma: no cover - Spark Connect has no SparkContext
        pass
    return session


def is_classic(session) -> bool:
    """True for a classic (JVM-backed) session, False under Spark Connect."""
    try:
        session.sparkContext  # noqa: B018 - raises under Spark Connect
        return True
    except Exception:
        return False


def timestamp_literal(value):
    """A Spark timestamp literal for an aware datetime, independent of the Python process time zone."""
    from pyspark.sql import functions as F

    from .timewindow import format_time

    return F.lit(format_time(value)).cast("timestamp")


def materialize(df):
    """``df`` computed now and kept, as a DataFrame whose plan no longer holds its lineage.

    A fitted model's tables otherwise carry the whole fit (source read, ALS, aggregations)
    into every scoring query that joins them: a slow plan, recomputed on each use. A local
    checkpoint is released with the DataFrame (unlike ``persist``, nothing to unpersist);
    Spark Connect before 4.0 has none, so there the DataFrame is persisted instead.
    """
    import pyspark
    from pyspark import StorageLevel

    if is_classic(df.sparkSession) or int(pyspark.__version__.split(".")[0]) >= 4:
        return df.localCheckpoint(eager=True)
    kept = df.persist(StorageLevel.MEMORY_AND_DISK)  # pragma: no cover - Spark Connect 3.5
    kept.count()
    return kept


_OBSERVATION_IDS = itertools.count()


class ObservedCounts:
    """Named aggregates of a frame, taken while a later action computes it (no pass of its own).

    ``df`` is the frame to build on; after an action that computed it, :meth:`get` returns the
    aggregates. Spark drops the observation when a stage after it is empty (adaptive execution
    then removes the subtree) and Spark 3.5 waits forever for a missing one; in those cases, and
    before Spark 4, the aggregates are computed directly instead: correct, one more pass.
    """

    def __init__(self, df, name: str, aggregates: Sequence) -> None:
        from pyspark.sql import Observation

        self._source, self._aggregates = df, list(aggregates)
        self._observation = Observation(f"{name}_{next(_OBSERVATION_IDS)}")
        self.df = df.observe(self._observation, *self._aggregates)

    def get(self) -> dict:
        import pyspark

        if int(pyspark.__version__.split(".")[0]) >= 4:
            try:
                values = self._observation.get
            except Exception:  # noqa: BLE001 - not observed: compute below
                values = None
            if values:
                return values
        return self._source.agg(*self._aggregates).first().asDict()
