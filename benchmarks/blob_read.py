"""The Blob read three ways, on Azurite: wall time and driver memory for two window sizes.

The 1M-event SecurityEvent export of ``access_scale.py`` (28 days, 5-minute files) is uploaded
once to an on-disk Azurite, then read by ``ExportSource.read`` (parse, dedupe, a per-pair
summary as a job's ``build``) for a 7-day and the 28-day window, each in a fresh process:

* ``distributed``: this tree, ``https://`` source: the driver lists, the executors fetch;
* ``local``: this tree, the same export as local files (the floor);
* ``staged``: byoml at ``--baseline`` (default: the commit before the distributed read),
  ``https://`` source: the driver downloads every blob to a staging folder, Spark reads it.

For each it prints the read's wall time (Spark start excluded), the peak RSS of the driver's
Python process, of the JVM (local mode: the driver *and* the executors' task threads, heap
capped at 2 GB), of the Python workers (the executors' fetch), and the bytes written to the
driver's disk. Needs ``pip install '.[bench]'``, Azurite (``npm install --prefix .peers azurite@3``)
and git (for the baseline)::

    python benchmarks/blob_read.py                 # 1M events, windows of 7 and 28 days
    python benchmarks/blob_read.py --modes distributed --days 7
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import threading
import time

import psutil

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from access_scale import ensure_export, run_sampled  # noqa: E402 - the sibling benchmark script

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
BASELINE = "004331f"  # main before the distributed read (issue 18): blobs staged on the driver
COLUMNS = ["Account", "Computer", "ShareName", "EventID"]


def sample(pid: int, stop: threading.Event, peak: dict) -> None:
    """Peak RSS of the driver process, its JVM and the Python workers below the JVM."""
    while not stop.is_set():
        try:
            driver = psutil.Process(pid)
            now = {"driver": driver.memory_info().rss, "jvm": 0, "workers": 0}
            for child in driver.children(recursive=True):
                kind = "jvm" if child.name() == "java" else "workers"
                now[kind] += child.memory_info().rss
            for key, value in now.items():
                peak[key] = max(peak.get(key, 0), value)
        except psutil.Error:
            pass
        stop.wait(0.1)


def folder_bytes(path: str) -> int:
    total = 0
    for folder, _, names in os.walk(path):
        for name in names:
            try:
                total += os.path.getsize(os.path.join(folder, name))
            except OSError:  # removed while we looked (the child cleans up at exit)
                pass
    return total


def run_child(mode: str, source: str, window: dict, work: str, env: dict) -> dict:
    out = os.path.join(work, f"result-{mode}.json")
    staging = os.path.join(work, f"staging-{mode}")
    shutil.rmtree(staging, ignore_errors=True)
    os.makedirs(staging)
    env = {**env, "TMPDIR": staging}  # anything the driver stages lands here, and is measured
    args = [sys.executable, __file__, "--child", source, "--start", window["start"], "--end", window["end"],
            "--out", out, "--staging", staging]
    peak: dict = {}
    staged = [0]

    def watch_disk(pid: int, stop: threading.Event) -> None:
        while not stop.wait(0.5):
            staged[0] = max(staged[0], folder_bytes(staging))

    code = run_sampled(args, env, lambda pid, stop: sample(pid, stop, peak), watch_disk)
    if code != 0:
        raise SystemExit(f"{mode} failed with exit code {code}")
    with open(out) as fh:
        result = json.load(fh)
    result.update({f"{k}_gb": v / 2**30 for k, v in peak.items()})
    result["staged_mb"] = staged[0] / 1e6
    shutil.rmtree(staging, ignore_errors=True)
    return result


def child(source: str, start: str, end: str, out: str, staging: str) -> None:
    """One read in this process (the tree on PYTHONPATH decides distributed or staged)."""
    from byoml.sources import open_source
    from byoml.spark import get_spark
    from byoml.timewindow import TimeWindow

    spark = get_spark()
    t0 = time.perf_counter()
    options = {"staging_dir": staging} if source.startswith("http") else {}
    src = open_source(source, options)
    result = src.read(spark, "SecurityEvent", TimeWindow.parse(start, end), COLUMNS,
                      build=lambda df: df.groupBy("Account", "Computer", "ShareName").count())
    pairs = result.df.count()
    seconds = time.perf_counter() - t0
    stats = result.stats
    with open(out, "w") as fh:
        json.dump({"read_s": seconds, "files": stats.files, "mb": stats.bytes / 1e6, "records": stats.records,
                   "rows": stats.rows, "pairs": pairs}, fh)


def baseline_tree(work: str, rev: str) -> str:
    """byoml at ``rev``, unpacked from git (no worktree): the staging read, for comparison."""
    tree = os.path.join(work, f"baseline-{rev}")
    if not os.path.exists(os.path.join(tree, "byoml")):
        os.makedirs(tree, exist_ok=True)
        archive = subprocess.run(["git", "-C", REPO, "archive", rev, "byoml"], check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", tree], input=archive, check=True)
    return tree


def ensure_uploaded(peer, export: str, marker: str) -> None:
    from tests.peers.azurite import upload_export

    if os.path.exists(marker):
        return
    t = time.perf_counter()
    n = upload_export(peer.service(), os.path.join(export, "am-securityevent"), "am-securityevent", threads=8)
    print(f"uploaded {n:,} blobs in {time.perf_counter() - t:.0f}s", flush=True)
    open(marker, "w").close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--work", default=os.path.join(HERE, ".work", "blob-read"))
    parser.add_argument("--days", default="7,28", help="window sizes in days, ending at the end of the training window")
    parser.add_argument("--modes", default="distributed,local,staged")
    parser.add_argument("--baseline", default=BASELINE)
    parser.add_argument("--prepare", action="store_true", help="only make and upload the export")
    parser.add_argument("--child")
    parser.add_argument("--start")
    parser.add_argument("--end")
    parser.add_argument("--out")
    parser.add_argument("--staging")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.start, args.end, args.out, args.staging)
        return

    sys.path.insert(0, REPO)
    from tests.peers.azurite import Azurite

    os.makedirs(args.work, exist_ok=True)
    export = ensure_export(os.path.join(HERE, ".work", "access"), args.events, 3)
    with open(os.path.join(export, "labels.json")) as fh:
        end = dt.datetime.fromisoformat(json.load(fh)["train_window"]["end"].replace("Z", "+00:00"))
    peer_dir = os.path.join(args.work, "azurite")
    os.makedirs(peer_dir, exist_ok=True)
    peer = Azurite(peer_dir, in_memory=False)
    try:
        ensure_uploaded(peer, export, os.path.join(peer_dir, f"uploaded-{args.events}"))
        if args.prepare:
            return
        env = {**os.environ, "BYOML_STORAGE_CONNECTION_STRING": peer.connection_string}
        sources = {"distributed": (f"{peer.account_url}/am-securityevent", REPO),
                   "local": (export, REPO),
                   "staged": (f"{peer.account_url}/am-securityevent", None)}
        print(f"{'window':>7} {'mode':<12} {'read s':>7} {'files':>6} {'MB':>6} {'records':>9} {'driver GB':>9} "
              f"{'JVM GB':>7} {'workers GB':>10} {'staged MB':>9}")
        for days in [int(d) for d in args.days.split(",")]:
            window = {"start": (end - dt.timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                      "end": end.strftime("%Y-%m-%dT%H:%M:%SZ")}
            for mode in args.modes.split(","):
                source, tree = sources[mode]
                tree = tree or baseline_tree(args.work, args.baseline)
                r = run_child(mode, source, window, args.work, {**env, "PYTHONPATH": tree})
                print(f"{days:>6}d {mode:<12} {r['read_s']:>7.1f} {r['files']:>6,} {r['mb']:>6.0f} {r['records']:>9,} "
                      f"{r['driver_gb']:>9.2f} {r['jvm_gb']:>7.2f} {r['workers_gb']:>10.2f} {r['staged_mb']:>9.0f}",
                      flush=True)
    finally:
        peer.stop()


if __name__ == "__main__":
    main()
