"""Scale: 1,000 Usage series x 8 weeks of hourly bins through fit and score, end to end.

    .venv/bin/python benchmarks/usage_scale.py [--series 1000] [--template usage-regression] [--work DIR]

Writes a Usage export (7 weeks of training, 1 week scored; not timed), then times
``run.train`` on the 7 weeks and ``run.score --emit all`` of the 8th week (reading the
lookback it needs), and prints the wall time per stage and the peak RSS of the whole
process tree (this driver, the JVM and the Python workers), sampled every 0.2 s.
"""
from __future__ import annotations

import argparse
import os
import pathlib
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any, Tuple

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def _comm(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/comm") as fh:
            return fh.read().strip()
    except OSError:
        return ""


def tree_rss_bytes(root: int) -> int:
    """Sum of VmRSS over ``root`` and its descendants (Linux /proc).

    A process the JVM spawns that is not Python (Hadoop's chmod of each written file, through
    ``jspawnhelper``) is left out: until it starts its program it shares the JVM's memory, and
    its RSS is the JVM's, which would be counted twice.
    """
    children = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(pid))
        except (OSError, IndexError, ValueError):
            continue
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        spawner = _comm(pid) == "java"
        todo.extend(c for c in children.get(pid, []) if not spawner or _comm(c).startswith("python"))
        try:
            with open(f"/proc/{pid}/status") as fh:
                for line in fh:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
        except OSError:
            pass
    return total


class PeakRss:
    def __init__(self, interval: float = 0.2) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(interval,), daemon=True)

    def _run(self, interval: float) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, tree_rss_bytes(os.getpid()))
            time.sleep(interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


@dataclass
class TimedRun:
    """``run.train`` then ``run.score --emit all``, timed: their summaries, seconds, peak RSS, load averages."""

    train: Any
    score: Any
    fit_seconds: float
    score_seconds: float
    peak_rss: int
    load_before: Tuple[float, ...]
    load_after: Tuple[float, ...]

    @property
    def seconds(self) -> float:
        return self.fit_seconds + self.score_seconds

    def stages(self, digits: int = 1) -> str:
        return " | ".join(" · ".join(f"{k} {v:.{digits}f}s" for k, v in r.stages) for r in (self.train, self.score))

    def loads(self) -> str:
        return (f"load average (1, 5, 15 min) before {tuple(round(x, 2) for x in self.load_before)}, "
                f"after {tuple(round(x, 2) for x in self.load_after)}; {os.cpu_count()} cores")


def ensure_sample(kind: str, data: str, **options) -> Tuple[dict, int]:
    """The labels and the size in bytes of the sample export ``data`` of ``kind``, written first if absent (not timed)."""
    import json
    import pathlib

    from byoml.sample_data import generate

    if not os.path.exists(os.path.join(data, "labels.json")):
        started = time.perf_counter()
        generate(kind, data, **options)
        print(f"sample data written in {time.perf_counter() - started:.0f}s (not timed)")
    size = sum(p.stat().st_size for p in pathlib.Path(data).rglob("*.json") if p.name != "labels.json")
    return json.load(open(os.path.join(data, "labels.json"), encoding="utf-8")), size


def timed_train_score(template: str, data: str, model: str, sink: str, train_window: dict, score_window: dict,
                      spark) -> TimedRun:
    """Train on ``train_window`` and score ``score_window`` (``--emit all``) of the export ``data``, timed,
    with the peak RSS of the process tree and the load average before and after."""
    from byoml.run import score, train

    load_before = os.getloadavg()
    with PeakRss() as rss:
        started = time.perf_counter()
        t = train(template, data, model, train_window["start"], train_window["end"], spark=spark)
        fitted = time.perf_counter()
        s = score(template, data, model, sink, score_window["start"], score_window["end"], emit="all", spark=spark)
        done = time.perf_counter()
    return TimedRun(t, s, fitted - started, done - fitted, rss.peak, load_before, os.getloadavg())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--series", type=int, default=1000)
    ap.add_argument("--template", default="all", help="usage-regression, series-decompose or all")
    ap.add_argument("--work", default="/tmp/byoml-usage-scale")
    args = ap.parse_args(argv)

    from byoml.sample_data import generate
    from byoml.spark import get_spark

    data = os.path.join(args.work, f"export-{args.series}")
    if not os.path.exists(os.path.join(data, "labels.json")):
        started = time.perf_counter()
        generate("usage", data, series=args.series, days=49, score_days=7, seed=3, duplicate_rate=0.0)
        print(f"sample data: {args.series} series x 8 weeks written in {time.perf_counter() - started:.0f}s (not timed)")
    import json

    labels = json.load(open(os.path.join(data, "labels.json")))
    tw, sw = labels["train_window"], labels["score_window"]
    names = ["usage-regression", "series-decompose"] if args.template == "all" else [args.template]
    spark = get_spark()
    spark.range(1).count()  # session start is not part of the figures
    for name in names:
        model, sink = os.path.join(args.work, f"model-{name}"), os.path.join(args.work, f"sink-{name}")
        r = timed_train_score(name, data, model, sink, tw, sw, spark)
        print(f"{name}: {args.series} series, train {tw['start']}..{tw['end']}, score {sw['start']}..{sw['end']}")
        print(f"  fit (read+prepare+fit+save) {r.fit_seconds:.0f}s, score (read+prepare+score+write) {r.score_seconds:.0f}s, "
              f"total {r.seconds:.0f}s; peak RSS {r.peak_rss / 2**30:.2f} GiB (process tree)")
        print(f"  stages: {r.stages(0)}; scored rows {r.score.counts.get('scored')}, flagged {r.score.counts.get('flagged')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
