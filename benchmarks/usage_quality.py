"""Quality of usage-regression and series-decompose on 33 real NAB series by category, against KQL's defaults.

    .venv/bin/python benchmarks/usage_quality.py [--work DIR] [--skip-cli] [--skip-cv] [--jobs 2]

Two parts:

1. **Shipped defaults, as a user runs them** (``run.train`` -> ``run.score --emit all`` ->
   ``Template.evaluate``, Spark and the export files): the 33 labelled real series of
   ``../shared/data/nab`` and ``nab-extra`` resampled to 1h, each trained on its first 30% and
   scored on the rest (every bin judged only by data before it); and the ``byoml sample-data``
   Usage export (100 DataTypes, seed 1, 35 days trained, 2 scored). Per category (AWS
   CloudWatch, AdExchange, Traffic, Tweets), pooled, and on the sample data, with the
   baselines side by side: KQL's ``series_decompose_anomalies`` defaults walk-forward, and
   ``usage-regression`` with the Azure Monitor notebook's Year/Month/Day/Hour features.
2. **Grouped cross-validation of the defaults** (the templates' numpy code without Spark,
   :mod:`benchmarks.series_fastpath`, which flags exactly the bins the CLI path flags): every
   candidate of ``GRID`` is run on the 33 series; for each category, the candidate chosen on the
   *other three* is judged on the held-out one, next to the category's score under the
   candidate chosen on all four (the shipped default). A candidate is chosen by its worst
   category first (within ``WORST_TOLERANCE``; at most 9 false flags per 1,000 bins pooled),
   then by the pooled score: a setting that wins on one kind of series and loses on another
   loses on real workspaces. Choosing by the pooled score alone picked ``threshold`` 1.5 when
   Tweets was held out, 10.7 points below its in-sample score there.

Figures: window recall (share of labelled windows with a flag), false flags per 1,000 bins
(FF), and the NAB score, standard profile (0 = never flags, 100 = every window flagged at
its first bin and nothing else). The targets are checked at the end; the exit code is the
number of targets missed.
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import pathlib
import shutil
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Dict, List

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))

SHIPPED = ("usage-regression", "series-decompose")
KQL = "KQL defaults"
CATEGORIES = ("AWS CloudWatch", "AdExchange", "Traffic", "Tweets")
#: candidate defaults of the cross-validation (the rest of the config is shipped as is)
GRID = {"threshold": [1.0, 1.5], "tail_quantile": [0.75, 0.9], "level_window": ["1d", "2d"], "tail_factor": [1.0, 1.25]}
MAX_FF = 9.0
#: NAB points within which two candidates' worst categories count as equal (a category holds 6-20 windows,
#: one window is worth 2.5-8 points of it)
WORST_TOLERANCE = 1.0
#: sample-data NAB scores of the previous release (2.x models, same data and seed)
PREVIOUS_SAMPLE = {"usage-regression": 83.0, "series-decompose": 78.8}


def methods(extra: dict) -> dict:
    from benchmarks.baselines import KqlDefault, NotebookFeatures
    from byoml.templates import get_template

    return {
        "usage-regression": get_template("usage-regression", extra),
        "series-decompose": get_template("series-decompose", extra),
        KQL: KqlDefault(extra),
        "regression, notebook features": NotebookFeatures(extra),
    }


def run_cli(tpl, data: str, labels: dict, work: str, spark) -> dict:
    from byoml.evaluate import load_scores
    from byoml.run import score, train

    shutil.rmtree(work, ignore_errors=True)  # a sink keeps earlier runs' rows: start clean
    model, sink = os.path.join(work, "model"), os.path.join(work, "sink")
    tw, sw = labels["train_window"], labels["score_window"]
    train(tpl, data, model, tw["start"], tw["end"], spark=spark)
    score(tpl, data, model, sink, sw["start"], sw["end"], emit="all", spark=spark)
    return tpl.evaluate(load_scores(sink, tpl.output_table_name), labels)


def fmt(m: dict) -> str:
    if not m or m.get("nab_score") is None:
        return f"{'-':>20}"
    return f"{m['nab_score']:6.1f} {m['window_recall']:5.2f} {m['false_flags_per_1000_bins']:5.1f}"


def print_table(title: str, rows: Dict[str, dict], columns: List[str]) -> None:
    print(f"\n{title}\n{'':<31}" + "".join(f"{c:>21}" for c in columns))
    print(f"{'method':<31}" + "".join(f"{'NAB recall    FF':>21}" for _ in columns))
    for name, cols in rows.items():
        print(f"{name:<31}" + "".join(f" {fmt(cols.get(c))}" for c in columns))


def cli_part(args, spark) -> Dict[str, dict]:
    """Every method through the CLI path on NAB-33 and the sample data: ``{method: {column: metrics}}``."""
    from byoml.evaluate import load_labels
    from byoml.sample_data import generate
    from byoml.sample_data.nab import generate_nab

    nab_dir, sample_dir = os.path.join(args.work, "nab33"), os.path.join(args.work, "sample-100-1")
    if not os.path.exists(os.path.join(nab_dir, "labels.json")):
        generate_nab(nab_dir, *args.nab)
    if not os.path.exists(os.path.join(sample_dir, "labels.json")):
        generate("usage", sample_dir, series=100, seed=1)
    results: Dict[str, dict] = {}
    for set_name, data in (("nab", nab_dir), ("sample", sample_dir)):
        labels = load_labels(data)
        for name, tpl in methods({}).items():
            started = time.perf_counter()
            m = run_cli(tpl, data, labels, os.path.join(args.work, "runs", set_name, name.replace(" ", "_")), spark)
            row = results.setdefault(name, {})
            if set_name == "nab":
                row.update({c: m["by_category"][c] for c in CATEGORIES})
                row["pool"] = m
            else:
                row["sample"] = m
            print(f"  {set_name:<7} {name:<31} {fmt(m)}  {time.perf_counter() - started:5.0f}s", flush=True)
    print_table("Shipped defaults through the CLI (NAB score, window recall, false flags per 1,000 bins)",
                results, [*CATEGORIES, "pool", "sample"])
    return results


def _grid_point(args):
    """Flags of one candidate on every series (a worker process)."""
    name, params, series = args
    from benchmarks.series_fastpath import flags_for
    from byoml.templates import get_template

    return flags_for(get_template(name, params), series)


def cv_part(args) -> Dict[str, dict]:
    """Grouped cross-validation over ``GRID`` for each shipped template."""
    import pandas as pd

    from benchmarks.series_fastpath import nab_series
    from byoml.evaluate_series import window_flags
    from byoml.sample_data.nab import load_series

    loaded = load_series(*args.nab)
    series = nab_series(loaded)
    grid = [dict(zip(GRID, values)) for values in itertools.product(*GRID.values())]

    def score(flags: dict, cats) -> dict:
        frames, wins = [], []
        for n, (s, w, cat) in loaded.items():
            if cat in cats:
                split = len(s) - len(flags[n])  # flags of the scored bins, the last ones
                frames.append(pd.DataFrame({"DataType": n, "TimeGenerated": s.index[split:], "Anomalies": flags[n]}))
                wins += [{"DataType": n, "start": str(a), "end": str(b)} for a, b in w]
        return window_flags(pd.concat(frames), wins)

    out = {}
    for name in SHIPPED:
        started = time.perf_counter()
        with ProcessPoolExecutor(args.jobs) as pool:
            runs = list(pool.map(_grid_point, [(name, p, series) for p in grid]))
        table = [{c: score(f, [c]) for c in CATEGORIES} | {"pool": score(f, CATEGORIES)} for f in runs]

        def choose(cats, runs=runs, table=table) -> int:
            """Among the candidates with at most MAX_FF false flags pooled, those whose worst category is within
            WORST_TOLERANCE of the best worst category; of these, the best pooled NAB score."""
            pooled = {i: score(runs[i], cats) for i in range(len(grid))}
            allowed = [i for i in pooled if pooled[i]["false_flags_per_1000_bins"] <= MAX_FF] or list(pooled)
            worst = {i: min(table[i][c]["nab_score"] for c in cats) for i in allowed}
            best = max(worst.values())
            robust = [i for i in allowed if worst[i] >= best - WORST_TOLERANCE]
            return max(robust, key=lambda i: pooled[i]["nab_score"])

        shipped = choose(CATEGORIES)
        print(f"\n{name}: every candidate (NAB score, window recall, FF per 1,000 bins)")
        print(f"  {'candidate':<58}" + "".join(f"{c:>21}" for c in (*CATEGORIES, "pool")))
        for params, row in zip(grid, table):
            print(f"  {json.dumps(params):<58}" + "".join(f" {fmt(row[c])}" for c in (*CATEGORIES, "pool")))
        folds = {}
        print(f"\nGrouped cross-validation, {name} ({len(grid)} candidates of {', '.join(GRID)}; "
              f"{time.perf_counter() - started:.0f}s)")
        print(f"  chosen on all four: {grid[shipped]}  pool {fmt(table[shipped]['pool'])}")
        print(f"  {'held out':<16} {'chosen on the other three':<58} {'held-out':>8} {'in-sample':>9} {'diff':>6}")
        for c in CATEGORIES:
            i = choose([x for x in CATEGORIES if x != c])
            held, ins = table[i][c]["nab_score"], table[shipped][c]["nab_score"]
            folds[c] = {"chosen": grid[i], "held_out": held, "in_sample": ins}
            print(f"  {c:<16} {json.dumps(grid[i]):<58} {held:8.1f} {ins:9.1f} {held - ins:+6.1f}")
        out[name] = {"shipped": grid[shipped], "folds": folds, "pool": table[shipped]["pool"]}
    return out


def check_targets(cli: Dict[str, dict], cv: Dict[str, dict]) -> int:
    from byoml.templates import get_template

    failed = 0
    print("\ntargets")

    def claim(text: str, ok: bool) -> None:
        nonlocal failed
        failed += not ok
        print(f"  {'yes' if ok else 'NO ':<3}  {text}")

    for name in SHIPPED:
        if cli:
            m, kql = cli[name], cli[KQL]
            claim(f"{name}: pooled NAB {m['pool']['nab_score']:.1f} >= KQL {kql['pool']['nab_score']:.1f} + 15",
                  m["pool"]["nab_score"] >= kql["pool"]["nab_score"] + 15)
            claim(f"{name}: pooled FF {m['pool']['false_flags_per_1000_bins']:.2f} <= {MAX_FF}",
                  m["pool"]["false_flags_per_1000_bins"] <= MAX_FF)
            for c in CATEGORIES:
                claim(f"{name}: {c} NAB {m[c]['nab_score']:.1f} >= KQL {kql[c]['nab_score']:.1f}",
                      m[c]["nab_score"] >= kql[c]["nab_score"])
            claim(f"{name}: sample NAB {m['sample']['nab_score']:.1f} >= previous release {PREVIOUS_SAMPLE[name]}",
                  m["sample"]["nab_score"] >= PREVIOUS_SAMPLE[name])
        if cv:
            for c, fold in cv[name]["folds"].items():
                claim(f"{name}: {c} held out {fold['held_out']:.1f} within 10 of in-sample {fold['in_sample']:.1f}",
                      abs(fold["held_out"] - fold["in_sample"]) <= 10)
            defaults = get_template(name).config
            shipped = {k: getattr(defaults, k) for k in GRID}
            claim(f"{name}: shipped {shipped} == chosen by the cross-validation {cv[name]['shipped']}",
                  shipped == cv[name]["shipped"])
    return failed


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", default="/tmp/byoml-usage-quality")
    ap.add_argument("--nab", action="append", help="NAB folder (repeatable; default: ../shared/data/nab and nab-extra)")
    ap.add_argument("--skip-cli", action="store_true", help="only the cross-validation (no Spark)")
    ap.add_argument("--skip-cv", action="store_true", help="only the shipped defaults through the CLI")
    ap.add_argument("--jobs", type=int, default=2, help="processes for the cross-validation grid")
    args = ap.parse_args(argv)
    from benchmarks.series_fastpath import nab_folders

    args.nab = nab_folders(args.nab)
    if args.nab is None:
        return 2
    cli = {}
    if not args.skip_cli:
        from byoml.spark import get_spark

        cli = cli_part(args, get_spark())
    cv = {} if args.skip_cv else cv_part(args)
    return check_targets(cli, cv)


if __name__ == "__main__":
    sys.exit(main())
