"""A fake of the ``azure.eventhub.EventHubConsumerClient`` interface byoml uses.

No Event Hubs peer runs on this machine (the emulator needs Docker; AMQP brokers lack the
Event Hubs management nodes). This fake keeps the same method names, keyword arguments and
callback shapes as the SDK: ``get_partition_ids()``, ``get_partition_properties(pid)``,
``receive_batch(on_event_batch, on_error=, starting_position=, starting_position_inclusive=,
max_wait_time=, max_batch_size=)`` blocking until ``close()``. Events may be enqueued while a
receive runs, as on a live hub.
"""
from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional


@dataclass
class FakeEventData:
    body: str
    sequence_number: int
    offset: str
    enqueued_time: dt.datetime

    def body_as_str(self, encoding: str = "UTF-8") -> str:
        return self.body


@dataclass
class FakePartitionContext:
    partition_id: str
    eventhub_name: str = "hub"
    consumer_group: str = "$Default"


class FakeHub:
    """The partitions of one hub, shared by the clients of successive runs."""

    def __init__(self, partitions: int = 2) -> None:
        self.events: Dict[str, List[FakeEventData]] = {str(i): [] for i in range(partitions)}
        self.lock = threading.Lock()

    def send(self, partition: str, body: str) -> FakeEventData:
        with self.lock:
            events = self.events[partition]
            seq = len(events)
            event = FakeEventData(body, seq, str(seq * 1000), dt.datetime.now(dt.timezone.utc))
            events.append(event)
            return event


class FakeConsumerClient:
    def __init__(self, hub: FakeHub, batch_delay: float = 0.0,
                 during_receive: Optional[Callable[[], None]] = None, max_batch: Optional[int] = None) -> None:
        """``batch_delay`` and ``max_batch`` make a slow hub (small batches, far apart)."""
        self.hub = hub
        self.max_batch = max_batch
        self.batch_delay = batch_delay
        self.during_receive = during_receive
        self.closed = threading.Event()
        self.calls: List[dict] = []

    def get_partition_ids(self) -> List[str]:
        return list(self.hub.events)

    def get_partition_properties(self, partition_id: str) -> dict:
        with self.hub.lock:
            events = self.hub.events[partition_id]
            return {"eventhub_name": "hub", "id": partition_id, "beginning_sequence_number": 0,
                    "last_enqueued_sequence_number": events[-1].sequence_number if events else -1,
                    "last_enqueued_offset": events[-1].offset if events else "-1", "is_empty": not events}

    def receive_batch(self, on_event_batch, *, on_error=None, starting_position=None, starting_position_inclusive=False,
                      max_wait_time=None, max_batch_size=300, **kwargs) -> None:
        self.calls.append({"starting_position": starting_position, "inclusive": starting_position_inclusive,
                           "max_wait_time": max_wait_time, "max_batch_size": max_batch_size})
        if self.during_receive is not None:
            self.during_receive()
        if self.max_batch:
            max_batch_size = min(max_batch_size, self.max_batch)
        positions = {}
        for pid, pos in (starting_position or {}).items():
            inclusive = starting_position_inclusive[pid] if isinstance(starting_position_inclusive, dict) else starting_position_inclusive
            positions[pid] = 0 if pos == "-1" else int(pos) + (0 if inclusive else 1)
        while not self.closed.is_set():
            for pid in list(positions):
                with self.hub.lock:
                    batch = self.hub.events[pid][positions[pid]: positions[pid] + max_batch_size]
                positions[pid] += len(batch)
                on_event_batch(FakePartitionContext(pid), batch)
                if self.batch_delay:
                    time.sleep(self.batch_delay)
            time.sleep(0.01)

    def close(self) -> None:
        self.closed.set()
