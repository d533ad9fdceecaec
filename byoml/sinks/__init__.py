"""Sinks: where scored rows go. :func:`open_sink` turns ``--sink`` into a sink object."""
from __future__ import annotations

from ..errors import ConfigError
from .local import LocalTableSink, SinkResult
from .rows import to_table_rows

__all__ = ["LocalTableSink", "SinkResult", "open_sink", "to_table_rows"]


def open_sink(uri: str):
    """A local folder (``file://`` optional)."""
    if uri.startswith("file://"):
        return LocalTableSink(uri[len("file://"):])
    if "://" in uri or uri == "loganalytics":
        raise ConfigError(f"sink '{uri}' is not supported; give a local folder")
    return LocalTableSink(uri)
