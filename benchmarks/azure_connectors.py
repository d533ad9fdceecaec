"""Throughput of the Azure connectors against the local peers (not a test; prints figures).

    .venv/bin/python benchmarks/azure_connectors.py [--rows 500000] [--blobs 200] [--blob-kb 1024]

* Logs Ingestion: rows/s from a Spark DataFrame to the local HTTPS ingestion stand-in
  (spool through ``toLocalIterator`` + gzip + POST, one request at a time), and the same
  figure for the upload phase alone (a rerun whose spool exists);
* Blob: MB/s staging blobs from Azurite to local files with the download threads, and the
  listing time of one day of folders.

Needs Azurite installed (``npm install --no-save --prefix .peers azurite@3``).
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import pathlib
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the local peers live in tests/peers


def bench_ingestion(spark, rows: int, workdir: str) -> None:
    from pyspark.sql import functions as F

    from byoml.sinks.ledger import Ledger
    from byoml.sinks.log_analytics import LogAnalyticsSink
    from tests.peers.ingestion import IngestionServer
    from tests.peers.tls import make_cert

    cert, key = make_cert(workdir)
    server = IngestionServer(cert, key, token="bench", streams=("Custom-Bench",)).start()
    os.environ["BYOML_ACCESS_TOKEN"] = "bench"
    df = spark.range(rows).select(
        F.lit("bench-run").alias("RunId"), F.expr("timestamp_seconds(1793000000 + id)").alias("TimeGenerated"),
        F.col("id").alias("RowId"), (F.col("id") / 7.0).alias("AnomalyScore"),
        F.concat(F.lit("CONTOSO\\user"), (F.col("id") % 500).cast("string")).alias("Account"),
        F.concat(F.lit("\\\\FS01\\Finance\\"), F.sha2(F.col("id").cast("string"), 256)).alias("Resource"),
    ).persist()
    df.count()
    sink = LogAnalyticsSink({"endpoint": server.endpoint, "dcr_id": server.dcr_id, "stream": "Custom-Bench",
                             "state_dir": os.path.join(workdir, "state"), "connection_verify": cert})
    started = time.perf_counter()
    sink.write(df, "Bench", "bench-run", rows)
    total = time.perf_counter() - started
    ledger = Ledger(sink.cfg.ledger_root, "Bench", "bench-run")
    mb = sum(len(c.body) for c in ledger.chunks()) / 1e6
    # the upload phase alone: forget the deliveries, keep the spool
    os.remove(os.path.join(ledger.dir, "delivered.log"))
    server.received.clear()
    started = time.perf_counter()
    sink.write(df, "Bench", "bench-run", rows)
    upload = time.perf_counter() - started
    assert len(server.received) == rows
    print(f"ingestion  {rows:,} rows, {mb:.1f} MB JSON, {ledger.progress()[1]} requests")
    print(f"           spool + upload {total:.1f}s = {rows / total:,.0f} rows/s; upload only {upload:.1f}s = "
          f"{rows / upload:,.0f} rows/s ({mb / upload:.1f} MB/s uncompressed)")
    server.stop()
    df.unpersist()


def bench_blob(blobs: int, blob_kb: int, workdir: str) -> None:
    from byoml.sources import open_source
    from byoml.timewindow import UTC, TimeWindow
    from tests.peers.azurite import Azurite, append_bytes

    peer = Azurite(workdir)
    try:
        os.environ["BYOML_STORAGE_CONNECTION_STRING"] = peer.connection_string
        client = peer.service().get_container_client("am-securityevent")
        client.create_container()
        line = (b'{"TimeGenerated":"2026-11-02T10:00:00Z","EventID":5140,"Account":"C\\\\u","Type":"SecurityEvent"}' + b" " * 100 + b"\n")
        payload = line * (blob_kb * 1024 // len(line))
        t0 = dt.datetime(2026, 11, 2, tzinfo=UTC)
        for i in range(blobs):
            when = t0 + dt.timedelta(minutes=5 * i)
            name = (f"WorkspaceResourceId=/subscriptions/s/resourcegroups/rg/providers/microsoft.operationalinsights/"
                    f"workspaces/w/y={when:%Y}/m={when:%m}/d={when:%d}/h={when:%H}/m={when:%M}/PT05M.json")
            append_bytes(client, name, payload)
        src = open_source(f"{peer.account_url}/am-securityevent", {"staging_dir": os.path.join(workdir, "staging")})
        window = TimeWindow(t0, t0 + dt.timedelta(days=1))
        started = time.perf_counter()
        files, _ = src.list_files("SecurityEvent", window)
        listed = time.perf_counter() - started
        started = time.perf_counter()
        paths = src.spark_paths(files)
        staged = time.perf_counter() - started
        mb = src.staged_bytes / 1e6
        print(f"blob       listed {len(files)} blobs in {len(src.listed_prefixes)} folder listings, {listed:.2f}s")
        print(f"           staged {mb:.0f} MB in {staged:.1f}s = {mb / staged:.0f} MB/s "
              f"({src.download_threads} threads, {len(paths)} files)")
    finally:
        peer.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=500_000)
    parser.add_argument("--blobs", type=int, default=200)
    parser.add_argument("--blob-kb", type=int, default=1024)
    args = parser.parse_args()
    from byoml.spark import get_spark

    with tempfile.TemporaryDirectory() as workdir:
        bench_blob(args.blobs, args.blob_kb, workdir)
        bench_ingestion(get_spark(), args.rows, workdir)


if __name__ == "__main__":
    main()
