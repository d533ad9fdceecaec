"""The export reader on every layout variant, on bad and duplicate input, and on real exports."""
from __future__ import annotations

import datetime as dt
import json
import os
import zipfile

import pytest

from byoml.errors import ConfigError, EmptyWindowError, MissingColumnError, SourceError
from byoml.sample_data.export_writer import ExportWriter, workspace_resource_id
from byoml.sources import LocalExportSource, open_source
from byoml.sources.layout import iter_export_files
from byoml.sources.local import LocalListing
from byoml.sources.reader import read_export_files
from byoml.timewindow import UTC, TimeWindow

from .conftest import shared_data

RID = workspace_resource_id("sub-1", "rg", "ws1")
T0 = dt.datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


def sec_event(i: int, when: dt.datetime, **extra) -> dict:
    rec = {
        "TenantId": "t1", "TimeGenerated": when.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "EventID": 5140,
        "Account": f"CONTOSO\\user{i}", "Computer": "FS1", "ShareName": "\\\\*\\Data",
        "EventOriginId": f"5c1e0000-0000-4000-8000-{i:012d}", "Type": "SecurityEvent",
    }
    rec.update(extra)
    return rec


def write(root, records, layout="5min", table="SecurityEvent", container=None, max_lines=50_000):
    w = ExportWriter(str(root), table, RID, layout, max_lines, container=container)
    for rec in records:
        when = dt.datetime.fromisoformat(rec["TimeGenerated"].replace("Z", "+00:00"))
        w.add(when, rec)
    w.flush()
    return w


def read(spark, root, start=None, end=None, table="SecurityEvent", **kw):
    return LocalExportSource(str(root)).read(spark, table, TimeWindow.parse(start, end), **kw)


@pytest.mark.parametrize("layout,name", [("5min", "PT05M.json"), ("hourly", "PT1H.json")])
def test_reads_both_folder_layouts(spark, tmp_path, layout, name):
    records = [sec_event(i, T0 + dt.timedelta(minutes=7 * i)) for i in range(12)]
    w = write(tmp_path, records, layout)
    assert all(os.path.basename(f) == name for f in w.files_written)
    result = read(spark, tmp_path)
    assert result.stats.rows == 12
    assert result.df.count() == 12
    assert result.stats.dedupe == "EventOriginId"


def test_overflow_siblings_and_container_case(spark, tmp_path):
    records = [sec_event(i, T0 + dt.timedelta(seconds=i)) for i in range(25)]
    w = write(tmp_path, records, container="am-SecurityEvent", max_lines=10)
    names = sorted(os.path.basename(f) for f in w.files_written)
    assert names == ["PT05M.json", "PT05M_1.json", "PT05M_2.json"]
    result = read(spark, tmp_path, table="securityevent")
    assert result.stats.files == 3 and result.stats.rows == 25


def test_records_wrapper_bodies(spark, tmp_path):
    folder = tmp_path / "am-securityevent" / "WorkspaceResourceId=" / "x" / "y=2026" / "m=11" / "d=02" / "h=10" / "m=00"
    folder.mkdir(parents=True)
    wrapped = {"records": [sec_event(i, T0 + dt.timedelta(minutes=i)) for i in range(3)]}
    lines = [json.dumps(wrapped), json.dumps(sec_event(9, T0)), "", "   "]
    (folder / "PT1H.json").write_text("\n".join(lines) + "\n")
    result = read(spark, tmp_path)
    assert result.stats.records == 4 and result.stats.rows == 4 and result.stats.quarantined == 0
    assert sorted(r.Account for r in result.df.select("Account").collect()) == [
        "CONTOSO\\user0", "CONTOSO\\user1", "CONTOSO\\user2", "CONTOSO\\user9"]


