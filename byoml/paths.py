"""Paths as Spark reads and writes them: the one module sources, sinks, the model store and the
run share, below all of them.

>>> to_spark_path("/tmp/x").startswith("file:///") or to_spark_path("/tmp/x").startswith("dbfs:")
True
"""
from __future__ import annotations

import os


def to_spark_path(path: str) -> str:
    """A local path as Spark should read it (``dbfs:`` on Databricks mounts, ``file:`` elsewhere)."""
    absolute = os.path.abspath(path)
    if os.environ.get("DATABRICKS_RUNTIME_VERSION"):
        if absolute.startswith("/dbfs/"):
            return "dbfs:/" + absolute[len("/dbfs/"):]
        if absolute.startswith("/Volumes/"):
            return absolute
    return "file://" + absolute
