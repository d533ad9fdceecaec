"""The place and the parent of a process: ``unexpected_folder`` and ``rare_parent`` findings.

* **unexpected_folder**: a Windows binary's name (:mod:`.windows`, plus ``extra_folders``) run from a
  folder it does not ship in, and that did not run it on ``min_computers`` of the tenant's computers in
  training (``svchost.exe`` in ``C:\\Users\\Public``; the 32-bit copy in ``SysWOW64`` is where it ships);
* **rare_parent**: a process of fixed lineage (:data:`.windows.PARENTS`, plus ``extra_parents``) started
  by a parent that is neither its Windows parent nor one it had on ``min_computers`` computers in
  training (``lsass.exe`` started by anything but ``wininit.exe``). A row without a parent (Windows
  before 10 and Server 2016 do not log it) gets no parent finding.

Folder classes weigh a finding: a user-writable folder (profiles, ``ProgramData``, ``Windows\\Temp``...)
is where dropped binaries live; a Windows folder is where look-alikes hide; ``Program Files`` is where
vendors install theirs.
"""
from __future__ import annotations

from . import names as N
from .windows import SYSTEM, folders, parents

WRITABLE = (r"^[a-z]:\\(users|programdata|perflogs|\$recycle\.bin|recovery|temp|tmp|intel)(\\|$)"
            r"|^[a-z]:\\windows\\(temp|tasks|tracing|debug|fonts|system32\\tasks|system32\\spool\\drivers\\color)(\\|$)")
WINDOWS = r"^[a-z]:\\windows(\\|$)"
PROGRAM_FILES = r"^[a-z]:\\program files( \(x86\))?\\"
FOLDER_POINTS, PARENT_POINTS = 7.0, 6.0


def folder_class(folder_col):
    """``writable``, ``windows``, ``program files`` or ``other`` for a folder template column."""
    from pyspark.sql import functions as F

    f = F.col(folder_col)
    return (F.when(f.rlike(WRITABLE), F.lit("writable")).when(f.rlike(WINDOWS), F.lit("windows"))
            .when(f.rlike(PROGRAM_FILES), F.lit("program files")).otherwise(F.lit("other")))


def _shipped_folders(spark, cfg):
    """(Name, Folder template, the usual folder as shown) of every shipped binary."""

    rows = folders(cfg.extra_folders)
    usual = {}
    for name, where in rows:
        usual.setdefault(name, where)
    df = spark.createDataFrame([(n, f, usual[n]) for n, f in rows], "Name string, Shown string, Usual string")
    return df.select("Name", N.folder_template(N.path_key("Shown")).alias("Folder"), "Usual")


def folder_findings(rows, model, cfg):
    """``rows`` (TenantId, Name, Folder, ...) plus ``folder_points``, ``folder_usual`` and
    ``folder_text`` where the name is a Windows binary out of place (null elsewhere)."""
    from pyspark.sql import functions as F

    spark = rows.sparkSession
    shipped = _shipped_folders(spark, cfg)
    system = F.broadcast(shipped.groupBy("Name").agg(F.min("Usual").alias("folder_usual"), F.lit(True).alias("_system")))
    expected = F.broadcast(shipped.select("Name", "Folder").distinct().withColumn("_shipped_here", F.lit(True)))
    learned = model.folders_.filter(F.col("computers") >= F.lit(cfg.min_computers)).select(
        "TenantId", "Name", "Folder", F.lit(True).alias("_learned_here"))
    out = (rows.join(system, "Name", "left").join(expected, ["Name", "Folder"], "left")
           .join(learned, ["TenantId", "Name", "Folder"], "left"))
    misplaced = F.col("_system") & F.col("_shipped_here").isNull() & F.col("_learned_here").isNull()
    writable = F.col("FolderClass") == "writable"
    return out.withColumn("folder_points", F.when(misplaced, F.lit(FOLDER_POINTS) + writable.cast("double"))) \
        .withColumn("folder_text", F.when(misplaced, F.concat(
            F.col("ShownName"), F.lit(" is a Windows binary; it runs from "), F.col("folder_usual"), F.lit(", not from "),
            F.col("ShownFolder")))) \
        .drop("_system", "_shipped_here", "_learned_here")


def parent_findings(rows, model, cfg):
    """``rows`` at (process, parent) grain (TenantId, Name, Parent, ...) plus ``parent_points`` and
    ``parent_text`` where a process of fixed lineage has a parent it should not (null elsewhere)."""
    from pyspark.sql import functions as F

    spark = rows.sparkSession
    lineage = spark.createDataFrame(parents(cfg.extra_parents), "Name string, Parent string")
    expected_names = F.broadcast(lineage.groupBy("Name").agg(
        F.concat_ws(" or ", F.array_sort(F.collect_set("Parent"))).alias("parent_expected")))
    expected = F.broadcast(lineage.withColumn("_expected", F.lit(True)))
    learned = model.parents_.select("TenantId", "Name", "Parent", F.col("computers").alias("_parent_computers"))
    parent = F.coalesce(F.col("Parent"), F.lit(SYSTEM))
    out = (rows.join(expected_names, "Name", "left")
           .join(expected, ["Name", "Parent"], "left")
           .join(learned, ["TenantId", "Name", "Parent"], "left"))
    rare = (F.col("parent_expected").isNotNull() & F.col("Parent").isNotNull() & F.col("_expected").isNull()
            & (F.coalesce("_parent_computers", F.lit(0)) < F.lit(cfg.min_computers)))
    never = F.col("_parent_computers").isNull().cast("double")
    return out.withColumn("parent_points", F.when(rare, F.lit(PARENT_POINTS) + never)) \
        .withColumn("parent_text", F.when(rare, F.concat(
            F.col("Name"), F.lit(" started by "), parent, F.lit("; its parent is "), F.col("parent_expected"),
            F.when(F.col("_parent_computers").isNull(), F.lit(" (never seen in training)"))
            .otherwise(F.concat(F.lit(" (seen on "), F.col("_parent_computers").cast("string"), F.lit(" computers in training)")))))) \
        .drop("_expected", "_parent_computers", "parent_expected")
