"""Scale: 1,000 Usage series fitted and forecast by series-forecast, end to end.

    .venv/bin/python benchmarks/forecast_scale.py [--series 1000] [--train-days 28] [--work DIR]

Reuses ``benchmarks/usage_scale.py``'s Usage export (8 weeks of hourly bins per series, written once,
not timed) and its peak-RSS sampler. Times ``run.train`` on the ``--train-days`` before the export's
scoring window (every series: the rolling-origin holdout of every candidate, one gradient boosting
model per bucket, the interval calibration) and ``run.score --start`` of the 7-day forecast from the
scoring window's start (reading the 28-day lookback), ``--emit all``; prints wall times, the peak RSS
of the process tree (driver, JVM, Python workers) and the load average, since the machine is shared.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import pathlib
import sys
import time

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.usage_scale import PeakRss  # noqa: E402

TARGET_SECONDS = 120
TARGET_RSS_GIB = 4.0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--series", type=int, default=1000)
    ap.add_argument("--train-days", type=int, default=28)
    ap.add_argument("--work", default="/tmp/byoml-usage-scale", help="shared with usage_scale.py: the export is reused")
    args = ap.parse_args(argv)

    from byoml.run import score, train
    from byoml.sample_data import generate
    from byoml.spark import get_spark
    from byoml.templates.store import read_metadata
    from byoml.timewindow import format_time, parse_time

    data = os.path.join(args.work, f"export-{args.series}")
    if not os.path.exists(os.path.join(data, "labels.json")):  # the same export as usage_scale.py
        started = time.perf_counter()
        generate("usage", data, series=args.series, days=49, score_days=7, seed=3, duplicate_rate=0.0)
        print(f"sample data: {args.series} series x 8 weeks written in {time.perf_counter() - started:.0f}s (not timed)")
    labels = json.load(open(os.path.join(data, "labels.json")))
    origin = parse_time(labels["score_window"]["start"])
    train_start = format_time(origin - dt.timedelta(days=args.train_days))
    spark = get_spark()
    spark.range(1).count()  # session start is not part of the figures
    model, sink = os.path.join(args.work, "model-series-forecast"), os.path.join(args.work, "sink-series-forecast")
    load_before = os.getloadavg()
    with PeakRss() as rss:
        started = time.perf_counter()
        t = train("series-forecast", data, model, train_start, format_time(origin), spark=spark)
        fitted = time.perf_counter()
        s = score("series-forecast", data, model, sink, start=format_time(origin), emit="all", spark=spark)
        done = time.perf_counter()
    total, peak = done - started, rss.peak / 2**30
    meta = read_metadata(model)
    stages = " · ".join(f"{k} {v:.0f}s" for k, v in t.stages) + " | " + " · ".join(f"{k} {v:.0f}s" for k, v in s.stages)
    print(f"series-forecast: {args.series} series, trained on {train_start}..{format_time(origin)}, "
          f"forecast {meta['horizon_bins']} bins from {format_time(origin)}")
    print(f"  fit (read+prepare+fit+save) {fitted - started:.0f}s, forecast (read+prepare+forecast+write) "
          f"{done - fitted:.0f}s, total {total:.0f}s; peak RSS {peak:.2f} GiB (process tree)")
    print(f"  stages: {stages}; rows written {s.counts.get('written')}; models chosen {meta['models_chosen']}")
    print(f"  load average before {' '.join(f'{x:.2f}' for x in load_before)}, after "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} (1, 5, 15 min; {os.cpu_count()} cores, shared machine)")
    ok_time, ok_rss = total <= TARGET_SECONDS, peak < TARGET_RSS_GIB
    print(f"targets\n  {'yes' if ok_time else 'NO ':<3}  fit + forecast {total:.0f}s <= {TARGET_SECONDS}s\n"
          f"  {'yes' if ok_rss else 'NO ':<3}  peak RSS {peak:.2f} GiB < {TARGET_RSS_GIB} GiB")
    return int(not ok_time) + int(not ok_rss)


if __name__ == "__main__":
    sys.exit(main())
