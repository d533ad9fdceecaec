"""Scale: about 1M Syslog records through log-patterns train and score, end to end.

    .venv/bin/python benchmarks/log_patterns_scale.py [--computers 50] [--days 14] [--seed 5] [--work DIR]

Writes a Syslog export with ``byoml sample-data --template log-patterns`` (``--computers``
computers, ``--days`` training days and the scored day, hourly export folders; about 57 records
per computer-hour, so 50 computers over 15 days is about 1M records; not timed), then times
``run.train`` on the training days and ``run.score --emit all`` of the last day, in one local
Spark session started before the clock. Prints the wall time per stage, the peak RSS of the
whole process tree (driver, JVM, any Python workers; sampled every 0.2 s,
:class:`benchmarks.usage_scale.PeakRss`), the load average of the machine before and after (it is
shared: a figure taken under load is slower than the code), and the quality of the scored day.
Target (issue 20): train + score <= 90 s, peak RSS < 3 GB.
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import shutil
import sys
import time

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.usage_scale import PeakRss  # noqa: E402

TEMPLATE = "log-patterns"
WALL_TARGET_S, RSS_TARGET = 90.0, 3e9


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--computers", type=int, default=50)
    ap.add_argument("--days", type=int, default=14)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--work", default="/tmp/byoml-log-patterns-scale")
    args = ap.parse_args(argv)

    from byoml.evaluate import load_scores
    from byoml.evaluate_patterns import incident_metrics
    from byoml.run import score, train
    from byoml.sample_data import generate
    from byoml.spark import get_spark

    data = os.path.join(args.work, f"export-{args.computers}-{args.days}-{args.seed}")
    if not os.path.exists(os.path.join(data, "labels.json")):
        started = time.perf_counter()
        generate(TEMPLATE, data, computers=args.computers, days=args.days, seed=args.seed, layout="hourly")
        print(f"sample data written in {time.perf_counter() - started:.0f}s (not timed)")
    labels = json.load(open(os.path.join(data, "labels.json"), encoding="utf-8"))
    tw, sw = labels["train_window"], labels["score_window"]
    size = sum(p.stat().st_size for p in pathlib.Path(data).rglob("*.json") if p.name != "labels.json")
    print(f"export: {labels['counts']['rows']:,} Syslog records ({size / 2**30:.2f} GiB) from "
          f"{labels['counts']['computers']} computers, {args.days} + 1 days")
    spark = get_spark()
    spark.range(1).count()  # session start is not part of the figures
    model, sink = os.path.join(args.work, "model"), os.path.join(args.work, "sink")
    shutil.rmtree(sink, ignore_errors=True)
    load_before = os.getloadavg()
    with PeakRss() as rss:
        started = time.perf_counter()
        t = train(TEMPLATE, data, model, tw["start"], tw["end"], spark=spark)
        fitted = time.perf_counter()
        s = score(TEMPLATE, data, model, sink, sw["start"], sw["end"], emit="all", spark=spark)
        done = time.perf_counter()
    load_after = os.getloadavg()
    stages = " · ".join(f"{k} {v:.1f}s" for k, v in t.stages) + " | " + " · ".join(f"{k} {v:.1f}s" for k, v in s.stages)
    total = done - started
    print(f"{TEMPLATE}: train (read+prepare+fit+save) {fitted - started:.1f}s, score (read+prepare+score+write) "
          f"{done - fitted:.1f}s, total {total:.1f}s (target <= {WALL_TARGET_S:.0f}s); peak RSS "
          f"{rss.peak / 2**30:.2f} GiB (process tree; target < {RSS_TARGET / 1e9:.0f} GB)")
    print(f"  stages: {stages}")
    print(f"  rows: {t.counts.get('events', 0):,} training records, {s.counts.get('events', 0):,} scored-day records, "
          f"{s.counts.get('scored')} pattern-hours written, {s.counts.get('flagged')} flagged")
    print(f"  load average (1, 5, 15 min) before {tuple(round(x, 2) for x in load_before)}, "
          f"after {tuple(round(x, 2) for x in load_after)}; {os.cpu_count()} cores")
    m = incident_metrics(load_scores(sink, "LogPatterns"), labels, ["Computer", "Facility", "ProcessName"])
    print(f"  quality: new-pattern recall {m.get('new_pattern_recall', 0):.2f}, surge recall {m.get('surge_recall', 0):.2f}, "
          f"{m['false_flags']} false flags ({m['false_flags_per_100_pattern_hours']:.2f} per 100 pattern-hours)")
    return 0 if total <= WALL_TARGET_S and rss.peak < RSS_TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
