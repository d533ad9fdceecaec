"""`byoml import`: Winlogbeat, NXLog and CSV events into the export layout, and the recorded
Security-Datasets events imported, trained on and scored."""
from __future__ import annotations

import glob
import gzip
import json
import os
import pathlib

import pytest

from byoml.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, main
from byoml.importers import DEFAULT_RESOURCE_ID, import_events
from byoml.importers.fieldmaps import field_map_from, mapping_table
from byoml.importers.records import map_record
from byoml.sources.layout import workspace_resource_id
from byoml.sources.schemas import declared_schema

from .conftest import shared_data

REPO = pathlib.Path(__file__).resolve().parents[1]
CONTAINER = "am-securityevent"


def _write_jsonl(path, records, gz=False):
    text = "\n".join(r if isinstance(r, str) else json.dumps(r) for r in records) + "\n"
    if gz:
        with gzip.open(path, "wt", encoding="utf-8") as fh:
            fh.write(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def _rows(out):
    files = sorted(glob.glob(os.path.join(str(out), CONTAINER, "**", "*.json"), recursive=True))
    return [json.loads(line) for f in files for line in open(f, encoding="utf-8")]


def _files(out):
    return sorted(os.path.relpath(f, str(out)) for f in glob.glob(os.path.join(str(out), "**", "*.json"), recursive=True))


def winlogbeat_logon():
    return {
        "@timestamp": "2026-11-02T10:07:12.345Z",
        "event": {"code": "4624", "provider": "Microsoft-Windows-Security-Auditing"},
        "host": {"name": "dc01"},
        "source": {"ip": "10.0.0.7", "port": 50123},
        "winlog": {
            "event_id": "4624", "computer_name": "DC01.contoso.local", "channel": "Security",
            "provider_name": "Microsoft-Windows-Security-Auditing", "record_id": 99,
            "event_data": {"SubjectUserName": "-", "SubjectDomainName": "-", "SubjectUserSid": "S-1-0-0",
                           "TargetUserName": "alice", "TargetDomainName": "CONTOSO", "TargetUserSid": "S-1-5-21-1-2-3-1104",
                           "LogonType": "3", "IpAddress": "10.0.0.7", "IpPort": "50123", "WorkstationName": "WS7"},
        },
    }


def winlogbeat_share():
    return {
        "@timestamp": "2026-11-02T10:09:00Z",
        "winlog": {"event_id": 5140, "computer_name": "FS1.contoso.local", "channel": "Security",
                   "event_data": {"SubjectUserName": "WS7$", "SubjectDomainName": "CONTOSO", "SubjectUserSid": "S-1-5-21-9",
                                  "ShareName": "\\\\*\\SYSVOL", "ShareLocalPath": "\\??\\C:\\Windows\\SYSVOL\\sysvol",
                                  "IpAddress": "10.0.0.7", "IpPort": "50200", "AccessMask": "0x1"}},
    }


def winlogbeat_process():
    return {  # event_data without the process fields: the ECS process.* fields fill them
        "@timestamp": "2026-11-02T11:00:00.5Z",
        "host": {"name": "ws7.contoso.local"},
        "winlog": {"event_id": 4688, "event_data": {"SubjectUserName": "alice", "SubjectDomainName": "CONTOSO",
                                                    "SubjectUserSid": "S-1-5-21-1-2-3-1104"}},
        "process": {"executable": "C:\\Windows\\System32\\cmd.exe", "command_line": "cmd /c whoami",
                    "parent": {"executable": "C:\\Windows\\explorer.exe"}},
    }


def test_winlogbeat_nested_fields_map_onto_security_event(tmp_path, capsys):
    src = _write_jsonl(tmp_path / "winlogbeat.ndjson", [winlogbeat_logon(), winlogbeat_share(), winlogbeat_process()])
    out = tmp_path / "export"
    assert main(["import", "--from", "winlogbeat", "--table", "SecurityEvent", str(src), str(out)]) == EXIT_OK
    assert "written      3 records" in capsys.readouterr().err
    rid = DEFAULT_RESOURCE_ID.lstrip("/")
    assert _files(out) == [f"{CONTAINER}/WorkspaceResourceId={rid}/y=2026/m=11/d=02/h=10/m=05/PT05M.json",
                           f"{CONTAINER}/WorkspaceResourceId={rid}/y=2026/m=11/d=02/h=11/m=00/PT05M.json"]
    logon, share, process = sorted(_rows(out), key=lambda r: r["TimeGenerated"])
    assert {k: logon[k] for k in ("TimeGenerated", "Computer", "EventID", "Channel", "EventSourceName", "LogonType",
                                  "IpAddress", "IpPort", "Account", "AccountType", "TargetAccount", "SubjectAccount",
                                  "WorkstationName", "Type")} == {
        "TimeGenerated": "2026-11-02T10:07:12.345Z", "Computer": "DC01.contoso.local", "EventID": 4624, "Channel": "Security",
        "EventSourceName": "Microsoft-Windows-Security-Auditing", "LogonType": 3, "IpAddress": "10.0.0.7",
        "IpPort": "50123", "Account": "CONTOSO\\alice", "AccountType": "User", "TargetAccount": "CONTOSO\\alice",
        "SubjectAccount": "-\\-", "WorkstationName": "WS7", "Type": "SecurityEvent"}
    assert (share["Account"], share["AccountType"], share["ShareName"], share["EventID"]) == (
        "CONTOSO\\WS7$", "Machine", "\\\\*\\SYSVOL", 5140)
    assert share["ShareLocalPath"] == "\\??\\C:\\Windows\\SYSVOL\\sysvol"
    assert (process["Computer"], process["NewProcessName"], process["ParentProcessName"], process["CommandLine"]) == (
        "ws7.contoso.local", "C:\\Windows\\System32\\cmd.exe", "C:\\Windows\\explorer.exe", "cmd /c whoami")
    assert process["Account"] == "CONTOSO\\alice" and process["TimeGenerated"] == "2026-11-02T11:00:00.5Z"
    assert all(len(r["EventOriginId"]) == 36 for r in (logon, share, process))
    assert "TenantId" not in logon and "winlog" not in logon and "record_id" not in json.dumps(logon)


def test_event_origin_id_is_stable_and_batches_do_not_change_the_output(tmp_path, monkeypatch):
    records = [winlogbeat_logon(), winlogbeat_share(), winlogbeat_logon()]  # the logon twice, byte for byte
    src = _write_jsonl(tmp_path / "in.json", records)
    first = import_events(str(src), str(tmp_path / "a"), fmt="winlogbeat")
    import byoml.importers as importers

    monkeypatch.setattr(importers, "FLUSH_EVERY", 1)  # appended line by line
    second = import_events(str(src), str(tmp_path / "b"), fmt="winlogbeat")
    assert first.written == second.written == 3
    a, b = _rows(tmp_path / "a"), _rows(tmp_path / "b")
    assert a == b
    ids = [r["EventOriginId"] for r in a]
    assert ids[0] == ids[2] != ids[1]  # the repeated record is one event for the reader's dedupe


def test_a_folder_is_read_without_the_output_inside_it(tmp_path):
    folder = tmp_path / "logs"
    (folder / "dc").mkdir(parents=True)
    _write_jsonl(folder / "dc" / "a.json", [winlogbeat_logon()])
    _write_jsonl(folder / "b.jsonl.gz", [winlogbeat_share()], gz=True)
    (folder / "readme.md").write_text("# not an input\n")
    first = import_events(str(folder), str(folder / "export"), fmt="winlogbeat")
    again = import_events(str(folder), str(folder / "export"), fmt="winlogbeat", append=True)
    assert (first.files, first.read, again.files, again.read) == (2, 2, 2, 2)  # not the export's own .json files
    assert len(_rows(folder / "export")) == 4


def test_nxlog_with_a_yaml_map_file(tmp_path):
    records = [
        {"MachineName": "FS2", "EventTime": "2026-11-02 11:30:00", "EventID": 5140, "SubjectUserName": "bob",
         "SubjectDomainName": "FABRIKAM", "ShareName": "\\\\*\\Finance", "Hostname": "ignored"},
        {"Hostname": "FS3", "EventTime": "2026-11-02 11:45:10.1234567", "EventID": "5145", "SubjectUserName": "carol",
         "SubjectDomainName": "FABRIKAM", "ShareName": "\\\\*\\HR"},
    ]
    src = _write_jsonl(tmp_path / "nxlog.json.gz", records, gz=True)
    map_file = tmp_path / "map.yaml"
    map_file.write_text("timezone: Europe/Berlin\ncolumns:\n  Computer: [MachineName, Hostname]\n"
                        "constants:\n  TenantId: 5c1e0000-0000-4000-8000-000000000001\n")
    out = tmp_path / "export"
    assert main(["import", "--from", "nxlog", "--map", str(map_file), "--layout", "hourly", str(src), str(out)]) == EXIT_OK
    rows = sorted(_rows(out), key=lambda r: r["TimeGenerated"])
    assert [(r["Computer"], r["TimeGenerated"], r["EventID"], r["Account"], r["TenantId"]) for r in rows] == [
        ("FS2", "2026-11-02T10:30:00Z", 5140, "FABRIKAM\\bob", "5c1e0000-0000-4000-8000-000000000001"),
        ("FS3", "2026-11-02T10:45:10.123456Z", 5145, "FABRIKAM\\carol", "5c1e0000-0000-4000-8000-000000000001"),
    ]  # Berlin is UTC+1 in November
    assert [os.path.basename(f) for f in _files(out)] == ["PT1H.json"]
    assert "/h=10/m=00/" in _files(out)[0]
    # a JSON map that starts empty: only what it names
    json_map = tmp_path / "map.json"
    json_map.write_text(json.dumps({"extends": "none", "columns": {"TimeGenerated": "EventTime", "Computer": "Hostname"}}))
    report = import_events(str(src), str(tmp_path / "bare"), fmt="nxlog", map_file=str(json_map))
    bare = _rows(tmp_path / "bare")
    assert report.written == 2 and sorted(set(bare[0])) == ["Computer", "EventOriginId", "TimeGenerated", "Type"]


def test_csv_header_names_and_the_portal_time_format(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.csv").write_text(
        "TimeGenerated [UTC],EventID,Computer,Account,ShareName,Unrelated\n"
        '"11/2/2026, 1:04:05.120 PM",5140,FS1,CONTOSO\\dave,\\\\*\\Finance,x\n'
        "\n"
        '"11/2/2026, 1:05:00.000 PM",5140,FS1,,\\\\*\\IPC$,y\n', encoding="utf-8")
    with gzip.open(folder / "b.csv.gz", "wt", encoding="utf-8") as fh:
        fh.write("When,Server,Who,Share\n2026-11-02T14:00:00+01:00,FS9,CONTOSO\\erin,\\\\*\\HR\n")
    (folder / "notes.txt").write_text("not an input\n")
    out = tmp_path / "export"
    report = import_events(str(folder / "a.csv"), str(out), fmt="csv")
    rows = sorted(_rows(out), key=lambda r: r["TimeGenerated"])
    assert [(r["TimeGenerated"], r["EventID"], r["Computer"], r.get("Account"), r["ShareName"]) for r in rows] == [
        ("2026-11-02T13:04:05.12Z", 5140, "FS1", "CONTOSO\\dave", "\\\\*\\Finance"),
        ("2026-11-02T13:05:00Z", 5140, "FS1", None, "\\\\*\\IPC$")]
    assert report.read == 2 and "Unrelated" not in rows[0]
    other = tmp_path / "map.yaml"
    other.write_text("columns:\n  TimeGenerated: When\n  Computer: Server\n  Account: Who\n  ShareName: Share\n"
                     "constants:\n  EventID: 5140\n")
    report = import_events(str(folder), str(folder / "both"), fmt="csv", map_file=str(other))  # OUT inside IN
    assert report.files == 2 and report.read == 3
    assert report.skipped == {"TimeGenerated: missing": 2}  # a.csv has no When column
    (erin,) = _rows(folder / "both")
    assert (erin["TimeGenerated"], erin["Computer"], erin["Account"], erin["EventID"]) == (
        "2026-11-02T13:00:00Z", "FS9", "CONTOSO\\erin", 5140)


def test_records_that_cannot_be_imported_are_counted_with_their_reason(tmp_path, capsys):
    good = winlogbeat_share()
    no_time = {k: v for k, v in winlogbeat_share().items() if k != "@timestamp"}
    bad_time = dict(winlogbeat_share(), **{"@timestamp": "yesterday"})
    bad_id = winlogbeat_share()
    bad_id["winlog"]["event_id"] = "fivethousand"
    src = _write_jsonl(tmp_path / "in.json", [good, no_time, "", bad_time, '{"@timestamp": "2026-11-02T1', "[1, 2]", bad_id])
    summary = tmp_path / "summary.json"
    assert main(["import", "--from", "winlogbeat", "--summary-json", str(summary), str(src), str(tmp_path / "o")]) == EXIT_OK
    err = capsys.readouterr().err
    report = json.loads(summary.read_text())
    assert (report["read"], report["written"]) == (6, 1)
    assert report["skipped"] == {"TimeGenerated: missing": 1, "TimeGenerated: not a timestamp": 1, "not JSON": 1,
                                 "not a JSON object": 1, "EventID: not a valid int": 1}
    assert report["examples"]["TimeGenerated: missing"].startswith(f"{src}:2 ")
    assert report["examples"]["TimeGenerated: not a timestamp"] == f"{src}:4 ('yesterday')"
    assert report["examples"]["EventID: not a valid int"] == f"{src}:7 ('fivethousand')"
    assert "skipped      5" in err and "TimeGenerated: missing; first: " in err
    # nothing importable: exit 1; bad arguments: exit 2
    only_bad = _write_jsonl(tmp_path / "bad.json", [no_time, bad_time])
    assert main(["import", "--from", "winlogbeat", str(only_bad), str(tmp_path / "o2")]) == EXIT_FAILED
    assert "none of the 2 records read could be imported" in capsys.readouterr().err
    assert main(["import", "--from", "winlogbeat", str(tmp_path / "missing.json"), str(tmp_path / "o3")]) == EXIT_USAGE
    with pytest.raises(SystemExit) as exit_info:  # argparse's choices
        main(["import", "--from", "syslog", str(src), str(tmp_path / "o3")])
    assert exit_info.value.code == EXIT_USAGE
    bad_map = tmp_path / "bad.yaml"
    bad_map.write_text("colums:\n  Computer: Hostname\n")
    assert main(["import", "--from", "nxlog", "--map", str(bad_map), str(src), str(tmp_path / "o3")]) == EXIT_USAGE
    assert "unknown key(s) colums" in capsys.readouterr().err
    # OUT already holds the table: refused (the records would be there twice), unless --append
    assert main(["import", "--from", "winlogbeat", str(src), str(tmp_path / "o")]) == EXIT_USAGE
    assert "--append" in capsys.readouterr().err
    assert main(["import", "--from", "winlogbeat", "--append", str(src), str(tmp_path / "o")]) == EXIT_OK
    assert len(_rows(tmp_path / "o")) == 2


def test_the_docs_hold_the_built_in_maps():
    text = (REPO / "docs" / "import.md").read_text(encoding="utf-8")
    assert mapping_table() in text
    assert DEFAULT_RESOURCE_ID == workspace_resource_id("00000000-0000-0000-0000-000000000000", "byoml-import", "imported")
    assert DEFAULT_RESOURCE_ID in text
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "byoml import --from winlogbeat|nxlog|csv" in readme and "docs/import.md" in readme


def test_imported_events_read_clean(spark, tmp_path):
    from byoml.sources import LocalExportSource
    from byoml.timewindow import TimeWindow

    src = _write_jsonl(tmp_path / "in.json", [winlogbeat_logon(), winlogbeat_share(), winlogbeat_process()])
    import_events(str(src), str(tmp_path / "export"), fmt="winlogbeat")
    result = LocalExportSource(str(tmp_path / "export")).read(spark, "SecurityEvent", TimeWindow())
    s = result.stats
    assert (s.records, s.rows, s.quarantined, s.other_table, s.duplicates, s.dedupe) == (3, 3, 0, 0, 0, "EventOriginId")
    got = {r.EventID: r for r in result.df.collect()}
    assert got[4624].LogonType == 3 and got[4624].Account == "CONTOSO\\alice" and got[5140].AccountType == "Machine"


# -- the recorded Security-Datasets events ------------------------------------------------------
SECURITY_DATASETS = ("security-datasets", "security_datasets_share_logon_events.jsonl.gz")


def test_derived_accounts_equal_the_workspace_rows():
    """The file's 36 rows of a real workspace carry Log Analytics' own Account columns: derived
    from the subject and target fields alone, they come out the same."""
    path = shared_data(*SECURITY_DATASETS)
    fmap = field_map_from({"columns": {c: [] for c in ("Account", "AccountType", "SubjectAccount", "TargetAccount")}},
                          "nxlog")
    schema = declared_schema("SecurityEvent")
    compared = 0
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            record = json.loads(line)
            if "Account" not in record:
                continue
            _, row = map_record(record, fmap, "SecurityEvent", schema, fmap.tzinfo())
            for column in ("Account", "AccountType", "SubjectAccount", "TargetAccount"):
                if column in record:
                    assert row.get(column) == record[column], (column, record["EventID"])
                    compared += 1
    assert compared >= 36 * 3


def test_security_datasets_import_train_and_score(spark, tmp_path, capsys):
    path = shared_data(*SECURITY_DATASETS)
    export, summary = tmp_path / "export", tmp_path / "import.json"
    assert main(["import", "--from", "nxlog", "--table", "SecurityEvent", "--layout", "hourly",
                 "--summary-json", str(summary), str(path), str(export)]) == EXIT_OK
    report = json.loads(summary.read_text())
    assert (report["read"], report["written"], report["skipped"]) == (8842, 8842, {})
    assert (report["first"], report["last"]) == ("2019-12-05T01:49:49.306Z", "2023-09-06T07:20:51.774Z")
    rows = _rows(export)
    assert len(rows) == 8842
    for column in ("TimeGenerated", "Computer", "EventID", "Account", "AccountType", "SubjectUserName", "EventOriginId", "Type"):
        assert all(column in r for r in rows), column
    share = [r for r in rows if r["EventID"] in (5140, 5145)]
    assert (sum(r["EventID"] == 5140 for r in share), len(share)) == (128, 648)
    assert all(r["ShareName"].startswith("\\\\*\\") for r in share)
    users = [r for r in share if r["AccountType"] == "User"]
    assert len(users) == 58 and {r["ShareName"] for r in users} == {"\\\\*\\IPC$", "\\\\*\\C$", "\\\\*\\ADMIN$"}
    logons = [r for r in rows if r["EventID"] == 4624]
    assert all(isinstance(r["LogonType"], int) for r in logons) and len(logons) == 1007

    # train on the days before 2020-10-01, score the later ones (disjoint windows)
    model, sink = tmp_path / "model", tmp_path / "sink"
    train_json, score_json = tmp_path / "train.json", tmp_path / "score.json"
    train = ["train", "--template", "access-rarity", "--source", str(export), "--model", str(model),
             "--start", "2019-12-01", "--end", "2020-10-01", "--summary-json", str(train_json)]
    assert main(train) == EXIT_FAILED  # 10 user share events: too thin to train on without --force
    assert "too thin" in capsys.readouterr().err
    assert main(train + ["--force"]) == EXIT_OK
    assert main(["score", "--template", "access-rarity", "--source", str(export), "--model", str(model),
                 "--sink", str(sink), "--start", "2020-10-01", "--end", "2021-07-01", "--emit", "all",
                 "--summary-json", str(score_json)]) == EXIT_OK
    trained, scored = json.loads(train_json.read_text())["counts"], json.loads(score_json.read_text())["counts"]
    assert trained["quarantined"] == scored["quarantined"] == 0
    assert trained["records"] + scored["records"] == 6404 + 2051  # the days of 2019-12 .. 2021-06
    assert scored["duplicates"] == 175  # records the data set repeats byte for byte
    out = sorted((json.loads(line) for f in glob.glob(str(sink / "AccessRarity_CL" / "*.json")) for line in open(f)),
                 key=lambda r: -r["AnomalyScore"])
    assert len(out) == scored["scored"] == scored["written"] == 6
    # the new resources of a known user rank first, then the attacks' new users, the known pairs last
    assert [r["ScoringPath"] for r in out] == ["new_resource"] * 2 + ["new_user_new_resource"] * 2 + ["known_pair"] * 2
    assert {r["Resource"] for r in out[:2]} == {"\\\\WORKSTATION6.theshire.local\\C$", "\\\\WORKSTATION7.theshire.local\\IPC$"}
    assert {r["Account"].lower() for r in out[2:4]} == {"workstation5\\apt-simulator", "workstation5\\wardog"}
    assert all(r["LowConfidence"] is True for r in out)  # every row of a model trained with --force says so