def test_bodies_among_plain_export_files_are_found_and_broken_ones_quarantined(spark, tmp_path):
    write(tmp_path, [sec_event(i, T0 + dt.timedelta(minutes=i)) for i in range(20)])  # plain lines
    folder = tmp_path / "am-securityevent" / "WorkspaceResourceId=" / "x" / "y=2026" / "m=11" / "d=02" / "h=11" / "m=00"
    folder.mkdir(parents=True)
    body = {"records": [sec_event(100 + i, T0 + dt.timedelta(hours=1, minutes=i)) for i in range(5)]}
    (folder / "PT1H.json").write_text(json.dumps(body) + "\n" + '{"records": [{"TimeGenerated": "2026-11-02T1\n')
    result = read(spark, tmp_path)
    assert result.stats.rows == 25 and result.stats.records == 26
    assert result.stats.malformed == 1 and result.stats.quarantined == 1
    # the cut-off body holds no complete record: it is quarantined whole, from its record on
    assert result.stats.truncated_bodies == 1 and result.stats.recovered == 0
    row = result.quarantine().first()
    assert row.Record == '{"TimeGenerated": "2026-11-02T1' and "without a complete record" in row.Reason and row.Line == 2
    # a source that knows its lines are bodies (Event Hubs) unwraps in the first pass; plain lines still read
    src = LocalExportSource(str(tmp_path))
    files, report = src.list_files("SecurityEvent", TimeWindow())
    known = read_export_files(spark, src.read_paths(files, report), "SecurityEvent", TimeWindow(), wrapped=True)
    assert known.stats.rows == 25 and known.stats.malformed == 1


def _file_path(spark_path: str) -> str:
    return spark_path[len("file:"):] if spark_path.startswith("file:") else spark_path


def test_truncated_body_is_recovered_and_only_the_record_cut_off_quarantined(spark, tmp_path):
    folder = tmp_path / "am-securityevent" / "WorkspaceResourceId=" / "x" / "y=2026" / "m=11" / "d=02" / "h=10" / "m=00"
    folder.mkdir(parents=True)
    held = [sec_event(i, T0 + dt.timedelta(minutes=i)) for i in range(18)]
    held[3]["Note"] = 'a string with "},{" in it'  # a false record boundary in a string
    held[5]["Props"] = {"list": [{"a": 1}, {"b": "}"}]}  # ... and in a nested array of objects
    body = json.dumps({"records": held})
    cut = body[: body.index(json.dumps(held[17])) + 60]  # the body ends inside its 18th record
    whole = {"records": [sec_event(100 + i, T0) for i in range(3)]}
    at_boundary = json.dumps({"records": [sec_event(200 + i, T0) for i in range(3)]})[: -len("]}")] + ", "
    lines = [json.dumps(sec_event(50, T0)), cut, json.dumps(whole), at_boundary]  # the last is cut between records
    (folder / "PT1H.json").write_text("\n".join(lines) + "\n")
    src = LocalExportSource(str(tmp_path))
    files, report = src.list_files("SecurityEvent", TimeWindow())
    for wrapped in (None, True):  # found in a read of export files, or known bodies (Event Hubs)
        result = read_export_files(spark, src.read_paths(files, report), "SecurityEvent", TimeWindow(), wrapped=wrapped)
        s = result.stats
        assert s.records == 1 + 18 + 3 + 3, "every record the bodies held is counted"
        assert (s.truncated_bodies, s.recovered, s.cut_off) == (2, 17 + 3, 1)
        assert (s.malformed, s.quarantined, s.duplicates) == (1, 1, 0)
        assert s.rows == 1 + 17 + 3 + 3
        got = {r.Account: r for r in result.df.collect()}
        assert sorted(got) == sorted(f"CONTOSO\\user{i}" for i in [50, *range(17), 100, 101, 102, 200, 201, 202])
        assert got["CONTOSO\\user3"].EventOriginId == held[3]["EventOriginId"]
        (row,) = result.quarantine().collect()
        assert row.Line == 2 and row.Record == cut[len(body[: body.index(json.dumps(held[17]))]):]
        assert "after its 17 complete records" in row.Reason


