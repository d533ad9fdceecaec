"""Quality of anomalous-resource-access over several sample seeds, per seed and pooled.

    .venv/bin/python benchmarks/access_quality.py [--seeds 1-8] [--users 300] [--work DIR]

Each seed: ``byoml sample-data`` (``--users`` users, 28 training days + the scoring day, hourly
export layout), then ``run.train`` -> ``run.score --emit all`` -> ``resource_access_metrics``,
as the CLI runs them, in one Spark session. Prints every seed's figures and the pooled ones, and
checks them against the issue's targets:

* ROC-AUC >= 0.95 of anomalous versus normal never-seen-before pairs of known users (each seed);
* precision@k >= 0.8, k = the injected anomalies (each seed);
* new users' normal accesses flagged at most 5% of the time: a seed holds only 20-30 such pairs
  (one pair is 3-5%), so the rate is judged pooled over the seeds and printed per seed;
* anomalies of new users or resources ranked above normal pairs (ROC-AUC >= 0.95, each seed).

Exits 1 if a target is missed.
"""
from __future__ import annotations

import argparse
import os
import pathlib
import shutil
import sys
import time

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from byoml.evaluate import load_scores, resource_access_metrics  # noqa: E402
from byoml.run import score, train  # noqa: E402
from byoml.sample_data import generate  # noqa: E402

TEMPLATE = "anomalous-resource-access"
PER_SEED_FLOORS = {"roc_auc_new_pairs_known_users": 0.95, "precision_at_k": 0.8, "roc_auc_novel_anomalies_vs_normal": 0.95}
NEW_USER_FLAG_CEILING = 0.05


def seeds_from(text: str) -> list:
    """``"1-8"`` or ``"1,3,5"`` -> the seeds."""
    out = []
    for part in text.split(","):
        low, _, high = part.partition("-")
        out.extend(range(int(low), int(high or low) + 1))
    return out


def _figure(value, width: int) -> str:
    """A metric right-aligned to ``width``, or '-' where it could not be computed (None)."""
    return f"{value:{width}.3f}" if value is not None else f"{'-':>{width}}"


def run_seed(seed: int, users: int, work: str, spark) -> dict:
    root = os.path.join(work, f"seed-{seed}-users-{users}")
    export, model, sink = (os.path.join(root, d) for d in ("export", "model", "sink"))
    shutil.rmtree(root, ignore_errors=True)
    labels = generate("resource-access", export, users=users, days=28, seed=seed, layout="hourly")
    started = time.perf_counter()
    train(TEMPLATE, export, model, end=labels["train_window"]["end"], spark=spark)
    score(TEMPLATE, export, model, sink, emit="all", spark=spark)
    metrics = resource_access_metrics(load_scores(sink, "AnomalousResourceAccessResult"), labels)
    metrics["seconds"] = time.perf_counter() - started
    return metrics


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", default="1-8")
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--work", default=os.path.join(REPO, "benchmarks", ".work", "access-quality"))
    args = parser.parse_args()
    from byoml.spark import get_spark

    spark = get_spark()
    missed = []
    new_user_flagged = new_user_normal = 0
    print(f"{'seed':>4} {'AUC':>6} {'AUC new pairs':>13} {'p@k':>6} {'AUC novel':>9} {'flag prec':>9} "
          f"{'flag recall':>11} {'new-user normal flagged':>24}")
    for seed in seeds_from(args.seeds):
        m = run_seed(seed, args.users, args.work, spark)
        normal, flagged = m["new_user_normal_pairs"], m["new_user_normal_flagged"]
        new_user_flagged, new_user_normal = new_user_flagged + flagged, new_user_normal + normal
        cells = [_figure(m[k], w) for k, w in (("roc_auc", 6), ("roc_auc_new_pairs_known_users", 13), ("precision_at_k", 6),
                                               ("roc_auc_novel_anomalies_vs_normal", 9), ("flag_precision", 9),
                                               ("flag_recall", 11))]
        print(f"{seed:>4} {' '.join(cells)} {flagged:>12} of {normal:<3} ({flagged / max(normal, 1):.0%})   "
              f"[{m['seconds']:.0f} s]", flush=True)
        # a figure that cannot be computed (None: e.g. no anomaly of that kind) misses its floor
        missed += [f"seed {seed}: {k} {_figure(m[k], 0)} < {floor}" for k, floor in PER_SEED_FLOORS.items()
                   if m[k] is None or m[k] < floor]
    pooled = new_user_flagged / max(new_user_normal, 1)
    print(f"pooled: new users' normal accesses flagged {new_user_flagged} of {new_user_normal} ({pooled:.1%})")
    if pooled > NEW_USER_FLAG_CEILING:
        missed.append(f"pooled new-user normal flag rate {pooled:.1%} > {NEW_USER_FLAG_CEILING:.0%}")
    print("targets: " + ("all met" if not missed else "MISSED: " + "; ".join(missed)))
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
