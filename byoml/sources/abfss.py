"""``abfss://`` exports: listed through the account's Blob endpoint, read by Spark itself.

``abfss://<container>@<account>.dfs.core.windows.net/[<path>]`` is listed by the driver with
``azure-storage-blob`` on ``https://<account>.blob.core.windows.net`` (the same credentials
as an ``https://`` source: ``BYOML_STORAGE_*``, a secret scope, or ``DefaultAzureCredential``),
folder by folder inside the window (:class:`~byoml.sources.blob.BlobListing`), so no JVM
handle is needed and it works under Spark Connect. Spark then reads the listed ``abfss://``
paths with the cluster's own storage access (Databricks has the hadoop-azure connector; a
local Spark has not, and the read then says so).

Where the driver has no storage credentials of its own (Unity Catalog grants Spark alone),
mount the container as an external Volume and give ``--source /Volumes/...``: a local folder
to byoml, listed and read on every compute.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, List, Mapping, Optional, Sequence, Tuple
from urllib.parse import urlparse

from ..credentials import StorageAuth, storage_auth
from ..errors import SourceError
from ..timewindow import TimeWindow
from .base import ExportSource
from .blob import BlobListing, BlobLocation, service_client
from .layout import ExportFile, WalkReport, iter_export_files, latest_folder_time
from .reader import ReadResult

NO_CONNECTOR_HINT = (
    "abfss:// paths need the hadoop-azure jars, which this Spark does not have (Databricks has them). "
    "Locally, use --source https://<account>.blob.core.windows.net/<container> (fetched through the "
    "Python SDK), or add hadoop-azure to spark.jars.packages"
)


@dataclass(frozen=True)
class AbfssLocation:
    """``abfss://<container>@<account>.dfs.<suffix>/<prefix>`` and its Blob endpoint."""

    container: str
    host: str
    prefix: str

    @classmethod
    def parse(cls, uri: str) -> "AbfssLocation":
        parsed = urlparse(uri)
        if parsed.scheme != "abfss" or "@" not in parsed.netloc:
            raise SourceError(f"'{uri}' is not an abfss:// URL (abfss://<container>@<account>.dfs.core.windows.net/<path>)")
        container, host = parsed.netloc.split("@", 1)
        return cls(container.lower(), host, parsed.path.strip("/"))

    @property
    def blob_account_url(self) -> str:
        return "https://" + self.host.replace(".dfs.", ".blob.", 1)

    def uri(self, name: str) -> str:
        return f"abfss://{self.container}@{self.host}/{name}"


class AbfssExportSource(ExportSource):
    """An export container at ``abfss://`` (``client``: a ``BlobServiceClient`` of its account, for tests)."""

    lists_folders = True

    def __init__(self, uri: str, options: Optional[Mapping[str, Any]] = None, auth: Optional[StorageAuth] = None,
                 client=None) -> None:
        self.uri = uri
        self.location = AbfssLocation.parse(uri)
        blob = BlobLocation(self.location.blob_account_url, self.location.container, self.location.prefix)
        service = client or service_client(blob, auth or storage_auth(options))
        self._listing = BlobListing(service.get_container_client(self.location.container))

    def list_files(self, table: str, window: TimeWindow) -> Tuple[List[ExportFile], WalkReport]:
        report = WalkReport()
        files = [ExportFile(self.location.uri(f.path), f.folder_time, f.size, f.etag)
                 for f in iter_export_files(self._listing, self.location.prefix, window, report)]
        return files, report

    def latest_time(self, table: str) -> Optional[dt.datetime]:
        return latest_folder_time(self._listing, self.location.prefix)

    @property
    def listed_prefixes(self) -> List[str]:
        return list(self._listing.listed)

    def read(self, spark, table: str, window: TimeWindow, columns: Optional[Sequence[str]] = None,
             required: Sequence[str] = (), build=None) -> ReadResult:
        try:
            return super().read(spark, table, window, columns, required, build)
        except Exception as exc:  # noqa: BLE001 - Spark's error for a file system it does not have
            text = str(exc)
            if "azurebfs.SecureAzureBlobFileSystem not found" in text or 'No FileSystem for scheme "abfss"' in text:
                raise SourceError(NO_CONNECTOR_HINT) from None
            raise
