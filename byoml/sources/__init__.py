"""Sources: where exported Log Analytics tables come from.

:func:`open_source` turns a ``--source`` string into an :class:`ExportSource`;
every source reads through the same :mod:`byoml.sources.reader`.
"""
from __future__ import annotations

from typing import Any, Mapping, Optional

from ..credentials import reject_secret_options
from ..errors import ConfigError, SourceError
from .base import ExportSource
from .layout import ExportFile, WalkReport
from .local import LocalExportSource
from .reader import ReadResult, ReadStats, read_export_files
from .schemas import KNOWN_TABLES, canonical_table_name, declared_schema

__all__ = [
    "ExportSource",
    "ExportFile",
    "LocalExportSource",
    "ReadResult",
    "ReadStats",
    "WalkReport",
    "KNOWN_TABLES",
    "canonical_table_name",
    "declared_schema",
    "open_source",
    "read_export_files",
]

SOURCE_OPTIONS = {
    "store", "watermark", "late_hours", "staging_dir", "fetch_partitions", "secret_scope", "secret_key", "secret_kind",
    # Event Hubs
    "checkpoint_url", "checkpoint_container", "max_wait_seconds", "time_limit_seconds", "consumer_group",
    # la-query
    "table", "query", "query_endpoint", "max_rows", "max_bytes", "slice_minutes", "server_timeout",
    "connection_verify",
}


def open_source(uri: Optional[str], options: Optional[Mapping[str, Any]] = None) -> ExportSource:
    """Open a ``--source``; ``options`` is the config's ``source:`` section.

    ``options["store"]`` (``--store DIR``): read through the day store in that folder
    (:mod:`byoml.daystore`), ingesting from ``uri`` first; without ``uri``, read only the store.

    * a local folder or file (``file://`` optional);
    * ``https://<account>.blob.core.windows.net/<container>[/<prefix>]`` or the path-style
      emulator form ``http://127.0.0.1:10000/<account>/<container>``;
    * ``abfss://<container>@<account>.dfs.core.windows.net/[<path>]`` (listed through the Blob
      endpoint, read by Spark; Databricks);
    * ``eventhub://<namespace>/<hub>[?consumer_group=...]``;
    * ``la-query://<workspace-id>`` (the Log Analytics query API).
    """
    options = dict(options or {})
    reject_secret_options(options)
    unknown = sorted(set(options) - SOURCE_OPTIONS)
    if unknown:
        raise ConfigError(f"unknown source option(s) {', '.join(unknown)}; valid: {', '.join(sorted(SOURCE_OPTIONS))}")
    store = options.pop("store", None)
    if store:
        return _open_store(uri, str(store), options)
    if not uri:
        raise ConfigError("give --source (an export), or --store (a day store filled by 'byoml ingest')")
    scheme = uri.split("://", 1)[0].lower() if "://" in uri else ""
    if scheme in ("http", "https"):
        from .blob import BlobExportSource

        source: ExportSource = BlobExportSource(uri, options)
    elif scheme == "abfss":
        from .abfss import AbfssExportSource

        source = AbfssExportSource(uri, options)
    elif scheme == "eventhub":
        from .eventhub import EventHubSource

        return EventHubSource.from_uri(uri, options)
    elif scheme == "la-query":
        from .la_query import LogAnalyticsQuerySource

        return LogAnalyticsQuerySource.from_uri(uri, options)
    elif scheme in ("", "file"):
        source = LocalExportSource(uri[len("file://"):] if scheme == "file" else uri)
        source.staging_dir = options.get("staging_dir")
    else:
        raise SourceError(
            f"source scheme '{scheme}://' is not supported; give a local folder, an https:// Blob container, "
            "abfss://, eventhub:// or la-query://"
        )
    if options.get("watermark"):
        source.watermark_dir = str(options["watermark"])
        source.late_hours = float(options.get("late_hours", source.late_hours))
    return source


def _open_store(uri: Optional[str], store: str, options: Mapping[str, Any]) -> ExportSource:
    """The day store in ``store``, ingesting from the export ``uri`` (None: the store only)."""
    from ..daystore import StoreSource
    from .watermark import DEFAULT_LATE_HOURS

    if options.get("watermark"):
        raise ConfigError("source.watermark and a store do not go together: the store's manifest records what it "
                          "ingested, per day (drop watermark; late_hours still sets how far back it looks)")
    scheme = uri.split("://", 1)[0].lower() if uri and "://" in uri else ""
    if scheme in ("eventhub", "la-query"):
        raise ConfigError(f"the day store ingests export folders (a local folder, Blob, abfss://), not {scheme}://")
    export = open_source(uri, options) if uri else None
    return StoreSource(store, export, float(options.get("late_hours", DEFAULT_LATE_HOURS)))
