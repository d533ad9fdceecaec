"""The Blob Storage source against the real Azurite emulator (started by the suite)."""
from __future__ import annotations

import datetime as dt
import json
import os
import re

import pytest

from byoml.errors import ConfigError, EmptyWindowError, SourceError
from byoml.sources import LocalExportSource, open_source
from byoml.sources.blob import BlobLocation
from byoml.timewindow import UTC, TimeWindow
from tests.peers.azurite import append_bytes, blob_name


@pytest.fixture
def storage_env(azurite, monkeypatch):
    monkeypatch.setenv("BYOML_STORAGE_CONNECTION_STRING", azurite.connection_string)
    monkeypatch.delenv("BYOML_STORAGE_SAS", raising=False)


def test_location_forms():
    loc = BlobLocation.parse("https://acct.blob.core.windows.net/am-SecurityEvent/WorkspaceResourceId=/subscriptions/s")
    assert (loc.account_url, loc.container, loc.prefix) == (
        "https://acct.blob.core.windows.net", "am-securityevent", "WorkspaceResourceId=/subscriptions/s")
    loc = BlobLocation.parse("http://127.0.0.1:10000/devstoreaccount1/am-usage")
    assert (loc.account_url, loc.container, loc.prefix) == ("http://127.0.0.1:10000/devstoreaccount1", "am-usage", "")
    assert BlobLocation.parse("https://acct.blob.core.windows.net").container == ""
    with pytest.raises(SourceError, match="BYOML_STORAGE_SAS"):
        BlobLocation.parse("https://acct.blob.core.windows.net/am-usage?sv=2024&sig=abc")


def test_reads_a_window_listing_only_its_folders(spark, azurite, blob_sample, storage_env):
    out, labels, _ = blob_sample
    window = TimeWindow.parse(labels["score_window"]["start"], labels["score_window"]["end"])
    src = open_source(f"{azurite.account_url}/am-SecurityEvent")  # any case: containers are lowercase
    blob = src.read(spark, "SecurityEvent", window, ["Account", "Computer", "ShareName", "EventID"])
    local = LocalExportSource(str(out)).read(spark, "SecurityEvent", window, ["Account", "Computer", "ShareName", "EventID"])
    for key in ("files", "records", "rows", "malformed", "duplicates", "out_of_window"):
        assert getattr(blob.stats, key) == getattr(local.stats, key), key
    assert blob.stats.rows > 300 and blob.stats.malformed == 2
    cols = ["TimeGenerated", "Account", "Computer", "ShareName", "EventID"]
    assert blob.df.select(cols).exceptAll(local.df.select(cols)).count() == 0

    day = window.start
    allowed = {f"y={day:%Y}", f"m={day:%m}", f"d={day:%d}"}
    for prefix in src.listed_prefixes:
        levels = re.findall(r"([ymdh]=\d+)", prefix)
        if len(levels) >= 3:  # below the month: only the window's day is ever listed
            assert levels[2] == f"d={day:%d}", prefix
        assert set(levels[:3]) <= allowed | {f"m={day:%m}"} or len(levels) < 3, prefix
    days_listed = {re.search(r"d=(\d+)", p).group(1) for p in src.listed_prefixes if "/d=" in p}
    assert days_listed == {f"{day:%d}"}
    blob.close(), local.close()


def test_overflow_files_and_account_level_discovery(spark, azurite, blob_sample, storage_env):
    out, labels, _ = blob_sample
    src = open_source(azurite.account_url)  # no container: finds am-securityevent for SecurityEvent
    assert src.containers("SecurityEvent") == ["am-securityevent"]
    window = TimeWindow.parse(labels["score_window"]["start"], labels["score_window"]["end"])
    files, _ = src.list_files("SecurityEvent", window)
    names = [f.path.rsplit("/", 1)[1] for f in files]
    assert "PT1H_1.json" in names and "PT1H.json" in names
    assert all(f.path.startswith("am-securityevent/WorkspaceResourceId=/subscriptions/") for f in files)
    with pytest.raises(SourceError, match="am-usage"):
        src.containers("Usage")
    latest = src.latest_time("SecurityEvent")
    assert latest is not None and window.start <= latest < window.end


def test_sas_token_from_the_environment(spark, azurite, blob_sample, monkeypatch):
    from azure.storage.blob import ContainerSasPermissions, generate_container_sas

    from tests.peers.azurite import ACCOUNT, ACCOUNT_KEY

    sas = generate_container_sas(ACCOUNT, "am-securityevent", account_key=ACCOUNT_KEY,
                                 permission=ContainerSasPermissions(read=True, list=True),
                                 expiry=dt.datetime.now(UTC) + dt.timedelta(hours=1))
    monkeypatch.delenv("BYOML_STORAGE_CONNECTION_STRING", raising=False)
    monkeypatch.setenv("BYOML_STORAGE_SAS", sas)
    src = open_source(f"{azurite.account_url}/am-securityevent")
    assert src.latest_time("SecurityEvent") is not None
    with pytest.raises(ConfigError, match="must not be written"):
        open_source(f"{azurite.account_url}/am-securityevent", {"sas": sas})


