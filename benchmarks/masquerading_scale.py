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
import os
import pathlib
import sys

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.usage_scale import ensure_sample, timed_train_score  # noqa: E402

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
    from byoml.spark import get_spark

    data = os.path.join(args.work, f"export-{args.computers}-{args.days}-{args.seed}")
    labels, size = ensure_sample("process-creation", data, computers=args.computers, days=args.days, seed=args.seed,
                                 layout="hourly")
    counts = labels["counts"]
    tw, sw = labels["train_window"], labels["score_window"]
    print(f"export: {counts['process_creations']:,} process creations ({counts['events']:,} records, "
          f"{size / 2**30:.2f} GiB) from {counts['computers']} computers, {args.days} + 1 days")
    spark = get_spark()
    spark.range(1).count()  # session start is not part of the figures
    model, sink = os.path.join(args.work, "model"), os.path.join(args.work, "sink")
    r = timed_train_score(TEMPLATE, data, model, sink, tw, sw, spark)
    print(f"{TEMPLATE}: train (read+prepare+fit+save) {r.fit_seconds:.1f}s, score (read+prepare+score+write) "
          f"{r.score_seconds:.1f}s, total {r.seconds:.1f}s; peak RSS {r.peak_rss / 2**30:.2f} GiB (process tree)")
    print(f"  stages: {r.stages()}")
    print(f"  rows: {r.train.counts.get('events', 0):,} training events, {r.score.counts.get('events', 0):,} scored-day events, "
          f"{r.score.counts.get('scored')} scored rows, {r.score.counts.get('flagged')} flagged")
    print(f"  {r.loads()}")
    m = process_metrics(load_scores(sink, "MasqueradingProcessResult"), labels)
    print(f"  quality: recall {m['recall']:.3f} ({m['detected']}/{m['masquerade_rows']}), min per kind "
          f"{m['min_recall_per_kind']:.3f}, false flags {m['false_flags']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
