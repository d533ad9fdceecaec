"""State on object-store mounts: nothing appended in place, no folder renamed, one new file per step."""
from __future__ import annotations

import builtins
import json
import os

import pytest

from byoml.sinks.chunks import Chunk
from byoml.sinks.ledger import Ledger
from byoml.sources.watermark import Piece, Watermark
from byoml.statefiles import latest_step, steps, write_new, write_step
from byoml.timewindow import TimeWindow


@pytest.fixture
def file_ops(monkeypatch):
    """Every open() mode and every rename of this test, to check the writes an object store allows."""
    seen = {"modes": [], "renamed_dirs": []}
    real_open, real_replace, real_rename = builtins.open, os.replace, os.rename

    def spy_open(file, mode="r", *args, **kwargs):
        seen["modes"].append(mode)
        return real_open(file, mode, *args, **kwargs)

    def spy(real):
        def move(src, dst, *args, **kwargs):
            if os.path.isdir(src):
                seen["renamed_dirs"].append(src)
            return real(src, dst, *args, **kwargs)
        return move

    monkeypatch.setattr(builtins, "open", spy_open)
    monkeypatch.setattr(os, "replace", spy(real_replace))
    monkeypatch.setattr(os, "rename", spy(real_rename))
    return seen


def _no_in_place_writes(seen):
    assert not [m for m in seen["modes"] if "a" in m or "+" in m], seen["modes"]
    assert seen["renamed_dirs"] == []


def test_steps_are_new_files_and_a_torn_step_is_skipped(tmp_path):
    folder = str(tmp_path / "wm")
    for i in range(3):
        write_step(folder, {"i": i}, keep=2)
    assert [n for n, _ in steps(folder)] == [2, 3] and latest_step(folder) == (3, {"i": 2})
    with open(steps(folder)[-1][1], "w") as fh:  # a crash cut the newest step off
        fh.write('{"i": ')
    assert latest_step(folder) == (2, {"i": 1})
    assert write_step(folder, {"i": 9}).endswith("step-00000004.json")  # the torn number is not reused
    with pytest.raises(FileExistsError):
        write_new(steps(folder)[-1][1], b"{}")


def test_watermark_writes_a_new_file_per_step_and_never_rewrites_one(tmp_path, file_ops):
    wm = Watermark(str(tmp_path / "wm"), "src", "SecurityEvent")
    window = TimeWindow.parse("2026-11-02T00:00:00Z", "2026-11-03T00:00:00Z")
    written = {}
    for hour in range(3):
        piece = Piece(f"am/h={hour}/PT1H.json", f"2026-11-02T{hour:02d}:00:00Z", 0, 100 + hour)
        inc = wm.pin("SecurityEvent", window, [piece])
        wm.commit(inc)
        for _, path in steps(wm.path):
            content = open(path, "rb").read()
            assert written.setdefault(path, content) == content, f"{path} was rewritten"
    _no_in_place_writes(file_ops)
    again = Watermark(str(tmp_path / "wm"), "src", "SecurityEvent")
    assert sorted(again.state["files"]) == [f"am/h={h}/PT1H.json" for h in range(3)] and again.pending() is None


def test_ledger_records_each_delivery_as_a_new_file(tmp_path, file_ops):
    ledger = Ledger(str(tmp_path), "AccessRarity", "run-1")
    chunks = [Chunk(i, 1, json.dumps([{"i": i}]).encode()) for i in range(4)]
    ledger.spool(chunks, {"window": "w"})
    for index in (0, 2, 2):
        ledger.mark_delivered(index)
    _no_in_place_writes(file_ops)
    reopened = Ledger(str(tmp_path), "AccessRarity", "run-1")
    assert reopened.delivered() == {0, 2} and reopened.progress() == (2, 4) and reopened.delivered_rows() == 2
    assert sorted(os.listdir(os.path.join(reopened.dir, "delivered"))) == ["000000", "000002"]