def _record(when: dt.datetime, i: int) -> bytes:
    return (json.dumps({
        "TimeGenerated": when.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "EventID": 5140, "Type": "SecurityEvent",
        "TenantId": "t1", "Account": f"CONTOSO\\u{i}", "Computer": "FS01", "ShareName": "\\\\*\\Finance",
        "EventOriginId": f"e-{i}",
    }) + "\n").encode()


def _folder(when: dt.datetime) -> str:
    return blob_name(f"WorkspaceResourceId=subscriptions/s1/resourcegroups/rg/providers/microsoft.operationalinsights/"
                     f"workspaces/ws/y={when:%Y}/m={when:%m}/d={when:%d}/h={when:%H}/m=00")


def test_watermark_reads_only_new_and_appended_blobs(spark, azurite, storage_env, tmp_path):
    client = azurite.service().get_container_client("wm-securityevent")
    client.create_container()
    t0 = dt.datetime(2026, 11, 2, 8, tzinfo=UTC)
    counter = iter(range(10_000))

    def add(when: dt.datetime, n: int, name: str = "PT1H.json") -> None:
        data = b"".join(_record(when + dt.timedelta(seconds=k), next(counter)) for k in range(n))
        append_bytes(client, f"{_folder(when)}/{name}", data)

    for hour in range(4):
        add(t0 + dt.timedelta(hours=hour), 50)
    uri = f"{azurite.account_url}/wm-securityevent"
    options = {"watermark": str(tmp_path / "wm"), "staging_dir": str(tmp_path / "staging")}

    def run(expect_rows: int, commit: bool = True):
        src = open_source(uri, options)
        window = src.incremental_window("SecurityEvent")
        inc = src.begin("SecurityEvent", window)
        result = src.read(spark, "SecurityEvent", window, ["Account"])
        assert result.stats.rows == expect_rows
        ids = {r["Account"] for r in result.df.select("Account").collect()}
        result.close()
        if commit:
            src.commit()
        return window, inc, ids

    w1, _, first = run(200)
    assert w1 == TimeWindow(t0, t0 + dt.timedelta(hours=4))  # first run: the newest day's data, in whole hours
    add(t0 + dt.timedelta(hours=1), 7)  # late records appended to an older folder
    add(t0 + dt.timedelta(hours=5), 20)  # a new folder
    add(t0 + dt.timedelta(hours=5), 3, "PT1H_1.json")  # and its overflow sibling
    w2, inc2, second = run(30, commit=False)  # crashes before commit...
    assert w2 == TimeWindow(t0 + dt.timedelta(hours=1), t0 + dt.timedelta(hours=6))
    add(t0 + dt.timedelta(hours=2), 4)  # ...and more arrives before the rerun
    w3, inc3, third = run(30)  # the rerun reads exactly the pinned bytes again
    assert (w3, inc3, third) == (w2, inc2, second) and not (second & first)
    _, _, fourth = run(4)  # then the late arrival
    assert not (fourth & (first | second))
    with pytest.raises(EmptyWindowError, match="nothing new"):
        run(0)


# -- the executors fetch: partitions, quarantine positions, credentials, abfss listing ---------------
def test_the_executors_fetch_in_balanced_partitions_and_nothing_is_staged(spark, azurite, blob_sample, storage_env,
                                                                          tmp_path, monkeypatch):
    import tempfile

    from pyspark.sql import functions as F

    from byoml.sources.blob_fetch import BlobFetch

    out, labels, _ = blob_sample
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # anything staged on the driver would land here
    window = TimeWindow.parse(labels["train_window"]["start"], labels["train_window"]["end"])
    src = open_source(f"{azurite.account_url}/am-securityevent", {"fetch_partitions": 3})
    files, report = src.list_files("SecurityEvent", window)
    fetch = src.read_paths(files, report)
    assert isinstance(fetch, BlobFetch) and len(fetch) == len(files) > 3
    per_task = fetch.lines(spark).groupBy(F.spark_partition_id().alias("p")).count().collect()
    assert len(per_task) == 3
    lines = sum(r["count"] for r in per_task)
    container = azurite.service().get_container_client("am-securityevent")
    assert lines == sum(container.download_blob(f.path.split("/", 1)[1]).readall().count(b"\n") for f in files)
    assert os.listdir(tmp_path) == []


