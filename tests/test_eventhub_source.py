"""Event Hubs source: consumer logic against a fake of the SDK client, checkpoints in real Azurite.

There is no local Event Hubs peer (see tests/fakes/eventhub.py); the checkpoint store is the
real ``BlobCheckpointStore`` on Azurite.
"""
from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest

from byoml.errors import ConfigError, EmptyWindowError
from byoml.sources import open_source
from byoml.sources.eventhub import EventHubSource
from tests.fakes.eventhub import FakeConsumerClient, FakeHub

T0 = dt.datetime(2026, 11, 2, 9, tzinfo=dt.timezone.utc)
COLUMNS = ["Account", "EventID"]


def rec(i: int) -> dict:
    t = T0 + dt.timedelta(minutes=i % 90)
    return {"TimeGenerated": t.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "EventID": 5140, "Type": "SecurityEvent",
            "TenantId": "t", "Account": f"C\\u{i}", "Computer": "FS1", "ShareName": "\\\\*\\S", "EventOriginId": f"e{i}"}


class Feed:
    """Sends records to a fake hub in export shapes: records wrappers, bare objects, pretty-printed bodies."""

    def __init__(self, hub: FakeHub) -> None:
        self.hub, self.next = hub, 0

    def send(self, n_events: int) -> set:
        ids = set()
        for k in range(n_events):
            part = str(k % len(self.hub.events))
            if k % 3 == 0:
                recs = [rec(self.next + j) for j in range(3)]
                body = json.dumps({"records": recs})
            elif k % 3 == 1:
                recs = [rec(self.next)]
                body = json.dumps(recs[0])
            else:
                recs = [rec(self.next)]
                body = json.dumps({"records": recs}, indent=2)  # multi-line body
            self.next += len(recs)
            ids |= {r["Account"] for r in recs}
            self.hub.send(part, body)
        return ids


@pytest.fixture
def options(azurite, monkeypatch, tmp_path):
    monkeypatch.setenv("BYOML_STORAGE_CONNECTION_STRING", azurite.connection_string)
    return {"checkpoint_url": azurite.account_url, "checkpoint_container": f"eh-{uuid.uuid4().hex[:12]}",
            "staging_dir": str(tmp_path / "staging"), "max_wait_seconds": 0.05}


def run(spark, hub, options, commit=True, **client_kwargs):
    src = EventHubSource("ns", "am-securityevent", options=options, client=FakeConsumerClient(hub, **client_kwargs))
    window = src.incremental_window("SecurityEvent")
    inc = src.begin("SecurityEvent", window)
    result = src.read(spark, "SecurityEvent", window, COLUMNS)
    ids = {r["Account"] for r in result.df.select("Account").collect()}
    stats = result.stats
    result.close()
    if commit:
        src.commit()
    return ids, inc, stats, src


def test_each_event_is_read_once_across_runs(spark, options):
    hub = FakeHub(partitions=3)
    feed = Feed(hub)
    first = feed.send(30)
    late = set()
    ids, _, stats, src = run(spark, hub, options, during_receive=lambda: late.update(feed.send(4)))
    assert ids == first and stats.malformed == 0  # events enqueued after the start wait for the next run
    checkpoints = src.store.list_checkpoints(src.fqns, src.hub, src.consumer_group)
    assert sorted(c["partition_id"] for c in checkpoints) == ["0", "1", "2"]

    second = feed.send(9)
    ids2, _, _, _ = run(spark, hub, options)
    assert ids2 == late | second
    with pytest.raises(EmptyWindowError, match="no new events"):
        run(spark, hub, options)


def test_an_unfinished_run_is_read_again_exactly(spark, options):
    hub = FakeHub(partitions=2)
    feed = Feed(hub)
    sent = feed.send(12)
    ids, inc, _, _ = run(spark, hub, options, commit=False)  # the run dies before its output is written
    more = feed.send(5)
    ids_again, inc_again, _, _ = run(spark, hub, options)  # the rerun: same events, same increment (same RunId)
    assert ids == ids_again == sent and inc == inc_again
    assert run(spark, hub, options)[0] == more


def test_a_time_limit_cuts_the_read_and_the_rest_comes_next_run(spark, options):
    hub = FakeHub(partitions=1)
    feed = Feed(hub)
    sent = feed.send(40)
    opts = {**options, "time_limit_seconds": 0.5}
    ids, _, _, src = run(spark, hub, opts, batch_delay=0.2, max_batch=1)  # a slow hub: 1 event per batch
    assert ids and ids < sent
    ids2, _, _, _ = run(spark, hub, options)
    assert ids | ids2 == sent and not ids & ids2


def test_uri_and_the_real_client(monkeypatch, options):
    from azure.eventhub import EventHubConsumerClient

    src = open_source("eventhub://contoso-ns/am-securityevent?consumer_group=byoml", options)
    assert (src.fqns, src.hub, src.consumer_group) == ("contoso-ns.servicebus.windows.net", "am-securityevent", "byoml")
    client = src._client_factory()  # constructing the SDK client does not connect
    assert isinstance(client, EventHubConsumerClient) and client.eventhub_name == "am-securityevent"
    client.close()
    with pytest.raises(ConfigError, match="checkpoint_url"):
        open_source("eventhub://contoso-ns/am-securityevent", {})


def test_bodies_become_one_json_line_each():
    from byoml.sources.eventhub import normalise_body

    wrapped = json.dumps({"records": [rec(1), rec(2)]}, indent=2)
    line, n, lo, hi = normalise_body(wrapped)
    assert "\n" not in line and n == 2 and json.loads(line) == json.loads(wrapped) and lo <= hi
    line, n, _, _ = normalise_body(json.dumps([rec(1), rec(2), rec(3)]))  # a bare array: the wrapper shape
    assert n == 3 and list(json.loads(line)) == ["records"]
    line, n, lo, _ = normalise_body("not json\nat all")  # kept, on one line, for the reader to quarantine
    assert line == "not json at all" and lo is None
