"""The one-screen run summary, stage timers and a progress line for long stages."""
from __future__ import annotations

import contextlib
import json
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Optional, TextIO, Tuple

PROGRESS_AFTER_SECONDS = 10.0


@dataclass
class RunSummary:
    """Counters and timings of one train or score run."""

    command: str
    template: str
    run_id: str = ""
    source: str = ""
    window: str = ""
    counts: Dict[str, int] = field(default_factory=dict)
    stages: List[Tuple[str, float]] = field(default_factory=list)
    outputs: Dict[str, str] = field(default_factory=dict)
    notes: List[str] = field(default_factory=list)
    filtered: Dict[str, int] = field(default_factory=dict)  # rows the template does not use, by reason
    extra: Dict[str, Any] = field(default_factory=dict)
    ok: bool = True
    error: str = ""

    @contextlib.contextmanager
    def stage(self, name: str, spark=None, stream: Optional[TextIO] = None) -> Iterator[None]:
        """Time a stage; past 10 s, print a progress line every 10 s (with Spark task counts)."""
        stop = threading.Event()
        start = time.perf_counter()
        ticker = threading.Thread(
            target=_tick, args=(name, start, stop, spark, stream or sys.stderr), daemon=True
        )
        ticker.start()
        try:
            yield
        finally:
            stop.set()
            ticker.join(timeout=1)
            self.stages.append((name, time.perf_counter() - start))

    def add_counts(self, **counts: int) -> None:
        self.counts.update({k: int(v) for k, v in counts.items()})

    @property
    def total_seconds(self) -> float:
        return sum(seconds for _, seconds in self.stages)

    def render(self) -> str:
        c = self.counts
        lines = [f"byoml {self.command} · {self.template}" + (f" · run {self.run_id}" if self.run_id else "")]
        if self.source:
            lines.append(f"  source       {self.source}")
        if self.window:
            lines.append(f"  window       {self.window}")

        def row(label: str, *keys: str) -> None:
            parts = [f"{key.replace('_', ' ')} {c[key]:,}" for key in keys if key in c]
            if parts:
                lines.append(f"  {label:<12} " + " · ".join(parts))

        row("read", "files", "records", "recovered", "rows_read")
        row("dropped", "quarantined", "duplicates", "out_of_window", "other_table")
        if any(self.filtered.values()):
            lines.append(f"  {'filtered':<12} " + " · ".join(
                f"{reason} {n:,}" for reason, n in sorted(self.filtered.items(), key=lambda kv: -kv[1]) if n))
        row("used", "events", "pairs", "series", "users", "resources")
        row("results", "scored", "flagged", "written")
        for name, location in self.outputs.items():
            lines.append(f"  {name:<12} {location}")
        if self.stages:
            timing = " · ".join(f"{name} {seconds:.1f}s" for name, seconds in self.stages)
            lines.append(f"  time         {timing} · total {self.total_seconds:.1f}s")
        for note in self.notes:
            lines.append(f"  note         {note}")
        if not self.ok:
            lines.append(f"  FAILED       {self.error}")
        return "\n".join(lines)

    def to_dict(self) -> Dict[str, Any]:
        return {
            "command": self.command,
            "template": self.template,
            "run_id": self.run_id,
            "source": self.source,
            "window": self.window,
            "counts": self.counts,
            "stages": {name: round(seconds, 3) for name, seconds in self.stages},
            "outputs": self.outputs,
            "notes": self.notes,
            "filtered": self.filtered,
            "ok": self.ok,
            "error": self.error,
            **self.extra,
        }

    def write_json(self, path: str) -> None:
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(self.to_dict(), fh, indent=2)


def _spark_progress(spark) -> str:
    try:
        tracker = spark.sparkContext.statusTracker()
        done = total = 0
        for stage_id in tracker.getActiveStageIds():
            info = tracker.getStageInfo(stage_id)
            if info is not None:
                done += info.numCompletedTasks
                total += info.numTasks
        return f", Spark tasks {done}/{total}" if total else ""
    except Exception:  # Spark Connect: no status tracker
        return ""


def _tick(name: str, start: float, stop: threading.Event, spark, stream: TextIO) -> None:
    next_report = PROGRESS_AFTER_SECONDS
    while not stop.wait(1.0):
        elapsed = time.perf_counter() - start
        if elapsed >= next_report:
            stream.write(f"  … {name}: {elapsed:.0f}s{_spark_progress(spark) if spark else ''}\n")
            stream.flush()
            next_report += PROGRESS_AFTER_SECONDS
