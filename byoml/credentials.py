"""Credentials for the Azure connectors, and the rule that secrets never reach a log line.

* Azure Monitor (Logs Ingestion, Log Analytics query): ``DefaultAzureCredential`` by
  default, or a bearer token from ``BYOML_ACCESS_TOKEN`` for pipelines that fetch one.
* Blob Storage (and the Event Hubs checkpoint store): ``BYOML_STORAGE_CONNECTION_STRING``,
  ``BYOML_STORAGE_SAS``, a Databricks secret scope named in the ``source:`` config, or
  ``DefaultAzureCredential``. Never from the command line.

Every secret read here is registered with :func:`register_secret`; :class:`RedactingFilter`
(installed by the CLI on the root logger's handlers) and :func:`redact` blank them out of
log records and error messages.
"""
from __future__ import annotations

import logging
import os
import re
import threading
import time
from dataclasses import dataclass
from typing import Any, Mapping, Optional, Set

from .errors import ConfigError

ACCESS_TOKEN_ENV = "BYOML_ACCESS_TOKEN"
STORAGE_CONNECTION_STRING_ENV = "BYOML_STORAGE_CONNECTION_STRING"
STORAGE_SAS_ENV = "BYOML_STORAGE_SAS"
MONITOR_SCOPE = "https://monitor.azure.com/.default"
REDACTED = "***"

_SECRETS: Set[str] = set()
_LOCK = threading.Lock()
# Secret-looking fragments that may come from elsewhere (an SDK message quoting a URL or a header).
_PATTERNS = (
    re.compile(r"(?i)(sig=)[^&\s\"']+"),
    re.compile(r"(?i)(AccountKey=)[^;\s\"']+"),
    re.compile(r"(?i)(SharedAccessKey=)[^;\s\"']+"),
    re.compile(r"(?i)(Bearer\s+)[A-Za-z0-9._~+/=-]+"),
)


def register_secret(value: Optional[str]) -> None:
    """Remember ``value`` (and its parts, for connection strings) so it is never logged."""
    if not value or len(value) < 6:
        return
    with _LOCK:
        _SECRETS.add(value)
        for part in re.split(r"[;&?]", value):
            key, _, secret = part.partition("=")
            if secret and len(secret) >= 6 and key.lower() in ("accountkey", "sig", "sharedaccesskey"):
                _SECRETS.add(secret)


def redact(text: str) -> str:
    """``text`` with every registered secret and secret-looking fragment replaced by ``***``."""
    if not text:
        return text
    with _LOCK:
        secrets = sorted(_SECRETS, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + REDACTED, text)
    return text


class RedactingFilter(logging.Filter):
    """A logging filter that renders the message and removes secrets from it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed log call: leave it to the handler
            return True
        cleaned = redact(message)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        return True


def install_log_redaction(logger: Optional[logging.Logger] = None) -> None:
    """Add :class:`RedactingFilter` to every handler of ``logger`` (default: root)."""
    logger = logger or logging.getLogger()
    for handler in logger.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())


class StaticTokenCredential:
    """A ``TokenCredential`` over a bearer token fetched by someone else (``BYOML_ACCESS_TOKEN``)."""

    def __init__(self, token: str, expires_in: int = 3600) -> None:
        register_secret(token)
        self._token = token
        self._expires_on = int(time.time()) + expires_in

    def get_token(self, *scopes: str, **kwargs: Any):
        from azure.core.credentials import AccessToken

        return AccessToken(self._token, self._expires_on)

    def close(self) -> None:
        pass

    def __repr__(self) -> str:
        return "StaticTokenCredential(***)"


def monitor_credential():
    """The credential for Azure Monitor: ``BYOML_ACCESS_TOKEN`` if set, else ``DefaultAzureCredential``."""
    token = os.environ.get(ACCESS_TOKEN_ENV, "").strip()
    if token:
        return StaticTokenCredential(token)
    from azure.identity import DefaultAzureCredential

    return DefaultAzureCredential()


@dataclass
class StorageAuth:
    """How to reach a storage account: exactly one of the three is set."""

    connection_string: Optional[str] = None
    sas: Optional[str] = None
    token_credential: Any = None

    @property
    def kind(self) -> str:
        if self.connection_string:
            return "connection string"
        if self.sas:
            return "SAS token"
        return "Azure AD credential"

    def __repr__(self) -> str:  # never print the secret
        return f"StorageAuth({self.kind})"


def databricks_secret(scope: str, key: str) -> str:
    """Read a secret from a Databricks secret scope (only on Databricks)."""
    try:
        from pyspark.dbutils import DBUtils  # type: ignore[import-not-found]

        from .spark import get_spark

        value = DBUtils(get_spark()).secrets.get(scope=scope, key=key)
    except ImportError:
        raise ConfigError(
            f"source.secret_scope '{scope}' needs Databricks (dbutils); elsewhere set "
            f"{STORAGE_CONNECTION_STRING_ENV} or {STORAGE_SAS_ENV}"
        ) from None
    register_secret(value)
    return value


SECRET_OPTION_NAMES = ("connection_string", "sas", "sas_token", "account_key", "key", "token", "access_token",
                       "client_secret", "password")


def reject_secret_options(options: Mapping[str, Any], section: str = "source") -> None:
    """Secrets are never read from a config file (it gets committed, copied and printed)."""
    for name in options:
        if str(name).lower() in SECRET_OPTION_NAMES:
            raise ConfigError(
                f"{section}.{name} must not be written in a config file; set {STORAGE_CONNECTION_STRING_ENV} "
                f"or {STORAGE_SAS_ENV} (storage) or {ACCESS_TOKEN_ENV} (Azure Monitor) in the environment, "
                "use a Databricks secret scope, or let DefaultAzureCredential sign in"
            )


def storage_auth(options: Optional[Mapping[str, Any]] = None) -> StorageAuth:
    """Storage credentials from the environment, a Databricks secret scope, or Azure AD.

    ``options`` is the ``source:`` config section: ``secret_scope`` plus ``secret_key`` and
    ``secret_kind`` (``sas`` or ``connection_string``) name a Databricks secret.
    """
    options = options or {}
    reject_secret_options(options)
    conn = os.environ.get(STORAGE_CONNECTION_STRING_ENV, "").strip()
    if conn:
        register_secret(conn)
        return StorageAuth(connection_string=conn)
    sas = os.environ.get(STORAGE_SAS_ENV, "").strip()
    if sas:
        register_secret(sas)
        return StorageAuth(sas=sas.lstrip("?"))
    scope = options.get("secret_scope")
    if scope:
        key = options.get("secret_key")
        kind = options.get("secret_kind", "sas")
        if not key or kind not in ("sas", "connection_string"):
            raise ConfigError("source.secret_scope needs secret_key and secret_kind (sas or connection_string)")
        value = databricks_secret(str(scope), str(key))
        return StorageAuth(connection_string=value) if kind == "connection_string" else StorageAuth(sas=value.lstrip("?"))
    from azure.identity import DefaultAzureCredential

    return StorageAuth(token_credential=DefaultAzureCredential())
