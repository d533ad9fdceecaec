"""The ``masquerading-process`` template: what it reads, the summary it keeps, and what fit learns."""
from __future__ import annotations

from ...errors import EmptyWindowError
from ...spark import ObservedCounts, materialize
from ...timewindow import TimeWindow
from ..base import Model, Template
from . import names as N
from .config import MasqueradingConfig
from .scoring import OUTPUT_COLUMNS, MasqueradingModel

SUMMARY_KEYS = ["TenantId", "ComputerKey", "PathKey", "ParentKey"]


class MasqueradingProcess(Template):
    """Processes named like system binaries, or run from where they do not belong (SecurityEvent 4688)."""

    name = "masquerading-process"
    version = "1.0"
    table = "SecurityEvent"
    output_table = "MasqueradingProcessResult"
    output_columns = OUTPUT_COLUMNS
    report_kind = "process"
    Config = MasqueradingConfig
    sample_data = "process-creation"
    model_class = MasqueradingModel
    # a name's spread over computers is the statistic: below a handful of computers and days it is noise
    minimum_training = {"events": 200, "days": 2, "computers": 5}

    def columns(self):
        c = self.config
        cols = [c.tenant_column, c.computer_column, c.account_column, c.process_column, c.parent_column,
                c.command_line_column, "EventID", "TimeGenerated"]
        return list(dict.fromkeys(x for x in cols if x))

    def required_columns(self):
        c = self.config
        return [c.process_column, c.computer_column, "EventID"]

    def input_filters(self):
        """Process creations (``event_ids``), ``where:``, and rows naming a process and a computer."""
        from pyspark.sql import functions as F

        c: MasqueradingConfig = self.config
        filters = [(f"EventID not in {', '.join(str(e) for e in c.event_ids)}",
                    F.col("EventID").isin([int(e) for e in c.event_ids]))]
        if c.where:
            filters.append(("excluded by where", F.expr(c.where)))
        for column in (c.process_column, c.computer_column):
            value = F.trim(F.col(column))
            filters.append((f"empty {column}", value.isNotNull() & (F.length(value) > 0)))
        return filters

    def filter_hint(self) -> str:
        c: MasqueradingConfig = self.config
        return (f"Process creations are EventID {', '.join(str(e) for e in c.event_ids)} with {c.process_column} "
                "(the audit policy 'Audit Process Creation' must be on); check event_ids and where: in the config.")

    def prepare(self, events):
        """4688 rows -> one row per process creation: tenant, computer, account, the process's and
        its parent's paths (as given and as path keys), the command line and the time."""
        from pyspark.sql import functions as F

        c: MasqueradingConfig = self.config
        df = self.apply_filters(events)
        path = F.trim(F.col(c.process_column))
        computer = F.trim(F.col(c.computer_column))
        parent = F.trim(F.col(c.parent_column))
        parent = F.when(F.length(parent) > 0, parent)
        command = F.col(c.command_line_column).cast("string") if c.command_line_column else F.lit(None).cast("string")
        return df.select(
            F.coalesce(F.col(c.tenant_column).cast("string"), F.lit("")).alias("TenantId"),
            F.lower(computer).alias("ComputerKey"),
            computer.alias("Computer"),
            F.trim(F.col(c.account_column)).alias("Account"),
            path.alias("ProcessPath"),
            N.path_key(path).alias("PathKey"),
            parent.alias("ParentProcess"),
            N.path_key(parent).alias("ParentKey"),
            command.alias("CommandLine"),
            F.col("TimeGenerated"),
        )

    def summarize(self, prepared):
        """Per (tenant, computer, process path, parent path): events, the first one's time, account
        and command line. All that fit and score need; the events are not kept."""
        from pyspark.sql import functions as F

        first = F.min(F.struct("TimeGenerated", "Account", "CommandLine")).alias("_first")
        return prepared.groupBy(*SUMMARY_KEYS).agg(
            F.count(F.lit(1)).alias("Count"), first,
            F.min("Computer").alias("Computer"), F.min("ProcessPath").alias("ProcessPath"),
            F.min("ParentProcess").alias("ParentProcess"),
        ).select(*SUMMARY_KEYS, "Computer", "ProcessPath", "ParentProcess", "Count",
                 F.col("_first.TimeGenerated").alias("FirstSeen"), F.col("_first.Account").alias("Account"),
                 F.col("_first.CommandLine").alias("CommandLine"))

    def fit(self, prepared, window: TimeWindow) -> Model:
        """Learn, per tenant, on how many computers each name, folder and parent ran."""
        from pyspark.sql import functions as F

        rows = prepared.select(
            "TenantId", "ComputerKey", "Count",
            N.file_name("PathKey").alias("Name"),
            N.folder_template(N.folder("PathKey")).alias("Folder"),
            F.when(F.col("ParentKey").isNotNull(), N.file_name("ParentKey")).alias("Parent"),
        )
        counted = ObservedCounts(rows, "byoml_masq_rows", [F.count(F.lit(1)).alias("rows")])
        rows = materialize(counted.df)
        if not counted.get()["rows"]:
            raise EmptyWindowError(f"{self.name}: no process creations in the training window {window}")

        def spread(keys):
            per_computer = rows.groupBy(*keys, "ComputerKey").agg(F.sum("Count").alias("events"))
            return per_computer.groupBy(*keys).agg(F.count(F.lit(1)).alias("computers"),
                                                   F.sum("events").alias("events"))

        tables = {
            "tenants": spread(["TenantId"]).drop("events"),
            "names": spread(["TenantId", "Name"]),
            "folders": spread(["TenantId", "Name", "Folder"]),
            "parents": spread(["TenantId", "Name", "Parent"]).filter(F.col("Parent").isNotNull()),
        }
        tables = {name: materialize(df) for name, df in tables.items()}
        counts = tables["tenants"].agg(F.count(F.lit(1)).alias("tenants"), F.sum("computers").alias("computers")).first()
        return MasqueradingModel(
            self, {"counts": {"tenants": int(counts["tenants"] or 0), "computers": int(counts["computers"] or 0)}},
            **{f"{name}_": df for name, df in tables.items()},
        )
