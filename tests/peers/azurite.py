"""Start the real Azurite Blob emulator (installed by ``npm install --prefix .peers azurite@3``)."""
from __future__ import annotations

import os
import pathlib
import socket
import subprocess
import time
from typing import Optional

REPO = pathlib.Path(__file__).resolve().parents[2]
ACCOUNT = "devstoreaccount1"
# The well-known Azurite development key (public, documented by Microsoft; not a secret).
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
INSTALL_HINT = "npm install --no-save --prefix .peers azurite@3"


def azurite_binary() -> Optional[str]:
    explicit = os.environ.get("BYOML_AZURITE_BLOB")
    candidates = [explicit] if explicit else []
    candidates.append(str(REPO / ".peers" / "node_modules" / ".bin" / "azurite-blob"))
    for path in candidates:
        if path and os.path.exists(path):
            return path
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Azurite:
    """One in-memory Azurite blob service on a free port."""

    def __init__(self, workdir: str, in_memory: bool = True) -> None:
        """``in_memory=False`` keeps the blobs in ``workdir/data`` (benchmarks of a gigabyte or more)."""
        binary = azurite_binary()
        if binary is None:
            raise RuntimeError(f"Azurite is not installed: run '{INSTALL_HINT}' in the repository")
        self.port = free_port()
        self.log_path = os.path.join(workdir, "azurite.log")
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [binary, "--blobHost", "127.0.0.1", "--blobPort", str(self.port),
             *(["--inMemoryPersistence"] if in_memory else ["--location", os.path.join(workdir, "data")]),
             "--disableTelemetry", "--skipApiVersionCheck", "--loose"],
            stdout=self._log, stderr=subprocess.STDOUT, cwd=workdir,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"Azurite exited with {self.proc.returncode}: {self._tail()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"Azurite did not listen on port {self.port} within 30 s: {self._tail()}")

    @property
    def account_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/{ACCOUNT}"

    @property
    def connection_string(self) -> str:
        return (
            f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
            f"BlobEndpoint={self.account_url};"
        )

    def service(self):
        from azure.storage.blob import BlobServiceClient

        return BlobServiceClient.from_connection_string(self.connection_string)

    def _tail(self) -> str:
        try:
            with open(self.log_path, "rb") as fh:
                return fh.read()[-2000:].decode("utf-8", "replace")
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


def blob_name(relative_path: str) -> str:
    """The blob name the export service would use for a local export file path.

    The local tree writes ``WorkspaceResourceId=subscriptions/...``; real blob names keep the
    resource id's leading slash: ``WorkspaceResourceId=/subscriptions/...``.
    """
    rel = relative_path.replace(os.sep, "/")
    marker = "WorkspaceResourceId="
    if rel.startswith(marker) and not rel.startswith(marker + "/"):
        rel = marker + "/" + rel[len(marker):]
    return rel


def upload_export(service, local_container: str, container: str, threads: int = 8) -> int:
    """Upload one local ``am-<table>`` folder into ``container`` as append blobs; returns the blob count."""
    from concurrent.futures import ThreadPoolExecutor

    client = service.get_container_client(container)
    if not client.exists():
        client.create_container()
    files = []
    for folder, _dirs, names in os.walk(local_container):
        for name in names:
            path = os.path.join(folder, name)
            files.append((path, blob_name(os.path.relpath(path, local_container))))

    def put(item):
        path, name = item
        append_file(client, name, path)

    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(put, files))
    return len(files)


def append_file(container_client, name: str, path: str) -> None:
    with open(path, "rb") as fh:
        append_bytes(container_client, name, fh.read())


def append_bytes(container_client, name: str, data: bytes) -> None:
    """Append ``data`` to the append blob ``name`` (created if missing), 4 MiB per block."""
    blob = container_client.get_blob_client(name)
    if not blob.exists():
        blob.create_append_blob()
    for start in range(0, len(data), 4 * 1024 * 1024):
        blob.append_block(data[start:start + 4 * 1024 * 1024])
