"""masquerading-process: each reason, short names, homoglyphs, extensions, the benign look-alikes that
must not flag, the plan (no cross join, no Python UDF), the sample data, the CLI, the report and bad input."""
from __future__ import annotations

import contextlib
import datetime as dt
import io
import json

import pandas as pd
import pytest

from byoml.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, main
from byoml.errors import ConfigError, EmptyWindowError
from byoml.evaluate import load_scores
from byoml.templates import RunInfo, get_template
from byoml.templates.masquerading import names as N
from byoml.timewindow import UTC, TimeWindow

S32 = "C:\\Windows\\System32\\"
EXPLORER = "C:\\Windows\\explorer.exe"
NAME = "masquerading-process"
COLUMNS = ("TenantId string, EventID int, Computer string, Account string, NewProcessName string, "
           "ParentProcessName string, CommandLine string, TimeGenerated timestamp")


# -- the expressions ---------------------------------------------------------------------------------
def _one(spark, values, column):
    df = spark.createDataFrame([(v,) for v in values], "v string")
    return [r[0] for r in df.select(column).collect()]  # a handful of literals


def test_skeletons_make_homoglyphs_one_name(spark):
    stems = ["svchost", "svch0st", "rundII32", "rundll32", "\u0455vchost", "ехplorer", "explorer", "srnss", "smss",
             "lsass", "1sass", "notepad2"]
    got = dict(zip(stems, _one(spark, stems, N.skeleton("v"))))
    assert got["svch0st"] == got["svchost"] and got["\u0455vchost"] == got["svchost"]  # digit zero, Cyrillic dze
    assert got["rundII32"] == got["rundll32"]  # capital I for small l
    assert got["ехplorer"] == got["explorer"] and got["srnss"] == got["smss"] and got["1sass"] == got["lsass"]
    assert got["notepad2"] != got["svchost"]


def test_stems_and_extensions(spark):
    names = ["svchost.exe.exe", "svchost", "lsass.com", "svchost.exe", "explorer.exe.scr", "more.com", "python3.11.exe"]
    stems = _one(spark, names, N.stem("v"))
    exts = _one(spark, names, N.extension("v"))
    assert stems == ["svchost", "svchost", "lsass", "svchost", "explorer", "more", "python3.11"]
    assert exts == [".exe.exe", "", ".com", ".exe", ".exe.scr", ".com", ".exe"]


def test_folder_templates_fold_what_varies_between_machines(spark):
    folders = ["c:\\users\\alice.berg\\appdata\\local\\microsoft\\teams\\current", "c:\\users\\public",
               "c:\\programdata\\microsoft\\windows defender\\platform\\4.18.24090.11-0",
               "c:\\windows\\temp\\3c7f1e1a-1b2c-4d5e-8f90-a1b2c3d4e5f6", "c:\\users\\default\\appdata",
               "c:\\windows\\winsxs\\amd64_microsoft-windows-servicingstack_31bf3856ad364e35_10.0.22621.4240_none_7c05"]
    got = _one(spark, folders, N.folder_template("v"))
    assert got[0] == "c:\\users\\*\\appdata\\local\\microsoft\\teams\\current"
    assert got[1] == "c:\\users\\public" and got[4] == "c:\\users\\default\\appdata", "Public and Default stay"
    assert got[2] == "c:\\programdata\\microsoft\\windows defender\\platform\\#"
    assert got[3] == "c:\\windows\\temp\\{guid}" and got[5] == "c:\\windows\\winsxs\\*"


def test_edit_distance_counts_a_swap_as_one_edit(spark):
    pairs = [("scvhost", "svchost"), ("lsas", "lsass"), ("lsasx", "lsass"), ("svhst", "svchost"), ("abcdef", "ghijkl")]
    df = spark.createDataFrame(pairs, "a string, b string")
    got = [r[0] for r in df.select(N.edit_distance("a", "b", 2)).collect()]
    assert got == [1, 1, 1, 2, 3]


# -- the findings, on hand-made events ---------------------------------------------------------------
def _event(computer, path, parent, day, account="CONTOSO\\WS$"):
    return ("t1", 4688, computer, account, path, parent, f'"{path}"', dt.datetime(2026, 11, day, 9, 0))


