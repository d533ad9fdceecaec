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
import os
import pathlib
import shutil
import sys

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.usage_scale import ensure_sample, timed_train_score  # noqa: E402

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
    from byoml.spark import get_spark

    data = os.path.join(args.work, f"export-{args.computers}-{args.days}-{args.seed}")
    labels, size = ensure_sample(TEMPLATE, data, computers=args.computers, days=args.days, seed=args.seed, layout="hourly")
    print(f"export: {labels['counts']['rows']:,} Syslog records ({size / 2**30:.2f} GiB) from "
          f"{labels['counts']['computers']} computers, {args.days} + 1 days")
    spark = get_spark()
    spark.range(1).count()  # session start is not part of the figures
    model, sink = os.path.join(args.work, "model"), os.path.join(args.work, "sink")
    shutil.rmtree(sink, ignore_errors=True)
    r = timed_train_score(TEMPLATE, data, model, sink, labels["train_window"], labels["score_window"], spark)
    print(f"{TEMPLATE}: train (read+prepare+fit+save) {r.fit_seconds:.1f}s, score (read+prepare+score+write) "
          f"{r.score_seconds:.1f}s, total {r.seconds:.1f}s (target <= {WALL_TARGET_S:.0f}s); peak RSS "
          f"{r.peak_rss / 2**30:.2f} GiB (process tree; target < {RSS_TARGET / 1e9:.0f} GB)")
    print(f"  stages: {r.stages()}")
    print(f"  rows: {r.train.counts.get('events', 0):,} training records, {r.score.counts.get('events', 0):,} scored-day "
          f"records, {r.score.counts.get('scored')} pattern-hours written, {r.score.counts.get('flagged')} flagged")
    print(f"  {r.loads()}")
    m = incident_metrics(load_scores(sink, "LogPatterns"), labels, ["Computer", "Facility", "ProcessName"])
    print(f"  quality: new-pattern recall {m.get('new_pattern_recall', 0):.2f}, surge recall {m.get('surge_recall', 0):.2f}, "
          f"{m['false_flags']} false flags ({m['false_flags_per_100_pattern_hours']:.2f} per 100 pattern-hours)")
    return 0 if r.seconds <= WALL_TARGET_S and r.peak_rss < RSS_TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
