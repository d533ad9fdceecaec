"""The reader's dedupe rule: which records are one event, and which of them is kept.

Duplicates are dropped on ``EventOriginId`` when the records have it, else on a 128-bit hash
of the record text (export retries repeat records byte for byte). If EventOriginIds are not
unique (records sharing an id with a record of other content number more than 1% of the ids
and more than 10, as in redacted datasets), the whole read dedupes on content
(:func:`dedupe_on_content`), so distinct records are never merged. Of records with the same
key, the one with the smallest content hash is kept (deterministic).
"""
from __future__ import annotations

from typing import Optional, Sequence

from ..spark import ObservedCounts

EOI_COLLISION_TOLERANCE = 0.01  # share of EventOriginIds allowed to carry different records
EOI_COLLISION_FLOOR = 10  # ... and at least this many, so a few re-ingested events never flip the mode


def dedupe_on_content(eoi_groups: int, collided: int) -> bool:
    """True when EventOriginIds do not identify events: too many stand for different records.

    >>> dedupe_on_content(eoi_groups=1000, collided=5), dedupe_on_content(eoi_groups=1000, collided=50)
    (False, True)
    """
    return bool(eoi_groups) and collided > max(EOI_COLLISION_FLOOR, EOI_COLLISION_TOLERANCE * eoi_groups)


def dedupe(records, names: Sequence[str], by_event_origin_id: bool, copies: Optional[str] = None):
    """One record per EventOriginId (or per content, without a usable one), and its counts.

    Of the records sharing a key, the one with the smallest content hash is kept, so the choice
    is deterministic. The returned :class:`~byoml.spark.ObservedCounts`, once the frame has been
    computed, holds ``rows``, ``eoi_groups`` (keys that are EventOriginIds) and ``collided``
    (records whose content differs from the kept record of their EventOriginId).

    ``copies`` names a column holding how many identical records each row stands for (rows of the
    day store, :func:`collapse_copies`): ``collided`` then counts the records, not the rows.
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    if by_event_origin_id:
        # records with a usable EventOriginId group on it; the others on their content
        no_eoi = F.col("_eoi").isNull()
        keys = [F.col("_eoi"), F.when(no_eoi, F.col("_h1")), F.when(no_eoi, F.col("_h2"))]
    else:
        keys = [F.col("_h1"), F.col("_h2")]
    # A window over the key keeps whole rows: one sort, no packing of the record into an
    # aggregate (a min_by aggregation is slower: benchmarks/README.md).
    by_key = Window.partitionBy(*keys).orderBy("_h1", "_h2")
    ranked = records.select(
        *names, "_eoi", "_h1", "_h2", *([copies] if copies else []),
        F.row_number().over(by_key).alias("_rank"),
        F.first("_h1").over(by_key).alias("_kept_h1"),
        F.first("_h2").over(by_key).alias("_kept_h2"),
    )
    # records of one EventOriginId carry only _h1 (64 bits tell content apart)
    differs = F.col("_h1") != F.col("_kept_h1")
    if not by_event_origin_id:
        differs = differs | (F.col("_h2") != F.col("_kept_h2"))
    first = F.col("_rank") == 1
    counts = ObservedCounts(ranked, "byoml_dedupe", [
        F.count(F.when(first, True)).alias("rows"),
        F.count(F.when(first & F.col("_eoi").isNotNull(), True)).alias("eoi_groups"),
        (F.count(F.when(differs, True)) if copies is None
         else F.coalesce(F.sum(F.when(differs, F.col(copies))), F.lit(0))).alias("collided"),
    ])
    return counts.df.filter(first).select(*names), counts


def collapse_copies(records, names: Sequence[str]):
    """One row per distinct record content, with ``_copies`` (how many records it stands for), and its counts.

    The day store keeps these rows: records repeated byte for byte (export retries) are one event
    under either rule of :func:`dedupe`, so collapsing them first changes no later choice, while the
    EventOriginId rule and the counts are applied on reading (``_eoi``, ``_h1``, ``_h2`` are kept).
    The returned :class:`~byoml.spark.ObservedCounts` holds ``rows`` once the frame was computed.
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    by_content = Window.partitionBy("_h1", "_h2")
    ranked = records.select(
        *names, "_eoi", "_h1", "_h2",
        F.row_number().over(by_content.orderBy("_h1")).alias("_rank"),
        F.count(F.lit(1)).over(by_content).alias("_copies"),
    )
    counts = ObservedCounts(ranked, "byoml_copies", [F.count(F.when(F.col("_rank") == 1, True)).alias("rows")])
    return counts.df.filter(F.col("_rank") == 1).drop("_rank"), counts
