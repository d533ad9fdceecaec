"""Sinks: where scored rows go. :func:`open_sink` turns ``--sink`` into a sink object."""
from __future__ import annotations

from typing import Any, Mapping, Optional

from ..errors import ConfigError
from .base import Sink, SinkResult
from .local import LocalTableSink
from .rows import to_table_rows

__all__ = ["LocalTableSink", "Sink", "SinkResult", "open_sink", "to_table_rows"]

LOG_ANALYTICS = "loganalytics"


def open_sink(uri: str, options: Optional[Mapping[str, Any]] = None) -> Sink:
    """``loganalytics`` (Logs Ingestion API, configured by the ``sink:`` section) or a local folder."""
    if uri.lower() in (LOG_ANALYTICS, LOG_ANALYTICS + "://"):
        from .log_analytics import LogAnalyticsSink

        return LogAnalyticsSink(options)
    if uri.startswith("file://"):
        return LocalTableSink(uri[len("file://"):])
    if "://" in uri:
        raise ConfigError(f"sink '{uri}' is not supported; give 'loganalytics' or a local folder")
    return LocalTableSink(uri)
