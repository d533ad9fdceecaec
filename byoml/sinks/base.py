"""The interface every sink offers: what ``run.score`` calls, and nothing else."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass
class SinkResult:
    """What a sink wrote: the rows and where (a folder, or the Logs Ingestion stream)."""

    rows: int
    location: str


@runtime_checkable
class Sink(Protocol):
    """Where scored rows go: a local ``_CL`` folder, the Logs Ingestion API, or your own."""

    def write(self, df, table: str, run_id: str, rows: int) -> SinkResult:
        """Write ``df`` (``rows`` rows, counted by the caller) as the rows of ``<table>_CL``.

        Writing the same ``run_id`` again must not duplicate its rows.
        """
        ...

    def quarantine_dir(self, run_id: str, table: str) -> str:
        """The local folder where a scoring run's quarantined input records go."""
        ...

    def describe(self) -> str:
        """Where the sink writes, for the run summary (no secret in it)."""
        ...
