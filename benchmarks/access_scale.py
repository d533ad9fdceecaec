"""Speed and memory of anomalous-resource-access, end to end from export files.

For each size N (events in the export, default 1M and 5M) this script:

1. generates a SecurityEvent export of about N events (cached under --work);
2. runs, each in a fresh process (so Spark start is included) while sampling the RSS of
   the whole process tree (Python + JVM; the scores are evaluated afterwards, outside it):
   * ``bare``: ``spark.read.json`` of the files with a 6-column schema, grouped by pair (the floor);
   * ``byoml``: ``byoml.run.train`` + ``byoml.run.score`` of the template from the export JSON, as the
     CLI runs them (a cold train + score);
   * ``store-fill``: ``byoml.run.ingest`` of the training days into a fresh day store (the backfill,
     once; the daily score jobs keep it warm after);
   * ``store-train``: ``byoml.run.train`` from the warm store only, as the weekly train job runs;
   * ``store-score``: ``byoml.run.score`` of the newest day with the export and a copy of the
     store-fill store (so the day is new to it on every run), ingesting that one day first, as the
     daily score job runs;
   * ``byo-ml``: the Sentinel BYO-ML recipe on the same files (events per active day, implicit
     ALS rank 10, negated per-tenant z-score of the predicted affinity);
3. prints wall time per stage, events/s, peak RSS and the ratios.

    pip install ".[bench]"
    python benchmarks/access_scale.py                 # 1M and 5M, every mode
    python benchmarks/access_scale.py --events 1000000
    python benchmarks/access_scale.py --events 1000000 --event-log /tmp/events   # + where the time went
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from benchmarks.usage_scale import tree_rss_bytes  # noqa: E402

EVENTS_PER_USER = 8.9 * 29  # measured on the generator: all lines per user over 28 + 1 days


def sample_rss(pid: int, stop: threading.Event, peak: list) -> None:
    while not stop.is_set():
        peak[0] = max(peak[0], tree_rss_bytes(pid))
        stop.wait(0.2)


def run_sampled(cmd: list, env: dict, *watchers) -> int:
    """Run ``cmd``; each ``watcher(pid, stop)`` runs in a thread until the process ends; returns its exit code."""
    proc = subprocess.Popen(cmd, env=env)
    stop = threading.Event()
    threads = [threading.Thread(target=w, args=(proc.pid, stop), daemon=True) for w in watchers]
    for thread in threads:
        thread.start()
    code = proc.wait()
    stop.set()
    for thread in threads:
        thread.join()
    return code


def _task_slots() -> int:
    """Task slots of the children's local Spark (``BYOML_SPARK_MASTER``, default ``local[2]``)."""
    master = os.environ.get("BYOML_SPARK_MASTER", "local[2]")
    inner = master[len("local["):-1] if master.startswith("local[") else ""
    return int(inner) if inner.isdigit() else os.cpu_count() or 2


def run_child(mode: str, export: str, work: str, event_log: str = "") -> dict:
    """Run one mode in a fresh process; ``event_log``: a folder to keep its Spark event log in."""
    out = os.path.join(work, f"result-{mode}.json")
    if mode == "store-score":  # a copy of store-fill's store: the score day is new to it on every run
        if not os.path.isdir(os.path.join(work, "store")):
            raise SystemExit(f"store-score scores a copy of store-fill's store, and {work}/store is missing: "
                             "run --modes store-fill,store-train,store-score")
        shutil.rmtree(os.path.join(work, "store-score"), ignore_errors=True)
        shutil.copytree(os.path.join(work, "store"), os.path.join(work, "store-score"))
    env = dict(os.environ)
    if event_log:  # uncompressed, one folder per child: benchmarks/spark_eventlog.py reads it
        folder = os.path.abspath(event_log)
        shutil.rmtree(folder, ignore_errors=True)
        os.makedirs(folder)
        confs = (f"--conf spark.eventLog.enabled=true --conf spark.eventLog.dir=file://{folder} "
                 "--conf spark.eventLog.compress=false")
        given = env.get("PYSPARK_SUBMIT_ARGS", "").strip() or "pyspark-shell"  # keep the caller's, e.g. --packages
        env["PYSPARK_SUBMIT_ARGS"] = f"{confs} {given}"
    started = time.perf_counter()
    peak = [0]
    code = run_sampled([sys.executable, __file__, "--child", mode, "--export", export, "--work", work, "--out", out],
                       env, lambda pid, stop: sample_rss(pid, stop, peak))
    if code != 0:
        raise SystemExit(f"{mode} failed with exit code {code}")
    with open(out) as fh:
        result = json.load(fh)
    result["wall"] = time.perf_counter() - started
    result["peak_rss_gb"] = peak[0] / 2**30
    if event_log:
        from spark_eventlog import report

        logs = [os.path.join(folder, name) for name in os.listdir(folder)]
        result["event_log"] = report(logs[0], slots=_task_slots(), gap=0.5) if len(logs) == 1 else f"{len(logs)} logs in {folder}"
    return result


