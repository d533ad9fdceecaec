"""Quality of masquerading-process against the Sentinel BYO-ML recipe, side by side, on sample seeds.

    .venv/bin/python benchmarks/masquerading_quality.py [--seeds 1-3] [--computers 300] [--days 14] [--work DIR]

Each seed: ``byoml sample-data --template masquerading-process`` (``--computers`` computers,
``--days`` training days + the scoring day), then ``run.train`` -> ``run.score --emit all`` ->
``process_metrics``, as the CLI runs them, in one Spark session; and the recipe
(:mod:`benchmarks.masquerading_recipe`) on the same scoring day, its flags at the same grain (every
(computer, process path) whose name it reports). Prints recall per injected kind, false flags (rows,
and by benign kind) and precision for both, per seed and pooled, and checks the issue's targets:
recall >= 0.95 on every kind (pooled) and at most a tenth of the recipe's false flags. Exits 1 if
a target is missed.
"""
from __future__ import annotations

import argparse
import collections
import os
import pathlib
import sys
import time

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.access_quality import seeds_from  # noqa: E402
from benchmarks.masquerading_recipe import flagged_rows, recipe  # noqa: E402
from byoml.evaluate import load_scores  # noqa: E402
from byoml.evaluate_process import process_metrics  # noqa: E402
from byoml.run import score, train  # noqa: E402
from byoml.sample_data import generate  # noqa: E402
from byoml.sources import LocalExportSource  # noqa: E402
from byoml.timewindow import TimeWindow  # noqa: E402

TEMPLATE = "masquerading-process"
RECALL_FLOOR, FALSE_FLAG_RATIO = 0.95, 0.1


def run_seed(seed: int, computers: int, days: int, work: str, spark) -> dict:
    root = os.path.join(work, f"seed-{seed}-computers-{computers}-days-{days}")
    export, model, sink = (os.path.join(root, d) for d in ("export", "model", "sink"))
    if not os.path.exists(os.path.join(export, "labels.json")):
        generate("process-creation", export, computers=computers, days=days, seed=seed, layout="hourly")
    import json
    import shutil

    shutil.rmtree(sink, ignore_errors=True)
    labels = json.load(open(os.path.join(export, "labels.json"), encoding="utf-8"))
    tw, sw = labels["train_window"], labels["score_window"]
    started = time.perf_counter()
    train(TEMPLATE, export, model, tw["start"], tw["end"], spark=spark)
    score(TEMPLATE, export, model, sink, sw["start"], sw["end"], emit="all", spark=spark)
    ours = process_metrics(load_scores(sink, "MasqueradingProcessResult"), labels)
    took = time.perf_counter() - started
    read = LocalExportSource(export).read(spark, "SecurityEvent", TimeWindow.parse(sw["start"], sw["end"]),
                                          ["EventID", "Process", "NewProcessName", "Computer", "TenantId"])
    started = time.perf_counter()
    pairs = recipe(read.df).cache()
    rows = flagged_rows(read.df, pairs).toPandas()
    theirs = process_metrics(rows, labels)
    theirs["flagged_names"] = pairs.select("infrequentProcess").distinct().count()
    theirs["seconds"] = time.perf_counter() - started
    pairs.unpersist()
    read.close()
    return {"seed": seed, "ours": ours, "recipe": theirs, "seconds": took}


def _pool(results, who):
    kinds = collections.defaultdict(lambda: [0, 0])
    false, flagged, false_kinds = 0, 0, collections.Counter()
    for r in results:
        m = r[who]
        for kind, v in m["by_kind"].items():
            kinds[kind][0] += v["detected"]
            kinds[kind][1] += v["rows"]
        false += m["false_flags"]
        flagged += m["flagged"]
        false_kinds.update(m["false_flags_by_kind"])
    return kinds, false, flagged, false_kinds


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="1-3")
    ap.add_argument("--computers", type=int, default=300)
    ap.add_argument("--days", type=int, default=14)
    ap.add_argument("--work", default="/tmp/byoml-masquerading-quality")
    args = ap.parse_args(argv)
    from byoml.spark import get_spark

    spark = get_spark()
    results = []
    for seed in seeds_from(args.seeds):
        r = run_seed(seed, args.computers, args.days, args.work, spark)
        results.append(r)
        o, t = r["ours"], r["recipe"]
        print(f"seed {seed}: byoml recall {o['recall']:.3f} ({o['detected']}/{o['masquerade_rows']}), false flags "
              f"{o['false_flags']} {dict(o['false_flags_by_kind'])} | recipe recall {t['recall']:.3f}, false flags "
              f"{t['false_flags']} rows / {t['flagged_names']} names {dict(t['false_flags_by_kind'])} | byoml "
              f"train+score {r['seconds']:.0f}s, recipe {t['seconds']:.0f}s", flush=True)
        missed = {k: v["missed"] for k, v in o["by_kind"].items() if v["missed"]}
        if missed:
            print(f"  byoml missed: {missed}")
        if o["false_flag_examples"]:
            print(f"  byoml false flags: {o['false_flag_examples']}")
    ok = True
    ours, our_false, our_flagged, our_kinds = _pool(results, "ours")
    theirs, their_false, their_flagged, their_kinds = _pool(results, "recipe")
    print(f"\npooled over seeds {args.seeds} ({args.computers} computers, {args.days} training days each)")
    print(f"{'kind':<22} {'rows':>5} {'byoml recall':>13} {'recipe recall':>14}")
    for kind, (hit, n) in ours.items():
        recall = hit / n if n else float("nan")
        their = theirs[kind][0] / theirs[kind][1] if theirs[kind][1] else float("nan")
        ok &= recall >= RECALL_FLOOR
        print(f"{kind:<22} {n:>5} {recall:>13.3f} {their:>14.3f}")
    print(f"{'false flags (rows)':<22} {'':>5} {our_false:>13} {their_false:>14}")
    print(f"{'flagged rows':<22} {'':>5} {our_flagged:>13} {their_flagged:>14}")
    print(f"false flags by kind: byoml {dict(our_kinds)}; recipe {dict(their_kinds)}")
    ok &= our_false <= FALSE_FLAG_RATIO * their_false
    print(f"targets: recall >= {RECALL_FLOOR} per kind, false flags <= {FALSE_FLAG_RATIO} x recipe's: "
          f"{'met' if ok else 'NOT MET'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
