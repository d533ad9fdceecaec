"""``abfss://`` exports, read by Spark itself (Databricks has the hadoop-azure connector).

Listing goes through the cluster's Hadoop FileSystem (:class:`HadoopListing`), so the
window pruning of :mod:`byoml.sources.layout` applies unchanged and Spark reads the
listed paths directly, with the cluster's storage credentials. A local Spark has no
hadoop-azure jars: opening such a source then fails with a clear message.
"""
from __future__ import annotations

import datetime as dt
from typing import List, Optional, Sequence, Tuple

from ..errors import SourceError
from ..timewindow import TimeWindow
from .base import ExportSource
from .layout import Entry, ExportFile, WalkReport, iter_export_files, latest_folder_time

ABFS_CLASS = "org.apache.hadoop.fs.azurebfs.SecureAzureBlobFileSystem"


class HadoopListing:
    """:class:`~byoml.sources.layout.Listing` over any Hadoop file system URI (abfss:, dbfs:, file:)."""

    def __init__(self, spark) -> None:
        try:
            self._jvm = spark._jvm
            self._conf = spark._jsc.hadoopConfiguration()
        except Exception:
            raise SourceError(
                "listing abfss:// paths needs a classic Spark session (not Spark Connect); "
                "use the https://<account>.blob.core.windows.net/<container> form instead"
            ) from None

    def list_dir(self, path: str) -> Sequence[Entry]:
        jpath = self._jvm.org.apache.hadoop.fs.Path(path)
        fs = jpath.getFileSystem(self._conf)
        if not fs.exists(jpath):
            return []
        return [
            Entry(st.getPath().getName(), st.isDirectory(), 0 if st.isDirectory() else st.getLen())
            for st in fs.listStatus(jpath)
        ]

    def join(self, base: str, name: str) -> str:
        return f"{base.rstrip('/')}/{name}"


def check_abfs_available(spark) -> None:
    try:
        spark._jvm.java.lang.Class.forName(ABFS_CLASS)
    except Exception:
        raise SourceError(
            "abfss:// paths need the hadoop-azure jars, which this Spark does not have (Databricks has them). "
            "Locally, use --source https://<account>.blob.core.windows.net/<container> (read through the "
            "Python SDK), or add hadoop-azure to spark.jars.packages"
        ) from None


class SparkPathExportSource(ExportSource):
    """An export container at a Hadoop URI (``abfss://am-securityevent@acct.dfs.core.windows.net/``)."""

    def __init__(self, uri: str, spark=None, check: bool = True) -> None:
        from ..spark import get_spark

        self.uri = uri
        self.spark = spark or get_spark()
        if check and uri.startswith("abfss://"):
            check_abfs_available(self.spark)
        self._fs = HadoopListing(self.spark)

    def list_files(self, table: str, window: TimeWindow) -> Tuple[List[ExportFile], WalkReport]:
        report = WalkReport()
        return list(iter_export_files(self._fs, self.uri.rstrip("/"), window, report)), report

    def latest_time(self, table: str) -> Optional[dt.datetime]:
        return latest_folder_time(self._fs, self.uri.rstrip("/"))
