"""The CLI end to end: Blob export in Azurite -> access-rarity -> Logs Ingestion stand-in.

* a ``byoml score`` process killed mid-upload, then run again, delivers every row exactly once;
* with logging on, neither the bearer token nor the storage SAS appears in stdout, stderr or
  any file byoml wrote.
"""
from __future__ import annotations

import collections
import datetime as dt
import json
import os
import pathlib
import subprocess
import sys
import threading

import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]
TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.byoml-fake-secret-7Qk2ZrW"


@pytest.fixture(scope="module")
def model(spark, blob_sample, tmp_path_factory):
    from byoml.run import train

    out, labels, _ = blob_sample
    model_dir = tmp_path_factory.mktemp("e2e") / "model"
    tw = labels["train_window"]
    train("access-rarity", str(out), str(model_dir), tw["start"], tw["end"], spark=spark)
    return model_dir


def _score_cmd(azurite, model, config, labels, verbose=True):
    sw = labels["score_window"]
    return [sys.executable, "-m", "byoml", *(["-v"] if verbose else []), "score", "--template", "access-rarity",
            "--source", f"{azurite.account_url}/am-securityevent", "--model", str(model), "--sink", "loganalytics",
            "--emit", "all", "--start", sw["start"], "--end", sw["end"], "--config", str(config)]


def test_killed_upload_resumes_exactly_once_and_no_secret_leaks(spark, azurite, blob_sample, model, ingestion,
                                                                 tls_cert, tmp_path):
    from azure.storage.blob import ContainerSasPermissions, generate_container_sas

    from byoml.run import score
    from tests.peers.azurite import ACCOUNT, ACCOUNT_KEY

    out, labels, _ = blob_sample
    server = ingestion(token=TOKEN, streams=("Custom-AccessRarity",))
    sas = generate_container_sas(ACCOUNT, "am-securityevent", account_key=ACCOUNT_KEY,
                                 permission=ContainerSasPermissions(read=True, list=True),
                                 expiry=dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=2))
    sig = dict(p.split("=", 1) for p in sas.split("&"))["sig"]
    state = tmp_path / "state"
    config = tmp_path / "byoml.yml"
    config.write_text(
        "source:\n"
        f"  staging_dir: {tmp_path / 'staging'}\n"
        "sink:\n"
        f"  endpoint: {server.endpoint}\n"
        f"  dcr_id: {server.dcr_id}\n"
        f"  state_dir: {state}\n"
        f"  connection_verify: {tls_cert[0]}\n"
        "  max_request_bytes: 20000\n"
        "  read_timeout: 10\n"
        "  retry_backoff_factor: 0.05\n"
    )
    env = {**os.environ, "BYOML_ACCESS_TOKEN": TOKEN, "BYOML_STORAGE_SAS": sas, "BYOML_SPARK_DRIVER_MEMORY": "1g",
           "PYTHONPATH": str(REPO)}
    env.pop("BYOML_STORAGE_CONNECTION_STRING", None)

    # 1. the first run is killed while chunk 4 is in flight (3 chunks stored and recorded)
    stored3 = threading.Event()

    def after_store(accepted: int) -> None:
        if accepted == 3:
            server.script.extend([("hang", 120)] * 5)
            stored3.set()

    server.on_stored = after_store
    logs = tmp_path / "logs"
    logs.mkdir()
    with open(logs / "out-1", "w") as fout, open(logs / "err-1", "w") as ferr:  # files: a full pipe would block it
        first = subprocess.Popen(_score_cmd(azurite, model, config, labels), env=env, cwd=tmp_path,
                                 stdout=fout, stderr=ferr, text=True)
    deadline = dt.datetime.now() + dt.timedelta(seconds=300)
    try:
        while not stored3.wait(timeout=1) and first.poll() is None and dt.datetime.now() < deadline:
            pass
        if not stored3.is_set():
            first.kill()
            first.wait()
            pytest.fail(f"the first run ended before three chunks went through: {(logs / 'err-1').read_text()[-3000:]}")
        deadline = dt.datetime.now() + dt.timedelta(seconds=30)
        while len(server.requests) < 4 and dt.datetime.now() < deadline:  # chunk 4 is hanging in the server
            threading.Event().wait(0.1)
    finally:
        first.kill()
    first.wait(timeout=60)
    out1, err1 = (logs / "out-1").read_text(), (logs / "err-1").read_text()
    assert len(server.received) > 0 and first.returncode != 0
    server.script.clear()
    server.on_stored = None
    delivered_before = len(server.received)

    # 2. the rerun (same window, same RunId) sends only what the ledger has not recorded
    second = subprocess.run(_score_cmd(azurite, model, config, labels), env=env, cwd=tmp_path,
                            capture_output=True, text=True, timeout=600)
    assert second.returncode == 0, second.stderr[-3000:]
    (manifest_path,) = list(state.glob("ledger/AccessRarity/*/manifest.json"))
    manifest = json.loads(manifest_path.read_text())
    keys = collections.Counter((r["TenantId"], r["Account"], r["Resource"]) for r in server.received)
    assert len(server.received) == manifest["rows"] > delivered_before and set(keys.values()) == {1}
    assert {r["RunId"] for r in server.received} == {manifest["run_id"]}
    assert manifest["chunks"] >= 6 and server.violations == []
    assert f"written {manifest['rows']:,}" in second.stdout  # the summary counts every row of the RunId

    # the same rows a local run writes (the ledger's spool kept the first attempt's rows)
    local = tmp_path / "local"
    sw = labels["score_window"]
    score("access-rarity", str(out), str(model), str(local), sw["start"], sw["end"], emit="all", spark=spark)
    local_rows = [json.loads(line) for p in (local / "AccessRarity_CL").glob("part-*.json") for line in p.open()]
    assert {(r["TenantId"], r["Account"], r["Resource"]) for r in local_rows} == set(keys)

    # 3. no secret anywhere: process output, ledger, dead letters, quarantine, config dir
    texts = {"stdout-1": out1, "stderr-1": err1, "stdout-2": second.stdout, "stderr-2": second.stderr}
    for path in tmp_path.rglob("*"):
        if path.is_file():
            texts[str(path)] = path.read_bytes().decode("utf-8", "replace")
    assert "INFO" in second.stderr  # logging was on
    for name, text in texts.items():
        assert TOKEN not in text, name
        assert sig not in text and sas not in text, name
