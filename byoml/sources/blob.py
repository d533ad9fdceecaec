"""A workspace data export in Azure Blob Storage, read with ``azure-storage-blob``.

``--source`` forms::

    https://<account>.blob.core.windows.net/<container>[/<prefix>]
    https://<account>.blob.core.windows.net            (finds the am-<table> container)
    http://127.0.0.1:10000/<account>/<container>[/<prefix>]   (path-style, the Azurite emulator)

Listing walks only the folders of the requested window, one ``walk_blobs(name_starts_with=
prefix, delimiter="/")`` call per folder (:class:`BlobListing`), never the whole container.
The listed blobs are streamed to a local staging folder (:mod:`byoml.sources.staging`) by a
few download threads, then read by the one Spark reader. Byte ranges make incremental
reads cheap: a blob that grew since the last run is fetched from its recorded size on.
"""
from __future__ import annotations

import datetime as dt
import ipaddress
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, List, Mapping, Optional, Sequence, Tuple
from urllib.parse import urlparse

from ..credentials import StorageAuth, storage_auth
from ..errors import SourceError
from ..paths import to_spark_path
from ..timewindow import TimeWindow
from .base import ExportSource
from .layout import (
    Entry,
    ExportFile,
    WalkReport,
    container_name,
    is_container_for,
    iter_export_files,
    latest_folder_time,
    table_from_container,
)
from .staging import StagingArea, truncate_to_last_newline
from .watermark import Piece

log = logging.getLogger(__name__)

READ_ROLE_HINT = (
    "give the identity the 'Storage Blob Data Reader' role on the storage account or container, "
    "or set BYOML_STORAGE_SAS to a SAS token with read and list permissions"
)


@dataclass(frozen=True)
class BlobLocation:
    """Where an export sits: account URL, container (may be empty) and a prefix inside it."""

    account_url: str
    container: str
    prefix: str

    @classmethod
    def parse(cls, uri: str) -> "BlobLocation":
        parsed = urlparse(uri)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise SourceError(f"'{uri}' is not a Blob Storage URL (https://<account>.blob.core.windows.net/<container>)")
        if parsed.query:
            raise SourceError(
                "do not put a SAS token in --source (it would show in logs and shell history); "
                "set BYOML_STORAGE_SAS instead"
            )
        parts = [p for p in parsed.path.split("/") if p]
        base = f"{parsed.scheme}://{parsed.netloc}"
        if _path_style(parsed.hostname):
            if not parts:
                raise SourceError(f"'{uri}': a path-style URL names the account first: http://127.0.0.1:10000/<account>/<container>")
            base, parts = f"{base}/{parts[0]}", parts[1:]
        container = parts[0].lower() if parts else ""  # Azure container names are lowercase
        return cls(base, container, "/".join(parts[1:]))