@pytest.fixture(scope="module")
def scored(spark):
    """20 computers with a normal boot, logon and apps for three days; on day 4, one computer runs
    every kind of masquerade and every benign look-alike. Returns the scored rows by process path."""
    rows = []
    for k in range(20):
        c = f"WS-{k:03d}.contoso.local"
        for day in (1, 2, 3):
            rows += [_event(c, S32 + "smss.exe", None, day), _event(c, S32 + "csrss.exe", S32 + "smss.exe", day),
                     _event(c, S32 + "wininit.exe", S32 + "smss.exe", day), _event(c, S32 + "lsass.exe", S32 + "wininit.exe", day),
                     _event(c, S32 + "services.exe", S32 + "wininit.exe", day), _event(c, S32 + "svchost.exe", S32 + "services.exe", day),
                     _event(c, f"C:\\Users\\user{k}\\AppData\\Local\\Microsoft\\Teams\\current\\Teams.exe", EXPLORER, day),
                     _event(c, "C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe", EXPLORER, day),
                     _event(c, "C:\\Windows\\SysWOW64\\cmd.exe", "C:\\Program Files (x86)\\App\\app.exe", day)]
            if k < 4:  # a vendor tool the developers run from their profiles: the tenant's own
                rows.append(_event(c, f"C:\\Users\\user{k}\\AppData\\Local\\Programs\\Notepad2\\Notepad2.exe", EXPLORER, day))
            if k < 12:  # python.exe on most computers: the tenant's binary, a look-alike target
                rows.append(_event(c, f"C:\\Users\\user{k}\\AppData\\Local\\Programs\\Python\\Python312\\python.exe", EXPLORER, day))
    c, cmd = "WS-001.contoso.local", S32 + "cmd.exe"
    day4 = {
        "C:\\ProgramData\\lsas.exe": cmd, "C:\\Users\\Public\\smsss.exe": cmd, "C:\\Windows\\Temp\\csrs.exe": cmd,
        "C:\\Windows\\Temp\\scvhost.exe": cmd, "C:\\ProgramData\\useirnit.exe": cmd,
        S32 + "svch0st.exe": S32 + "services.exe",
        "C:\\Windows\\Temp\\rundII32.exe": cmd, S32 + "\u0455vchost.exe": S32 + "services.exe",
        "C:\\Users\\Public\\svchost.exe.exe": cmd, "C:\\ProgramData\\lsass.com": cmd, "C:\\Intel\\svchost": cmd,
        "C:\\Users\\Public\\chr0me.exe": cmd, "C:\\Users\\Public\\svchost.exe": S32 + "services.exe",
        # benign look-alikes
        "C:\\Windows\\SysWOW64\\cmd.exe": "C:\\Program Files (x86)\\App\\app.exe",
        "C:\\Windows\\SysWOW64\\rundll32.exe": "C:\\Program Files (x86)\\Microsoft Office\\root\\Office16\\WINWORD.EXE",
        "C:\\Users\\user1\\AppData\\Local\\Microsoft\\Teams\\current\\Teams.exe": EXPLORER,
        "C:\\Users\\user1\\AppData\\Local\\Programs\\Notepad2\\Notepad2.exe": EXPLORER,
        "C:\\Program Files (x86)\\Microsoft SQL Server Management Studio 19\\Common7\\IDE\\Ssms.exe": EXPLORER,
        "C:\\Program Files\\Explorer++\\Explorer++.exe": EXPLORER,
        S32 + "taskhostw.exe": S32 + "svchost.exe",
        "C:\\Users\\user1\\AppData\\Local\\Programs\\Python\\Python312\\pythonw.exe": EXPLORER,  # python.exe's sibling
        "C:\\Users\\Public\\pythonw.exe": cmd,  # ... but not in its folder
    }
    rows += [_event(c, path, parent, 4) for path, parent in day4.items()]
    rows.append(_event(c, S32 + "lsass.exe", cmd, 4))  # the right path, the wrong parent
    rows.append(_event(c, S32 + "svchost.exe", S32 + "services.exe", 4))  # and an ordinary one
    df = spark.createDataFrame(rows, COLUMNS)
    template = get_template(NAME)
    train = template.summarize(template.prepare(df.filter("TimeGenerated < '2026-11-04'")))
    model = template.fit(train, TimeWindow.parse("2026-11-01", "2026-11-04"))
    window = TimeWindow.parse("2026-11-04", "2026-11-05")
    out = model.score(template.summarize(template.prepare(df.filter("TimeGenerated >= '2026-11-04'"))),
                      RunInfo("r", dt.datetime(2026, 11, 5, tzinfo=UTC), window, "v"))
    return out.toPandas().set_index("ProcessPath")  # one row per path of one computer: small


