"""The CLI end to end: sample-data -> train -> score -> evaluate, errors and exit codes."""
from __future__ import annotations

import glob
import json
import os
import pathlib
import re

import pytest

from byoml.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, main
from byoml.errors import JavaNotFoundError

EXAMPLES = pathlib.Path(__file__).resolve().parents[1] / "templates" / "examples"


def _rows(folder):
    return [json.loads(line) for f in sorted(glob.glob(os.path.join(folder, "*.json"))) for line in open(f) if line.strip()]


@pytest.fixture(scope="module")
def trained(tmp_path_factory, spark, access_sample):
    root, labels = access_sample
    model = tmp_path_factory.mktemp("cli") / "model"
    tw = labels["train_window"]
    code = main(["train", "--template", "access-rarity", "--source", str(root), "--model", str(model),
                 "--start", tw["start"], "--end", tw["end"]])
    assert code == EXIT_OK
    return root, labels, model


def test_train_prints_a_summary_and_saves_a_model(trained, capsys):
    root, labels, model = trained
    assert (model / "CURRENT").exists()
    meta = json.loads(next(model.glob("m-*/metadata.json")).read_text())
    assert meta["training_window"] == {"start": labels["train_window"]["start"], "end": labels["train_window"]["end"]}
    assert meta["read"]["rows"] > 0 and meta["events"] > 0


def test_score_newest_day_writes_only_anomalies_by_default(trained, tmp_path, capsys):
    root, labels, model = trained
    sink = tmp_path / "sink"
    summary_file = tmp_path / "summary.json"
    code = main(["score", "--template", "access-rarity", "--source", str(root), "--model", str(model),
                 "--sink", str(sink), "--summary-json", str(summary_file)])
    assert code == EXIT_OK
    out = capsys.readouterr().out
    for word in ("records", "quarantined", "duplicates", "scored", "flagged", "written", "time"):
        assert word in out
    summary = json.loads(summary_file.read_text())
    assert summary["window"].startswith("[" + labels["score_window"]["start"])  # the newest day present
    rows = _rows(sink / "AccessRarity_CL")
    assert len(rows) == summary["counts"]["flagged"] == summary["counts"]["written"] > 0
    assert all(r["IsAnomaly"] is True for r in rows)
    row = rows[0]
    assert row["TimeGenerated"].endswith("Z") and row["RunId"] == summary["run_id"] and row["ModelVersion"]
    assert all(os.path.basename(f).startswith(f"part-{summary['run_id']}-") for f in glob.glob(str(sink / "AccessRarity_CL" / "*.json")))
    # the sample's malformed lines sit in the scoring day: quarantined beside the output and counted
    assert summary["counts"]["quarantined"] == 4
    quarantine = _rows(sink / "_quarantine" / summary["run_id"] / "SecurityEvent")
    assert len(quarantine) == 4 and all(q["Reason"] for q in quarantine)
    for q in quarantine:  # File and Line point at the record
        assert open(q["File"].removeprefix("file:"), encoding="utf-8").read().splitlines()[q["Line"] - 1] == q["Record"]
    names = os.listdir(sink / "_quarantine" / summary["run_id"] / "SecurityEvent")
    assert names and all(n.startswith("part-") and n.endswith(".json") for n in names), names


def test_a_truncated_body_is_recovered_and_said_in_the_summary(tmp_path, spark, capsys):
    folder = tmp_path / "export" / "am-securityevent" / "WorkspaceResourceId=" / "w" / "y=2026" / "m=11" / "d=02" / "h=10" / "m=00"
    folder.mkdir(parents=True)
    records = [{"TimeGenerated": f"2026-11-02T10:{i:02d}:00Z", "EventID": 5140, "Account": f"C\\u{i % 5}",
                "Computer": "FS1", "ShareName": f"\\\\*\\S{i % 3}", "Type": "SecurityEvent"} for i in range(18)]
    body = json.dumps({"records": records})
    (folder / "PT1H.json").write_text(body[:-40] + "\n")  # cut inside the 18th record
    summary_file = tmp_path / "summary.json"
    assert main(["train", "--template", "access-rarity", "--source", str(tmp_path / "export"), "--model",
                 str(tmp_path / "model"), "--end", "2026-11-03", "--force", "--summary-json", str(summary_file)]) == EXIT_OK
    counts = json.loads(summary_file.read_text())["counts"]
    assert (counts["records"], counts["recovered"], counts["quarantined"], counts["rows_read"]) == (18, 17, 1, 17)
    out = capsys.readouterr().out
    assert "recovered 17" in out and "1 truncated" in out and "1 cut off at their end quarantined" in out


