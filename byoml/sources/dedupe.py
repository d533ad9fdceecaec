"""The reader's dedupe rule: which records are one event, and which of them is kept.

Duplicates are dropped on ``EventOriginId`` when the records have it, else on a 128-bit hash
of the record text (export retries repeat records byte for byte). If EventOriginIds are not
unique (records sharing an id with a record of other content number more than 1% of the ids
and more than 10, as in redacted datasets), the whole read dedupes on content
(:func:`dedupe_on_content`), so distinct records are never merged. Of records with the same
key, the one with the smallest content hash is kept (deterministic).
"""
from __future__ import annotations

from typing import Sequence

from ..spark import ObservedCounts

EOI_COLLISION_TOLERANCE = 0.01  # share of EventOriginIds allowed to carry different records
EOI_COLLISION_FLOOR = 10  # ... and at least this many, so a few re-ingested events never flip the mode
BROADCAST_SHARED_KEYS = 1_000_000  # 16 bytes each: the keys held by several rows are sent to every task below this


def dedupe_on_content(eoi_groups: int, collided: int) -> bool:
    """True when EventOriginIds do not identify events: too many stand for different records.

    >>> dedupe_on_content(eoi_groups=1000, collided=5), dedupe_on_content(eoi_groups=1000, collided=50)
    (False, True)
    """
    return bool(eoi_groups) and collided > max(EOI_COLLISION_FLOOR, EOI_COLLISION_TOLERANCE * eoi_groups)


def dedupe(records, names: Sequence[str], by_event_origin_id: bool):
    """One record per EventOriginId (or per content, without a usable one), and its counts.

    Of the records sharing a key, the one with the smallest content hash is kept, so the choice
    is deterministic. The returned :class:`~byoml.spark.ObservedCounts`, once the frame has been
    computed, holds ``rows``, ``eoi_groups`` (keys that are EventOriginIds) and ``collided``
    (records whose content differs from the kept record of their EventOriginId).
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
        *names, "_eoi", "_h1", "_h2",
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
        F.count(F.when(differs, True)).alias("collided"),
    ])
    return counts.df.filter(first).select(*names), counts


def keep_records(records, names: Sequence[str]):
    """The records as they are, with what a later :func:`dedupe_rare` needs (``_eoi``, ``_h1``, ``_h2``),
    and a count of them (``rows``, once computed).

    The day store keeps these rows: the dedupe rule is applied when the store is read, across
    the days read (an event can arrive in two days' folders). No shuffle at ingest.
    """
    from pyspark.sql import functions as F

    counts = ObservedCounts(records.select(*names, "_eoi", "_h1", "_h2"), "byoml_rows", [F.count(F.lit(1)).alias("rows")])
    return counts.df, counts


def dedupe_rare(records, names: Sequence[str], by_event_origin_id: bool, observed=None):
    """:func:`dedupe`'s rule and counts, for records of which few share a key (the day store's rows).

    The keys are counted first, on a narrow projection: a 128-bit key per row (the EventOriginId
    hashed twice, or the content hash), one aggregation, computed at once. Rows of keys no other
    row holds are kept as they are (an anti-join against the small table of shared keys: no
    shuffle of the records); only the rows of shared keys go through :func:`dedupe`'s window.
    Whether a shared key's records differ in content is known from the aggregation (their
    smallest and largest ``_h1``); only then are they counted record by record.

    Returns the frame (not computed yet) and :func:`dedupe`'s counts (``rows``, ``eoi_groups``,
    ``collided``) as a dict. ``observed``: ``records`` with observations of their own, taken by
    the pass that counts the keys (the only pass that sees every record once).
    """
    from pyspark.sql import functions as F

    from ..spark import materialize

    if by_event_origin_id:
        eoi = F.col("_eoi")
        key_cols = [F.when(eoi.isNull(), F.col("_h1")).otherwise(F.xxhash64(eoi)).alias("_k1"),
                    F.when(eoi.isNull(), F.col("_h2")).otherwise(F.xxhash64(F.lit("byoml-eoi"), eoi)).alias("_k2")]
    else:
        key_cols = [F.col("_h1").alias("_k1"), F.col("_h2").alias("_k2")]
    keys = ["_k1", "_k2"]
    counted = (observed if observed is not None else records).select(
        *key_cols, "_h1", F.col("_eoi").isNotNull().cast("int").alias("_has_eoi"))
    per_key = counted.groupBy(*keys).agg(
        F.count(F.lit(1)).alias("_rows"), F.max("_has_eoi").alias("_has_eoi"),
        F.min("_h1").alias("_lo"), F.max("_h1").alias("_hi"))
    key_counts = ObservedCounts(per_key, "byoml_dedupe_keys", [
        F.count(F.lit(1)).alias("rows"), F.coalesce(F.sum("_has_eoi"), F.lit(0)).alias("eoi_groups"),
        F.count(F.when(F.col("_rows") > 1, True)).alias("shared"),
        # keys whose records differ in content (an EventOriginId standing for several records)
        F.count(F.when(F.col("_lo") != F.col("_hi"), True)).alias("conflicts")])
    shared = materialize(key_counts.df.filter(F.col("_rows") > 1).select(*keys))
    counts = key_counts.get()
    counts = {"rows": int(counts["rows"] or 0), "eoi_groups": int(counts["eoi_groups"] or 0),
              "shared": int(counts["shared"] or 0), "conflicts": int(counts["conflicts"] or 0), "collided": 0}
    if not counts["shared"]:
        return records.select(*names), counts
    keyed = records.select(*names, "_eoi", "_h1", "_h2", *key_cols)
    # a checkpoint has no size estimate: say that the shared keys are small enough to broadcast
    if counts["shared"] <= BROADCAST_SHARED_KEYS:
        shared = F.broadcast(shared)
    several, several_counts = dedupe(keyed.join(shared, keys, "left_semi"), names, by_event_origin_id)
    if counts["conflicts"]:  # the records of such keys are counted, before the caller decides on the rule
        several = materialize(several)
        counts["collided"] = int(several_counts.get()["collided"] or 0)
    single = keyed.join(shared, keys, "left_anti").select(*names)
    return single.unionByName(several), counts
