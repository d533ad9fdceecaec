"""The Logs Ingestion sink against a local HTTPS server that follows the service contract."""
from __future__ import annotations

import collections
import json

import pytest

from byoml.errors import AuthorizationError, DeliveryError
from byoml.sinks import open_sink
from byoml.sinks.chunks import iter_chunks
from byoml.sinks.dead_letter import iter_letters
from byoml.sinks.log_analytics import LogAnalyticsSink

TOKEN = "tok-3f9a1c77e2"
RUN = "6a1f0000-0000-5000-8000-000000000001"


def result_rows(spark, n: int, run_id: str = RUN):
    from pyspark.sql import functions as F

    return spark.range(n).select(
        F.lit(run_id).alias("RunId"),
        F.expr("timestamp_seconds(1793000000 + id)").alias("TimeGenerated"),
        F.col("id").alias("RowId"),
        (F.col("id") / 7.0).alias("AnomalyScore"),
        (F.col("id") % 97 == 0).alias("IsAnomaly"),
        F.concat(F.lit("CONTOSO\\user"), (F.col("id") % 500).cast("string")).alias("Account"),
        F.concat(F.lit("\\\\FS01\\Finance\\"), F.sha2(F.col("id").cast("string"), 256)).alias("Resource"),
    )


def sink_options(server, tmp_path, cert, **extra):
    return {
        "endpoint": server.endpoint,
        "dcr_id": server.dcr_id,
        "stream": "Custom-Results",
        "state_dir": str(tmp_path / "state"),
        "connection_verify": cert,
        "read_timeout": 5,
        "retry_backoff_factor": 0.05,
        **extra,
    }


@pytest.fixture(autouse=True)
def _token(monkeypatch):
    monkeypatch.setenv("BYOML_ACCESS_TOKEN", TOKEN)


def test_chunks_stay_under_the_limit_and_keep_every_row():
    rows = [json.dumps({"i": i, "pad": "x" * (i % 300)}).encode() for i in range(5000)]
    chunks = list(iter_chunks(rows, 20_000))
    assert all(len(c.body) <= 20_000 for c in chunks)
    assert [r["i"] for c in chunks for r in json.loads(c.body)] == list(range(5000))
    assert sum(c.rows for c in chunks) == 5000 and [c.index for c in chunks] == list(range(len(chunks)))


def test_100k_rows_delivered_exactly_once_under_429_500_and_timeouts(spark, ingestion, tls_cert, tmp_path):
    server = ingestion(token=TOKEN, streams=("Custom-Results",))
    server.script.extend([
        ("status", 429, {"Retry-After": "1"}), ("ok",), ("status", 500), ("ok",), ("hang", 8),
        ("status", 503), ("ok",), ("status", 429, {"Retry-After": "1"}), ("status", 429), ("ok",),
        ("status", 502), ("hang", 8), ("ok",), ("status", 500), ("status", 504), ("status", 408),
    ])
    sink = open_sink("loganalytics", sink_options(server, tmp_path, tls_cert[0]))
    result = sink.write(result_rows(spark, 100_000), "Results", RUN, 100_000)

    ids = server.rows_by("RowId")
    assert len(server.received) == 100_000 and len(ids) == 100_000 and set(ids.values()) == {1}
    assert result.rows == 100_000
    assert server.violations == []
    statuses = collections.Counter(r.status for r in server.requests)
    assert statuses[429] == 3 and statuses[0] == 2 and statuses[500] == 2 and statuses[204] >= 25
    assert all(r.gzipped and r.wire_bytes <= 1_048_576 and r.raw_bytes <= 1_000_000 for r in server.requests)
    row = next(r for r in server.received if r["RowId"] == 97)
    assert row["TimeGenerated"].endswith("Z") and row["RunId"] == RUN and row["IsAnomaly"] is True

    before = len(server.requests)  # the same RunId again: the ledger says everything arrived
    again = sink.write(result_rows(spark, 100_000), "Results", RUN, 100_000)
    assert len(server.requests) == before and again.rows == 100_000


