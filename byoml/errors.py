"""Exceptions byoml raises on purpose.

Every error a user can cause (bad arguments, bad input data, a model from the
wrong template) is a :class:`ByomlError` whose message says what to fix. The CLI
prints the message and exits non-zero, without a traceback.
"""
from __future__ import annotations


class ByomlError(Exception):
    """Base class: an error with a message meant for the person running byoml."""


class ConfigError(ByomlError):
    """A configuration file or option is invalid."""


class SourceError(ByomlError):
    """The source cannot be opened or holds no readable export."""


class SchemaError(ByomlError):
    """The data does not have the columns a table or template needs."""


class MissingColumnError(SchemaError):
    """A required column is absent from every record read."""

    def __init__(self, table: str, column: str, hint: str = "") -> None:
        self.table = table
        self.column = column
        msg = f"table {table}: required column '{column}' is missing from every record read"
        super().__init__(msg + (f"; {hint}" if hint else ""))


class EmptyWindowError(ByomlError):
    """No usable records were found in the requested time window."""


class ThinDataError(ByomlError):
    """The training window holds less data than the template's statistics need (``train --force`` overrides)."""


class ModelError(ByomlError):
    """A model directory is missing, corrupt, or made by another template/version."""


class JavaNotFoundError(ByomlError):
    """Local Spark needs a Java runtime and none was found."""


class SeriesError(ByomlError):
    """A time series cannot be fitted (too short, constant) or scored."""


class SinkError(ByomlError):
    """Results could not be written (configuration, permissions, or delivery)."""


class AuthorizationError(SinkError):
    """The service refused the credential (HTTP 401/403): the message names the role to grant."""


class DeliveryError(SinkError):
    """Some chunks were not delivered; they are dead-lettered or still pending in the ledger."""
