"""Blob bytes fetched by the executors: the scaled-out read of an ``https://`` export.

The driver lists the blobs (pruned to the window) and hands the reader a :class:`BlobFetch`:
the list becomes a small DataFrame, packed into partitions of similar size, and each partition
downloads its blobs with ``azure-storage-blob`` (``mapInArrow``) and yields their lines,
numbered, to the one parser of :mod:`byoml.sources.reader`. Nothing is staged on the driver,
and no part of it needs a ``SparkContext``: it runs under Spark Connect as under classic Spark.

Executors sign in with :class:`FetchCredential`, the driver's credential in a form that
pickles: the connection string or SAS from the environment, or, for Azure AD, a bearer token
the driver fetched with ``DefaultAzureCredential`` (valid about an hour: a read that outlives
it fails with the storage's 401, to rerun). The secret is never part of a repr, a log line or
an error message.
"""
from __future__ import annotations

import heapq
import math
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Iterable, Iterator, List, Optional, Sequence, Tuple

from ..credentials import StorageAuth, redact, register_secret
from .lines import RemoteLines

STORAGE_SCOPE = "https://storage.azure.com/.default"
LINE_SCHEMA = "value string, _file string, _line long"
BATCH_LINES = 8192
BATCH_BYTES = 8 << 20
PARTITION_BYTES = 128 << 20  # bytes one task fetches, at most, unless that leaves cores idle
DEFAULT_PARTITIONS = 8  # when the session does not say how many tasks run at once
FETCH_THREADS = 4  # downloads a task keeps in flight: export blobs are small, and each request waits on the network
PREFETCH_MAX_BYTES = 64 << 20  # a larger range is streamed, never held whole


@dataclass(frozen=True)
class FetchCredential:
    """A storage credential that can travel to the executors (its ``repr`` hides the secret)."""

    kind: str  # "connection_string", "sas" or "token"
    secret: str = field(repr=False)
    expires_on: int = 0

    @classmethod
    def from_auth(cls, auth: StorageAuth) -> "FetchCredential":
        if auth.connection_string:
            return cls("connection_string", auth.connection_string)
        if auth.sas:
            return cls("sas", auth.sas)
        token = auth.token_credential.get_token(STORAGE_SCOPE)
        register_secret(token.token)
        return cls("token", token.token, int(token.expires_on))

    def service_client(self, account_url: str):
        """A ``BlobServiceClient`` of ``account_url`` (the connection string's own endpoint wins)."""
        from azure.storage.blob import BlobServiceClient

        if self.kind == "connection_string":
            return BlobServiceClient.from_connection_string(self.secret)
        if self.kind == "sas":
            return BlobServiceClient(account_url, credential=self.secret)
        return BlobServiceClient(account_url, credential=_Token(self.secret, self.expires_on))

    def hide(self, text: str) -> str:
        """``text`` without the secret (executors have no registry of secrets: it is named here)."""
        return redact(text.replace(self.secret, "***") if self.secret else text)

    def __repr__(self) -> str:
        return f"FetchCredential({self.kind}, ***)"


class _Token:
    """A ``TokenCredential`` over a bearer token the driver fetched."""

    def __init__(self, token: str, expires_on: int) -> None:
        self._token, self._expires_on = token, expires_on

    def get_token(self, *scopes: str, **kwargs):
        from azure.core.credentials import AccessToken

        return AccessToken(self._token, self._expires_on)

    def __repr__(self) -> str:
        return "_Token(***)"


@dataclass(frozen=True)
class BlobRange:
    """Bytes ``[offset, end)`` of blob ``path`` (``<container>/<name>``), to read as lines."""

    path: str
    offset: int
    end: int

    @property
    def size(self) -> int:
        return max(0, self.end - self.offset)


def blob_label(account_url: str, path: str, offset: int = 0) -> str:
    """The ``File`` of a blob's lines: its URL, and the byte its line numbers count from when not 0."""
    url = f"{account_url.rstrip('/')}/{path}"
    return f"{url}#from-byte={offset}" if offset else url


def pack(ranges: Sequence[BlobRange], partitions: int) -> List[List[BlobRange]]:
    """Deal ``ranges`` into at most ``partitions`` bins of similar byte size (largest first, each to the lightest bin)."""
    bins: List[List[BlobRange]] = [[] for _ in range(max(1, min(partitions, len(ranges))))]
    heap = [(0, i) for i in range(len(bins))]
    for r in sorted(ranges, key=lambda r: (-r.size, r.path, r.offset)):
        load, i = heapq.heappop(heap)
        bins[i].append(r)
        heapq.heappush(heap, (load + r.size, i))
    return [sorted(b, key=lambda r: (r.path, r.offset)) for b in bins if b]


