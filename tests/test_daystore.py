"""The day store: ingest once, then train and score from Parquet with the scores and counts of the export read."""
from __future__ import annotations

import datetime as dt
import glob
import json
import os

import pytest

from byoml.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, main
from byoml.daystore import Manifest, StoreSource
from byoml.run import ingest, score, train
from byoml.sources import LocalExportSource
from byoml.timewindow import TimeWindow, parse_time

TEMPLATE = "anomalous-resource-access"
# the counts of a read that must not change when it comes from the store
READ_COUNTS = ("files", "records", "quarantined", "duplicates", "out_of_window", "other_table", "rows_read", "events")


def _scores(sink):
    """{pair: (path, score, flag)} of a sink's rows."""
    rows = [json.loads(line) for p in glob.glob(os.path.join(sink, "*_CL", "*.json")) for line in open(p) if line.strip()]
    return {(r["TenantId"], r["Account"], r["Resource"]): (r["ScoringPath"], r["AnomalyScore"], r["IsAnomaly"])
            for r in rows}


def _versions(store):
    return {day: entry.version for day, entry in Manifest(str(store), "SecurityEvent").days.items()}


def _store_read_way(monkeypatch, one_pass_rows):
    """Make store reads of more than ``one_pass_rows`` rows count keys first; returns the list that
    records each read that did (so a test knows which way its reads took)."""
    from byoml.daystore import read as store_read

    keys_first = []
    counted = store_read.dedupe_rare

    def spy(*args, **kwargs):
        keys_first.append(True)
        return counted(*args, **kwargs)

    monkeypatch.setattr(store_read, "ONE_PASS_ROWS", one_pass_rows)
    monkeypatch.setattr(store_read, "dedupe_rare", spy)
    return keys_first


def _lines(path):
    out = []
    for line in open(path, encoding="utf-8"):
        try:
            out.append(json.loads(line))
        except ValueError:
            pass
    return out


@pytest.fixture(scope="module")
def from_json_and_store(spark, access_sample, tmp_path_factory):
    """The sample trained and scored twice: from the export, and from a store filled by ``ingest``."""
    root, labels = access_sample
    work = tmp_path_factory.mktemp("daystore")
    store = str(work / "store")
    filled = ingest(str(root), store, spark=spark)
    tw, sw = labels["train_window"], labels["score_window"]
    runs = {}
    for name, source, kw in (("json", str(root), {}), ("store", None, {"store": store})):
        model, sink = str(work / f"model-{name}"), str(work / f"sink-{name}")
        runs[name] = (
            train(TEMPLATE, source, model, tw["start"], tw["end"], spark=spark, **kw),
            # the score run is given the export too: it ingests what it lacks (nothing here)
            score(TEMPLATE, str(root), model, sink, sw["start"], sw["end"], emit="all", spark=spark, **kw),
            sink,
        )
    return filled, runs, store, labels


def test_scores_and_read_counts_from_the_store_equal_the_export_reads(from_json_and_store):
    filled, runs, _, _ = from_json_and_store
    (train_json, score_json, sink_json), (train_store, score_store, sink_store) = runs["json"], runs["store"]
    for a, b in ((train_json, train_store), (score_json, score_store)):
        assert {k: a.counts.get(k) for k in READ_COUNTS} == {k: b.counts.get(k) for k in READ_COUNTS}
        assert a.filtered == b.filtered
    assert train_store.counts["pairs"] == train_json.counts["pairs"]
    scores, stored = _scores(sink_json), _scores(sink_store)
    assert len(scores) == score_json.counts["scored"] > 100
    assert stored.keys() == scores.keys()
    assert {k: (p, f) for k, (p, _, f) in stored.items()} == {k: (p, f) for k, (p, _, f) in scores.items()}
    # ALS sums in the order its input partitions come (JSON files or Parquet parts): the last digits may differ
    worst = max(abs(stored[k][1] - scores[k][1]) for k in scores)
    assert worst < 1e-6, worst
    assert score_store.counts["flagged"] == score_json.counts["flagged"] > 0
    # the ingest counted every record of the export once
    assert filled.counts["records"] == train_json.counts["records"] + score_json.counts["records"]
    assert filled.counts["days_ingested"] == 15 and filled.counts["days_unchanged"] == 0


