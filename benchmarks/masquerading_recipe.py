"""The Sentinel BYO-ML recipe ``MasqueradingProcessNameAnomaly.ipynb``, reimplemented faithfully as the
baseline of ``masquerading-process`` (not shipped as a template).

What the notebook does, step by step, and so does :func:`recipe`:

1. the window's SecurityEvent rows with ``EventID == 4688``; ``Process`` (the file name) lower-cased;
2. events per ``Process``, and ``percent_rank`` of that count over all names (one window, no partition);
3. names at percent rank >= 0.8 are *frequent* (normal), below 0.2 *infrequent* (possibly malicious);
4. a **cross join** of the two lists, scored by a **Python UDF** ``calcDist``: when both names have
   the same extension it is dropped, then ``damerauLevenshtein(one, two)`` of the PyPI package
   ``fastDamerauLevenshtein`` (the true Damerau-Levenshtein distance, as a similarity
   ``1 - distance / max(len)``); a name without a dot scores 0.0;
5. pairs with similarity > 0.85 are the anomalies (``NormalProcess``, ``PotentiallyMaliciousProcess``,
   ``AnomalyScore``).

The notebook's synthetic events (its ``getSyntheticEvents``, which calls ``getListKNownProcs``, a
function it never defines) are not part of the algorithm and are left out. ``fastDamerauLevenshtein``
is a Cython package that no longer builds on current Pythons; :func:`damerau_levenshtein` is the same
algorithm (Lowrance-Wagner, unit weights) in Python, and :func:`similarity` its normalisation.
"""
from __future__ import annotations

from typing import Dict


def damerau_levenshtein(a: str, b: str) -> int:
    """True Damerau-Levenshtein distance (a letter may be edited more than once), unit weights."""
    if a == b:
        return 0
    inf = len(a) + len(b)
    last_row: Dict[str, int] = {}  # letter -> the last row of a holding it
    d = [[inf] * (len(b) + 2) for _ in range(len(a) + 2)]
    for i in range(len(a) + 1):
        d[i + 1][1] = i
    for j in range(len(b) + 1):
        d[1][j + 1] = j
    for i in range(1, len(a) + 1):
        last_match_col = 0
        for j in range(1, len(b) + 1):
            k, col = last_row.get(b[j - 1], 0), last_match_col
            cost = 0 if a[i - 1] == b[j - 1] else 1
            if not cost:
                last_match_col = j
            d[i + 1][j + 1] = min(d[i][j] + cost, d[i + 1][j] + 1, d[i][j + 1] + 1,
                                  d[k][col] + (i - k - 1) + 1 + (j - col - 1))
        last_row[a[i - 1]] = i
    return d[len(a) + 1][len(b) + 1]


def similarity(a: str, b: str) -> float:
    """``fastDamerauLevenshtein.damerauLevenshtein(a, b)`` with its default ``similarity=True``."""
    if a == b:
        return 1.0
    if not a or not b:
        return 0.0
    longest = max(len(a), len(b))
    return max(0.0, (longest - damerau_levenshtein(a, b)) / longest)


def calc_dist(one, two) -> float:
    """The notebook's ``calcDist``: the same extension is dropped; a name without a dot scores 0.0."""
    one_dot = two_dot = -1
    if one is not None and two is not None:
        one_dot, two_dot = one.rfind("."), two.rfind(".")
    if one_dot != -1 and two_dot != -1:
        if one[one_dot + 1:] == two[two_dot + 1:]:
            one, two = one[:one_dot], two[:two_dot]
        return similarity(one, two)
    return 0.0


def recipe(events, frequent_threshold: float = 0.8, infrequent_threshold: float = 0.2, cutoff: float = 0.85):
    """The notebook's anomalies from SecurityEvent rows of one window: (frequentProcess,
    infrequentProcess, Dist) pairs, as its ``infrequentProcessWholeFiltered`` before the join back."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    final = events.where(F.col("EventID") == 4688).withColumn("Process", F.lower("Process"))
    group = final.groupBy("Process").count()
    group = group.select("Process", "count", F.percent_rank().over(Window.partitionBy().orderBy(group["count"])).alias("percent_rank"))
    frequent = group.where(F.col("percent_rank") >= frequent_threshold).select(F.col("Process").alias("frequentProcess"))
    infrequent = group.where(F.col("percent_rank") < infrequent_threshold).select(F.col("Process").alias("infrequentProcess"))
    calc_dist_udf = F.udf(calc_dist, T.FloatType())
    compare = frequent.crossJoin(infrequent).withColumn("Dist", calc_dist_udf(F.col("frequentProcess"), F.col("infrequentProcess")))
    return compare.where(F.col("Dist") > cutoff)


def flagged_rows(events, pairs):
    """The recipe's flags at byoml's grain: every (tenant, computer, process path) of the window whose
    name it reports (its output joins the anomalies back to the events and their paths)."""
    from pyspark.sql import functions as F

    names = pairs.groupBy(F.col("infrequentProcess").alias("Process")).agg(
        F.max("Dist").alias("AnomalyScore"), F.min("frequentProcess").alias("NormalProcess"))
    rows = events.where(F.col("EventID") == 4688).withColumn("Process", F.lower("Process"))
    return (rows.join(names, "Process")
            .groupBy("TenantId", "Computer", F.col("NewProcessName").alias("ProcessPath"))
            .agg(F.max("AnomalyScore").alias("AnomalyScore"), F.min("NormalProcess").alias("NormalProcess"))
            .withColumn("IsAnomaly", F.lit(True)).withColumn("Reason", F.lit("name_lookalike")))
