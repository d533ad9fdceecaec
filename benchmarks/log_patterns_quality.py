"""Quality of log-patterns: grouping accuracy on the ten loghub logs (held-out), and flags on sample data.

    .venv/bin/python benchmarks/log_patterns_quality.py [--part grouping|anomalies|all] [--seeds 1-3] [--work DIR]

**Grouping** (``../shared/data/loghub``; skipped with a message where absent). Each log is
written as a Syslog export by ``byoml sample-data --from-loghub`` (:func:`generate_from_loghub`)
and read back through the export source; for every setting of the grid the template's
mining step runs on it (``prepare``, then the miner and merge as ``fit`` calls them; see
:func:`grouping_cell`), and :func:`byoml.evaluate_patterns.loghub_metrics` (what ``byoml evaluate``
runs) measures grouping accuracy. The grid is the miner's tunables, ``variable_threshold`` and
``min_digits``. The setting is then *chosen on five logs and reported on the other five*, and the
other way round (two folds, fixed below); ties on the tuning logs go to the higher worst log,
then to the first setting in grid order. Each reported (held-out) figure is measured again
through the template's whole ``prepare`` -> ``fit`` -> ``emit('records')`` (what ``byoml train``
and ``byoml score --emit records`` run), and must equal the grid's. Printed: per log, the held-out accuracy, Drain's
published figure, the shipped defaults' accuracy, and the means; also the held-out mean over
every one of the 126 ways to split the ten logs in two halves (how much the figure depends on
the split). Cells are cached in ``--work`` (``grouping_cells.json``): a rerun only computes
what is missing (``--fresh`` recomputes).

**Anomalies** (``byoml sample-data --template log-patterns``, seeds ``--seeds``): 14 days of
training and the scoring day after them (disjoint: training ends where the scoring day starts),
through ``byoml.run.train`` -> ``run.score --emit all`` -> :func:`incident_metrics`; recall for
new patterns and surges, and false flags per 100 pattern-hours, per seed and pooled.

Targets (issue 20): every log's held-out accuracy >= Drain's, held-out mean >= 0.95; recall
>= 0.95 on both kinds, false flags <= 1 per 100 pattern-hours. Exits 1 if a target is missed.
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import pathlib
import sys
import time
from typing import Dict, List, Tuple

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.access_quality import seeds_from  # noqa: E402

TEMPLATE = "log-patterns"
LOGHUB = REPO.parent / "shared" / "data" / "loghub"
#: Drain's published grouping accuracy on loghub-2k (Zhu et al., ICSE-SEIP 2019), as ../shared/data/README.md gives it
DRAIN = {"Android": 0.911, "Apache": 1.0, "BGL": 0.963, "HDFS": 0.998, "HPC": 0.887, "Linux": 0.690,
         "OpenSSH": 0.788, "Spark": 0.920, "Windows": 0.997, "Zookeeper": 0.967}
#: the two folds: alternate logs in alphabetical order
FOLDS = (("Android", "BGL", "HPC", "OpenSSH", "Windows"), ("Apache", "HDFS", "Linux", "Spark", "Zookeeper"))
#: the grid: each tunable swept with the other at its shipped default (two sweeps through the defaults)
GRID: List[Tuple[int, int]] = [(vt, 2) for vt in (2, 3, 4, 5, 6)] + [(4, md) for md in (1, 3)]
SHIPPED = (4, 2)
ACCURACY_FLOOR, RECALL_FLOOR, FALSE_FLAGS_CEILING = 0.95, 0.95, 1.0


def _key(setting: Tuple[int, int]) -> str:
    return f"variable_threshold={setting[0]},min_digits={setting[1]}"


def grouping_cell(events, window, labels: dict, setting: Tuple[int, int], full: bool) -> dict:
    """Grouping accuracy of one setting on one log.

    ``full``: the template's ``prepare`` -> ``fit`` -> ``emit('records')``, what ``byoml train`` and
    ``byoml score --emit records`` run. Otherwise only the mining step of ``fit`` (``prepare``, then
    :func:`miner.mine` -> :func:`merge.merge_variants` -> :func:`merge.assign` on the distinct masked
    messages, as ``LogPatterns.fit`` calls them), without the rates, the checkpoints and the second
    pass of ``emit``: the grid's cells (8-23 s a cell here, under load, where fit + emit took
    13-76 s). The reported cells are measured ``full`` and checked equal to the grid's.
    """
    import datetime as dt

    from pyspark.sql import functions as F

    from byoml.evaluate_patterns import loghub_metrics
    from byoml.templates import get_template_class
    from byoml.templates.base import RunInfo
    from byoml.templates.log_patterns import merge, miner

    tpl = get_template_class(TEMPLATE)({"variable_threshold": setting[0], "min_digits": setting[1]})
    started = time.perf_counter()
    if full:
        model = tpl.fit(tpl.summarize(tpl.prepare(events)), window)
        records = tpl.for_emit("records")
        run = RunInfo("benchmark", dt.datetime.now(dt.timezone.utc), window, model.version)
        rows = model.emit("records", records.summarize(records.prepare(events)), run)
    else:
        prepared = tpl.prepare(events)
        msgs = prepared.groupBy("Masked").agg(F.sum("n").alias("n"))
        spec = tpl.config.miner_spec
        assigned = merge.assign(msgs, merge.merge_variants(miner.mine(msgs, spec)), spec)
        rows = prepared.join(assigned, "Masked").select(F.col("RecordId").alias("EventOriginId"), "PatternId")
    metrics = loghub_metrics(rows.toPandas(), labels)
    metrics["seconds"] = round(time.perf_counter() - started, 1)
    return metrics


def grouping_table(spark, work: str, fresh: bool, wanted=None, full: bool = False) -> Dict[str, Dict[str, dict]]:
    """{log: {setting: metrics}} for every log and every setting of the grid, or only ``wanted``
    ({log: [setting]}); ``full``: through fit and emit (cached in ``work``)."""
    from byoml.sample_data import generate
    from byoml.sources import LocalExportSource
    from byoml.timewindow import TimeWindow

    cache_path = os.path.join(work, "grouping_full.json" if full else "grouping_cells.json")
    cells: Dict[str, Dict[str, dict]] = {}
    if os.path.exists(cache_path) and not fresh:
        cells = json.load(open(cache_path, encoding="utf-8"))
    from byoml.templates import get_template_class

    tpl = get_template_class(TEMPLATE)()
    for log in DRAIN:
        csv = LOGHUB / log / f"{log}_2k.log_structured.csv"
        todo = [s for s in (GRID if wanted is None else wanted.get(log, [])) if _key(s) not in cells.get(log, {})]
        if not todo:
            continue
        export = os.path.join(work, "loghub", log)
        if not os.path.exists(os.path.join(export, "labels.json")):
            generate(TEMPLATE, export, from_loghub=str(csv), days=2)
        labels = json.load(open(os.path.join(export, "labels.json"), encoding="utf-8"))
        tw = labels["train_window"]
        window = TimeWindow.parse(tw["start"], tw["end"])
        read = LocalExportSource(export).read(spark, tpl.input_table, window, tpl.columns(), tpl.required_columns())
        events = read.df.cache()
        try:
            for setting in todo:
                cells.setdefault(log, {})[_key(setting)] = m = grouping_cell(events, window, labels, setting, full)
                how = "fit+emit" if full else "mining"
                print(f"  {log:10s} {_key(setting):38s} {how} {m['grouping_accuracy']:.3f}  ({m['patterns']} patterns, "
                      f"{m['true_events']} events, {m['seconds']:.0f}s)", flush=True)
                with open(cache_path, "w", encoding="utf-8") as fh:
                    json.dump(cells, fh, indent=1)
        finally:
            events.unpersist()
            read.close()
    return cells


def choose(cells: Dict[str, Dict[str, dict]], logs) -> Tuple[int, int]:
    """The setting with the best mean on ``logs``; ties: the better worst log, then grid order."""
    def merit(setting):
        acc = [cells[log][_key(setting)]["grouping_accuracy"] for log in logs]
        return (round(sum(acc) / len(acc), 6), round(min(acc), 6))

    best = max(merit(s) for s in GRID)
    return next(s for s in GRID if merit(s) == best)


def held_out_settings(cells: Dict[str, Dict[str, dict]]) -> Dict[str, Tuple[int, int]]:
    """{log: the setting chosen on the fold the log is not in}."""
    return {log: choose(cells, FOLDS[1 - i]) for i, judged in enumerate(FOLDS) for log in judged}


def report_grouping(cells: Dict[str, Dict[str, dict]], full: Dict[str, Dict[str, dict]]) -> bool:
    acc = {log: {k: v["grouping_accuracy"] for k, v in by.items()} for log, by in cells.items()}
    print("\nGrid (grouping accuracy per log and setting; vt = variable_threshold, md = min_digits):")
    print(f"  {'log':10s} " + " ".join(f"vt{s[0]}/md{s[1]}" for s in GRID))
    for log in DRAIN:
        print(f"  {log:10s} " + " ".join(f"{acc[log][_key(s)]:8.3f}" for s in GRID))
    chosen = held_out_settings(cells)
    held_out = {log: full[log][_key(chosen[log])]["grouping_accuracy"] for log in DRAIN}
    for i, tuned_on in enumerate(FOLDS):
        print(f"\nFold {i + 1}: chosen on {', '.join(tuned_on)} -> {_key(choose(cells, tuned_on))}; "
              f"reported on {', '.join(FOLDS[1 - i])}")
    print("\nHeld-out grouping accuracy (template fit + emit('records'), the setting chosen on the other five logs):")
    print(f"  {'log':10s} {'held-out':>9s} {'setting':>10s} {'Drain':>6s} {'shipped':>8s}  >= Drain")
    ok = True
    for log in DRAIN:
        setting = chosen[log]
        if abs(held_out[log] - acc[log][_key(setting)]) > 1e-9:
            print(f"  {log}: fit+emit {held_out[log]:.4f} differs from the grid's mining step "
                  f"{acc[log][_key(setting)]:.4f}")
            ok = False
        good = held_out[log] >= DRAIN[log]
        ok &= good
        print(f"  {log:10s} {held_out[log]:9.3f} {'vt%d/md%d' % setting:>10s} {DRAIN[log]:6.3f} "
              f"{acc[log][_key(SHIPPED)]:8.3f}  {'yes' if good else 'NO'}")
    mean = sum(held_out.values()) / len(held_out)
    shipped_mean = sum(acc[log][_key(SHIPPED)] for log in DRAIN) / len(DRAIN)
    print(f"  {'mean':10s} {mean:9.3f} {'':>10s} {sum(DRAIN.values()) / len(DRAIN):6.3f} {shipped_mean:8.3f}")
    ok &= mean >= ACCURACY_FLOOR
    logs = sorted(DRAIN)
    splits = [c for c in itertools.combinations(logs, 5) if logs[0] in c]
    means = []
    for half in splits:
        other = tuple(log for log in logs if log not in half)
        got = [acc[log][_key(choose(cells, half))] for log in other] + [acc[log][_key(choose(cells, other))] for log in half]
        means.append(sum(got) / len(got))
    print(f"\nHeld-out mean over all {len(splits)} splits into two halves: min {min(means):.3f}, "
          f"median {sorted(means)[len(means) // 2]:.3f}, max {max(means):.3f}")
    print(f"Shipped defaults: {_key(SHIPPED)}; settings chosen by the folds: "
          + "; ".join(f"on {', '.join(FOLDS[i])}: {_key(choose(cells, FOLDS[i]))}" for i in range(2)))
    return ok


def run_anomalies(spark, seeds: List[int], work: str) -> bool:
    import shutil

    from byoml.evaluate import load_scores
    from byoml.evaluate_patterns import incident_metrics
    from byoml.run import score, train
    from byoml.sample_data import generate

    keys = ["Computer", "Facility", "ProcessName"]
    pooled = {"new_pattern": [0, 0], "surge": [0, 0]}
    false = hours = 0
    print("\nAnomalies on sample data (14 training days, then the scoring day; --emit all):")
    for seed in seeds:
        root = os.path.join(work, f"sample-seed-{seed}")
        export, model, sink = (os.path.join(root, d) for d in ("export", "model", "sink"))
        if not os.path.exists(os.path.join(export, "labels.json")):
            generate(TEMPLATE, export, seed=seed)
        labels = json.load(open(os.path.join(export, "labels.json"), encoding="utf-8"))
        tw, sw = labels["train_window"], labels["score_window"]
        assert tw["end"] <= sw["start"], "training and scoring windows overlap"
        shutil.rmtree(sink, ignore_errors=True)
        started = time.perf_counter()
        train(TEMPLATE, export, model, tw["start"], tw["end"], spark=spark)
        score(TEMPLATE, export, model, sink, sw["start"], sw["end"], emit="all", spark=spark)
        m = incident_metrics(load_scores(sink, "LogPatterns"), labels, keys)
        for kind in pooled:
            n = m.get(f"{kind}_incidents", 0)
            pooled[kind][0] += round(m.get(f"{kind}_recall", 0) * n)
            pooled[kind][1] += n
        false += m["false_flags"]
        hours += m["pattern_hours"]
        print(f"  seed {seed}: {labels['counts']['rows']:,} records; new patterns {m.get('new_pattern_recall', 0):.2f} "
              f"of {m.get('new_pattern_incidents', 0)}, surges {m.get('surge_recall', 0):.2f} of "
              f"{m.get('surge_incidents', 0)}; {m['false_flags']} false flags in {m['pattern_hours']:,} pattern-hours "
              f"({m['false_flags_per_100_pattern_hours']:.2f} per 100); {time.perf_counter() - started:.0f}s")
    ok = True
    for kind, (hit, n) in pooled.items():
        recall = hit / n if n else 0.0
        ok &= recall >= RECALL_FLOOR
        print(f"  pooled {kind} recall {recall:.3f} ({hit}/{n})")
    per_100 = 100.0 * false / max(1, hours)
    ok &= per_100 <= FALSE_FLAGS_CEILING
    print(f"  pooled false flags {false} in {hours:,} pattern-hours: {per_100:.3f} per 100 (target <= 1)")
    return ok


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", choices=["grouping", "anomalies", "all"], default="all")
    ap.add_argument("--seeds", default="1-3")
    ap.add_argument("--work", default="/tmp/byoml-log-patterns-quality")
    ap.add_argument("--fresh", action="store_true", help="recompute the cached grouping cells")
    args = ap.parse_args(argv)

    from byoml.spark import get_spark

    os.makedirs(args.work, exist_ok=True)
    spark = get_spark()
    ok = True
    print(f"load average (1, 5, 15 min) at the start: {tuple(round(x, 2) for x in os.getloadavg())}")
    if args.part in ("grouping", "all"):
        missing = [log for log in DRAIN if not (LOGHUB / log / f"{log}_2k.log_structured.csv").exists()]
        if missing:
            print(f"grouping skipped: {LOGHUB} lacks {', '.join(missing)} (the loghub logs of ../shared/data)")
        else:
            cells = grouping_table(spark, args.work, args.fresh)
            wanted = {log: [s] for log, s in held_out_settings(cells).items()}
            full = grouping_table(spark, args.work, args.fresh, wanted, full=True)
            ok &= report_grouping(cells, full)
    if args.part in ("anomalies", "all"):
        ok &= run_anomalies(spark, seeds_from(args.seeds), args.work)
    print("\ntargets met" if ok else "\nTARGET MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
