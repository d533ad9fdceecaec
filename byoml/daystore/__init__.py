"""The day store: each export day parsed, typed and quarantined once, kept as Parquet (deduplicated when read).

``byoml ingest --source SRC --store DIR`` fills it (:mod:`.ingest`); ``train`` and ``score`` with
``--store DIR`` (or ``source: store:``) read it (:mod:`.read`, through :class:`StoreSource`),
ingesting the days they need first when ``--source`` is given too. The layout and how a day is
replaced without renaming a folder: :mod:`.manifest`.
"""
from .ingest import IngestReport, ingest
from .manifest import Manifest
from .read import read_store
from .source import StoreSource

__all__ = ["IngestReport", "Manifest", "StoreSource", "ingest", "read_store"]