def test_score_all_then_evaluate_and_rerun_does_not_duplicate(trained, tmp_path, capsys):
    root, labels, model = trained
    sink = tmp_path / "sink"
    args = ["score", "--template", "access-rarity", "--source", str(root), "--model", str(model), "--sink", str(sink),
            "--emit", "all", "--start", labels["score_window"]["start"], "--end", labels["score_window"]["end"]]
    assert main(args) == EXIT_OK
    first = _rows(sink / "AccessRarity_CL")
    assert main(args) == EXIT_OK
    again = _rows(sink / "AccessRarity_CL")
    assert len(again) == len(first) == len(labels["pairs"])
    assert {r["IsAnomaly"] for r in first} == {True, False}
    metrics_file = tmp_path / "m.json"
    capsys.readouterr()
    assert main(["evaluate", "--template", "access-rarity", "--scores", str(sink), "--labels", str(root / "labels.json"),
                 "--json", str(metrics_file)]) == EXIT_OK
    metrics = json.loads(metrics_file.read_text())
    assert metrics["pairs"] == len(labels["pairs"]) and metrics["unscored_pairs"] == 0
    assert metrics["roc_auc"] > 0.85, "the reference rarity scorer separates injected anomalies"
    assert "precision_at_k" in capsys.readouterr().out


def test_user_template_by_module_path(trained, tmp_path, monkeypatch):
    root, labels, _ = trained
    monkeypatch.chdir(EXAMPLES)
    model, sink = tmp_path / "m", tmp_path / "s"
    assert main(["train", "--template", "off_hours:OffHours", "--source", str(root), "--model", str(model),
                 "--end", labels["train_window"]["end"]]) == EXIT_OK
    assert main(["score", "--template", "off_hours:OffHours", "--source", str(root), "--model", str(model),
                 "--sink", str(sink), "--emit", "all"]) == EXIT_OK
    rows = _rows(sink / "OffHoursAccess_CL")
    assert rows and {"Hour", "AnomalyScore", "IsAnomaly", "RunId"} <= set(rows[0])


def test_config_file_overrides_template_options(trained, tmp_path):
    root, labels, _ = trained
    config = tmp_path / "c.yaml"
    config.write_text("template:\n  event_ids: [4624]\n")
    code = main(["train", "--template", "access-rarity", "--source", str(root), "--model", str(tmp_path / "m"),
                 "--config", str(config)])
    assert code == EXIT_FAILED  # 4624 logons have no ShareName: nothing to learn, said clearly


