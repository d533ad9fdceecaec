"""The rows byoml sends to a ``_CL`` table, in one place for every sink.

Timestamps become ISO-8601 UTC strings with ``Z`` (what the Logs Ingestion API
expects for ``datetime`` columns); every other column keeps its JSON type.
"""
from __future__ import annotations

from typing import Iterable, List

from ..errors import SchemaError

TIMESTAMP_FORMAT = "yyyy-MM-dd'T'HH:mm:ss.SSSSSS'Z'"
MAX_COLUMN_NAME = 45
RESERVED = {"_ResourceId", "id", "_SubscriptionId", "Type", "UniqueId", "Title"}


def check_columns(names: Iterable[str]) -> None:
    """Column names a custom table accepts (``TenantId`` is renamed by the shipped DCR transform)."""
    for name in names:
        if name in RESERVED:
            raise SchemaError(f"output column '{name}' is reserved in Log Analytics custom tables; rename it")
        if len(name) > MAX_COLUMN_NAME:
            raise SchemaError(f"output column '{name}' is longer than {MAX_COLUMN_NAME} characters")


def to_table_rows(df):
    """``df`` with timestamp columns formatted for Log Analytics; column order kept."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    check_columns(df.columns)
    cols: List = []
    for f in df.schema.fields:
        if isinstance(f.dataType, (T.TimestampType, getattr(T, "TimestampNTZType", T.TimestampType))):
            cols.append(F.date_format(F.col(f.name), TIMESTAMP_FORMAT).alias(f.name))
        elif isinstance(f.dataType, T.DateType):
            cols.append(F.date_format(F.col(f.name), "yyyy-MM-dd").alias(f.name))
        else:
            cols.append(F.col(f.name))
    return df.select(*cols)
