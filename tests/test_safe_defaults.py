"""What a user is told (issue 17): default windows that do not overlap, thin data, where rows went,
errors in one or two lines, help texts, the report's heatmap and legend, the demo's plain sentences."""
from __future__ import annotations

import datetime as dt
import json
import sys
import textwrap

import pandas as pd
import pytest

from byoml.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, main
from byoml.sample_data.export_writer import ExportWriter, format_time_generated, workspace_resource_id
from byoml.templates import read_metadata
from byoml.timewindow import UTC

TEMPLATE = "anomalous-resource-access"


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    """A 5-day resource-access export (30 users, hourly folders) with incidents on the newest day."""
    from byoml.sample_data import generate

    out = tmp_path_factory.mktemp("safe-defaults") / "export"
    labels = generate("resource-access", str(out), users=30, days=7, seed=3, layout="hourly")
    return out, labels


def _run(argv, capsys):
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _day(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_train_then_score_without_windows_scores_unseen_data(export, tmp_path, capsys, spark):
    root, labels = export
    model, sink = str(tmp_path / "m"), str(tmp_path / "out")
    code, out, err = _run(["train", "--template", TEMPLATE, "--source", str(root), "--model", model,
                           "--summary-json", str(tmp_path / "t.json")], capsys)
    assert code == EXIT_OK, err
    newest = _day(labels["score_window"]["start"])
    meta = read_metadata(model)
    assert _day(meta["training_window"]["end"]) == newest  # the newest day is kept out of training
    assert "kept out of training" in out
    code, out, err = _run(["score", "--template", TEMPLATE, "--source", str(root), "--model", model, "--sink", sink,
                           "--summary-json", str(tmp_path / "s.json")], capsys)
    assert code == EXIT_OK, err
    summary = json.load(open(tmp_path / "s.json"))
    assert summary["window"].startswith("[" + labels["score_window"]["start"][:10])
    assert summary["counts"]["flagged"] >= 3  # the injected incidents are found (0 when the day was trained on)


def test_overlapping_or_earlier_windows_are_refused_unless_allowed(export, tmp_path, capsys, spark):
    root, labels = export
    tw = labels["train_window"]
    model = str(tmp_path / "m")
    assert main(["train", "--template", "access-rarity", "--source", str(root), "--model", model,
                 "--start", tw["start"], "--end", tw["end"]]) == EXIT_OK
    inside = (_day(tw["end"]) - dt.timedelta(days=1)).strftime("%Y-%m-%d")
    common = ["score", "--template", "access-rarity", "--source", str(root), "--model", model,
              "--sink", str(tmp_path / "out"), "--start", inside]
    code, _, err = _run(common, capsys)
    assert code == EXIT_USAGE and "overlaps the model's training window" in err and "--allow-overlap" in err
    assert len(err.strip().splitlines()) <= 2
    code, _, err = _run(["score", "--template", "access-rarity", "--source", str(root), "--model", model, "--sink",
                         str(tmp_path / "out"), "--start", "2020-01-01"], capsys)
    assert code == EXIT_USAGE and "lies before" in err
    code, out, err = _run([*common, "--allow-overlap"], capsys)
    assert code == EXIT_OK, err
    assert "--allow-overlap" in out  # the summary says the window overlaps training


def test_thin_training_data_is_refused_and_force_marks_the_rows(export, tmp_path, capsys, spark):
    root, labels = export
    start = _day(labels["train_window"]["start"])
    one_day = ["--start", start.strftime("%Y-%m-%d"), "--end", (start + dt.timedelta(days=1)).strftime("%Y-%m-%d")]
    model = str(tmp_path / "m")
    code, _, err = _run(["train", "--template", TEMPLATE, "--source", str(root), "--model", model, *one_day], capsys)
    assert code == EXIT_FAILED and "too thin" in err and "1 days (needs 3)" in err and "--force" in err
    code, out, err = _run(["train", "--template", TEMPLATE, "--source", str(root), "--model", model, *one_day,
                           "--force"], capsys)
    assert code == EXIT_OK, err
    assert "LOW CONFIDENCE" in out
    meta = read_metadata(model)
    assert meta["low_confidence"]["days"] == {"have": 1, "need": 3}
    sw = labels["score_window"]
    code, out, err = _run(["score", "--template", TEMPLATE, "--source", str(root), "--model", model, "--sink",
                           str(tmp_path / "out"), "--start", sw["start"], "--end", sw["end"], "--emit", "all"], capsys)
    assert code == EXIT_OK, err
    rows = pd.concat(pd.read_json(p, lines=True) for p in (tmp_path / "out").rglob("*.json"))
    assert len(rows) and rows["LowConfidence"].all()


def test_the_summary_says_where_every_row_went(export, tmp_path, capsys, spark):
    root, labels = export
    tw = labels["train_window"]
    code, out, err = _run(["train", "--template", TEMPLATE, "--source", str(root), "--model", str(tmp_path / "m"),
                           "--start", tw["start"], "--end", tw["end"], "--summary-json", str(tmp_path / "t.json")],
                          capsys)
    assert code == EXIT_OK, err
    s = json.load(open(tmp_path / "t.json"))
    filtered = s["filtered"]
    assert filtered["machine account"] > 0 and filtered["EventID not in 5140"] > 0
    c = s["counts"]
    assert c["rows_read"] == c["events"] + sum(filtered.values())  # every row read is used or filtered, by reason
    assert "filtered     " in out and "machine account" in out


def _machine_day(tmp_path):
    """Day 1-3: 5140 by users; day 4: 5140 by machine accounts only; day 5: 4624 logons only (no ShareName)."""
    out = tmp_path / "export"
    writer = ExportWriter(str(out), "SecurityEvent", workspace_resource_id("s", "rg", "ws"), "hourly")
    start = dt.datetime(2026, 10, 1, tzinfo=UTC)
    for day in range(5):
        for i in range(60):
            when = start + dt.timedelta(days=day, minutes=20 * i)
            base = {"TimeGenerated": format_time_generated(when), "Computer": "FS1.contoso.local", "Type": "SecurityEvent",
                    "TenantId": "t"}
            if day < 3:
                rec = {**base, "EventID": 5140, "Account": f"CONTOSO\\user{i % 12}", "ShareName": f"\\\\*\\S{i % 5}"}
            elif day == 3:
                rec = {**base, "EventID": 5140, "Account": f"CONTOSO\\HOST{i % 4}$", "ShareName": "\\\\*\\SYSVOL"}
            else:
                rec = {**base, "EventID": 4624, "Account": f"CONTOSO\\user{i % 12}"}
            writer.add(when, rec)
        writer.flush()
    return out


def test_messages_name_the_real_cause(tmp_path, capsys, spark):
    root = _machine_day(tmp_path)
    code, _, err = _run(["train", "--template", "access-rarity", "--source", str(root), "--model", str(tmp_path / "m"),
                         "--start", "2026-10-04", "--end", "2026-10-05"], capsys)
    assert code == EXIT_FAILED and "60 machine account" in err and "exclude_machine_accounts" in err
    assert main(["train", "--template", "access-rarity", "--source", str(root), "--model", str(tmp_path / "m"),
                 "--start", "2026-10-01", "--end", "2026-10-04"]) == EXIT_OK
    # the newest day holds only logons: not "ShareName is missing", but which day holds input
    code, _, err = _run(["score", "--template", "access-rarity", "--source", str(root), "--model", str(tmp_path / "m"),
                         "--sink", str(tmp_path / "out")], capsys)
    assert code == EXIT_FAILED, err
    assert "60 EventID not in 5140" in err and "missing from every record" not in err
    assert "--start 2026-10-03" in err  # day 4 held only machine accounts: the newest input is on day 3


def test_user_mistakes_are_one_or_two_lines(export, tmp_path, capsys, monkeypatch, spark):
    root, labels = export
    tw = labels["train_window"]
    config = tmp_path / "c.yaml"
    config.write_text("template:\n  where: \"ShareNme NOT LIKE '%IPC$'\"\n")
    code, _, err = _run(["train", "--template", TEMPLATE, "--source", str(root), "--model", str(tmp_path / "m"),
                         "--start", tw["start"], "--end", tw["end"], "--config", str(config)], capsys)
    assert code == EXIT_USAGE and "ShareNme" in err and "ShareName" in err  # Spark's suggestion is kept
    assert len(err) < 1200 and "at org.apache" not in err and "Traceback" not in err
    code, _, err = _run(["train", "--template", TEMPLATE, "--source", str(tmp_path / "nowhere"), "--model",
                         str(tmp_path / "m")], capsys)
    assert code == EXIT_USAGE and "does not exist" in err

    import byoml.run as run

    def no_spark(spark):
        raise AssertionError("Spark was started for a window past the data")

    monkeypatch.setattr(run, "_spark", no_spark)
    code, _, err = _run(["train", "--template", TEMPLATE, "--source", str(root), "--model", str(tmp_path / "m"),
                         "--start", "2030-01-01", "--end", "2030-01-08"], capsys)
    assert code == EXIT_FAILED and "starts after the newest" in err


PLUGIN = textwrap.dedent('''
    from byoml.templates.rarity import AccessRarity


    class DriverBug(AccessRarity):
        name = "driver-bug"

        def fit(self, prepared, window):
            return 1 / 0


    class WorkerBug(AccessRarity):
        name = "worker-bug"

        def fit(self, prepared, window):
            def broken_step(frames):  # shipped to the workers by value (a local function)
                for frame in frames:
                    raise ValueError("boom in the worker")
                    yield frame

            prepared.mapInPandas(broken_step, prepared.schema).count()
''')


def test_a_bug_in_a_plugin_template_shows_its_python_traceback(export, tmp_path, capsys, monkeypatch, spark):
    root, labels = export
    tw = labels["train_window"]
    (tmp_path / "plug").mkdir()
    (tmp_path / "plug" / "buggy_plugin.py").write_text(PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path / "plug"))
    monkeypatch.delitem(sys.modules, "buggy_plugin", raising=False)
    for cls, text in (("DriverBug", "ZeroDivisionError"), ("WorkerBug", "ValueError: boom in the worker")):
        code, _, err = _run(["train", "--template", f"buggy_plugin:{cls}", "--source", str(root), "--model",
                             str(tmp_path / cls), "--start", tw["start"], "--end", tw["end"]], capsys)
        assert code == EXIT_FAILED and text in err, err
        assert "buggy_plugin.py" in err and "at org.apache" not in err and len(err) < 4000, err