@pytest.mark.parametrize("path,imitated,kind", [
    ("C:\\ProgramData\\lsas.exe", "lsass.exe", "1 edit"),  # short names: one edit of 5 letters
    ("C:\\Users\\Public\\smsss.exe", "smss.exe", "1 edit"),  # ... and of 4
    ("C:\\Windows\\Temp\\csrs.exe", "csrss.exe", "1 edit"),
    ("C:\\Windows\\Temp\\scvhost.exe", "svchost.exe", "swapped letters"),
    ("C:\\ProgramData\\useirnit.exe", "userinit.exe", "swapped letters"),  # the swap makes 'rn', a homoglyph of 'm'
    (S32 + "svch0st.exe", "svchost.exe", "homoglyph"),
    ("C:\\Windows\\Temp\\rundII32.exe", "rundll32.exe", "homoglyph"),
    (S32 + "\u0455vchost.exe", "svchost.exe", "homoglyph"),
    ("C:\\Users\\Public\\svchost.exe.exe", "svchost.exe", "extension"),
    ("C:\\ProgramData\\lsass.com", "lsass.exe", "extension"),
    ("C:\\Intel\\svchost", "svchost.exe", "extension"),
    ("C:\\Users\\Public\\chr0me.exe", "chrome.exe", "homoglyph"),  # the tenant's own frequent binary
    ("C:\\Users\\Public\\pythonw.exe", "python.exe", "1 edit"),  # the tenant's binary's name, elsewhere
])
def test_name_lookalikes_are_flagged(scored, path, imitated, kind):
    row = scored.loc[path]
    assert row["IsAnomaly"] and row["Reason"].split(",")[0] == "name_lookalike", row.to_dict()
    assert row["ImitatedProcess"] == imitated and f"({kind};" in row["Explanation"]
    assert row["AnomalyScore"] >= get_template(NAME).config.threshold


def test_a_system_binary_in_an_unexpected_folder_is_flagged(scored):
    row = scored.loc["C:\\Users\\Public\\svchost.exe"]
    assert row["IsAnomaly"] and row["Reason"] == "unexpected_folder"  # started by services.exe: no parent finding
    assert row["ImitatedPath"] == "C:\\Windows\\System32\\svchost.exe"
    assert "runs from C:\\Windows\\System32, not from C:\\Users\\Public" in row["Explanation"]


def test_a_rare_parent_of_a_system_process_is_flagged(scored):
    row = scored.loc[S32 + "lsass.exe"]
    assert row["IsAnomaly"] and row["Reason"] == "rare_parent"
    assert row["ParentProcess"] == S32 + "cmd.exe" and row["Account"] == "CONTOSO\\WS$"
    assert "lsass.exe started by cmd.exe; its parent is wininit.exe" in row["Explanation"]


@pytest.mark.parametrize("path", [
    "C:\\Windows\\SysWOW64\\cmd.exe", "C:\\Windows\\SysWOW64\\rundll32.exe",  # 32-bit copies
    "C:\\Users\\user1\\AppData\\Local\\Microsoft\\Teams\\current\\Teams.exe",  # a per-user install
    "C:\\Users\\user1\\AppData\\Local\\Programs\\Notepad2\\Notepad2.exe",  # notepad + 1, but the tenant's own
    "C:\\Program Files (x86)\\Microsoft SQL Server Management Studio 19\\Common7\\IDE\\Ssms.exe",  # smss swapped, a vendor's
    "C:\\Program Files\\Explorer++\\Explorer++.exe", S32 + "taskhostw.exe",
    "C:\\Users\\user1\\AppData\\Local\\Programs\\Python\\Python312\\pythonw.exe",  # beside python.exe
])
def test_benign_lookalikes_do_not_flag(scored, path):
    row = scored.loc[path]
    assert not row["IsAnomaly"], row.to_dict()
    assert row["AnomalyScore"] < get_template(NAME).config.threshold


def test_rows_without_findings_score_their_rarity(scored):
    normal = scored[scored["Reason"] == ""]
    assert len(normal) >= 5 and normal["AnomalyScore"].between(0.0, 1.0).all()
    assert normal.loc["C:\\Windows\\System32\\svchost.exe", "TrainingComputers"] == 20
    assert normal.loc["C:\\Windows\\System32\\svchost.exe", "AnomalyScore"] == pytest.approx(0.0, abs=1e-9)


