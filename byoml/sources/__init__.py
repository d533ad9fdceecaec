"""Sources: where exported Log Analytics tables come from.

:func:`open_source` turns a ``--source`` string into an :class:`ExportSource`;
every source reads through the same :mod:`byoml.sources.reader`.
"""
from __future__ import annotations

from ..errors import SourceError
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


def open_source(uri: str) -> ExportSource:
    """Open a ``--source``: a local folder or file (``file://`` optional)."""
    if uri.startswith("file://"):
        return LocalExportSource(uri[len("file://"):])
    if "://" in uri:
        scheme = uri.split("://", 1)[0]
        raise SourceError(f"source scheme '{scheme}://' is not supported; give a local export folder")
    return LocalExportSource(uri)
