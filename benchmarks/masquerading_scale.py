"""Scale: about 1M SecurityEvent 4688 records through masquerading-process train and score, end to end.

    .venv/bin/python benchmarks/masquerading_scale.py [--computers 550] [--days 14] [--work DIR]

Writes a process-creation export (``--computers`` computers, ``--days`` training days and the scored
day, hourly export folders; not timed), then times ``run.train`` on the training days and
``run.score --emit all`` of the last day, in one local Spark session started before the clock, and
prints the wall time per stage, the peak RSS of the whole process tree (this driver, the JVM, any
Python workers; sampled every 0.2 s, :class:`benchmarks.usage_scale.PeakRss`), the load average of
the machine before and after (it is shared), and the quality of the scored day.
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import sys
import time

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.usage_scale import PeakRss  # noqa: E402

TEMPLATE = "masquerading-process"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--computers", type=int, default=550)
    ap.add_argument("--days", type=int, default=14)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--work", default="/tmp/byoml-masquerading-scale")
    args = ap.parse_args(argv)

    from byoml.evaluate import load_scores
    from byoml.evaluate_process import process_metrics
    from byoml.run import score, train
    from byoml.sample_data import generate
    from byoml.spark import get_spark

    data = os.path.join(args.work, f"export-{args.computers}-{args.days}-{args.seed}")
    if not os.path.exists(os.path.join(data, "labels.json")):
        started = time.perf_counter()
        generate("process-creation", data, computers=args.computers, days=args.days, seed=args.seed, layout="hourly")
        print(f"sample data written in {time.perf_counter() - started:.0f}s (not timed)")
    labels = json.load(open(os.path.join(data, "labels.json"), encoding="utf-8"))
    counts = labels["counts"]
    tw, sw = labels["train_window"], labels["score_window"]
    size = sum(p.stat().st_size for p in pathlib.Path(data).rglob("*.json") if p.name != "labels.json")
    print(f"export: {counts['process_creations']:,} process creations ({counts['events']:,} records, "
          f"{size / 2**30:.2f} GiB) from {counts['computers']} computers, {args.days} + 1 days")
    spark = get_spark()
    spark.range(1).count()  # session start is not part of the figures
    model, sink = os.path.join(args.work, "model"), os.path.join(args.work, "sink")
    load_before = os.getloadavg()
    with PeakRss() as rss:
        started = time.perf_counter()
        t = train(TEMPLATE, data, model, tw["start"], tw["end"], spark=spark)
        fitted = time.perf_counter()
        s = score(TEMPLATE, data, model, sink, sw["start"], sw["end"], emit="all", spark=spark)
        done = time.perf_counter()
    load_after = os.getloadavg()
    stages = " · ".join(f"{k} {v:.1f}s" for k, v in t.stages) + " | " + " · ".join(f"{k} {v:.1f}s" for k, v in s.stages)
    print(f"{TEMPLATE}: train (read+prepare+fit+save) {fitted - started:.1f}s, score (read+prepare+score+write) "
          f"{done - fitted:.1f}s, total {done - started:.1f}s; peak RSS {rss.peak / 2**30:.2f} GiB (process tree)")
    print(f"  stages: {stages}")
    print(f"  rows: {t.counts.get('events', 0):,} training events, {s.counts.get('events', 0):,} scored-day events, "
          f"{s.counts.get('scored')} scored rows, {s.counts.get('flagged')} flagged")
    print(f"  load average (1, 5, 15 min) before {tuple(round(x, 2) for x in load_before)}, "
          f"after {tuple(round(x, 2) for x in load_after)}; {os.cpu_count()} cores")
    m = process_metrics(load_scores(sink, "MasqueradingProcessResult"), labels)
    print(f"  quality: recall {m['recall']:.3f} ({m['detected']}/{m['masquerade_rows']}), min per kind "
          f"{m['min_recall_per_kind']:.3f}, false flags {m['false_flags']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