def test_options_change_the_findings(spark):
    t = get_template(NAME, {"extra_parents": {"lsass.exe": ["cmd.exe"]}, "min_edit_length": 8})
    assert t.config.extra_parents == {"lsass.exe": ["cmd.exe"]}
    with pytest.raises(ConfigError, match="min_edit_length"):
        get_template(NAME, {"min_edit_length": 3})
    with pytest.raises(ConfigError, match="extra_folders maps"):
        get_template(NAME, {"extra_folders": {"svchost.exe": "D:\\Windows"}})
    with pytest.raises(ConfigError, match="event_ids"):
        get_template(NAME, {"event_ids": []})
    with pytest.raises(ConfigError, match="frequent_share"):
        get_template(NAME, {"frequent_share": 0.0})


# -- the plan: an equi-join on blocking keys, no cross join, no Python UDF -----------------------------
def test_the_lookalike_join_is_an_equi_join_without_python(spark, scored):
    from byoml.templates.masquerading.lookalikes import lookalikes

    rows = [_event(f"WS-{k}", S32 + "svchost.exe", S32 + "services.exe", 1) for k in range(5)]
    template = get_template(NAME)
    events = spark.createDataFrame(rows, COLUMNS)
    model = template.fit(template.summarize(template.prepare(events)), TimeWindow.parse("2026-11-01", "2026-11-02"))
    names = spark.createDataFrame([("t1", "svch0st.exe"), ("t1", "lsas.exe"), ("t1", "winword.exe")], "TenantId string, Name string")
    found = lookalikes(names, model, template.config)
    plan = io.StringIO()
    with contextlib.redirect_stdout(plan):
        found.explain(mode="formatted")
    text = plan.getvalue()
    assert "CartesianProduct" not in text and "BroadcastNestedLoopJoin" not in text, "a cross join in the plan"
    assert "EvalPython" not in text, "a Python UDF in the plan"
    assert "levenshtein" in text.lower()
    assert sorted(r["Name"] for r in found.collect()) == ["lsas.exe", "svch0st.exe"]


# -- the sample data and the whole path ------------------------------------------------------------------
@pytest.fixture(scope="module")
def cli_run(process_sample, tmp_path_factory, spark):
    root, labels = process_sample
    work = tmp_path_factory.mktemp("masq-cli")
    tw = labels["train_window"]
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert main(["train", "--template", NAME, "--source", str(root), "--model", str(work / "model"),
                     "--start", tw["start"], "--end", tw["end"]]) == EXIT_OK
        assert main(["score", "--template", NAME, "--source", str(root), "--model", str(work / "model"), "--sink",
                     str(work / "sink"), "--emit", "all", "--report", str(work / "report.html")]) == EXIT_OK
        assert main(["evaluate", "--template", NAME, "--scores", str(work / "sink"), "--labels", str(root),
                     "--json", str(work / "metrics.json")]) == EXIT_OK
    return {"root": root, "labels": labels, "work": work, "stdout": printed.getvalue(),
            "metrics": json.loads((work / "metrics.json").read_text())}


def test_every_injected_kind_is_found_and_no_benign_lookalike_flags(cli_run):
    m = cli_run["metrics"]
    assert set(m["by_kind"]) == set(cli_run["labels"]["kinds"]) and len(m["by_kind"]) == 8
    for kind, v in m["by_kind"].items():
        assert v["rows"] > 0 and v["recall"] >= 0.95, (kind, v)
    assert not [k for k in m["false_flags_by_kind"] if k.startswith("benign")], m["false_flags_by_kind"]
    assert m["false_flags"] <= 1, m["false_flag_examples"]
    assert m["benign_lookalike_rows"] > 50
    assert "lookalike_short" in cli_run["stdout"] and "recall" in cli_run["stdout"]


def test_the_report_lists_the_top_rows_with_their_reasons(cli_run):
    from tests.test_report import table_rows

    document = (cli_run["work"] / "report.html").read_text(encoding="utf-8")
    rows = load_scores(str(cli_run["work"] / "sink"), "MasqueradingProcessResult")
    flagged = rows[rows["IsAnomaly"]].sort_values("AnomalyScore", ascending=False, kind="mergesort")
    shown = table_rows(document)
    assert "Top anomalies, with their reasons" in document and len(shown) == min(50, len(flagged)) > 0
    assert {r["Reason"] for r in shown} <= set(flagged["Reason"]) and all(r["Reason"] for r in shown)
    assert [float(r["AnomalyScore"]) for r in shown] == pytest.approx(flagged["AnomalyScore"].head(len(shown)).tolist(), abs=5e-4)
    assert "Flagged (computer, process path) rows per reason" in document and "Plotly.newPlot(" in document


