"""run.score with a watermark: the second scheduled run reads only what was appended since the first."""
from __future__ import annotations

import datetime as dt
import json

from byoml.run import score, train
from byoml.sources import LocalExportSource
from byoml.timewindow import TimeWindow, parse_time


def _lines(path):
    out = []
    for line in open(path, encoding="utf-8"):
        try:
            out.append(json.loads(line))
        except ValueError:
            pass
    return out


def test_second_score_run_reads_only_new_and_appended_records(spark, tmp_path):
    from byoml.sample_data import generate

    data = tmp_path / "export"
    labels = generate("resource-access", str(data), users=40, days=4, seed=5, layout="hourly")
    tw = labels["train_window"]
    model = tmp_path / "model"
    train("access-rarity", str(data), str(model), tw["start"], tw["end"], spark=spark)
    config = {"source": {"watermark": str(tmp_path / "wm")}}
    sink = tmp_path / "results"

    first = score("access-rarity", str(data), str(model), str(sink), emit="all", config=config, spark=spark)
    day = parse_time(labels["score_window"]["start"])
    assert first.counts["rows_read"] > 300

    # late records (within late_hours of the newest data) appended to an existing folder, by a new user
    src = LocalExportSource(str(data))
    files, _ = src.list_files("SecurityEvent", TimeWindow(day + dt.timedelta(hours=20), day + dt.timedelta(hours=21)))
    target = files[0].path
    template = next(r for r in _lines(target) if r.get("EventID") == 5140 and not r["Account"].endswith("$"))
    with open(target, "a", encoding="utf-8") as fh:
        for i in range(5):
            late = dict(template, Account="CONTOSO\\late.user", ShareName=f"\\\\*\\Late{i}", EventOriginId=f"late-{i}")
            fh.write(json.dumps(late) + "\n")

    second = score("access-rarity", str(data), str(model), str(sink), emit="all", config=config, spark=spark)
    assert second.counts["rows_read"] == 5 and second.counts["scored"] == 5
    assert second.run_id != first.run_id
    rows = [r for p in (sink / "AccessRarity_CL").glob(f"part-{second.run_id}-*.json") for r in _lines(p)]
    assert {r["Account"] for r in rows} == {"contoso\\late.user"} and len(rows) == 5