@pytest.mark.parametrize("argv,code,message", [
    (["train", "--template", "access-rarity", "--source", "/nonexistent", "--model", "m"], EXIT_USAGE, "does not exist"),
    (["train", "--template", "nope", "--source", ".", "--model", "m"], EXIT_USAGE, "unknown template 'nope'"),
    (["train", "--template", "access-rarity", "--source", ".", "--model", "m", "--start", "last tuesday"], EXIT_USAGE, "cannot read time"),
    (["score", "--template", "access-rarity", "--source", ".", "--model", "/nonexistent", "--sink", "s"], EXIT_FAILED, "no model in"),
    (["score", "--template", "access-rarity", "--source", ".", "--model", "m", "--sink", "s", "--emit", "some"],
     EXIT_USAGE, "--emit must be one of anomalies, all"),
    (["train", "--source", "."], EXIT_USAGE, "required"),
    (["sample-data", "--out", "x", "--series", "3"], EXIT_USAGE, "--series do not apply"),
])
def test_bad_arguments_exit_non_zero_with_a_message(argv, code, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    try:
        got = main(argv)
    except SystemExit as exc:  # argparse's own errors
        got = exc.code
    assert got == code
    assert message in capsys.readouterr().err


def test_config_errors(trained, tmp_path, capsys):
    root, _, _ = trained
    bad = tmp_path / "bad.yaml"
    bad.write_text("threshold: 3\n")
    assert main(["train", "--template", "access-rarity", "--source", str(root), "--model", str(tmp_path / "m"),
                 "--config", str(bad)]) == EXIT_USAGE
    assert "unknown section(s) threshold" in capsys.readouterr().err
    bad.write_text("template:\n  threshold: high\n")
    assert main(["train", "--template", "access-rarity", "--source", str(root), "--model", str(tmp_path / "m"),
                 "--config", str(bad)]) == EXIT_USAGE
    assert "threshold: expected float" in capsys.readouterr().err


def test_wrong_template_for_model_is_refused(trained, tmp_path, capsys, monkeypatch):
    root, _, model = trained
    monkeypatch.syspath_prepend(str(EXAMPLES))
    assert main(["score", "--template", "off_hours:OffHours", "--source", str(root), "--model", str(model),
                 "--sink", str(tmp_path)]) == EXIT_FAILED
    assert "trained by template 'access-rarity'" in capsys.readouterr().err


def test_sample_data_command(tmp_path, capsys):
    out = tmp_path / "usage"
    assert main(["sample-data", "--template", "access-rarity", "--out", str(out), "--users", "40", "--days", "5",
                 "--layout", "hourly"]) == EXIT_OK
    assert (out / "labels.json").exists()
    assert glob.glob(str(out / "am-securityevent" / "**" / "PT1H.json"), recursive=True)
    assert "ground truth" in capsys.readouterr().out


def test_missing_java_is_explained(monkeypatch):
    from byoml import spark as spark_module

    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(JavaNotFoundError, match="Java was not found.*openjdk-17"):
        spark_module.check_java()


def test_local_spark_takes_more_java_options_from_the_environment(monkeypatch):
    from byoml import spark as spark_module

    monkeypatch.delenv(spark_module.JAVA_OPTIONS_ENV, raising=False)
    for name in ("PYSPARK_PYTHON", "PYSPARK_DRIVER_PYTHON", "SPARK_LOCAL_IP"):  # _local_conf sets them if unset
        monkeypatch.setenv(name, os.environ.get(name, ""))
    default = spark_module._local_conf("local[2]", "byoml")["spark.driver.extraJavaOptions"]
    assert default.startswith("-Duser.timezone=UTC -XX:+UseParallelGC -XX:Tier4InvocationThreshold=50000")
    monkeypatch.setenv(spark_module.JAVA_OPTIONS_ENV, " -XX:TieredStopAtLevel=1 ")
    given = spark_module._local_conf("local[2]", "byoml")["spark.driver.extraJavaOptions"]
    assert given == default + " -XX:TieredStopAtLevel=1"


def test_demo_runs_end_to_end(tmp_path, capsys, spark):
    from byoml.demo import run_demo

    assert run_demo(str(tmp_path / "demo"), users=60) == 0
    out = capsys.readouterr().out
    assert "results:" in out and "roc_auc" not in out  # plain sentences, not metric names
    caught = re.search(r"Caught (\d+) of the (\d+) injected incidents", out)
    assert caught and caught.group(1) == caught.group(2) != "0", out
    from byoml.demo import DEFAULT_TEMPLATE
    from byoml.templates import get_template

    table = get_template(DEFAULT_TEMPLATE).output_table_name
    assert _rows(tmp_path / "demo" / "results" / f"{table}_CL")