def test_quarantine_is_kept_in_the_store_with_its_counts(from_json_and_store, access_sample):
    filled, runs, store, _ = from_json_and_store
    quarantined = filled.counts["quarantined"]
    assert quarantined == 4  # the sample's malformed lines, each counted once
    assert quarantined == sum(runs["json"][i].counts["quarantined"] for i in (0, 1))
    rows = [r for p in glob.glob(os.path.join(store, "securityevent", "_quarantine", "d=*", "v-*", "*.json"))
            for r in _lines(p)]
    assert len(rows) == 4 and all(r["Reason"] and r["Line"] >= 1 and r["File"] for r in rows)
    score_store = runs["store"][1]
    assert score_store.counts["quarantined"] == runs["json"][1].counts["quarantined"]
    if score_store.counts["quarantined"]:
        assert "_quarantine" in score_store.outputs["quarantine"]


def test_a_second_ingest_reads_nothing(from_json_and_store, access_sample, spark):
    _, _, store, _ = from_json_and_store
    before = _versions(store)
    again = ingest(LocalExportSource(str(access_sample[0])), store, spark=spark)
    assert again.counts["days_ingested"] == 0 and again.counts["days_unchanged"] >= 1
    assert _versions(store) == before


def test_a_late_append_reingests_that_day_only(spark, tmp_path):
    from byoml.sample_data import generate

    data = tmp_path / "export"
    labels = generate("resource-access", str(data), users=30, days=4, seed=5, layout="hourly")
    store = str(tmp_path / "store")
    first = ingest(str(data), store, spark=spark)
    before = _versions(store)
    assert first.counts["days_ingested"] == len(before) == 5
    src = LocalExportSource(str(data))
    whole = TimeWindow.parse(labels["train_window"]["start"], labels["score_window"]["end"])
    rows_before = StoreSource(store).read(spark, "SecurityEvent", whole).stats.rows

    # late records (a new user) appended to a folder of the day before the newest, within late_hours (48 here)
    # of the newest folder: an incremental ingest lists back that far
    newest = parse_time(labels["score_window"]["start"])
    files, _ = src.list_files("SecurityEvent", TimeWindow(newest - dt.timedelta(hours=3), newest - dt.timedelta(hours=2)))
    template = next(r for r in _lines(files[0].path) if r.get("EventID") == 5140)
    with open(files[0].path, "a", encoding="utf-8") as fh:
        for i in range(5):
            fh.write(json.dumps(dict(template, Account="CONTOSO\\late.user", EventOriginId=f"late-{i}")) + "\n")
        fh.write(json.dumps(dict(template, Account="CONTOSO\\late.user", EventOriginId="late-0")) + "\n")  # a copy

    second = ingest(str(data), store, config={"source": {"late_hours": 48}}, spark=spark)  # no window given
    late_day = f"{newest - dt.timedelta(days=1):%Y-%m-%d}"
    after = _versions(store)
    assert second.counts["days_ingested"] == 1 and second.outputs["days"] == late_day
    assert {d for d in after if after[d] != before[d]} == {late_day}
    read = StoreSource(store).read(spark, "SecurityEvent", whole)
    assert read.stats.rows == rows_before + 5
    # the copy is a duplicate, as the export read counts it
    direct = src.read(spark, "SecurityEvent", whole)
    got, want = read.stats.to_dict(), direct.stats.to_dict()
    for name in ("records", "quarantined", "duplicates", "out_of_window", "other_table", "rows", "files", "bytes", "dedupe"):
        assert got[name] == want[name], name

    # a third ingest over an explicit window finds nothing changed
    third = ingest(str(data), store, start=labels["train_window"]["start"], spark=spark)
    assert third.counts["days_ingested"] == 0 and _versions(store) == after


