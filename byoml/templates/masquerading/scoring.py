"""Scoring: one row per (tenant, computer, process path) of the window, with its findings.

Points of each finding (the strongest counts, each further reason adds 1):

=====================================================  ======
finding                                                points
=====================================================  ======
look-alike of a Windows binary: homoglyph / extension      8
look-alike of the tenant's binary: homoglyph / extension   7
look-alike of a Windows binary: edits                      6
look-alike of the tenant's binary: edits                   5
  ... from a Windows or user-writable folder              +1
  ... from Program Files (where vendors install)          -2
Windows binary name in an unexpected folder                7
  ... user-writable                                       +1
rare parent of a process of fixed lineage                  6
  ... a parent never seen for it in training              +1
=====================================================  ======

``AnomalyScore`` = those points plus the path's rarity, ``1 - ln(1 + c) / ln(1 + n)`` for a path
(folder template and name) that ran on ``c`` of the tenant's ``n`` computers in training (1 for a
path never seen), the rarity baseline of Sentinel's ``RareProcess_forWinHost``. A row without a
finding scores its rarity alone (below 1), so ``--emit all`` ranks rare processes first.
``IsAnomaly = AnomalyScore >= threshold`` (6).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from ...spark import timestamp_literal
from ..base import Model, RunInfo, learned_table
from . import lookalikes as L
from . import names as N
from .findings import folder_class, folder_findings, parent_findings

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

OUTPUT_COLUMNS = (
    "TimeGenerated timestamp, WindowStart timestamp, WindowEnd timestamp, TenantId string, Computer string, "
    "Account string, ProcessPath string, ParentProcess string, CommandLine string, ImitatedProcess string, "
    "ImitatedPath string, Reason string, Explanation string, AnomalyScore double, IsAnomaly boolean, "
    "FirstSeen timestamp, Count bigint, TrainingComputers bigint"
)
REASONS = ("name_lookalike", "unexpected_folder", "rare_parent")


class MasqueradingModel(Model):
    """Fitted ``masquerading-process``: on how many computers each name, folder and parent ran."""

    tenants_: DataFrame = learned_table("per TenantId: computers seen in training")
    names_: DataFrame = learned_table("per (TenantId, Name): computers and events")
    folders_: DataFrame = learned_table("per (TenantId, Name, Folder template): computers and events")
    parents_: DataFrame = learned_table("per (TenantId, Name, Parent name): computers and events")

    def _rows(self, prepared):
        """The window's (process, parent) rows with their parent findings, then one row per path
        carrying the parent, account and command line of its strongest parent finding (or first event)."""
        from pyspark.sql import functions as F

        cfg = self.template.config
        pp = prepared.withColumn("Name", N.file_name("PathKey")).withColumn(
            "Parent", F.when(F.col("ParentKey").isNotNull(), N.file_name("ParentKey")))
        pp = parent_findings(pp, self, cfg)
        pick = F.min(F.struct(
            (-F.coalesce("parent_points", F.lit(0.0))).alias("o"), F.col("FirstSeen").alias("t"),
            F.coalesce("ParentKey", F.lit("")).alias("k"), "ParentProcess", "Account", "CommandLine",
            "parent_points", "parent_text")).alias("p")
        rows = pp.groupBy("TenantId", "ComputerKey", "PathKey").agg(
            F.sum("Count").alias("Count"), F.min("FirstSeen").alias("FirstSeen"), F.min("Computer").alias("Computer"),
            F.min("ProcessPath").alias("ProcessPath"), F.min("Name").alias("Name"), pick)
        return rows.select("*", "p.ParentProcess", "p.Account", "p.CommandLine", "p.parent_points",
                           "p.parent_text").drop("p")

    def score(self, prepared, run: RunInfo):
        from pyspark.sql import functions as F

        cfg = self.template.config
        rows = (self._rows(prepared).withColumn("Folder", N.folder_template(N.folder("PathKey")))
                .withColumn("ShownName", N.file_name("ProcessPath")).withColumn("ShownFolder", N.folder("ProcessPath")))
        rows = rows.withColumn("FolderClass", folder_class("Folder"))
        rows = folder_findings(rows, self, cfg)
        found = L.lookalikes(rows.select("TenantId", "Name").distinct(), self, cfg)
        rows = rows.join(F.broadcast(found), ["TenantId", "Name"], "left")
        adjust = (F.when(F.col("FolderClass").isin("writable", "windows"), F.lit(1.0))
                  .when(F.col("FolderClass") == "program files", F.lit(-2.0)).otherwise(F.lit(0.0)))
        # a sibling of the tenant's binary in that binary's own folder (pythonw.exe beside python.exe,
        # javaw.exe beside java.exe) is the vendor's; a homoglyph or a Windows binary's edit still counts
        sibling = ((F.col("TargetSource") == "tenant") & (F.col("Distance") > 0)
                   & (F.col("Folder") == N.folder("TargetPath")))
        rows = rows.withColumn("lookalike_points", F.when(~sibling, F.col("LookalikePoints") + adjust))
        # rarity of the path in the tenant's training
        paths = self.folders_.select("TenantId", "Name", "Folder", F.col("computers").alias("path_computers"))
        tenants = self.tenants_.select("TenantId", F.col("computers").alias("tenant_computers"))
        rows = rows.join(paths, ["TenantId", "Name", "Folder"], "left").join(F.broadcast(tenants), "TenantId", "left")
        c = F.coalesce("path_computers", F.lit(0)).cast("double")
        n = F.coalesce("tenant_computers", F.lit(0)).cast("double")
        rarity = F.when(n > 0, F.lit(1.0) - F.log1p(F.least(c, n)) / F.log1p(n)).otherwise(F.lit(1.0))
        findings = F.filter(F.array(
            F.struct((-F.col("lookalike_points")).alias("o"), F.lit("name_lookalike").alias("reason"),
                     F.col("Target").alias("imitated"), F.col("TargetPath").alias("imitated_path"),
                     L.explanation().alias("text")),
            F.struct((-F.col("folder_points")).alias("o"), F.lit("unexpected_folder").alias("reason"),
                     F.col("Name").alias("imitated"), F.concat_ws("\\", "folder_usual", "Name").alias("imitated_path"),
                     F.col("folder_text").alias("text")),
            F.struct((-F.col("parent_points")).alias("o"), F.lit("rare_parent").alias("reason"),
                     F.col("Name").alias("imitated"), F.col("ProcessPath").alias("imitated_path"),
                     F.col("parent_text").alias("text")),
        ), lambda f: f["o"].isNotNull())
        rows = rows.withColumn("_f", F.array_sort(findings)).withColumn("_rarity", rarity)
        top = F.get(F.col("_f"), 0)
        n_found = F.size("_f")
        score = F.when(n_found > 0, -top["o"] + (n_found - 1).cast("double") + F.col("_rarity")).otherwise(F.col("_rarity"))
        return rows.select(
            timestamp_literal(run.run_time).alias("TimeGenerated"),
            timestamp_literal(run.window.start).alias("WindowStart"),
            timestamp_literal(run.window.end).alias("WindowEnd"),
            "TenantId", "Computer", "Account", "ProcessPath", "ParentProcess", "CommandLine",
            top["imitated"].alias("ImitatedProcess"), top["imitated_path"].alias("ImitatedPath"),
            F.concat_ws(",", F.transform("_f", lambda f: f["reason"])).alias("Reason"),
            F.concat_ws(" | ", F.transform("_f", lambda f: f["text"])).alias("Explanation"),
            score.cast("double").alias("AnomalyScore"),
            (score >= F.lit(cfg.threshold)).alias("IsAnomaly"),
            "FirstSeen", F.col("Count").cast("long").alias("Count"),
            F.coalesce("path_computers", F.lit(0)).cast("long").alias("TrainingComputers"),
        )