def test_quarantine_rows_carry_file_and_line(spark, tmp_path):
    folder = tmp_path / "am-securityevent" / "WorkspaceResourceId=" / "x" / "y=2026" / "m=11" / "d=02" / "h=10"
    (folder / "m=00").mkdir(parents=True)
    (folder / "m=05").mkdir(parents=True)
    good = [json.dumps(sec_event(i, T0 + dt.timedelta(minutes=i))) for i in range(6)]
    first = [good[0], "", good[1], "{not json", "  ", json.dumps(sec_event(7, T0, EventID="x")), good[2]]
    (folder / "m=00" / "PT05M.json").write_text("\r\n".join(first) + "\r\n")
    second = [good[3], good[4], '{"TimeGenerated": "2026-11-02T10:0', good[5]]
    (folder / "m=05" / "PT05M.json").write_text("\n".join(second))  # no newline at the end
    result = read(spark, tmp_path)
    assert (result.stats.rows, result.stats.quarantined) == (6, 3)
    rows = sorted(result.quarantine().collect(), key=lambda r: (r.File, r.Line))
    assert [(r.File.split("/m=11/d=02/h=10/")[1], r.Line) for r in rows] == [
        ("m=00/PT05M.json", 4), ("m=00/PT05M.json", 6), ("m=05/PT05M.json", 3)]
    for r in rows:  # the line number points at the record in the file
        text = open(_file_path(r.File), encoding="utf-8").read().splitlines()
        assert text[r.Line - 1] == r.Record


def test_quarantine_folder_holds_only_the_records(spark, tmp_path):
    w = ExportWriter(str(tmp_path), "SecurityEvent", RID, "hourly")
    w.add(T0, sec_event(1, T0))
    w.add_line(T0, "[1, 2, 3]")
    w.flush()
    result = read(spark, tmp_path)
    out = tmp_path / "q"
    key = "mapreduce.fileoutputcommitter.marksuccessfuljobs"
    spark.conf.set(key, "true")  # the committer's default (Databricks, a session byoml did not start)
    try:
        result.write_quarantine("file://" + str(out))
    finally:
        spark.conf.unset(key)
    names = sorted(os.listdir(out))
    assert len(names) == 1 and names[0].startswith("part-") and names[0].endswith(".json"), names
    assert json.loads((out / names[0]).read_text())["Line"] == 2


def test_window_prunes_folders_without_listing_the_tree(tmp_path):
    records = [sec_event(i, T0 + dt.timedelta(hours=i)) for i in range(72)]  # three days, hourly
    write(tmp_path, records)

    class CountingListing(LocalListing):
        listed: list = []

        def list_dir(self, path):
            self.listed.append(path)
            return super().list_dir(path)

    fs = CountingListing()
    fs.listed = []
    window = TimeWindow.parse("2026-11-03T10:00:00Z", "2026-11-03T12:00:00Z")
    files = list(iter_export_files(fs, str(tmp_path / "am-securityevent"), window))
    assert [f.folder_time.hour for f in files] == [10, 11]
    hour_folders = [p for p in fs.listed if os.path.basename(p).startswith("h=")]
    assert len(hour_folders) == 2, "only the window's hour folders may be listed"
    assert not any("d=02" in p or "d=04" in p for p in fs.listed)


