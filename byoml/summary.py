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
        """Time a stage; past 10 s, print a progress line every 10 s (with Spark task counts under Spark Connect)."""
        stop = threading.Event()
        start = time.perf_counter()
        progress = SparkProgress() if spark is not None else None
        attached = progress is not None and progress.attach(spark)
        ticker = threading.Thread(
            target=_tick, args=(name, start, stop, progress if attached else None, stream or sys.stderr), daemon=True
        )
        ticker.start()
        try:
            yield
        finally:
            stop.set()
            ticker.join(timeout=1)
            if attached:
                progress.detach(spark)
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
        row("store", "days_ingested", "days_unchanged", "rows_stored")
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


class SparkProgress:
    """Task counts of the running Spark query, as Spark Connect reports them to its client.

    Classic sessions report nothing here (their status tracker lives on the ``SparkContext``,
    which byoml does not touch so that one code path runs on every compute): the progress line
    then says the elapsed time only.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stages: Dict[int, Tuple[int, int]] = {}

    def __call__(self, stages, inflight_tasks: int, operation_id: Optional[str], done: bool) -> None:
        with self._lock:
            for stage in stages or ():
                self._stages[stage.stage_id] = (stage.num_completed_tasks, stage.num_tasks)

    def attach(self, spark) -> bool:
        """Listen to ``spark``'s query progress; False where the session does not report it."""
        register = getattr(spark, "registerProgressHandler", None)
        if register is None:
            return False
        try:
            register(self)
        except Exception:  # noqa: BLE001 - classic sessions: ONLY_SUPPORTED_WITH_SPARK_CONNECT
            return False
        return True

    def detach(self, spark) -> None:
        try:
            spark.removeProgressHandler(self)
        except Exception:  # noqa: BLE001 - never attached
            pass

    def counts(self) -> Tuple[int, int]:
        """(completed, total) tasks of the stages seen so far."""
        with self._lock:
            return sum(d for d, _ in self._stages.values()), sum(t for _, t in self._stages.values())

    def text(self) -> str:
        done, total = self.counts()
        return f", Spark tasks {done}/{total}" if total else ""


def _tick(name: str, start: float, stop: threading.Event, progress: Optional[SparkProgress], stream: TextIO) -> None:
    next_report = PROGRESS_AFTER_SECONDS
    while not stop.wait(1.0):
        elapsed = time.perf_counter() - start
        if elapsed >= next_report:
            stream.write(f"  … {name}: {elapsed:.0f}s{progress.text() if progress else ''}\n")
            stream.flush()
            next_report += PROGRESS_AFTER_SECONDS
