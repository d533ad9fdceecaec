"""benchmarks/spark_eventlog.py: phases and busy slots from a Spark event log."""
from __future__ import annotations

import json

import pytest

from benchmarks.spark_eventlog import phases, read_jobs, report

T0 = 1_800_000_000_000  # ms


def _task(stage, launch, finish):
    return {"Event": "SparkListenerTaskEnd", "Stage ID": stage,
            "Task Info": {"Launch Time": T0 + launch, "Finish Time": T0 + finish}}


def _log(tmp_path):
    events = [
        {"Event": "SparkListenerApplicationStart", "Timestamp": T0},
        {"Event": "SparkListenerJobStart", "Job ID": 0, "Submission Time": T0 + 1000, "Stage IDs": [0, 1]},
        _task(0, 1000, 3000), _task(0, 1000, 3000),
        {"Event": "SparkListenerJobEnd", "Job ID": 0, "Completion Time": T0 + 3000},
        # a second job 0.2 s later belongs to the same phase
        {"Event": "SparkListenerJobStart", "Job ID": 1, "Submission Time": T0 + 3200, "Stage IDs": [2]},
        _task(2, 3200, 4200),
        {"Event": "SparkListenerJobEnd", "Job ID": 1, "Completion Time": T0 + 4200},
        # after 2 s of driver work: a small job on one slot
        {"Event": "SparkListenerJobStart", "Job ID": 2, "Submission Time": T0 + 6200, "Stage IDs": [3]},
        _task(3, 6200, 6700),
        {"Event": "SparkListenerJobEnd", "Job ID": 2, "Completion Time": T0 + 7200},
    ]
    folder = tmp_path / "eventlog_v2_local-1"
    folder.mkdir()
    (folder / "appstatus_local-1").write_text("")
    (folder / "events_1_local-1").write_text("\n".join(json.dumps(e) for e in events) + "\n")
    return str(folder)


def test_jobs_phases_and_busy_slots(tmp_path):
    path = _log(tmp_path)
    start, jobs = read_jobs(path)
    assert start == T0 / 1000 and [j.tasks for j in jobs] == [2, 1, 1]
    assert [round(j.task_seconds, 3) for j in jobs] == [4.0, 1.0, 0.5]
    grouped = phases(jobs, gap=0.5)
    assert [len(p.jobs) for p in grouped] == [2, 1]
    text = report(path, slots=2, gap=0.5)
    lines = text.splitlines()
    assert lines[0].startswith("application: 7.2s to the last job's end, 3 jobs, 4 tasks, 5.5 task-seconds on 2 slots")
    # phase 1: 5 task-seconds over 3.2 s on 2 slots; phase 2: 0.5 over 1.0 s
    assert "idle before   1.0s" in lines[1] and "wall    3.2s" in lines[1] and "slots busy  78%" in lines[1]
    assert "idle before   2.0s" in lines[2] and "slots busy  25%" in lines[2]


def test_compressed_log_is_refused(tmp_path):
    (tmp_path / "events_1_local-1.zstd").write_bytes(b"\x28\xb5\x2f\xfd")
    with pytest.raises(SystemExit, match="spark.eventLog.compress=false"):
        read_jobs(str(tmp_path))