@pytest.mark.parametrize("one_pass_rows", [0, 10**9], ids=["keys-first", "one-pass"])
def test_records_of_one_event_in_two_days_are_one_row_as_in_the_export_read(spark, tmp_path, monkeypatch,
                                                                           one_pass_rows):
    from byoml.sample_data import generate

    keys_first = _store_read_way(monkeypatch, one_pass_rows)

    data = tmp_path / "export"
    generate("resource-access", str(data), users=40, days=2, seed=3, layout="hourly")
    src = LocalExportSource(str(data))
    day_files = {}
    for f in src.list_files("SecurityEvent", TimeWindow())[0]:
        day_files.setdefault(f.folder_time.date(), f.path)
    first, second = [day_files[d] for d in sorted(day_files)[:2]]
    record = _lines(first)[0]
    with open(second, "a", encoding="utf-8") as fh:  # the export delivered one event again, a day later
        fh.write(json.dumps(record) + "\n")
    store = str(tmp_path / "store")
    newest = max(day_files)
    ingest(str(data), store, start=f"{newest:%Y-%m-%d}", spark=spark)  # as a score job would: its day only
    assert len(Manifest(store, "SecurityEvent").days) == 1
    # a read of the whole export through the store ingests every day it lacks first
    got = StoreSource(store, src).read(spark, "SecurityEvent", TimeWindow()).stats.to_dict()
    assert bool(keys_first) == (one_pass_rows == 0)
    assert len(Manifest(store, "SecurityEvent").days) == len(day_files)
    want = src.read(spark, "SecurityEvent", TimeWindow()).stats.to_dict()
    assert want["duplicates"] >= 1
    for name in ("records", "quarantined", "duplicates", "out_of_window", "rows", "dedupe"):
        assert got[name] == want[name], name


def test_a_small_read_in_one_query_keeps_the_rows_and_counts_of_a_read_that_counts_keys_first(
        from_json_and_store, spark, monkeypatch):
    _, _, store, labels = from_json_and_store
    window = TimeWindow(parse_time(labels["train_window"]["start"]), parse_time(labels["train_window"]["end"]))
    got = {}
    for name, rows in (("keys-first", 0), ("one-pass", 10**9)):
        keys_first = _store_read_way(monkeypatch, rows)
        read = StoreSource(store).read(spark, "SecurityEvent", window, columns=["Account", "ShareName"])
        assert bool(keys_first) == (name == "keys-first"), name
        records = read.df.select("TimeGenerated", "EventOriginId", "Account", "ShareName").collect()
        got[name] = (read.stats.to_dict(), sorted(tuple(r) for r in records))
    (stats_a, rows_a), (stats_b, rows_b) = got["keys-first"], got["one-pass"]
    assert stats_a == stats_b and stats_a["rows"] == len(rows_a) > 1000 and stats_a["duplicates"] > 0
    assert rows_a == rows_b


