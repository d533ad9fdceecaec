"""Name look-alikes: which names of the window imitate a Windows binary or a frequent binary of the tenant.

Targets are the shipped Windows binaries (:mod:`.windows`) and the names that ran on at least
``frequent_share`` of a tenant's computers in training. A name of the window is a candidate when it
is none of them. Both sides are reduced to skeletons (:func:`.names.skeleton`) and keyed by their
deletion keys (:func:`.names.deletion_keys`); candidate pairs are the rows of an equi-join on the key,
never a cross join, and only they are measured (:func:`.names.edit_distance`). A pair is a look-alike:

* ``homoglyph`` / ``extension``: the same skeleton (``svch0st.exe``, ``rundII32.exe``, ``lsass.com``,
  ``svchost.exe.exe``, ``svchost``), whatever the length;
* ``1 edit`` / ``swapped letters`` / ``2 edits``: one edit of a core Windows binary from a stem of 4
  (``lsas.exe``, ``scvhost.exe``), of any target from ``min_edit_length``, two from ``two_edit_length``.

A name that ran on ``min_computers`` computers in training is the tenant's own: an edit of a target
is not reported for it (``Ssms.exe``, SQL Server Management Studio, is one swap from ``smss.exe``),
a homoglyph or extension variant still is, as no vendor names its binary ``svch0st.exe``.
"""
from __future__ import annotations

from . import names as N
from .windows import CORE, folders
from .windows import names as windows_names

SKELETON_EQUAL = ("homoglyph", "extension", "homoglyph and extension")
POINTS = {("same", "windows"): 8.0, ("same", "tenant"): 7.0, ("edit", "windows"): 6.0, ("edit", "tenant"): 5.0}
MIN_LENGTH = 4  # no edit of a skeleton shorter than this counts


def _shipped(spark, cfg):
    """(Target, TargetPath, Core) of the shipped Windows binaries (the first folder is the usual one)."""
    first = {}
    for name, where in folders(cfg.extra_folders):
        first.setdefault(name, where)
    rows = [(name, f"{first[name]}\\{name}", name in CORE) for name in sorted(set(windows_names()) | set(first))]
    return spark.createDataFrame(rows, "Target string, TargetPath string, Core boolean")