def test_folders_read_whole_only_when_they_hold_exactly_the_selected_files(spark, tmp_path):
    # 2026-11-02 10:00 .. 2026-11-04 09:00, one record per hour
    records = [sec_event(i, T0 + dt.timedelta(hours=i)) for i in range(48)]
    write(tmp_path, records)
    day3 = next((tmp_path / "am-securityevent").glob("**/y=2026/m=11/d=03"))
    (day3 / "h=05" / "m=00" / "notes.txt").write_text("not an export file\n")
    src = LocalExportSource(str(tmp_path))
    window = TimeWindow.parse("2026-11-02T12:00:00Z", "2026-11-04T00:00:00Z")
    files, report = src.list_files("SecurityEvent", window)
    paths = [p.split("/y=2026/m=11/")[1] for p in src.read_paths(files, report)]
    # day 2 starts before the window: its hours (12..23) are read as folders; day 3 holds a
    # stray file, so its other hours are folders and the stray file's minute folder is read file by file
    assert paths[:12] == [f"d=02/h={h:02d}" for h in range(12, 24)]
    assert "d=03/h=05/m=00/PT05M.json" in paths and "d=03/h=04" in paths and "d=03/h=06" in paths
    assert not any(p == "d=03" or p.startswith("d=04") for p in paths)
    assert len(paths) == 12 + 24
    result = src.read(spark, "SecurityEvent", window)
    assert (result.stats.records, result.stats.rows) == (36, 36)
    assert result.df.count() == 36
    # a window covering whole days reads one folder per day
    (day3 / "h=05" / "m=00" / "notes.txt").unlink()
    files, report = src.list_files("SecurityEvent", TimeWindow.parse("2026-11-03T00:00:00Z", "2026-11-04T00:00:00Z"))
    assert [p.split("/m=11/")[1] for p in src.read_paths(files, report)] == ["d=03"]


def test_counts_hold_when_the_build_leaves_nothing(spark, tmp_path):
    # an empty stage makes Spark drop the observed counts: they are then computed directly
    write(tmp_path, [sec_event(i, T0 + dt.timedelta(minutes=i)) for i in range(7)] + [sec_event(0, T0)])
    result = read(spark, tmp_path, build=lambda df: df.filter("EventID = 4624").groupBy("Account").count())
    assert (result.stats.records, result.stats.rows, result.stats.duplicates) == (8, 7, 1)
    assert result.df.count() == 0


def test_exact_time_filter_fraction_digits_and_late_records(spark, tmp_path):
    folder = tmp_path / "am-securityevent" / "WorkspaceResourceId=" / "x" / "y=2026" / "m=11" / "d=02"
    stamps = {
        "h=09/m=55": ["2026-11-02T09:59:59.9999999Z"],  # just before the window
        "h=10/m=00": ["2026-11-02T10:00:00Z", "2026-11-02T10:01:02.1Z", "2026-11-02T10:02:03.1234567Z"],
        "h=10/m=55": ["2026-11-02T10:59:59.99Z"],
        "h=11/m=00": ["2026-11-02T11:00:00.0000000Z"],  # the window end is exclusive
    }
    i = 0
    for sub, times in stamps.items():
        path = folder / sub
        path.mkdir(parents=True)
        lines = []
        for t in times:
            i += 1
            lines.append(json.dumps(sec_event(i, T0, TimeGenerated=t)))
        (path / "PT05M.json").write_text("\n".join(lines) + "\n")
    # a late record, appended hours later to the 10:00 folder's overflow file
    (folder / "h=10" / "m=00" / "PT05M_1.json").write_text(json.dumps(sec_event(99, T0, TimeGenerated="2026-11-02T10:03:00.5Z")) + "\n")
    result = read(spark, tmp_path, "2026-11-02T10:00:00Z", "2026-11-02T11:00:00Z")
    assert result.stats.files == 3  # 09:55 and 11:00 folders are pruned
    assert result.stats.rows == 5
    times = sorted(r.TimeGenerated for r in result.df.select("TimeGenerated").collect())
    assert times[0] == dt.datetime(2026, 11, 2, 10, 0)
    assert times[1].microsecond == 100000
    assert dt.datetime(2026, 11, 2, 10, 2, 3, 123456) in times  # 7 digits kept to the microsecond


def test_out_of_window_records_in_pruned_folders_are_counted(spark, tmp_path):
    write(tmp_path, [sec_event(i, T0 + dt.timedelta(minutes=i)) for i in range(10)], layout="hourly")
    result = read(spark, tmp_path, "2026-11-02T10:05:00Z", "2026-11-02T11:00:00Z")
    assert result.stats.rows == 5 and result.stats.out_of_window == 5