def split_lines(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """The complete lines of a byte stream, without their ``\\n`` (or ``\\r\\n``); an unfinished
    last line (still being appended) is left for the next read."""
    rest = b""
    for chunk in chunks:
        data = rest + chunk if rest else chunk
        lines = data.split(b"\n")
        rest = lines.pop()
        for line in lines:
            yield line[:-1] if line.endswith(b"\r") else line


def _batches(lines: Iterator[Tuple[str, str, int]]):
    import pyarrow as pa

    values: List[str] = []
    files: List[str] = []
    numbers: List[int] = []
    size = 0
    for value, label, number in lines:
        values.append(value)
        files.append(label)
        numbers.append(number)
        size += len(value)
        if len(values) >= BATCH_LINES or size >= BATCH_BYTES:
            yield pa.RecordBatch.from_arrays([pa.array(values, pa.string()), pa.array(files, pa.string()),
                                              pa.array(numbers, pa.int64())], names=["value", "_file", "_line"])
            values, files, numbers, size = [], [], [], 0
    if values:
        yield pa.RecordBatch.from_arrays([pa.array(values, pa.string()), pa.array(files, pa.string()),
                                          pa.array(numbers, pa.int64())], names=["value", "_file", "_line"])


def _download(client, path: str, offset: int, end: int):
    container, _, name = path.partition("/")
    return client.get_blob_client(container, name).download_blob(offset=offset, length=end - offset, max_concurrency=1)


def _failure(credential: FetchCredential, path: str, offset: int, end: int, exc: Exception) -> RuntimeError:
    """One line naming the range, without the secret (it reaches the driver as the task's error)."""
    detail = credential.hide(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)
    return RuntimeError(f"byoml: downloading {path} (bytes {offset}-{end}) failed: {detail}")


def _fetched(client, credential: FetchCredential, ranges: Sequence[Tuple[str, int, int]], threads: int = FETCH_THREADS):
    """``(path, offset, chunks)`` in order: ranges up to :data:`PREFETCH_MAX_BYTES` are downloaded
    ``threads`` ahead (memory: that many ranges), larger ones streamed when their turn comes."""
    from azure.core.exceptions import AzureError

    def whole(path: str, offset: int, end: int) -> bytes:
        return _download(client, path, offset, end).readall()

    def streamed(path: str, offset: int, end: int) -> Iterator[bytes]:
        try:
            yield from _download(client, path, offset, end).chunks()
        except AzureError as exc:
            raise _failure(credential, path, offset, end, exc) from None

    def take(item: Tuple[str, int, int, Optional[Future]]):
        path, offset, end, future = item
        if future is None:
            return path, offset, streamed(path, offset, end)
        try:
            return path, offset, [future.result()]
        except AzureError as exc:
            raise _failure(credential, path, offset, end, exc) from None

    with ThreadPoolExecutor(max_workers=threads) as pool:
        ahead: deque = deque()
        for path, offset, end in ranges:
            small = end - offset <= PREFETCH_MAX_BYTES
            ahead.append((path, offset, end, pool.submit(whole, path, offset, end) if small else None))
            if len(ahead) > threads:
                yield take(ahead.popleft())
        while ahead:
            yield take(ahead.popleft())


def fetch_partition(batches, account_url: str, credential: FetchCredential):
    """``mapInArrow`` body: the lines of this partition's blob ranges, numbered from 1 in each range."""
    ranges = sorted((r for b in batches for r in zip(*(b.column(c).to_pylist() for c in ("path", "offset", "end")))))
    client = credential.service_client(account_url)

    def lines():
        for path, offset, chunks in _fetched(client, credential, [r for r in ranges if r[2] > r[1]]):
            label = blob_label(account_url, path, offset)
            for number, line in enumerate(split_lines(chunks), start=1):
                yield line.decode("utf-8", "replace"), label, number

    yield from _batches(lines())


def _task_slots(spark) -> int:
    """How many tasks the session runs at once, as far as its settings say."""
    for key in ("spark.default.parallelism", "spark.sql.shuffle.partitions"):
        try:
            value = spark.conf.get(key, None)
        except Exception:  # noqa: BLE001 - a setting the session does not expose
            value = None
        if value and str(value).isdigit() and int(value) > 0:
            return int(value)
    return DEFAULT_PARTITIONS


class BlobFetch(RemoteLines):
    """Blob ranges whose lines the executors fetch (see the module docstring)."""

    def __init__(self, account_url: str, credential: FetchCredential, ranges: Sequence[BlobRange],
                 partitions: Optional[int] = None) -> None:
        self.account_url = account_url
        self.credential = credential
        self.ranges = [r for r in ranges if r.size > 0]
        self.partitions = partitions

    def __len__(self) -> int:
        return len(self.ranges)

    @property
    def bytes(self) -> int:
        return sum(r.size for r in self.ranges)

    def only(self, files: Sequence[str]) -> "BlobFetch":
        wanted = set(files)
        kept = [r for r in self.ranges if blob_label(self.account_url, r.path, r.offset) in wanted]
        return BlobFetch(self.account_url, self.credential, kept, self.partitions)

    def partition_count(self, spark) -> int:
        """Enough partitions to keep every task slot busy, more when the bytes call for it."""
        if self.partitions:
            return self.partitions
        return max(_task_slots(spark), math.ceil(self.bytes / PARTITION_BYTES))

    def lines(self, spark):
        """``value``, ``_file``, ``_line`` of every line, fetched by the executors."""
        from pyspark.sql import functions as F

        bins = pack(self.ranges, self.partition_count(spark))
        rows = [(i, r.path, r.offset, r.end) for i, b in enumerate(bins) for r in b]
        files = spark.createDataFrame(rows, "bin int, path string, offset long, end long")
        # one row per partition, each joined with its bin's ranges (a broadcast join keeps the partitions)
        slots = spark.range(0, len(bins), 1, len(bins)).select(F.col("id").cast("int").alias("bin"))
        ranges = slots.join(F.broadcast(files), "bin").select("path", "offset", "end")
        account_url, credential = self.account_url, self.credential
        return ranges.mapInArrow(lambda batches: fetch_partition(batches, account_url, credential), LINE_SCHEMA)
