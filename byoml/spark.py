"""The Spark session: reuse the active one (Databricks), or start a local one.

A local session needs Java: :func:`get_spark` checks for it first and says how
to install it, instead of letting PySpark fail with a gateway error.
"""
from __future__ import annotations

import itertools
import os
import shutil
import socket
import sys
from typing import Dict, Optional, Sequence

from .errors import ComputeError, JavaNotFoundError

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


REMOTE_ENV = "BYOML_SPARK_REMOTE"


def get_spark(master: Optional[str] = None, app_name: str = "byoml"):
    """Return the active SparkSession or start one.

    The session time zone is set to UTC: Log Analytics times are UTC and hour
    bins, day boundaries and output timestamps must not depend on the machine.

    Local sessions honour ``BYOML_SPARK_MASTER`` (default ``local[2]``),
    ``BYOML_SPARK_DRIVER_MEMORY`` (default ``2g``) and ``BYOML_SPARK_JAVA_OPTIONS`` (more JVM
    options, e.g. ``-XX:TieredStopAtLevel=1`` for short jobs: benchmarks/README.md).
    ``BYOML_SPARK_REMOTE`` asks for Spark Connect instead: ``sc://host:port`` connects to a server; ``local[N]`` starts a local
    Connect server in this process (as Databricks serverless and standard access run the
    client) and then points ``BYOML_SPARK_REMOTE`` at it, so child processes (notebook
    kernels, CLI runs) connect to the same server.
    """
    session = active_session()
    if session is None:
        remote = os.environ.get(REMOTE_ENV, "").strip()
        if remote.startswith("local"):
            session = _start_local_connect(remote, app_name)
        elif remote:
            session = _connect(remote)
        else:
            session = _start_local(master or os.environ.get("BYOML_SPARK_MASTER", DEFAULT_MASTER), app_name)
    session.conf.set("spark.sql.session.timeZone", "UTC")
    return session


# SQL settings a session may change at run time (also sent to a Connect server's session)
RUNTIME_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
}


JAVA_OPTIONS_ENV = "BYOML_SPARK_JAVA_OPTIONS"
# HotSpot's tier-4 (C2) thresholds, ten times their defaults (Tier4InvocationThreshold 5000,
# Tier4MinInvocationThreshold 600, Tier4CompileThreshold 15000, Tier4BackEdgeThreshold 40000)
HOT_CODE_ONLY_C2 = ("-XX:Tier4InvocationThreshold=50000 -XX:Tier4MinInvocationThreshold=6000 "
                    "-XX:Tier4CompileThreshold=150000 -XX:Tier4BackEdgeThreshold=400000")


def _local_conf(master: str, app_name: str) -> Dict[str, str]:
    """The settings of a local Spark (classic, or the server of a local Spark Connect session)."""
    check_java()
    # Python workers (pandas UDFs) must run this interpreter, not whatever 'python' is on PATH.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    return {
        "spark.master": master,
        "spark.app.name": app_name,
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        # FATAL: a failed task's ERROR log repeats, in JVM form, the error byoml reports (--debug: WARN)
        "spark.log.level": os.environ.get("BYOML_SPARK_LOG_LEVEL", "FATAL"),
        "spark.sql.shuffle.partitions": os.environ.get("BYOML_SPARK_SHUFFLE_PARTITIONS", "4"),
        "spark.default.parallelism": "4",
        "spark.driver.memory": os.environ.get("BYOML_SPARK_DRIVER_MEMORY", "2g"),
        # the parallel collector: G1's concurrent work competes with the task threads on few cores;
        # the optimizing compiler (C2) too: it compiles only code ten times hotter than its default
        # asks, such as the parse of every record (benchmarks/README.md)
        # BYOML_SPARK_JAVA_OPTIONS: more options for the JVM, after these (a later one wins)
        "spark.driver.extraJavaOptions": " ".join(filter(None, [
            "-Duser.timezone=UTC -XX:+UseParallelGC", HOT_CODE_ONLY_C2, os.environ.get(JAVA_OPTIONS_ENV, "").strip()])),
        "spark.executor.extraJavaOptions": "-Duser.timezone=UTC",
        "spark.hadoop.mapreduce.fileoutputcommitter.marksuccessfuljobs": "false",
        "spark.sql.sources.parallelPartitionDiscovery.threshold": "1000000",
        # exports are many small files: pack them into few tasks instead of one task per 32 files
        "spark.sql.files.openCostInBytes": "65536",
        **RUNTIME_CONF,
    }


def _start_local(master: str, app_name: str):
    from pyspark.sql import SparkSession

    builder = SparkSession.builder
    for key, value in _local_conf(master, app_name).items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_local_connect(master: str, app_name: str):
    """A Spark Connect server on ``master`` inside this process (on a free port), and a client of it."""
    from pyspark.sql.connect.session import SparkSession as ConnectSession

    port = _free_port()
    conf = {**_local_conf(master, app_name), "spark.connect.grpc.binding.port": str(port)}
    ConnectSession._start_connect_server(master, conf)
    url = f"sc://localhost:{port}"
    os.environ[REMOTE_ENV] = url
    return _connect(url)


def _connect(url: str):
    from pyspark.sql.connect.session import SparkSession as ConnectSession

    os.environ["SPARK_CONNECT_MODE_ENABLED"] = "1"
    builder = ConnectSession.builder.remote(url)
    for key, value in RUNTIME_CONF.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def is_classic(session) -> bool:
    """True for a classic (JVM-backed) session, False under Spark Connect."""
    return not type(session).__module__.startswith("pyspark.sql.connect")


def spark_major() -> int:
    """The major version of the installed PySpark (3 or 4)."""
    import pyspark

    return int(pyspark.__version__.split(".")[0])


def spark_ml_problem(version: str, classic: bool) -> Optional[str]:
    """Why Spark ML estimators (ALS) cannot run on this session, or None.

    Spark Connect runs Spark ML from Spark 4.0 on: Databricks standard access mode on DBR 15.4 and
    16.4 LTS (Spark 3.5) cannot fit them, DBR 17.3 LTS (Spark 4.0) and serverless can.

    >>> spark_ml_problem("3.5.2", classic=False) is not None
    True
    >>> spark_ml_problem("3.5.2", classic=True), spark_ml_problem("4.0.0", classic=False)
    (None, None)
    """
    if classic or int(version.split(".")[0]) >= 4:
        return None
    return (f"this template trains Spark ML (ALS), which Spark Connect runs from Spark 4.0 on, and this session is "
            f"Spark Connect on Spark {version} (Databricks standard access mode on DBR 15.4 or 16.4 LTS). Run it on "
            "DBR 17.3 LTS or later in standard access mode, on serverless compute, or on a cluster in dedicated "
            "(single user) access mode")


def require_spark_ml(session) -> None:
    """Raise :class:`ComputeError` where :func:`spark_ml_problem` finds one."""
    problem = spark_ml_problem(session.version, is_classic(session))
    if problem:
        raise ComputeError(problem)


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
    from pyspark import StorageLevel

    if is_classic(df.sparkSession) or spark_major() >= 4:
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
        if spark_major() >= 4:
            try:
                values = self._observation.get
            except Exception:  # noqa: BLE001 - not observed: compute below
                values = None
            if values:
                return values
        return self._source.agg(*self._aggregates).first().asDict()
