"""``--source eventhub://<namespace>/<hub>[?consumer_group=...]``: a bounded batch read of an export hub.

The workspace export sends each table to a hub (``am-<table>``) as events whose body is
``{"records":[...]}`` or a bare record. A run:

1. reads the consumer group's checkpoints from Blob (``azure-eventhub-checkpointstoreblob``)
   and each partition's last sequence number *at start*;
2. receives every partition from its checkpoint up to that number (later events are left for
   the next run), or until ``time_limit_seconds``; bodies are normalised to one JSON line each
   and streamed to staging files that the one Spark reader reads;
3. pins the ranges it read (a ``byoml-pending`` blob beside the checkpoints) and commits the
   checkpoints only after the run's output is written. A failed run leaves them pinned: the
   rerun reads the very same events (same RunId, so the sink's ledger sends nothing twice).

The client is given explicit starting positions and no checkpoint store, so it claims no
partition ownership: run one job per consumer group at a time.

There is no local Event Hubs peer here: the tests drive this logic through a fake of the
``EventHubConsumerClient`` interface (``get_partition_ids``, ``get_partition_properties``,
``receive_batch``, ``close``) and the real checkpoint store on Azurite. :func:`receive_ranges`
is the only code that talks to the client.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple
from urllib.parse import parse_qs, urlparse

from ..credentials import register_secret, storage_auth
from ..errors import ConfigError, EmptyWindowError, SourceError
from ..paths import to_spark_path
from ..timewindow import TimeWindow, parse_time
from .base import ExportSource
from .layout import ExportFile, WalkReport
from .staging import StagingArea
from .watermark import hour_floor

log = logging.getLogger(__name__)

CONNECTION_STRING_ENV = "BYOML_EVENTHUB_CONNECTION_STRING"


@dataclass
class PartitionRange:
    """Events ``(after, last]`` of one partition (``after`` None: from the start of the stream)."""

    partition_id: str
    after: Optional[int]
    last: int
    last_offset: Optional[str] = None
    read_to: Optional[int] = None  # sequence number of the last event received this run

    def to_dict(self) -> dict:
        return {"partition_id": self.partition_id, "after": self.after, "last": self.last, "last_offset": self.last_offset}


@dataclass
class Received:
    """What one bounded receive produced."""

    ranges: Dict[str, PartitionRange]
    files: List[str] = field(default_factory=list)
    events: int = 0
    records: int = 0
    first: Optional[str] = None  # min / max TimeGenerated text seen
    last: Optional[str] = None
    timed_out: bool = False


def receive_ranges(client, ranges: Dict[str, PartitionRange], on_event: Callable[[str, Any], None],
                   time_limit: float, max_wait: float = 5.0) -> bool:
    """Receive each partition's ``(after, last]`` with ``client.receive_batch``; True if cut by the time limit.

    ``on_event(partition_id, event)`` sees each event once, in order per partition; events past
    ``last`` are ignored. The receive runs in a worker thread and is closed when every
    partition is done (or at the time limit).
    """
    pending = {pid for pid, r in ranges.items() if r.after is None or r.after < r.last}
    if not pending:
        return False
    done = threading.Event()
    lock = threading.Lock()
    errors: List[BaseException] = []

    def on_batch(partition_context, events) -> None:
        pid = partition_context.partition_id
        r = ranges.get(pid)
        if r is None:
            return
        with lock:
            for event in events:
                if event.sequence_number > r.last or (r.after is not None and event.sequence_number <= r.after):
                    continue
                on_event(pid, event)
                r.read_to = event.sequence_number
                r.last_offset = str(event.offset)
            if r.read_to is not None and r.read_to >= r.last:
                pending.discard(pid)
            if not pending:
                done.set()

    def on_error(partition_context, error) -> None:
        errors.append(error)
        done.set()

    starting = {pid: (r.after if r.after is not None else "-1") for pid, r in ranges.items() if pid in pending}
    inclusive = {pid: r.after is None for pid, r in ranges.items() if pid in pending}
    worker = threading.Thread(
        target=client.receive_batch,
        kwargs=dict(on_event_batch=on_batch, on_error=on_error, starting_position=starting,
                    starting_position_inclusive=inclusive, max_wait_time=max_wait, max_batch_size=300),
        daemon=True,
    )
    worker.start()
    finished = done.wait(timeout=time_limit)
    client.close()
    worker.join(timeout=30)
    if errors:
        raise SourceError(f"Event Hubs receive failed: {type(errors[0]).__name__}: {errors[0]}")
    return not finished


def normalise_body(body: str) -> Tuple[str, int, Optional[str], Optional[str]]:
    """One JSON line for a body, its record count and min/max ``TimeGenerated`` text."""
    try:
        data = json.loads(body)
    except ValueError:
        return body.replace("\r", " ").replace("\n", " "), 1, None, None  # the reader quarantines it
    if isinstance(data, list):  # a bare array of records: give the reader the export's wrapper shape
        data = {"records": data}
    records = data.get("records") if isinstance(data, dict) and isinstance(data.get("records"), list) else [data]
    times = [r.get("TimeGenerated") for r in records if isinstance(r, dict) and isinstance(r.get("TimeGenerated"), str)]
    return json.dumps(data, separators=(",", ":")), len(records), min(times, default=None), max(times, default=None)


class EventHubSource(ExportSource):
    """A Log Analytics export hub read in bounded batches with Blob checkpoints."""

    wrapped_bodies = True  # staged event bodies are {"records":[...]}

    def __init__(self, namespace: str, hub: str, consumer_group: str = "$Default",
                 options: Optional[Mapping[str, Any]] = None, client=None, checkpoint_container=None) -> None:
        options = dict(options or {})
        self.fqns = namespace if "." in namespace else f"{namespace}.servicebus.windows.net"
        self.hub = hub
        self.consumer_group = options.get("consumer_group", consumer_group)
        self.uri = f"eventhub://{self.fqns}/{hub}?consumer_group={self.consumer_group}"
        self.time_limit = float(options.get("time_limit_seconds", 600))
        self.max_wait = float(options.get("max_wait_seconds", 5))
        self.staging_dir = options.get("staging_dir")
        self._client = client
        self._client_factory = lambda: _consumer_client(self.fqns, hub, self.consumer_group)
        self.container = checkpoint_container if checkpoint_container is not None else _checkpoint_container(options)
        from azure.eventhub.extensions.checkpointstoreblob import BlobCheckpointStore

        self.store = BlobCheckpointStore(None, self.container.container_name, container_client=self.container)
        self._received: Optional[Received] = None
        self._pinned: Optional[dict] = None

    @classmethod
    def from_uri(cls, uri: str, options: Optional[Mapping[str, Any]] = None) -> "EventHubSource":
        parsed = urlparse(uri)
        hub = parsed.path.strip("/")
        if not parsed.netloc or not hub or "/" in hub:
            raise ConfigError("use eventhub://<namespace>/<hub>[?consumer_group=...]")
        group = parse_qs(parsed.query).get("consumer_group", ["$Default"])[0]
        return cls(parsed.netloc, hub, group, options)

    # -- checkpoints and the pinned increment -----------------------------------
    @property
    def _pending_blob(self) -> str:
        return f"byoml-pending/{self.fqns}/{self.hub}/{self.consumer_group}.json".lower()

    def _load_pending(self) -> Optional[dict]:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            return json.loads(self.container.download_blob(self._pending_blob).readall())
        except ResourceNotFoundError:
            return None

    def _plan(self, client) -> Dict[str, PartitionRange]:
        checkpoints = {c["partition_id"]: c for c in self.store.list_checkpoints(self.fqns, self.hub, self.consumer_group)}
        ranges = {}
        for pid in client.get_partition_ids():
            props = client.get_partition_properties(pid)
            if props.get("is_empty"):
                continue
            after = checkpoints[pid]["sequence_number"] if pid in checkpoints else None
            last = int(props["last_enqueued_sequence_number"])
            if after is None or after < last:
                ranges[pid] = PartitionRange(pid, after, last)
        return ranges

    def receive(self) -> Received:
        """Receive (once per run) what is new, or exactly the pinned ranges of an unfinished run."""
        if self._received is not None:
            return self._received
        pinned = self._load_pending()
        client = self._client or self._client_factory()
        if pinned:
            ranges = {d["partition_id"]: PartitionRange(d["partition_id"], d["after"], d["last"]) for d in pinned["ranges"]}
        else:
            ranges = self._plan(client)
        if not ranges:
            client.close()
            raise EmptyWindowError(f"no new events in {self.uri} since the last run")
        staging = StagingArea(self.staging_dir)
        got = Received(ranges)
        handles: Dict[str, Any] = {}

        def on_event(pid: str, event) -> None:
            if pid not in handles:
                path = staging.path_for(f"eventhub/{self.hub}/partition-{pid}.json")
                handles[pid] = open(path, "w", encoding="utf-8")
                got.files.append(path)
            line, n, lo, hi = normalise_body(event.body_as_str(encoding="UTF-8"))
            handles[pid].write(line + "\n")
            got.events += 1
            got.records += n
            if lo is not None:
                got.first = lo if got.first is None else min(got.first, lo)
                got.last = hi if got.last is None else max(got.last, hi)

        try:
            got.timed_out = receive_ranges(client, ranges, on_event, self.time_limit, self.max_wait)
        finally:
            for fh in handles.values():
                fh.close()
        if pinned:
            short = [r.partition_id for r in ranges.values() if r.read_to != r.last]
            if short:
                raise SourceError(f"the pinned events of an unfinished run could not all be read again within "
                                  f"{self.time_limit:.0f}s (partitions {', '.join(short)}); rerun, or raise "
                                  "source.time_limit_seconds")
        else:  # a time limit cuts each partition where it got to
            for r in ranges.values():
                r.last = r.read_to if r.read_to is not None else r.last
            got.ranges = {pid: r for pid, r in ranges.items() if r.read_to is not None}
        if got.events == 0:
            raise EmptyWindowError(f"no new events in {self.uri} since the last run")
        self._received = got
        if got.timed_out:
            log.warning("Event Hubs read stopped at the %.0fs time limit; the rest is read next run", self.time_limit)
        return got

    def _increment_id(self, got: Received) -> str:
        text = json.dumps(sorted([r.partition_id, r.after, r.last] for r in got.ranges.values()), default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def incremental_window(self, table: str) -> Optional[TimeWindow]:
        got = self.receive()
        if got.first is None:
            raise SourceError(f"the events of {self.uri} carry no TimeGenerated: cannot place them in time")
        return TimeWindow(hour_floor(parse_time(got.first)), hour_floor(parse_time(got.last)) + dt.timedelta(hours=1))

    def begin(self, table: str, window: TimeWindow) -> str:
        got = self.receive()
        pending = {"ranges": [r.to_dict() for r in got.ranges.values()], "window": window.to_dict()}
        self.container.upload_blob(self._pending_blob, json.dumps(pending), overwrite=True)
        self._pinned = pending
        return self._increment_id(got)

    def commit(self) -> None:
        """Move the consumer group's checkpoints past what this run read; drop the pin."""
        got = self._received
        if got is None:
            return
        for r in got.ranges.values():
            if r.last_offset is None:
                continue
            self.store.update_checkpoint({
                "fully_qualified_namespace": self.fqns, "eventhub_name": self.hub, "consumer_group": self.consumer_group,
                "partition_id": r.partition_id, "sequence_number": r.last, "offset": r.last_offset,
            })
        if self._pinned is not None:
            self.container.delete_blob(self._pending_blob)
            self._pinned = None

    # -- the source interface ------------------------------------------------------
    def list_files(self, table: str, window: TimeWindow) -> Tuple[List[ExportFile], WalkReport]:
        got = self.receive()
        return [ExportFile(p, None, os.path.getsize(p)) for p in got.files], WalkReport(flat=True)

    def spark_paths(self, files) -> List[str]:
        return [to_spark_path(f.path) for f in files]

    def latest_time(self, table: str) -> Optional[dt.datetime]:
        got = self.receive()
        return parse_time(got.last) if got.last else None