# ---------------------------------------------------------------- children (fresh process each)

def child_bare(export: str, work: str) -> dict:
    t0 = time.perf_counter()
    from byoml.sources import LocalExportSource
    from byoml.spark import get_spark
    from byoml.timewindow import TimeWindow

    spark = get_spark()
    t1 = time.perf_counter()
    files, _ = LocalExportSource(export).list_files("SecurityEvent", TimeWindow())
    df = spark.read.schema("TenantId string, Account string, Computer string, ShareName string, EventID int, "
                           "TimeGenerated string").json([f"file://{f.path}" for f in files])
    pairs = df.filter("EventID = 5140").groupBy("TenantId", "Account", "Computer", "ShareName").count().count()
    t2 = time.perf_counter()
    return {"stages": {"spark start": t1 - t0, "read + group": t2 - t1}, "pairs": pairs}


def child_byoml(export: str, work: str) -> dict:
    t0 = time.perf_counter()
    from byoml.run import score, train
    from byoml.spark import get_spark

    spark = get_spark()
    t1 = time.perf_counter()
    with open(os.path.join(export, "labels.json")) as fh:
        labels = json.load(fh)
    model, sink = os.path.join(work, "model"), os.path.join(work, "sink")
    for folder in (model, sink):  # a sink keeps earlier runs' rows: start clean
        shutil.rmtree(folder, ignore_errors=True)
    tr = train("anomalous-resource-access", export, model, end=labels["train_window"]["end"], spark=spark)
    sc = score("anomalous-resource-access", export, model, sink, start=labels["score_window"]["start"],
               end=labels["score_window"]["end"], emit="all", spark=spark)
    stages = {"spark start": t1 - t0}
    stages.update({f"train {k}": v for k, v in tr.stages})
    stages.update({f"score {k}": v for k, v in sc.stages})
    # the scores are evaluated by the parent, after this process: its peak RSS is the job's alone
    return {"stages": stages, "events": tr.counts["records"] + sc.counts["records"], "train_counts": tr.counts,
            "sink": sink}


def child_store_fill(export: str, work: str) -> dict:
    t0 = time.perf_counter()
    from byoml.run import ingest
    from byoml.spark import get_spark

    spark = get_spark()
    t1 = time.perf_counter()
    with open(os.path.join(export, "labels.json")) as fh:
        labels = json.load(fh)
    store = os.path.join(work, "store")
    shutil.rmtree(store, ignore_errors=True)
    run = ingest(export, store, end=labels["train_window"]["end"], spark=spark)
    stages = {"spark start": t1 - t0, **{k: v for k, v in run.stages}}
    return {"stages": stages, "days": run.counts["days_ingested"], "records": run.counts["records"],
            "rows_stored": run.counts["rows_stored"]}


def child_store_train(export: str, work: str) -> dict:
    t0 = time.perf_counter()
    from byoml.run import train
    from byoml.spark import get_spark

    spark = get_spark()
    t1 = time.perf_counter()
    with open(os.path.join(export, "labels.json")) as fh:
        labels = json.load(fh)
    model = os.path.join(work, "model-store")
    shutil.rmtree(model, ignore_errors=True)
    tr = train("anomalous-resource-access", None, model, end=labels["train_window"]["end"], spark=spark,
               store=os.path.join(work, "store"))
    return {"stages": {"spark start": t1 - t0, **{f"train {k}": v for k, v in tr.stages}},
            "events": tr.counts["records"], "rows_read": tr.counts["rows_read"]}


