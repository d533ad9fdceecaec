"""Read a window from the day store into the same :class:`~byoml.sources.reader.ReadResult` an export read gives.

The stored rows are a day's clean records, as the export holds them (copies included). The read
filters them exactly on ``TimeGenerated``, then applies the reader's dedupe rule across the days
read, so for a window of whole days every count equals the export read's: records,
quarantined, other tables and truncated bodies are the stored days' counts; duplicates, rows,
outside the window and the columns present are counted here.

How the rule is applied depends on the rows stored for the days read (the manifest's counts):
up to :data:`ONE_PASS_ROWS` (a daily score's day), in the same pass as the caller's ``build``
(:func:`byoml.sources.dedupe.dedupe`: a window sort of the rows, one query); above it (a train's
weeks), keys are counted first and only the rows of shared keys are sorted
(:func:`byoml.sources.dedupe.dedupe_rare`: two queries, no sort of every row). Both keep the
same rows and give the same counts.
"""
from __future__ import annotations

import datetime as dt
from typing import Callable, List, Optional, Sequence

from ..errors import ConfigError, EmptyWindowError
from ..paths import to_spark_path
from ..sources.dedupe import dedupe, dedupe_on_content, dedupe_rare
from ..sources.reader import ReadResult, ReadStats, column_types
from ..sources.schemas import declared_schema
from ..spark import ObservedCounts, materialize, timestamp_literal
from ..timewindow import TimeWindow
from .manifest import DAY_COUNTS, Manifest, whole_days

KEY_COLUMNS = ("_eoi", "_h1", "_h2")
# stored rows up to which a read dedupes in one query: a daily score's day (55k rows at 1.2M events
# a month, 282k at 6.1M: one query was faster at both; over 1.16M rows the two ways took alike;
# benchmarks/README.md, "The day store")
ONE_PASS_ROWS = 500_000


def store_schema(table: str):
    """The declared schema of ``table`` (the store types every column; an undeclared table cannot be stored)."""
    schema = declared_schema(table)
    if schema is None:
        raise ConfigError(f"the day store keeps tables with a declared schema (byoml.sources.schemas); {table} has "
                          "none: read it without --store")
    return schema


def _missing_days(manifest: Manifest, window: TimeWindow) -> List[str]:
    days = whole_days(window)
    if days.start is None or days.end is None or (days.end - days.start).days > 400:
        return []
    out, day = [], days.start
    while day < days.end:
        if f"{day:%Y-%m-%d}" not in manifest.days:
            out.append(f"{day:%Y-%m-%d}")
        day += dt.timedelta(days=1)
    return out


def _on_content(kept) -> bool:
    return dedupe_on_content(int(kept.get("eoi_groups") or 0), int(kept.get("collided") or 0))


def read_store(spark, manifest: Manifest, window: TimeWindow, columns: Optional[Sequence[str]] = None,
               required: Sequence[str] = (), build: Optional[Callable] = None) -> ReadResult:
    """The store's records of ``window``: ``build(records)`` computed and kept, and the read's counts."""
    from pyspark.sql import functions as F

    table = manifest.table
    types = column_types(store_schema(table), columns, required)
    names = list(types)
    entries = manifest.days_in(window)
    if not entries:
        raise EmptyWindowError(f"the store {manifest.root} holds no {table} day in {window}; fill it with "
                               "'byoml ingest --source SRC --store DIR', or give --source too")
    stats = ReadStats(table=table, layout="store")
    for name in DAY_COUNTS:
        if name not in ("duplicates", "rows"):
            setattr(stats, name, sum(int(e.counts.get(name, 0)) for e in entries))
    stored = [to_spark_path(manifest.path_of(e)) for e in entries if e.counts.get("rows")]
    if stored:
        frame = spark.read.parquet(*stored)
        present = set(frame.columns)
        frame = frame.select(*[(F.col(n).cast(types[n]) if n in present else F.lit(None).cast(types[n])).alias(n)
                               for n in names], *KEY_COLUMNS)
    else:
        frame = spark.createDataFrame([], ", ".join([f"`{n}` {t}" for n, t in types.items()]
                                                    + ["_eoi string, _h1 long, _h2 long"]))
    time = F.col("TimeGenerated")
    in_window = F.lit(True)
    if window.start is not None:
        in_window = in_window & (time >= timestamp_literal(window.start))
    if window.end is not None:
        in_window = in_window & (time < timestamp_literal(window.end))
    build = build or (lambda df: df)
    one_pass = sum(int(e.counts.get("rows", 0)) for e in entries) <= ONE_PASS_ROWS

    def keyed_pass(by_event_origin_id: bool):
        """``build`` of the deduplicated records, computed, and the read's and the dedupe's counts.

        Counting keys first tells before the build whether EventOriginIds identify events; when
        they do not, the frame is None (the caller reads again on content). The one-query way finds
        out in the same query, so its frame is computed either way and the caller drops it.
        """
        observed = ObservedCounts(frame, "byoml_store", [
            F.count(F.when(~in_window, True)).alias("out_of_window"),
            F.count(F.when(in_window, True)).alias("ok"),
            *[F.count(F.when(in_window & F.col(name).isNotNull(), True)).alias(f"present_{i}")
              for i, name in enumerate(required)],
        ])
        if one_pass:
            deduped, dedupe_counts = dedupe(observed.df.filter(in_window), names, by_event_origin_id)
            built = materialize(build(deduped))
            return built, observed.get(), dedupe_counts.get()
        deduped, kept = dedupe_rare(frame.filter(in_window), names, by_event_origin_id,
                                    observed=observed.df.filter(in_window))
        if by_event_origin_id and _on_content(kept):
            return None, observed.get(), kept
        return materialize(build(deduped)), observed.get(), kept

    by_eoi = "EventOriginId" in types
    df, counts, kept = keyed_pass(by_eoi)
    if by_eoi and _on_content(kept):
        df, counts, kept = keyed_pass(False)
        stats.dedupe = "content"
    else:
        stats.dedupe = "EventOriginId" if int(kept.get("eoi_groups") or 0) else "content"
    stats.rows = int(kept["rows"] or 0)
    ok = int(counts["ok"] or 0)
    # records of one event, in one day or across days
    stats.duplicates = ok - stats.rows
    stats.out_of_window = int(counts["out_of_window"] or 0)
    stats.present = {name: int(counts[f"present_{i}"] or 0) for i, name in enumerate(required)}
    result = ReadResult(df, stats, None, types, window)
    quarantines = [e.quarantine for e in entries if e.quarantine]
    if quarantines:
        result.quarantine_at = quarantines[0] if len(quarantines) == 1 else f"{manifest.root}/_quarantine ({len(quarantines)} days)"
    missing = _missing_days(manifest, window)
    if missing:
        result.notes.append(f"the store holds no {table} partition for {len(missing)} day(s) of the window "
                            f"(first {missing[0]}): 'byoml ingest' fills them from the export")
    if whole_days(window) != window:
        result.notes.append("the window is not whole days: records, quarantined and other-table counts are those of "
                            "the whole days read from the store (rows, duplicates and outside-window are exact)")
    return result
