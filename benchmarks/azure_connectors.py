"""Throughput of the Logs Ingestion sink against the local peer (not a test; prints figures).

    .venv/bin/python benchmarks/azure_connectors.py [--rows 500000]

Rows/s from a Spark DataFrame to the local HTTPS ingestion stand-in (spool through
``toLocalIterator`` + gzip + POST, one request at a time), and the same figure for the upload
phase alone (a rerun whose spool exists). The Blob read: ``benchmarks/blob_read.py``.
"""
from __future__ import annotations

import argparse
import os
import pathlib
import shutil
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
    shutil.rmtree(os.path.join(ledger.dir, "delivered"))
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=500_000)
    args = parser.parse_args()
    from byoml.spark import get_spark

    with tempfile.TemporaryDirectory() as workdir:
        bench_ingestion(get_spark(), args.rows, workdir)


if __name__ == "__main__":
    main()