def child_store_score(export: str, work: str) -> dict:
    t0 = time.perf_counter()
    from byoml.run import score
    from byoml.spark import get_spark

    spark = get_spark()
    t1 = time.perf_counter()
    with open(os.path.join(export, "labels.json")) as fh:
        labels = json.load(fh)
    sink, scored_store = os.path.join(work, "sink-store"), os.path.join(work, "store-score")
    shutil.rmtree(sink, ignore_errors=True)
    sc = score("anomalous-resource-access", export, os.path.join(work, "model-store"), sink,
               start=labels["score_window"]["start"], end=labels["score_window"]["end"], emit="all", spark=spark,
               store=scored_store)
    ingested = [n for n in sc.notes if n.startswith("ingested")]
    return {"stages": {"spark start": t1 - t0, **{f"score {k}": v for k, v in sc.stages}},
            "records": sc.counts["records"], "scored": sc.counts["scored"], "ingested": ingested[0][:60] if ingested else "",
            "sink": sink}


def evaluate_byoml(result: dict, export: str) -> None:
    """Quality of the byoml run's scores against the export's labels (in this process, after the run)."""
    from byoml.evaluate import load_scores, resource_access_metrics

    with open(os.path.join(export, "labels.json")) as fh:
        labels = json.load(fh)
    metrics = resource_access_metrics(load_scores(result.pop("sink"), "AnomalousResourceAccessResult"), labels)
    result["metrics"] = {k: round(metrics[k], 4) for k in ("roc_auc", "precision_at_k", "roc_auc_new_pairs_known_users")}


def child_byo_ml(export: str, work: str) -> dict:
    """The Sentinel BYO-ML recipe, as its notebooks do it, on the same files."""
    t0 = time.perf_counter()
    from pyspark.ml.recommendation import ALS
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    from byoml.sources import LocalExportSource
    from byoml.spark import get_spark
    from byoml.timewindow import TimeWindow

    spark = get_spark()
    t1 = time.perf_counter()
    with open(os.path.join(export, "labels.json")) as fh:
        labels = json.load(fh)
    split = labels["train_window"]["end"]
    files, _ = LocalExportSource(export).list_files("SecurityEvent", TimeWindow())
    raw = spark.read.schema("TenantId string, Account string, Computer string, ShareName string, EventID int, "
                            "TimeGenerated timestamp").json([f"file://{f.path}" for f in files])
    events = raw.filter("EventID = 5140 AND NOT Account LIKE '%$'").withColumn("res", F.concat_ws("", "Computer", "ShareName"))
    train = events.filter(F.col("TimeGenerated") < F.lit(split).cast("timestamp"))
    test = events.filter(F.col("TimeGenerated") >= F.lit(split).cast("timestamp"))
    feats = train.groupBy("TenantId", "Account", "res").agg(
        (F.count(F.lit(1)) / F.count_distinct(F.to_date("TimeGenerated"))).alias("rating")).cache()
    users = feats.select("TenantId", "Account").distinct().withColumn("uid", F.dense_rank().over(Window.orderBy("TenantId", "Account")))
    items = feats.select("TenantId", "res").distinct().withColumn("iid", F.dense_rank().over(Window.orderBy("TenantId", "res")))
    ratings = feats.join(users, ["TenantId", "Account"]).join(items, ["TenantId", "res"]).cache()
    n = ratings.count()
    t2 = time.perf_counter()
    model = ALS(rank=10, maxIter=10, implicitPrefs=True, userCol="uid", itemCol="iid", ratingCol="rating", seed=42).fit(ratings)
    t3 = time.perf_counter()
    train_pred = model.transform(ratings)
    stats = train_pred.groupBy("TenantId").agg(F.mean("prediction").alias("mu"), F.stddev("prediction").alias("sd"))
    pairs = (test.groupBy("TenantId", "Account", "res").count()
             .join(users, ["TenantId", "Account"], "left").join(items, ["TenantId", "res"], "left"))
    # the recipe has no fallback: a new user or resource gets a null score (Spark 4 ALS refuses null ids)
    known = F.col("uid").isNotNull() & F.col("iid").isNotNull()
    predicted = model.transform(pairs.filter(known)).unionByName(
        pairs.filter(~known).withColumn("prediction", F.lit(None).cast("float")))
    scored = predicted.join(stats, "TenantId", "left").withColumn("score", -(F.col("prediction") - F.col("mu")) / F.col("sd"))
    result = scored.agg(F.count(F.lit(1)).alias("pairs"), F.sum(F.col("score").isNull().cast("int")).alias("null_scores")).first()
    t4 = time.perf_counter()
    return {"stages": {"spark start": t1 - t0, "read + features": t2 - t1, "ALS fit": t3 - t2, "score": t4 - t3},
            "ratings": n, "pairs": result["pairs"], "null_scores": result["null_scores"]}