def test_cli_ingest_and_bad_stores_are_refused(spark, access_sample, tmp_path, capsys):
    root, labels = access_sample
    store = tmp_path / "store"
    day = labels["score_window"]["start"]
    assert main(["ingest", "--source", str(root), "--store", str(store), "--start", day]) == EXIT_OK
    out = capsys.readouterr().out
    assert "days ingested 1" in out and "byoml ingest · SecurityEvent" in out
    model = str(tmp_path / "m")
    # a store that holds no day of the window: said, exit 1
    code = main(["train", "--template", "access-rarity", "--store", str(store), "--model", model,
                 "--end", labels["train_window"]["end"]])
    assert code == EXIT_FAILED and "holds no SecurityEvent day" in capsys.readouterr().err
    a_file = tmp_path / "file"
    a_file.write_text("x")
    code = main(["train", "--template", "access-rarity", "--store", str(a_file), "--model", model, "--end", day])
    assert code == EXIT_USAGE and "is a file, not a folder" in capsys.readouterr().err
    code = main(["train", "--template", "access-rarity", "--store", "abfss://c@a.dfs.core.windows.net/s",
                 "--model", model, "--end", day])
    assert code == EXIT_USAGE and "not a URL" in capsys.readouterr().err
    code = main(["train", "--template", "access-rarity", "--model", model, "--end", day])
    assert code == EXIT_USAGE and "give --source" in capsys.readouterr().err
    config = tmp_path / "c.yaml"
    config.write_text(f"source:\n  store: {store}\n  watermark: {tmp_path / 'wm'}\n")
    code = main(["train", "--template", "access-rarity", "--source", str(root), "--model", model, "--config", str(config)])
    assert code == EXIT_USAGE and "watermark and a store" in capsys.readouterr().err
    code = main(["ingest", "--source", "eventhub://ns/hub", "--store", str(store)])
    assert code == EXIT_USAGE and "not eventhub://" in capsys.readouterr().err
    code = main(["ingest", "--source", str(root), "--store", str(store), "--table", "MyTable_CL"])
    assert code == EXIT_USAGE and "declared schema" in capsys.readouterr().err


@pytest.mark.parametrize("by_eoi", [True, False])
def test_dedupe_rare_keeps_what_the_window_keeps_and_counts_alike(spark, by_eoi):
    """The store read's dedupe (keys counted first, only shared keys sorted) against the window rule."""
    from byoml.sources.dedupe import dedupe, dedupe_rare

    rows = [  # (v, _eoi, _h1, _h2)
        ("a", "e1", 10, 1),            # alone
        ("b", "e2", 20, 2), ("b", "e2", 20, 2), ("b", "e2", 20, 2),  # one event three times, identical
        ("c", "e3", 31, 3), ("d", "e3", 30, 4), ("d", "e3", 30, 4),  # one id, two contents: the smaller _h1 is kept
        ("e", None, 40, 5), ("e", None, 40, 5),  # no id: on content
        ("f", None, 41, 6),
        ("g", "e4", 50, 7), ("h", "e4", 52, 8), ("i", "e4", 51, 9), ("i", "e4", 51, 9),
    ]
    df = spark.createDataFrame(rows, "v string, _eoi string, _h1 long, _h2 long")
    want, want_counts = dedupe(df, ["v"], by_eoi)
    want_rows = sorted(r.v for r in want.collect())
    got, got_counts = dedupe_rare(df, ["v"], by_eoi)
    assert sorted(r.v for r in got.collect()) == want_rows
    assert want_rows == (["a", "b", "d", "e", "f", "g"] if by_eoi else ["a", "b", "c", "d", "e", "f", "g", "h", "i"])
    expected = want_counts.get()
    assert got_counts["rows"] == expected["rows"]
    assert got_counts["collided"] == expected["collided"] == (1 + 1 + 2 if by_eoi else 0)
    if by_eoi:
        assert got_counts["eoi_groups"] == expected["eoi_groups"] == 4


def test_dedupe_rare_without_shared_keys_keeps_every_row(spark):
    """No key held twice: every record is kept, without the join, and counted."""
    from byoml.sources.dedupe import dedupe_rare

    df = spark.createDataFrame([("a", "e1", 10, 1), ("b", "e2", 20, 2), ("c", None, 30, 3)],
                               "v string, _eoi string, _h1 long, _h2 long")
    got, counts = dedupe_rare(df, ["v"], True)
    assert sorted(r.v for r in got.collect()) == ["a", "b", "c"]
    assert (counts["rows"], counts["eoi_groups"], counts["shared"], counts["collided"]) == (3, 2, 0, 0)


def test_a_store_of_an_older_format_is_refused(tmp_path):
    from byoml.errors import ConfigError
    from byoml.statefiles import write_step

    write_step(str(tmp_path / "securityevent" / "_manifest"), {"format": 1, "table": "SecurityEvent", "days": {}})
    with pytest.raises(ConfigError, match="older byoml .format 1.*ingest again"):
        Manifest(str(tmp_path), "SecurityEvent")