def _path_style(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return False


def service_client(location: BlobLocation, auth: StorageAuth, **kwargs: Any):
    """A ``BlobServiceClient`` for ``location`` with ``auth`` (options as keyword arguments)."""
    from azure.storage.blob import BlobServiceClient

    if auth.connection_string:
        client = BlobServiceClient.from_connection_string(auth.connection_string, **kwargs)
        if client.account_name and client.url.rstrip("/") != location.account_url.rstrip("/"):
            log.info("using the endpoint of BYOML_STORAGE_CONNECTION_STRING for account %s", client.account_name)
        return client
    credential = auth.sas if auth.sas else auth.token_credential
    return BlobServiceClient(location.account_url, credential=credential, **kwargs)


def _storage_error(exc: Exception, what: str) -> SourceError:
    from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ResourceNotFoundError

    from ..credentials import redact

    detail = redact(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)
    if isinstance(exc, ResourceNotFoundError):
        return SourceError(f"{what}: not found ({detail}); check the account and container in --source")
    if isinstance(exc, ClientAuthenticationError) or getattr(exc, "status_code", None) in (401, 403):
        return SourceError(f"{what}: access denied ({detail}); {READ_ROLE_HINT}")
    if isinstance(exc, HttpResponseError):
        return SourceError(f"{what}: storage answered HTTP {exc.status_code} ({detail})")
    return SourceError(f"{what}: {type(exc).__name__}: {detail}; check the account URL and the network")


class BlobListing:
    """:class:`~byoml.sources.layout.Listing` over one container; records every prefix it listed."""

    def __init__(self, container_client) -> None:
        self.client = container_client
        self.listed: List[str] = []

    def list_dir(self, path: str) -> Sequence[Entry]:
        from azure.core.exceptions import AzureError

        prefix = f"{path.strip('/')}/" if path.strip("/") else ""
        self.listed.append(prefix)
        out: List[Entry] = []
        try:
            for item in self.client.walk_blobs(name_starts_with=prefix or None, delimiter="/"):
                name = item.name[len(prefix):]
                if name.endswith("/"):
                    out.append(Entry(name[:-1], True))
                else:
                    out.append(Entry(name, False, int(item.size or 0), item.etag))
        except AzureError as exc:
            raise _storage_error(exc, f"listing {self.client.container_name}/{prefix}") from None
        return out

    def join(self, base: str, name: str) -> str:
        return f"{base.rstrip('/')}/{name}" if base.strip("/") else name


class BlobExportSource(ExportSource):
    """An export in a Blob container (or an account holding ``am-<table>`` containers).

    >>> src = BlobExportSource("https://acct.blob.core.windows.net/am-securityevent")  # doctest: +SKIP
    """

    lists_folders = True

    def __init__(
        self,
        uri: str,
        options: Optional[Mapping[str, Any]] = None,
        auth: Optional[StorageAuth] = None,
        client=None,
    ) -> None:
        options = dict(options or {})
        self.uri = uri
        self.location = BlobLocation.parse(uri)
        self.service = client or service_client(self.location, auth or storage_auth(options))
        self.staging_dir: Optional[str] = options.get("staging_dir")
        self.download_threads = int(options.get("download_threads", 8))
        self._staging: Optional[StagingArea] = None
        self.listings: List[BlobListing] = []
        self.staged_bytes = 0

    def describe(self) -> str:
        loc = self.location
        return f"{loc.account_url}/{loc.container}" + (f"/{loc.prefix}" if loc.prefix else "")

    # -- where the table is -------------------------------------------------
    def containers(self, table: str) -> List[str]:
        from azure.core.exceptions import AzureError

        loc = self.location
        if loc.container:
            other = table_from_container(loc.container)
            if other is not None and not is_container_for(loc.container, table):
                raise SourceError(f"container '{loc.container}' holds table {other}, not {table}; "
                                  f"point --source at {container_name(table)}")
            return [loc.container]
        try:
            names = [c.name for c in self.service.list_containers(name_starts_with="am-")]
        except AzureError as exc:
            raise _storage_error(exc, f"listing containers of {loc.account_url} (or name the container in --source)") from None
        matches = [n for n in names if is_container_for(n, table)]
        if not matches:
            raise SourceError(
                f"no container '{container_name(table)}' in {loc.account_url} (containers found: "
                f"{', '.join(names) or 'none'}); export the {table} table or give the container in --source"
            )
        return matches

    def _listing(self, container: str) -> BlobListing:
        listing = BlobListing(self.service.get_container_client(container))
        self.listings.append(listing)
        return listing

    def list_files(self, table: str, window: TimeWindow) -> Tuple[List[ExportFile], WalkReport]:
        report = WalkReport()
        files: List[ExportFile] = []
        for container in self.containers(table):
            fs = self._listing(container)
            for f in iter_export_files(fs, self.location.prefix, window, report):
                files.append(ExportFile(f"{container}/{f.path}", f.folder_time, f.size, f.etag))
        return files, report

    def latest_time(self, table: str) -> Optional[dt.datetime]:
        found = [latest_folder_time(self._listing(c), self.location.prefix) for c in self.containers(table)]
        found = [t for t in found if t is not None]
        return max(found) if found else None

    @property
    def listed_prefixes(self) -> List[str]:
        return [p for listing in self.listings for p in listing.listed]

    # -- staging ---------------------------------------------------------------
    def stage_piece(self, piece: Piece) -> Tuple[Optional[str], int]:
        """Stream bytes ``[offset, end)`` of the blob to the staging folder, cut after the last full line."""
        from azure.core.exceptions import AzureError

        if self._staging is None:
            self._staging = StagingArea(self.staging_dir)
        container, _, name = piece.path.partition("/")
        target = self._staging.path_for(piece.path, piece.offset)
        length = piece.end - piece.offset
        if length <= 0:
            return None, piece.offset
        try:
            downloader = self.service.get_blob_client(container, name).download_blob(
                offset=piece.offset, length=length, max_concurrency=1
            )
            with open(target, "wb") as fh:
                downloader.readinto(fh)
        except AzureError as exc:
            raise _storage_error(exc, f"downloading {piece.path}") from None
        kept = truncate_to_last_newline(target)
        self.staged_bytes += kept
        return (to_spark_path(target) if kept else None), piece.offset + kept

    def spark_paths(self, files: Sequence[ExportFile]) -> List[str]:
        pieces = [Piece(f.path, None, 0, f.size, f.etag) for f in files]
        return [path for path, _end in self._stage_many(pieces) if path]

    def _stage_many(self, pieces: Sequence[Piece]) -> List[Tuple[Optional[str], int]]:
        """Stage with a few download threads (order kept); each blob streams to its own file."""
        if len(pieces) <= 1 or self.download_threads <= 1:
            return [self._stage(p) for p in pieces]
        with ThreadPoolExecutor(max_workers=self.download_threads) as pool:
            return list(pool.map(self._stage, pieces))