def test_blob_quarantine_names_the_blob_and_the_line(spark, azurite, blob_sample, storage_env):
    out, labels, _ = blob_sample
    src = open_source(f"{azurite.account_url}/am-securityevent")
    start = TimeWindow.parse(labels["train_window"]["start"], labels["score_window"]["end"])
    result = src.read(spark, "SecurityEvent", start, ["Account"])
    rows = result.quarantine().collect()
    assert len(rows) == result.stats.quarantined == 2
    container = azurite.service().get_container_client("am-securityevent")
    for row in rows:
        assert row["File"].startswith(f"{azurite.account_url}/am-securityevent/")
        name = row["File"].split("/am-securityevent/", 1)[1]
        text = container.download_blob(name).readall().decode("utf-8")
        assert text.splitlines()[row["Line"] - 1] == row["Record"]
    result.close()


def test_fetch_credentials_travel_but_never_show(azurite, monkeypatch):
    import pickle

    from byoml.credentials import StorageAuth
    from byoml.sources.blob_fetch import FetchCredential

    cred = FetchCredential.from_auth(StorageAuth(connection_string=azurite.connection_string))
    assert pickle.loads(pickle.dumps(cred)) == cred
    assert "AccountKey" not in repr(cred) and "Eby8" not in f"{cred}" and "Eby8" not in cred.hide(azurite.connection_string)
    assert cred.service_client("http://ignored").get_container_client("am-securityevent").exists()


def test_a_failed_fetch_is_one_clear_error_without_the_secret(spark, azurite, blob_sample, monkeypatch):
    from azure.storage.blob import ContainerSasPermissions, generate_container_sas

    from tests.peers.azurite import ACCOUNT, ACCOUNT_KEY

    _, labels, _ = blob_sample
    sas = generate_container_sas(ACCOUNT, "am-securityevent", account_key=ACCOUNT_KEY,
                                 permission=ContainerSasPermissions(list=True),  # listing, but no read
                                 expiry=dt.datetime.now(UTC) + dt.timedelta(hours=1))
    monkeypatch.delenv("BYOML_STORAGE_CONNECTION_STRING", raising=False)
    monkeypatch.setenv("BYOML_STORAGE_SAS", sas)
    src = open_source(f"{azurite.account_url}/am-securityevent")
    window = TimeWindow.parse(labels["score_window"]["start"], labels["score_window"]["end"])
    with pytest.raises(Exception, match=r"byoml: downloading am-securityevent/\S+ \(bytes 0-\d+\) failed") as err:
        src.read(spark, "SecurityEvent", window, ["Account"])
    sig = dict(p.split("=", 1) for p in sas.split("&"))["sig"]
    assert sig not in str(err.value)


def test_lines_are_split_as_spark_splits_them_and_bins_balance():
    from byoml.sources.blob_fetch import BlobRange, pack, split_lines

    chunks = [b'{"a":1}\r\n{"b"', b':2}\n\n{"c":', b"3}\n{partial"]
    assert list(split_lines(chunks)) == [b'{"a":1}', b'{"b":2}', b"", b'{"c":3}']  # the unfinished line waits
    ranges = [BlobRange(f"c/{i}", 0, size) for i, size in enumerate([90, 10, 50, 50, 40, 60])]
    bins = pack(ranges, 3)
    assert sorted(sum(r.size for r in b) for b in bins) == [100, 100, 100]
    assert pack(ranges[:2], 8) == [[ranges[0]], [ranges[1]]]


def test_abfss_is_listed_through_the_blob_endpoint_and_read_by_spark(spark, azurite, blob_sample, storage_env):
    from byoml.sources.abfss import AbfssExportSource, AbfssLocation

    _, labels, _ = blob_sample
    loc = AbfssLocation.parse("abfss://am-SecurityEvent@acct.dfs.core.windows.net/")
    assert (loc.container, loc.blob_account_url) == ("am-securityevent", "https://acct.blob.core.windows.net")
    window = TimeWindow.parse(labels["score_window"]["start"], labels["score_window"]["end"])
    src = AbfssExportSource("abfss://am-securityevent@acct.dfs.core.windows.net/", client=azurite.service())
    blob = open_source(f"{azurite.account_url}/am-securityevent")
    files, _ = src.list_files("SecurityEvent", window)
    expected, _ = blob.list_files("SecurityEvent", window)
    assert [f.path for f in files] == [f"abfss://am-securityevent@acct.dfs.core.windows.net/{f.path.split('/', 1)[1]}"
                                       for f in expected]
    assert src.latest_time("SecurityEvent") == blob.latest_time("SecurityEvent")
    with pytest.raises(SourceError, match="hadoop-azure"):  # this local Spark has no abfss connector
        src.read(spark, "SecurityEvent", window, ["Account"])