def test_sample_events_look_like_4688_exports(process_sample):
    root, labels = process_sample
    events = [json.loads(line) for path in root.glob("am-securityevent/**/*.json") for line in path.open(encoding="utf-8")
              if line.startswith('{"TenantId":"') and '"EventID":4688' in line]
    assert len(events) > 10_000 and len(labels["tenants"]) == 2
    first = events[0]
    for column in ("NewProcessName", "Process", "CommandLine", "TokenElevationType", "MandatoryLabel", "SubjectUserSid",
                   "NewProcessId", "ProcessId", "EventOriginId"):
        assert column in first, column
    paths = {e["NewProcessName"] for e in events}
    assert {S32 + "smss.exe", S32 + "lsass.exe"} <= paths and any(p.startswith("C:\\Windows\\SysWOW64\\") for p in paths)
    assert any("\\AppData\\Local\\Microsoft\\Teams\\current\\Teams.exe" in p for p in paths), "per-user installs"
    parents = {(e["NewProcessName"], e.get("ParentProcessName")) for e in events}
    assert (S32 + "lsass.exe", S32 + "wininit.exe") in parents and (S32 + "wininit.exe", S32 + "smss.exe") in parents
    assert any(e["NewProcessName"] == S32 + "smss.exe" and "ParentProcessName" not in e for e in events), "smss: no parent"
    old_servers = {e["Computer"] for e in events if e["NewProcessName"].endswith("taskhostex.exe")}
    legacy = [e for e in events if e["Computer"] in old_servers]
    assert legacy and all("ParentProcessName" not in e for e in legacy), "Server 2012 R2 logs no parent"
    start = labels["score_window"]["start"]
    day = {(e["TenantId"], e["Computer"].lower(), e["NewProcessName"].lower()) for e in events if e["TimeGenerated"] >= start}
    for row in labels["rows"]:
        assert (row["TenantId"], row["Computer"].lower(), row["ProcessPath"].lower()) in day, row
    kinds = {r["kind"] for r in labels["rows"]}
    assert {"benign_syswow64", "benign_vendor", "benign_per_user", "benign_windows_pair"} <= kinds


def test_same_seed_same_sample(tmp_path):
    from byoml.sample_data import generate

    a = generate("process-creation", str(tmp_path / "a"), computers=20, days=3, seed=4)
    b = generate("process-creation", str(tmp_path / "b"), computers=20, days=3, seed=4)
    assert a["rows"] == b["rows"] and a["counts"] == b["counts"]
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.json"))
    assert files and all((tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes() for f in files)


# -- bad input --------------------------------------------------------------------------------------
def test_an_export_without_process_creations_is_a_clear_error(access_sample, tmp_path, capsys):
    root, labels = access_sample  # SecurityEvent 5140 and 4624 only
    tw = labels["train_window"]
    code = main(["train", "--template", NAME, "--source", str(root), "--model", str(tmp_path / "m"),
                 "--start", tw["start"], "--end", tw["end"]])
    err = capsys.readouterr().err
    assert code == EXIT_FAILED and ("NewProcessName" in err or "none is an input" in err), err


def test_fitting_nothing_and_a_bad_sample_option_are_errors(spark, tmp_path):
    template = get_template(NAME)
    empty = spark.createDataFrame([], COLUMNS)
    with pytest.raises(EmptyWindowError, match="no process creations"):
        template.fit(template.summarize(template.prepare(empty)), TimeWindow.parse("2026-11-01", "2026-11-02"))
    assert main(["sample-data", "--template", NAME, "--out", str(tmp_path / "s"), "--computers", "5"]) == EXIT_USAGE
    assert main(["sample-data", "--template", NAME, "--out", str(tmp_path / "s"), "--series", "5"]) == EXIT_USAGE


def test_process_metrics_refuse_other_outputs(process_sample):
    from byoml.evaluate_process import process_metrics

    _, labels = process_sample
    with pytest.raises(ConfigError, match="masquerading-process output"):
        process_metrics(pd.DataFrame({"Account": ["a"], "AnomalyScore": [1.0]}), labels)
