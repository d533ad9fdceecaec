"""The pattern miner: which tokens of which messages are variables, by token frequencies (Spark).

The input is one row per distinct masked message with its weight (the records it stands
for). Messages are compared with messages of the same number of tokens; every step is a
Spark aggregation or join, so the mining runs in parallel over partitions and its result
does not depend on how the rows are partitioned or ordered (``tests/test_log_patterns.py``
mines the same messages in 1 and 7 partitions, shuffled):

1. **frequencies**: ``f(length, position, token)``, the records with that token at that
   position, for tokens that are not always variables (:mod:`.masking`);
2. **root**: the words of a logging statement's constant text occur together, so they share
   one frequency. A message's root is its tokens whose frequency is the most common one among
   its tokens (ties: the higher frequency); messages with the same root (positions and
   tokens) form a cluster (the idea of Brain, Yu et al., INFOCOM 2023);
3. **variables**: in a cluster, a position outside the root whose tokens take at least
   ``variable_threshold`` distinct values is a variable; one with fewer keeps its tokens as
   constants (``session opened`` / ``session closed``), so the cluster splits by them. The first
   token is never made a variable this way (``boot (command 2)`` / ``halt (command 5)``):
   statements start with a constant, and a first token that varies is a masked value;
4. **variant**: the message with ``<*>`` for its variables and always-variable tokens. Its
   constants (position, token) are what a message must hold to match it
   (:func:`byoml.templates.log_patterns.merge.assign`).

Variants that differ only where their wildcards are (``connection from <*> () at <*>`` and
``connection from <*> (<*>) at <*>``, or a variable of one or of three words) are one pattern:
:mod:`.merge` joins them by their text without the wildcards.

Measured on the ten loghub logs (``benchmarks/log_patterns_quality.py``): with the setting
chosen on five logs and judged on the other five (and the other way round), these rules group
98.0% of the lines right on average, every log at or above Drain (published mean 91.2%). The
defaults, ``variable_threshold`` 4 and ``min_digits`` 2, are one fold's choice (the other chose
6, which loses Linux) and group 99.3% on the ten, in-sample.
"""
from __future__ import annotations

from dataclasses import dataclass

from . import masking


@dataclass(frozen=True)
class MinerSpec:
    """The miner's rules (see the module docstring)."""

    variable_threshold: int = 4
    min_digits: int = 2


def explode_tokens(msgs, spec: MinerSpec):
    """One row per (message, position): ``Masked``, ``L``, ``n``, ``pos``, ``tok`` (with its trailing space),
    ``key`` (without), ``fixed`` (always a variable). ``msgs`` has ``Masked`` and ``n``."""
    from pyspark.sql import functions as F

    toks = msgs.select("Masked", "n", masking.tokens(F.col("Masked")).alias("toks"))
    rows = toks.select("Masked", "n", F.size("toks").alias("L"), F.posexplode("toks").alias("pos", "tok"))
    key = masking.token_key(F.col("tok"))
    return rows.select("Masked", "L", "n", "pos", "tok", key.alias("key"),
                       masking.always_variable(key, spec.min_digits).alias("fixed"))


def mine(msgs, spec: MinerSpec):
    """Variants of distinct masked messages: one row per message, ``Masked``, ``L``, ``n``, ``Template``
    (the message with ``<*>`` for its variables) and ``constants`` (``array<struct<pos int, key string>>``,
    sorted by position)."""
    from pyspark.sql import functions as F

    from ...spark import materialize

    # kept: the steps below read the tokens four times (a recomputation each, otherwise)
    tokens = materialize(explode_tokens(msgs, spec))
    freq = (tokens.filter(~F.col("fixed")).groupBy("L", "pos", "key").agg(F.sum("n").alias("f")))
    scored = tokens.join(freq, ["L", "pos", "key"], "left").withColumn(
        "f", F.when(~F.col("fixed"), F.col("f")))
    # the most common frequency among a message's tokens (ties: the higher one)
    mode = (scored.filter(F.col("f").isNotNull()).groupBy("Masked", "f").agg(F.count(F.lit(1)).alias("c"))
            .groupBy("Masked").agg(F.max(F.struct("c", "f")).getField("f").alias("mode")))
    scored = scored.join(mode, "Masked", "left").withColumn(
        "in_root", F.coalesce(F.col("f") == F.col("mode"), F.lit(False)))
    roots = (scored.groupBy("Masked", "L").agg(
        F.array_sort(F.collect_list(F.when(F.col("in_root"), F.struct("pos", "key")))).alias("root"))
        .select("Masked", F.xxhash64("L", "root").alias("rid")))
    scored = materialize(scored.join(roots, "Masked"))
    distinct = (scored.filter(~F.col("in_root") & (F.col("pos") > 0)).groupBy("rid", "pos")
                .agg(F.count_distinct("key").alias("values")))
    variable = distinct.filter(F.col("values") >= F.lit(spec.variable_threshold)).select(
        "rid", "pos", F.lit(True).alias("variable_column"))
    marked = scored.join(variable, ["rid", "pos"], "left").withColumn(
        "is_var", F.col("fixed") | F.coalesce(F.col("variable_column"), F.lit(False)))
    per_message = marked.groupBy("Masked", "L", "n").agg(
        F.array_sort(F.collect_list(F.struct("pos", "is_var", "tok", "key"))).alias("t"))
    text = F.array_join(F.transform("t", lambda x: F.when(x["is_var"], masking.wildcard_like(x["tok"]))
                                    .otherwise(x["tok"])), "")
    constants = F.transform(F.filter("t", lambda x: ~x["is_var"]),
                            lambda x: F.struct(x["pos"].cast("int").alias("pos"), x["key"].alias("key")))
    return per_message.select("Masked", "L", "n", masking.collapse_wildcards(text).alias("Template"),
                              constants.alias("constants"))
