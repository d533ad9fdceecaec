"""A user's own byoml template, as a worked example: file share access at unusual hours.

Learns, per user, how their access events spread over the 24 hours of the day
(smoothed towards the whole tenant's spread) and scores each (user, hour) seen in
the scoring window by its surprise in bits. Run it without installing anything:

    byoml train --template off_hours:OffHours --source EXPORT --model model-offhours
    byoml score --template off_hours:OffHours --source EXPORT --model model-offhours --sink results

(from this folder, or with it on PYTHONPATH). See templates/README.md.
"""
from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from byoml.errors import EmptyWindowError
from byoml.spark import timestamp_literal
from byoml.templates import Model, Template, learned_table, param
from byoml.templates.access_events import AccessMappingConfig, access_events, mapping_columns


@dataclass
class OffHoursConfig(AccessMappingConfig):
    """Options of off-hours: each declared with its default and one line of doc."""

    prior: float = param(10.0, "weight (in events) of the tenant's hour profile in each user's")
    threshold: float = param(7.0, "surprise in bits at and above which a (user, hour) is an anomaly")
    output_table: str = param("OffHoursAccess", "the custom table written, without _CL")


class OffHoursModel(Model):
    """Fitted off-hours: access events per hour of the day, per user and per tenant."""

    user_hours_: DataFrame = learned_table("events n per (TenantId, UserKey, Hour)")
    tenant_hours_: DataFrame = learned_table("events n per (TenantId, Hour)")

    def score(self, prepared, run):
        cfg = self.template.config
        seen = prepared.withColumn("Hour", F.hour("TimeGenerated")).groupBy("TenantId", "UserKey", "Hour").agg(
            F.count(F.lit(1)).alias("AccessCount"), F.min("TimeGenerated").alias("FirstSeen"))
        user_hours = self.user_hours_
        user_totals = user_hours.groupBy("TenantId", "UserKey").agg(F.sum("n").alias("n_u"))
        tenant_hours = self.tenant_hours_
        tenant_totals = tenant_hours.groupBy("TenantId").agg(F.sum("n").alias("n_t"))
        joined = (seen.join(user_hours.withColumnRenamed("n", "n_uh"), ["TenantId", "UserKey", "Hour"], "left")
                  .join(user_totals, ["TenantId", "UserKey"], "left")
                  .join(tenant_hours.withColumnRenamed("n", "n_th"), ["TenantId", "Hour"], "left")
                  .join(tenant_totals, ["TenantId"], "left")
                  .fillna(0, ["n_uh", "n_u", "n_th", "n_t"]))
        p_tenant = (F.col("n_th") + 1.0) / (F.col("n_t") + 24.0)
        p_user = (F.col("n_uh") + cfg.prior * p_tenant) / (F.col("n_u") + cfg.prior)
        score = -F.log2(p_user)
        return joined.select(
            timestamp_literal(run.run_time).alias("TimeGenerated"),
            timestamp_literal(run.window.start).alias("WindowStart"),
            "TenantId", F.col("UserKey").alias("Account"), "Hour", "AccessCount", "FirstSeen",
            score.alias("AnomalyScore"), (score >= cfg.threshold).alias("IsAnomaly"),
        )


class OffHours(Template):
    """Access at hours a user does not usually work."""

    name = "off-hours"
    version = "1.0"
    table = "SecurityEvent"
    output_table = "OffHoursAccess"
    output_columns = ("TimeGenerated timestamp, WindowStart timestamp, TenantId string, Account string, Hour int, "
                      "AccessCount bigint, FirstSeen timestamp, AnomalyScore double, IsAnomaly boolean")
    report_kind = "table"
    Config = OffHoursConfig
    sample_data = "resource-access"
    model_class = OffHoursModel

    def columns(self):
        return mapping_columns(self.config)

    def required_columns(self):
        return [self.config.user_column, "EventID"]

    def prepare(self, events):
        return access_events(events, self.config)

    def fit(self, prepared, window):
        user_hours = prepared.withColumn("Hour", F.hour("TimeGenerated")).groupBy(
            "TenantId", "UserKey", "Hour").agg(F.count(F.lit(1)).alias("n"))
        if user_hours.isEmpty():
            raise EmptyWindowError("off-hours: no access events to learn from")
        tenant_hours = user_hours.groupBy("TenantId", "Hour").agg(F.sum("n").alias("n"))
        return OffHoursModel(self, user_hours_=user_hours, tenant_hours_=tenant_hours)