CHILDREN = {"bare": child_bare, "byoml": child_byoml, "store-fill": child_store_fill, "store-train": child_store_train,
            "store-score": child_store_score, "byo-ml": child_byo_ml}
MODES = "bare,byoml,store-fill,store-train,store-score,byo-ml"  # the store modes in this order: fill, train, score


def ensure_export(work: str, events: int, seed: int) -> str:
    export = os.path.join(work, f"export-{events}")
    if os.path.exists(os.path.join(export, "labels.json")):
        return export
    from byoml.sample_data import generate

    users = max(50, int(events / EVENTS_PER_USER))
    t = time.perf_counter()
    labels = generate("resource-access", export, users=users, days=28, seed=seed)
    print(f"generated {labels['counts']['events']:,} events for {users} users in {time.perf_counter() - t:.0f}s", flush=True)
    return export


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, action="append", help="events in the export (repeatable)")
    parser.add_argument("--work", default=os.path.join(HERE, ".work", "access"))
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--modes", default=MODES)
    parser.add_argument("--event-log", default="", help="keep each run's Spark event log under <dir>/<events>/<mode> and print its phases")
    parser.add_argument("--child")
    parser.add_argument("--export")
    parser.add_argument("--out")
    args = parser.parse_args()
    if args.child:
        result = CHILDREN[args.child](args.export, args.work)
        with open(args.out, "w") as fh:
            json.dump(result, fh)
        return
    for n in args.events or [1_000_000, 5_000_000]:
        work = os.path.join(args.work, str(n))
        os.makedirs(work, exist_ok=True)
        export = ensure_export(args.work, n, args.seed)
        print(f"\n== {n:,} events  (load average {os.getloadavg()[0]:.1f})")
        results = {}
        for mode in args.modes.split(","):
            log_dir = os.path.join(args.event_log, str(n), mode) if args.event_log else ""
            results[mode] = r = run_child(mode, export, work, log_dir)
            if mode in ("byoml", "store-score"):
                evaluate_byoml(r, export)
            stages = " · ".join(f"{k} {v:.1f}s" for k, v in r["stages"].items())
            print(f"{mode:>7}: wall {r['wall']:.1f}s, peak RSS {r['peak_rss_gb']:.2f} GB, {n / r['wall']:,.0f} events/s")
            print(f"         {stages}")
            extra = {k: v for k, v in r.items() if k not in ("stages", "wall", "peak_rss_gb", "event_log")}
            print(f"         {extra}", flush=True)
            if "event_log" in r:
                print(r["event_log"], flush=True)
        if "byoml" in results and "bare" in results:
            print(f"byoml / bare read: {results['byoml']['wall'] / results['bare']['wall']:.2f}x")
        if "byoml" in results and "byo-ml" in results:
            print(f"byoml / BYO-ML recipe: {results['byoml']['wall'] / results['byo-ml']['wall']:.2f}x wall, "
                  f"{results['byoml']['peak_rss_gb'] / results['byo-ml']['peak_rss_gb']:.2f}x peak RSS")
        print_table(n, results)


def _train_seconds(result: dict) -> float:
    return sum(v for k, v in result["stages"].items() if k.startswith("train "))


def print_table(n: int, results: dict) -> None:
    """The modes side by side: wall, peak RSS, and against the cold train + score and the recipe."""
    print(f"\n| mode ({n:,} events) | wall | peak RSS | vs bare read | vs recipe |")
    print("|---|---|---|---|---|")
    bare, recipe = results.get("bare"), results.get("byo-ml")
    for mode, r in results.items():
        cells = [f"{r['wall']:.1f} s", f"{r['peak_rss_gb']:.2f} GB",
                 f"{r['wall'] / bare['wall']:.2f}x" if bare else "", f"{r['wall'] / recipe['wall']:.2f}x" if recipe else ""]
        print(f"| {mode} | " + " | ".join(cells) + " |")
    if "byoml" in results and "store-train" in results:
        cold, warm = _train_seconds(results["byoml"]), _train_seconds(results["store-train"])
        print(f"train from the warm store / cold train (read + fit + save): {warm:.1f} s / {cold:.1f} s = {warm / cold:.2f}x")


if __name__ == "__main__":
    main()