def test_failed_chunks_are_dead_lettered_and_replayed(spark, ingestion, tls_cert, tmp_path, capsys):
    from byoml.cli import main

    server = ingestion(token=TOKEN, streams=("Custom-Results",))
    # 2 retries: the second chunk fails 3 times in a row and is dead-lettered; the rest go through.
    server.script.extend([("ok",), ("status", 500), ("status", 500), ("status", 500)])
    options = sink_options(server, tmp_path, tls_cert[0], retry_total=2, max_request_bytes=50_000)
    sink = LogAnalyticsSink(options)
    with pytest.raises(DeliveryError) as err:
        sink.write(result_rows(spark, 2_000), "Results", RUN, 2_000)
    dead = tmp_path / "state" / "dead-letter"
    assert "byoml replay" in str(err.value) and str(dead) in str(err.value)
    letters = list(iter_letters(str(dead)))
    assert len(letters) == 1 and letters[0].meta["chunk"] == 1 and "HTTP 500" in letters[0].meta["reason"]
    assert TOKEN not in (dead / "Results" / f"{RUN}-00001.json").read_text()
    missing = 2_000 - len(server.received)
    assert missing == letters[0].rows > 0

    config = tmp_path / "replay.yml"
    config.write_text(f"sink:\n  connection_verify: {tls_cert[0]}\n  read_timeout: 5\n")
    assert main(["replay", str(dead), "--config", str(config)]) == 0
    assert "1 chunk" in capsys.readouterr().out
    ids = server.rows_by("RowId")
    assert len(ids) == 2_000 and set(ids.values()) == {1}
    assert list(iter_letters(str(dead))) == []
    before = len(server.requests)  # replay marked the ledger: a rerun of the window sends nothing
    assert sink.write(result_rows(spark, 2_000), "Results", RUN, 2_000).rows == 2_000
    assert len(server.requests) == before


@pytest.mark.parametrize("status", [401, 403])
def test_401_and_403_name_the_role_to_grant(spark, ingestion, tls_cert, tmp_path, status):
    server = ingestion(token=TOKEN, streams=("Custom-Results",))
    server.script.append(("status", status))
    sink = LogAnalyticsSink(sink_options(server, tmp_path, tls_cert[0]))
    with pytest.raises(AuthorizationError) as err:
        sink.write(result_rows(spark, 10), "Results", RUN, 10)
    message = str(err.value)
    assert f"HTTP {status}" in message and "Monitoring Metrics Publisher" in message and server.dcr_id in message
    assert TOKEN not in message


def test_wrong_token_is_a_401_with_the_fix(spark, ingestion, tls_cert, tmp_path, monkeypatch):
    server = ingestion(token="the-right-token", streams=("Custom-Results",))
    sink = LogAnalyticsSink(sink_options(server, tmp_path, tls_cert[0]))
    with pytest.raises(AuthorizationError, match="BYOML_ACCESS_TOKEN"):
        sink.write(result_rows(spark, 10), "Results", RUN, 10)


def test_a_row_over_the_limit_is_dead_lettered_not_sent(spark, ingestion, tls_cert, tmp_path):
    from pyspark.sql import functions as F

    server = ingestion(token=TOKEN, streams=("Custom-Results",))
    df = result_rows(spark, 50).withColumn(
        "Resource", F.when(F.col("RowId") == 3, F.expr("repeat('x', 60000)")).otherwise(F.col("Resource"))
    )
    sink = LogAnalyticsSink(sink_options(server, tmp_path, tls_cert[0], max_request_bytes=50_000))
    with pytest.raises(DeliveryError, match="request limit"):
        sink.write(df, "Results", RUN, 50)
    assert len(server.received) == 49 and server.violations == []


def test_config_comes_from_env_and_never_holds_a_token(monkeypatch, tmp_path):
    from byoml.errors import ConfigError

    monkeypatch.setenv("BYOML_LA_ENDPOINT", "https://dce.example.ingest.monitor.azure.com")
    monkeypatch.setenv("BYOML_LA_DCR_ID", "dcr-abc")
    monkeypatch.setenv("BYOML_LA_STREAM", "Custom-Mine")
    sink = open_sink("loganalytics", {"state_dir": str(tmp_path)})
    assert sink.cfg.dcr_id == "dcr-abc" and sink.stream_for("AccessRarity") == "Custom-Mine"
    with pytest.raises(ConfigError, match="BYOML_ACCESS_TOKEN"):
        open_sink("loganalytics", {"token": "x"})
    monkeypatch.delenv("BYOML_LA_DCR_ID")
    with pytest.raises(ConfigError, match="BYOML_LA_DCR_ID"):
        open_sink("loganalytics", {})