def test_help_and_listing(capsys):
    code, out, _ = _run(["templates"], capsys)
    assert code == EXIT_OK and "see module docstring" not in out
    rows = [line for line in out.splitlines()[1:] if line and not line.startswith("'")]
    header = out.splitlines()[0]
    for column in ("reads", "writes", "what"):
        assert all(len(r) > header.index(column) and r[header.index(column) - 1] == " " for r in rows), column
    assert all(r.rstrip().endswith(".") for r in rows)
    for argv, must in ((["train", "--help"], "start of the newest day"), (["score", "--help"], "Default: the newest day"),
                       (["sample-data", "--help"], "random seed"), (["evaluate", "--help"], "the template that wrote")):
        with pytest.raises(SystemExit):
            main(argv)
        assert must in " ".join(capsys.readouterr().out.split()), argv


def test_demo_findings_in_plain_sentences():
    from byoml.demo import findings

    labels = {"kind": "resource-access",
              "incidents": [{"TenantId": "t", "Account": "C\\eve", "description": "HR user browsed Payroll"},
                            {"TenantId": "t", "Account": "C\\mal", "description": "new account swept shares"}],
              "pairs": [{"TenantId": "t", "Account": "C\\eve", "label": 1}, {"TenantId": "t", "Account": "C\\mal", "label": 1},
                        {"TenantId": "t", "Account": "C\\bob", "label": 0}]}
    rows = pd.DataFrame({"TenantId": ["t", "t", "t"], "Account": ["c\\eve", "c\\bob", "c\\mal"],
                         "Resource": ["\\\\fs\\payroll", "\\\\fs\\legal", "\\\\fs\\x"], "AnomalyScore": [4.0, 2.7, 0.3],
                         "IsAnomaly": [True, True, False]})
    lines = findings(rows, labels)
    assert lines[0] == "Caught 1 of the 2 injected incidents:"
    assert "Missed: C\\mal: new account swept shares" in lines
    assert "1 false alarm (flagged, but normal behaviour):" in lines and "  - c\\bob on \\\\fs\\legal (score 2.70)" in lines


def test_report_heatmap_keeps_every_flagged_cell_and_says_what_is_cut(spark):
    from pyspark.sql import functions as F

    from byoml.report import collect

    # one user with many odd resources, and an outsider with one flagged access to a low-scoring share
    rows = [("t", "c\\new", f"\\\\fs\\r{i}", 3.0 + i / 10, True) for i in range(8)]
    rows += [("t", "c\\new", f"\\\\fs\\usual{i}", 0.1, False) for i in range(4)]
    rows += [("t", "c\\out", "\\\\fs\\legal-fy27", 2.6, True), ("t", "c\\out", "\\\\fs\\home", 0.2, False)]
    df = spark.createDataFrame(rows, "TenantId string, Account string, Resource string, AnomalyScore double, "
                                     "IsAnomaly boolean").withColumn("Explanation", F.lit(""))
    data = collect(df, F.col("IsAnomaly"), kind="access", max_grid=9)
    flagged = {(a, r) for _, a, r, _, f in rows if f}
    shown = set(zip(data.grid["Account"], data.grid["Resource"]))
    assert flagged <= shown  # the outsider's flagged cell is there, though lower than 8 others
    assert "capped" in data.grid_note and "Every flagged access" in data.grid_note