def test_duplicates_on_event_origin_id_and_on_content(spark, tmp_path):
    records = [sec_event(i, T0 + dt.timedelta(minutes=i)) for i in range(5)]
    retry = dict(records[0])
    retry["TimeCollected"] = "2026-11-02T10:30:00Z"  # same event ingested twice, other bytes
    write(tmp_path, records + [records[1], records[2], retry])
    result = read(spark, tmp_path)
    assert result.stats.duplicates == 3 and result.stats.rows == 5 and result.df.count() == 5

    usage_root = tmp_path / "usage"
    usage = [{"TimeGenerated": "2026-11-02T10:00:00Z", "DataType": "Perf", "Quantity": q, "Type": "Usage"}
             for q in (1.0, 2.0, 1.0)]
    write(usage_root, usage, table="Usage", layout="hourly")
    result = read(spark, usage_root, table="Usage")
    assert result.stats.dedupe == "content"
    assert result.stats.duplicates == 1 and sorted(r.Quantity for r in result.df.collect()) == [1.0, 2.0]


def test_reused_event_origin_ids_do_not_merge_distinct_records(spark, tmp_path):
    same_id = "29acc230-2f13-49db-9ef2-c9b20229a10c"
    records = [sec_event(i, T0 + dt.timedelta(seconds=i), EventOriginId=same_id) for i in range(20)]
    write(tmp_path, records + [records[3]])
    result = read(spark, tmp_path)
    assert result.stats.dedupe == "content"
    assert result.stats.rows == 20 and result.stats.duplicates == 1


def test_malformed_and_schema_errors_are_quarantined(spark, tmp_path):
    good = [sec_event(i, T0 + dt.timedelta(minutes=i)) for i in range(4)]
    w = ExportWriter(str(tmp_path), "SecurityEvent", RID, "hourly")
    for rec in good:
        w.add(T0, rec)
    w.add_line(T0, '{"TimeGenerated":"2026-11-02T10:0')  # truncated
    w.add_line(T0, "[1, 2, 3]")
    w.add(T0, sec_event(7, T0, EventID="five thousand"))
    w.add(T0, sec_event(8, T0, TimeGenerated="yesterday"))
    w.add(T0, {k: v for k, v in sec_event(9, T0).items() if k != "TimeGenerated"})
    w.flush()
    result = read(spark, tmp_path)
    s = result.stats
    assert (s.rows, s.malformed, s.schema_errors, s.quarantined) == (4, 2, 3, 5)
    out = tmp_path / "quarantine"
    assert result.write_quarantine(str(out)) == str(out)
    rows = [json.loads(line) for f in out.glob("part-*.json") for line in f.read_text().splitlines()]
    assert len(rows) == 5
    reasons = sorted(r["Reason"] for r in rows)
    assert any(r.startswith("EventID: not a valid int: 'five thousand'") for r in reasons)
    assert any(r.startswith("TimeGenerated: not a valid timestamp: 'yesterday'") for r in reasons)
    assert any(r == "TimeGenerated: missing" for r in reasons)
    assert sum(r.startswith("malformed") for r in reasons) == 2
    assert all(r["File"].endswith("PT1H.json") and r["Record"] for r in rows)
    assert sorted(r["Line"] for r in rows) == [5, 6, 7, 8, 9]  # after the 4 good lines
    assert sorted(os.listdir(out)) == [f.name for f in out.glob("part-*.json")], "no .crc or _SUCCESS files"


def test_missing_required_column_names_column_and_table(spark, tmp_path):
    write(tmp_path, [{k: v for k, v in sec_event(i, T0).items() if k != "ShareName"} for i in range(3)])
    result = read(spark, tmp_path, required=["ShareName"])
    with pytest.raises(MissingColumnError, match="SecurityEvent.*'ShareName'"):
        result.check()


