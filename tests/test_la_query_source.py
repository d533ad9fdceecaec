"""The la-query source against a local HTTPS server with the query API's shapes and limits."""
from __future__ import annotations

import datetime as dt

import pytest

from byoml.errors import SourceError
from byoml.sources import open_source
from byoml.sources.la_query import plan_slices
from byoml.timewindow import UTC, TimeWindow

WS = "11111111-2222-3333-4444-555555555555"
TOKEN = "query-token-8d1e"
DAY = dt.datetime(2026, 11, 2, tzinfo=UTC)


def records():
    out = []
    for i in range(3000):  # spread over the day...
        t = DAY + dt.timedelta(seconds=i * 28)
        out.append(_rec(t, i))
    for i in range(900):  # ...plus a burst of 900 records inside one five-minute stretch
        out.append(_rec(DAY + dt.timedelta(hours=15, seconds=i // 3), 10_000 + i))
    return out


def _rec(t, i):
    return {"TimeGenerated": t.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "EventID": 5140, "Account": f"C\\u{i % 50}",
            "Computer": "FS01", "ShareName": "\\\\*\\Share", "EventOriginId": f"e{i}", "Type": "SecurityEvent",
            "TenantId": "t"}


@pytest.fixture
def query_server(tls_cert, monkeypatch):
    from tests.peers.query import QueryServer

    monkeypatch.setenv("BYOML_ACCESS_TOKEN", TOKEN)
    server = QueryServer(tls_cert[0], tls_cert[1], WS, records(), token=TOKEN, max_rows=500)
    yield server
    server.stop()


def options(server, cert, **extra):
    return {"query_endpoint": server.endpoint, "connection_verify": cert, **extra}


def test_plan_merges_bins_under_the_limits():
    w = TimeWindow(DAY, DAY + dt.timedelta(hours=4))
    h = dt.timedelta(hours=1)
    bins = [(DAY, 100, 10), (DAY + h, 100, 10), (DAY + 2 * h, 900, 10), (DAY + 3 * h, 50, 10)]
    slices, too_big = plan_slices(bins, h, w, max_rows=250, max_bytes=1000)
    assert [(s.start, s.end, s.rows) for s in slices] == [(DAY, DAY + 2 * h, 200), (DAY + 3 * h, DAY + 4 * h, 50)]
    assert too_big == [(DAY + 2 * h, DAY + 3 * h)]


def test_window_is_read_in_slices_under_the_api_limits(spark, query_server, tls_cert):
    src = open_source(f"la-query://{WS}", options(query_server, tls_cert[0], max_rows=400, max_bytes=60_000))
    window = TimeWindow(DAY, DAY + dt.timedelta(days=1))
    result = src.read(spark, "SecurityEvent", window, ["Account", "EventID"])
    assert result.stats.rows == 3900 and result.stats.quarantined == 0
    assert all(s.rows <= 400 and s.bytes <= 60_000 for s in src.slices)
    assert len([s for s in src.slices if s.rows]) >= 10
    # the slices tile the window with no gap and no overlap
    assert src.slices[0].start == window.start and src.slices[-1].end == window.end
    assert all(a.end == b.start for a, b in zip(src.slices, src.slices[1:]))
    # the burst needed finer planning bins, and every query asked for the 10-minute server timeout
    assert any("by bin(TimeGenerated, 360s)" in q["query"] for q in query_server.queries)
    assert all(q["prefer"] and "wait=600" in q["prefer"] for q in query_server.queries)
    result.close()


def test_partial_results_are_an_error(spark, query_server, tls_cert):
    src = open_source(f"la-query://{WS}", options(query_server, tls_cert[0], max_rows=1000))  # above the server's 500
    with pytest.raises(SourceError, match="partial result.*does not score partial data"):
        src.read(spark, "SecurityEvent", TimeWindow(DAY, DAY + dt.timedelta(days=1)))


def test_newest_day_and_access_errors(query_server, tls_cert, monkeypatch):
    src = open_source(f"la-query://{WS}", options(query_server, tls_cert[0]))
    assert src.latest_time("SecurityEvent").date() == DAY.date()
    monkeypatch.setenv("BYOML_ACCESS_TOKEN", "wrong")
    src = open_source(f"la-query://{WS}", options(query_server, tls_cert[0]))
    with pytest.raises(SourceError, match="Log Analytics Reader"):
        src.latest_time("SecurityEvent")