def targets(model, cfg):
    """Every look-alike target with its skeleton, how many edits it allows and its blocking keys.

    ``TenantId`` is null for the Windows binaries (they are targets in every tenant).
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    spark = model.names_.sparkSession
    shipped = _shipped(spark, cfg)
    tenants = model.tenants_.select("TenantId", F.col("computers").alias("tenant_computers"))
    frequent = (model.names_.join(tenants, "TenantId")
                .filter((F.col("computers") >= F.lit(cfg.min_computers))
                        & (F.col("computers") >= F.lit(cfg.frequent_share) * F.col("tenant_computers")))
                .join(shipped.select(F.col("Target").alias("Name")), "Name", "left_anti"))
    usual = Window.partitionBy("TenantId", "Name").orderBy(F.col("computers").desc(), "Folder")
    usual_folder = (model.folders_.withColumn("_r", F.row_number().over(usual)).filter("_r = 1")
                    .select("TenantId", "Name", "Folder"))
    tenant_targets = frequent.join(usual_folder, ["TenantId", "Name"], "left").select(
        "TenantId", F.col("Name").alias("Target"),
        F.concat_ws("\\", F.col("Folder"), F.col("Name")).alias("TargetPath"),
        F.lit("tenant").alias("TargetSource"), F.col("computers").alias("TargetComputers"), F.lit(False).alias("Core"))
    all_targets = shipped.select(
        F.lit(None).cast("string").alias("TenantId"), "Target", "TargetPath", F.lit("windows").alias("TargetSource"),
        F.lit(None).cast("long").alias("TargetComputers"), "Core",
    ).unionByName(tenant_targets)
    stem = N.stem("Target")
    all_targets = all_targets.withColumn("TStem", stem).withColumn("TExt", N.extension("Target")).withColumn(
        "TSkeleton", N.skeleton(stem)).withColumn("TFlat", N.skeleton(stem, sequences=False)).filter(
        F.length("TSkeleton") > 0)
    length = F.length("TSkeleton")
    edits = (F.when(length < MIN_LENGTH, F.lit(0))
             .when(F.lit(cfg.two_edit_length > 0) & (length >= F.lit(cfg.two_edit_length or 10**6)), F.lit(2))
             .when(F.col("Core") | (length >= F.lit(cfg.min_edit_length)), F.lit(1))
             .otherwise(F.lit(0)))
    all_targets = all_targets.withColumn("MaxEdits", edits)
    two_from = F.when(F.col("MaxEdits") >= 2, length).otherwise(F.lit(10**6))
    keys = (F.when(F.col("MaxEdits") == 0, F.array("TSkeleton"))
            .otherwise(F.array_union(N.deletion_keys("TSkeleton", two_from), N.deletion_keys("TFlat", two_from))))
    return all_targets.withColumn("key", F.explode(keys))


def _match_kind():
    from pyspark.sql import functions as F

    same_stem = F.col("Stem") == F.col("TStem")
    same_ext = F.col("Ext") == F.col("TExt")
    lev = F.least(F.levenshtein("Skeleton", "TSkeleton"), F.levenshtein("Flat", "TFlat"))
    return (F.when(F.col("Distance") == 0,
                   F.when(same_stem, F.lit("extension")).when(same_ext, F.lit("homoglyph"))
                   .otherwise(F.lit("homoglyph and extension")))
            .when((F.col("Distance") == 1) & (lev == 2), F.lit("swapped letters"))
            .when(F.col("Distance") == 1, F.lit("1 edit"))
            .otherwise(F.concat(F.col("Distance").cast("string"), F.lit(" edits"))))


def lookalikes(observed_names, model, cfg):
    """Per (TenantId, Name) of ``observed_names`` that imitates a target: the best target and why.

    Columns: TenantId, Name, Target, TargetPath, TargetSource, MatchKind, Distance, LookalikePoints.
    """
    from pyspark.sql import functions as F

    tgt = targets(model, cfg)
    target_names = tgt.select("TenantId", F.col("Target").alias("Name")).distinct()
    # a name that is a target (a Windows binary, or frequent in its tenant) is what it says it is
    candidates = (observed_names
                  .join(target_names.filter(F.col("TenantId").isNull()).select("Name"), "Name", "left_anti")
                  .join(target_names.filter(F.col("TenantId").isNotNull()), ["TenantId", "Name"], "left_anti"))
    stem = N.stem("Name")
    candidates = (candidates.withColumn("Stem", stem).withColumn("Ext", N.extension("Name"))
                  .withColumn("Skeleton", N.skeleton(stem)).withColumn("Flat", N.skeleton(stem, sequences=False))
                  .filter(F.length("Skeleton") > 0))
    two_from = cfg.two_edit_length - 2 if cfg.two_edit_length else 10**6
    # keys of both forms: an edit that makes or breaks a letter pair (rn, vv) is found on the unfolded one
    keyed = candidates.withColumn("key", F.explode(F.array_union(N.deletion_keys("Skeleton", two_from),
                                                                 N.deletion_keys("Flat", two_from))))
    t = tgt.withColumnRenamed("TenantId", "TTenant")
    pairs = (keyed.join(t, "key")  # the blocking equi-join
             .filter(F.col("TTenant").isNull() | (F.col("TTenant") == F.col("TenantId")))
             .select("TenantId", "Name", "Stem", "Ext", "Skeleton", "Flat", "Target", "TargetPath", "TargetSource",
                     "TargetComputers", "TStem", "TExt", "TSkeleton", "TFlat", "MaxEdits")
             .dropDuplicates(["TenantId", "Name", "Target", "TargetSource"]))
    pairs = pairs.withColumn("Distance", F.when(F.col("Skeleton") == F.col("TSkeleton"), F.lit(0))
                             .otherwise(F.least(N.edit_distance("Skeleton", "TSkeleton", 2),
                                                N.edit_distance("Flat", "TFlat", 2))))
    pairs = pairs.filter(F.col("Distance") <= F.col("MaxEdits")).withColumn("MatchKind", _match_kind())
    # the tenant's own names: an edit away from a target is how vendors name things; a homoglyph is not
    established = model.names_.filter(F.col("computers") >= F.lit(cfg.min_computers)).select(
        "TenantId", "Name", F.lit(True).alias("established"))
    pairs = (pairs.join(established, ["TenantId", "Name"], "left")
             .filter((F.col("Distance") == 0) | F.col("established").isNull()))
    cls = F.when(F.col("Distance") == 0, F.lit("same")).otherwise(F.lit("edit"))
    points = F.coalesce(*[F.when((cls == F.lit(c)) & (F.col("TargetSource") == F.lit(s)), F.lit(p))
                          for (c, s), p in POINTS.items()])
    best = F.min(F.struct(
        (-points).alias("neg_points"), F.col("Distance"), (-F.coalesce("TargetComputers", F.lit(0))).alias("neg_c"),
        F.col("Target"), F.col("TargetPath"), F.col("TargetSource"), F.col("MatchKind"))).alias("b")
    return pairs.groupBy("TenantId", "Name").agg(best).select(
        "TenantId", "Name", "b.Target", "b.TargetPath", "b.TargetSource", "b.MatchKind", "b.Distance",
        (-F.col("b.neg_points")).alias("LookalikePoints"))


def explanation():
    """The words of a look-alike finding (columns of :func:`lookalikes` joined to a scored row)."""
    from pyspark.sql import functions as F

    what = F.when(F.col("TargetSource") == "windows", F.lit("the Windows binary ")).otherwise(F.lit("the tenant's binary "))
    return F.concat(F.col("ShownName"), F.lit(" looks like "), what, F.col("Target"), F.lit(" ("), F.col("MatchKind"),
                    F.lit("; usually "), F.col("TargetPath"), F.lit(")"))