def test_empty_window_is_a_clear_error(spark, tmp_path):
    write(tmp_path, [sec_event(0, T0)])
    with pytest.raises(EmptyWindowError, match="no export files"):
        read(spark, tmp_path, "2026-10-01", "2026-10-02")
    result = read(spark, tmp_path, "2026-11-02T10:00:00.5Z", "2026-11-02T11:00:00Z")
    with pytest.raises(EmptyWindowError, match="1 outside the window"):
        result.check()


def test_missing_container_lists_what_exists(tmp_path):
    write(tmp_path, [sec_event(0, T0)])
    with pytest.raises(SourceError, match="am-usage.*am-securityevent"):
        LocalExportSource(str(tmp_path)).list_files("Usage", TimeWindow())
    with pytest.raises(ConfigError, match="does not exist"):  # a bad --source: exit 2
        open_source(str(tmp_path / "nope"))


def test_other_tables_in_the_container_are_counted(spark, tmp_path):
    write(tmp_path, [sec_event(0, T0), sec_event(1, T0, Type="Event")])
    result = read(spark, tmp_path)
    assert result.stats.rows == 1 and result.stats.other_table == 1


def test_unknown_table_is_read_with_an_inferred_schema(spark, tmp_path):
    rows = [{"TimeGenerated": "2026-11-02T10:00:00Z", "Facility": "auth", "SeverityLevel": "err", "ProcessID": 42,
             "Props": {"a": 1}, "Type": "AppTrace_CL"}, {"TimeGenerated": "2026-11-02T10:01:00Z", "Facility": "cron",
             "ProcessID": 7, "Type": "AppTrace_CL"}]
    write(tmp_path, rows, table="AppTrace_CL")
    result = read(spark, tmp_path, table="AppTrace_CL")
    assert result.schema["ProcessID"] == "long" and result.schema["TimeGenerated"] == "timestamp"
    got = {r.Facility: r for r in result.df.collect()}
    assert got["auth"].ProcessID == 42 and json.loads(got["auth"].Props) == {"a": 1}


def test_latest_time_finds_the_newest_folder(tmp_path):
    write(tmp_path, [sec_event(i, T0 + dt.timedelta(hours=5 * i)) for i in range(6)])
    latest = LocalExportSource(str(tmp_path)).latest_time("SecurityEvent")
    assert latest == dt.datetime(2026, 11, 3, 11, 0, tzinfo=UTC)


def _export_tree_from_zip(zip_path, root):
    """Lay a recorded Log Analytics export out in the data-export folder layout."""
    with zipfile.ZipFile(zip_path) as zf:
        lines = [line for name in zf.namelist() for line in zf.read(name).decode("utf-8").splitlines() if line.strip()]
    w = ExportWriter(str(root), "SecurityEvent", RID, "5min")
    for line in lines:
        when = dt.datetime.fromisoformat(json.loads(line)["TimeGenerated"].replace("Z", "+00:00"))
        w.add_line(when, line)
    w.flush()
    return lines


def test_real_goldensaml_export(spark, tmp_path):
    lines = _export_tree_from_zip(shared_data("security-datasets", "goldensaml_windowsevents_la_export.zip"), tmp_path)
    result = read(spark, tmp_path)
    s = result.stats
    assert s.records == len(lines) == 38
    assert s.quarantined == 0
    assert s.other_table == 2  # two rows of the Event table
    assert s.rows == 36 and s.duplicates == 0  # the row without Type is kept
    logons = result.df.filter("EventID = 4624").count()
    assert logons == 28


def test_real_log4shell_export_with_redacted_event_origin_ids(spark, tmp_path):
    lines = _export_tree_from_zip(shared_data("security-datasets", "log4shell_securityevent_la_export.zip"), tmp_path)
    result = read(spark, tmp_path)
    s = result.stats
    assert s.records == len(lines) == 39
    assert s.dedupe == "content", "one EventOriginId for every row must not merge them"
    assert s.rows == 37 and s.duplicates == 2  # two records are repeated byte for byte
    assert result.df.filter("TenantId = 'redacted'").count() == 37