def _consumer_client(fqns: str, hub: str, consumer_group: str):
    """The real ``EventHubConsumerClient``: a connection string from the environment, or Azure AD."""
    from azure.eventhub import EventHubConsumerClient

    conn = os.environ.get(CONNECTION_STRING_ENV, "").strip()
    if conn:
        register_secret(conn)
        return EventHubConsumerClient.from_connection_string(conn, consumer_group=consumer_group, eventhub_name=hub)
    from azure.identity import DefaultAzureCredential

    return EventHubConsumerClient(fully_qualified_namespace=fqns, eventhub_name=hub, consumer_group=consumer_group,
                                  credential=DefaultAzureCredential())


def _checkpoint_container(options: Mapping[str, Any]):
    """The Blob container of the checkpoints (``checkpoint_url`` + ``checkpoint_container``)."""
    from .blob import BlobLocation, service_client

    url, name = options.get("checkpoint_url"), options.get("checkpoint_container")
    if not url or not name:
        raise ConfigError(
            "an eventhub:// source needs source.checkpoint_url (the storage account URL) and "
            "source.checkpoint_container: offsets are checkpointed in Blob so each run reads each event once"
        )
    location = BlobLocation.parse(str(url).rstrip("/") + "/" + str(name))
    client = service_client(location, storage_auth(options)).get_container_client(location.container)
    from azure.core.exceptions import AzureError, ResourceExistsError

    from .blob import _storage_error

    try:
        client.create_container()
    except ResourceExistsError:
        pass
    except AzureError as exc:
        raise _storage_error(exc, f"opening the checkpoint container {location.container}") from None
    return client
