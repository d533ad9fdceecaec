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

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def _tree_rss_bytes(root: int) -> int:
    """Sum of VmRSS over ``root`` and its descendants (Linux /proc)."""
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
        todo.extend(children.get(pid, []))
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
            self.peak = max(self.peak, _tree_rss_bytes(os.getpid()))
            time.sleep(interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--series", type=int, default=1000)
    ap.add_argument("--template", default="all", help="usage-regression, series-decompose or all")
    ap.add_argument("--work", default="/tmp/byoml-usage-scale")
    args = ap.parse_args(argv)

    from byoml.run import score, train
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
        with PeakRss() as rss:
            started = time.perf_counter()
            t = train(name, data, model, tw["start"], tw["end"], spark=spark)
            fitted = time.perf_counter()
            s = score(name, data, model, sink, sw["start"], sw["end"], emit="all", spark=spark)
            done = time.perf_counter()
        stages = " · ".join(f"{k} {v:.0f}s" for k, v in t.stages) + " | " + " · ".join(f"{k} {v:.0f}s" for k, v in s.stages)
        print(f"{name}: {args.series} series, train {tw['start']}..{tw['end']}, score {sw['start']}..{sw['end']}")
        print(f"  fit (read+prepare+fit+save) {fitted - started:.0f}s, score (read+prepare+score+write) {done - fitted:.0f}s, "
              f"total {done - started:.0f}s; peak RSS {rss.peak / 2**30:.2f} GiB (process tree)")
        print(f"  stages: {stages}; scored rows {s.counts.get('scored')}, flagged {s.counts.get('flagged')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
