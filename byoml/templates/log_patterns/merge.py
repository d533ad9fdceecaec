"""From variants to patterns, and from messages to patterns (Spark).

* **Pattern identity.** Variants whose text is the same once the wildcards are taken out
  (:func:`~.masking.skeleton`) are one pattern: the same statement with a variable of one or
  three words, or an empty one. ``PatternId`` is the first 16 hex digits of the SHA-256 of that
  text, so the same pattern has the same id in every run and every model, whatever the order
  or partitioning of the data. The ``Pattern`` shown is its most general variant (most
  wildcards, then the first in text order): a choice made from the texts alone, never from counts.
* **Merging** across partitions needs nothing more: variants are rows, and the pattern of a
  variant is a function of its text, so the union of variants mined anywhere groups into the
  same patterns (``merge_variants``).
* **Assignment** (:func:`assign`): a message matches a variant of its length when it holds every
  constant of the variant at its position; the most specific match wins (most constants,
  then the smallest ``PatternId``, then the variant). Training and scoring assign messages the
  same way, so a message gets the same pattern in both.
"""
from __future__ import annotations

from . import masking


def pattern_id(skeleton_text):
    """Spark: the stable id of a pattern, from its text without wildcards."""
    from pyspark.sql import functions as F

    return F.substring(F.sha2(skeleton_text, 256), 1, 16)


def merge_variants(mined):
    """Variants of mined messages (``L``, ``constants``, ``Template``, ``n``) -> one row per variant:
    ``vid``, ``L``, ``constants``, ``n_const``, ``Template``, ``PatternId``, ``n`` (records)."""
    from pyspark.sql import functions as F

    variants = mined.groupBy("L", "constants").agg(F.min("Template").alias("Template"), F.sum("n").alias("n"))
    return variants.select(
        F.xxhash64("L", "constants").alias("vid"), "L", "constants", F.size("constants").alias("n_const"),
        "Template", pattern_id(masking.skeleton(F.col("Template"))).alias("PatternId"), "n")


def patterns_of(variants):
    """One row per pattern: ``PatternId``, ``Pattern`` (its most general variant), ``variants``, ``n``."""
    from pyspark.sql import functions as F

    wildcards = F.size(F.split(F.col("Template"), r"<\*>")) - 1
    return variants.groupBy("PatternId").agg(
        F.min(F.struct((-wildcards).alias("w"), F.col("Template").alias("t"))).getField("t").alias("Pattern"),
        F.count(F.lit(1)).alias("variants"), F.sum("n").alias("n"))


def assign(msgs, variants, spec):
    """Each message of ``msgs`` (``Masked``, ...) -> its best matching variant: ``Masked``, ``vid``,
    ``PatternId``; messages no variant matches are left out."""
    from pyspark.sql import functions as F

    from .miner import explode_tokens

    keys = explode_tokens(msgs.select("Masked", F.lit(0).alias("n")), spec).select("Masked", "L", "pos", "key")
    lengths = keys.groupBy("Masked").agg(F.max("L").alias("L"))
    constants = variants.filter(F.col("n_const") > 0).select(
        "vid", "L", "n_const", "PatternId", F.explode("constants").alias("c")).select(
        "vid", "L", "n_const", "PatternId", F.col("c.pos").alias("pos"), F.col("c.key").alias("key"))
    hits = (keys.join(constants, ["L", "pos", "key"]).groupBy("Masked", "vid", "n_const", "PatternId")
            .agg(F.count(F.lit(1)).alias("hits")).filter(F.col("hits") == F.col("n_const")).drop("hits"))
    bare = variants.filter(F.col("n_const") == 0).select("vid", "L", "n_const", "PatternId")
    bare_hits = lengths.join(F.broadcast(bare), "L").select("Masked", "vid", "n_const", "PatternId")
    best = hits.unionByName(bare_hits).groupBy("Masked").agg(
        F.min(F.struct((-F.col("n_const")).alias("c"), "PatternId", "vid")).alias("b"))
    return best.select("Masked", F.col("b.vid").alias("vid"), F.col("b.PatternId").alias("PatternId"))
