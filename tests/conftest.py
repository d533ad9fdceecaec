"""Shared fixtures: one local SparkSession for the whole suite, sample exports, real data paths.

``BYOML_TEST_SPARK=connect`` runs the suite over Spark Connect (as Databricks serverless and
standard access run it): the session is a Connect client of a local server started in this
process, and child processes (notebook kernels, CLI runs) connect to the same server.
"""
from __future__ import annotations

import os
import pathlib

import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]
SHARED_DATA = pathlib.Path(os.environ.get("BYOML_SHARED_DATA", REPO.parent / "shared" / "data"))


def shared_data(*parts: str) -> pathlib.Path:
    """Path into ../shared/data; skips the test with a reason when it is not there."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real recorded data not present at {path} (set BYOML_SHARED_DATA)")
    return path


TEST_SPARK = os.environ.get("BYOML_TEST_SPARK", "classic")
if TEST_SPARK not in ("classic", "connect"):
    raise pytest.UsageError(f"BYOML_TEST_SPARK={TEST_SPARK!r}: use classic or connect")
if TEST_SPARK == "connect":
    os.environ["BYOML_SPARK_REMOTE"] = os.environ.get("BYOML_SPARK_MASTER", "local[2]")
else:
    os.environ.pop("BYOML_SPARK_REMOTE", None)


@pytest.fixture(scope="session")
def spark():
    from byoml.spark import get_spark, is_classic

    session = get_spark()
    assert is_classic(session) == (TEST_SPARK == "classic"), f"BYOML_TEST_SPARK={TEST_SPARK} gave {type(session)}"
    yield session
    session.stop()


@pytest.fixture(scope="module", autouse=True)
def release_cached_data():
    """After each test module, drop what its Spark work left cached (persisted reads, fitted
    tables): on a 2 GiB local driver, leftovers of earlier modules slow later ones to a crawl."""
    yield
    from pyspark.sql import SparkSession

    session = SparkSession.getActiveSession()
    if session is not None:
        session.catalog.clearCache()


@pytest.fixture(scope="session")
def access_sample(tmp_path_factory):
    """A small labelled SecurityEvent export (2 tenants, 5-minute layout, a few malformed lines)."""
    from byoml.sample_data import generate

    out = tmp_path_factory.mktemp("access-sample")
    labels = generate("resource-access", str(out), users=120, days=14, tenants=2, seed=11, malformed_lines=4)
    return out, labels


@pytest.fixture(scope="session")
def usage_sample(tmp_path_factory):
    """A small labelled Usage export (hourly layout)."""
    from byoml.sample_data import generate

    out = tmp_path_factory.mktemp("usage-sample")
    labels = generate("usage", str(out), series=8, days=21, seed=5)
    return out, labels


@pytest.fixture(scope="session")
def process_sample(tmp_path_factory):
    """A small labelled SecurityEvent 4688 export (2 tenants, masquerades of every kind, a few malformed lines)."""
    from byoml.sample_data import generate
    from byoml.testing import SAMPLE_OPTIONS

    out = tmp_path_factory.mktemp("process-sample")
    labels = generate("process-creation", str(out), **SAMPLE_OPTIONS["process-creation"])
    return out, labels


@pytest.fixture(scope="session")
def syslog_sample(tmp_path_factory):
    """A small labelled Syslog export (log-patterns: new error patterns and surges in its last day)."""
    from byoml.sample_data import generate
    from byoml.testing import SAMPLE_OPTIONS

    out = tmp_path_factory.mktemp("syslog-sample")
    labels = generate("log-patterns", str(out), **SAMPLE_OPTIONS["log-patterns"])
    return out, labels


@pytest.fixture(scope="session")
def notebook_runs(tmp_path_factory):
    """Run every notebook set once (see tests/notebook_runs.py): name -> SetRun, lazily per set."""
    pytest.importorskip("nbclient", reason="nbclient is in the [test] extra")
    pytest.importorskip("ipykernel", reason="ipykernel is in the [test] extra")
    from tests.notebook_runs import run_set

    done = {}

    def get(name):
        if name not in done:
            done[name] = run_set(name, tmp_path_factory.mktemp(f"notebooks-{name}"))
        if done[name].error:
            pytest.fail(done[name].error, pytrace=False)
        return done[name]

    return get


# -- local peers: Azurite, Logs Ingestion, Log Analytics query --------------------------------
@pytest.fixture(scope="session")
def tls_cert(tmp_path_factory):
    """(cert.pem, key.pem) of a self-signed certificate for 127.0.0.1."""
    from tests.peers.tls import make_cert

    return make_cert(str(tmp_path_factory.mktemp("tls")))


@pytest.fixture(scope="session")
def azurite(tmp_path_factory):
    """The real Azurite emulator. A missing install FAILS the tests that need it (never skips)."""
    from tests.peers.azurite import Azurite

    try:
        peer = Azurite(str(tmp_path_factory.mktemp("azurite")))
    except RuntimeError as exc:
        pytest.fail(f"Azurite could not start: {exc}", pytrace=False)
    yield peer
    peer.stop()


@pytest.fixture
def ingestion(tls_cert):
    """Factory of started Logs Ingestion stand-ins; all stopped at the end of the test."""
    from tests.peers.ingestion import IngestionServer

    started = []

    def make(**kwargs):
        server = IngestionServer(tls_cert[0], tls_cert[1], **kwargs).start()
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def blob_sample(azurite, tmp_path_factory):
    """A small hourly SecurityEvent export with overflow files, uploaded to Azurite's am-securityevent."""
    from byoml.sample_data import generate
    from tests.peers.azurite import upload_export

    out = tmp_path_factory.mktemp("blob-sample")
    labels = generate("resource-access", str(out), users=40, days=4, tenants=1, seed=3,
                      layout="hourly", max_lines_per_blob=20, malformed_lines=2)
    n = upload_export(azurite.service(), str(out / "am-securityevent"), "am-securityevent")
    return out, labels, n
