"""Shared input mapping of the access templates: SecurityEvent rows -> (tenant, user, resource) events.

Defaults follow the Sentinel notebooks, with two corrections: the user is case-folded
(``CONTOSO\\Alice`` and ``contoso\\alice`` are one user) and the resource is the UNC
path ``\\\\<Computer>\\<share>``, so the same share name on two servers is two resources.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Tuple

from ..errors import ConfigError
from ..spark import timestamp_literal
from .base import Template, TemplateConfig, param

# The columns every access template's output row starts with (then its score, flag and its own).
PAIR_OUTPUT_COLUMNS = (
    "TimeGenerated timestamp, WindowStart timestamp, WindowEnd timestamp, TenantId string, Account string, "
    "Computer string, ShareName string, Resource string, AccessCount bigint, FirstSeen timestamp, LastSeen timestamp"
)
EVENT_COLUMNS = ["TenantId", "UserKey", "Account", "Computer", "ShareName", "Resource", "ResourceKey", "TimeGenerated"]


@dataclass
class AccessMappingConfig(TemplateConfig):
    """Which rows are accesses and which columns name the tenant, the user and the resource."""

    table: str = param("SecurityEvent", "the Log Analytics table read")
    event_ids: List[int] = param([5140], "EventIDs that are accesses (5140; optionally 5145)")
    tenant_column: str = param("TenantId", "column naming the tenant (tenants never share a model's statistics)")
    user_column: str = param("Account", "column naming the user (case-folded)")
    computer_column: str = param("Computer", "column naming the file server")
    share_column: str = param("ShareName", "column naming the share; the resource is \\\\Computer\\share")
    exclude_machine_accounts: bool = param(True, "skip accounts ending in $ (machine accounts)")
    exclude_users: List[str] = param([], "accounts to skip (case-insensitive)")
    where: Optional[str] = param(None, "extra Spark SQL filter on the rows, e.g. ShareName NOT LIKE '%IPC$'")

    def validate(self) -> None:
        if not self.event_ids:
            raise ConfigError("event_ids must list at least one EventID (5140, optionally 5145)")


def mapping_columns(cfg: AccessMappingConfig) -> List[str]:
    cols = [cfg.tenant_column, cfg.user_column, cfg.computer_column, cfg.share_column, "EventID", "TimeGenerated"]
    return list(dict.fromkeys(cols))


def access_filters(cfg: AccessMappingConfig) -> List[Tuple[str, object]]:
    """The rows that are accesses, as ``(reason, keep)`` conditions (see ``Template.input_filters``)."""
    from pyspark.sql import functions as F

    user = F.trim(F.col(cfg.user_column))
    filters = [(f"EventID not in {', '.join(str(e) for e in cfg.event_ids)}",
                F.col("EventID").isin([int(e) for e in cfg.event_ids]))]
    if cfg.where:
        filters.append(("excluded by where", F.expr(cfg.where)))
    filters.append((f"empty {cfg.user_column}", user.isNotNull() & (F.length(user) > 0)))
    filters.append((f"empty {cfg.computer_column} or {cfg.share_column}",
                    F.col(cfg.computer_column).isNotNull() & F.col(cfg.share_column).isNotNull()))
    if cfg.exclude_machine_accounts:
        filters.append(("machine account", ~user.endswith("$")))
    if cfg.exclude_users:
        filters.append(("excluded user", ~F.lower(user).isin([u.lower() for u in cfg.exclude_users])))
    return filters


def access_events(events, cfg: AccessMappingConfig):
    """Filter and map table rows to access events with columns :data:`EVENT_COLUMNS`.

    Rows without a user, computer or share are not accesses and are left out (:func:`access_filters`).
    """
    from pyspark.sql import functions as F

    df = events
    for _, keep in access_filters(cfg):
        df = df.filter(keep)
    user = F.trim(F.col(cfg.user_column))
    computer = F.trim(F.col(cfg.computer_column))
    share = F.trim(F.col(cfg.share_column))
    # ShareName is "\\*\Finance": the * stands for the server, so the UNC path names the resource.
    resource = F.when(
        share.startswith("\\\\*\\"), F.concat(F.lit("\\\\"), computer, F.expr(f"substring(trim(`{cfg.share_column}`), 4)"))
    ).otherwise(F.concat(F.lit("\\\\"), computer, F.lit("\\"), share))
    tenant = F.coalesce(F.col(cfg.tenant_column).cast("string"), F.lit(""))
    return df.select(
        tenant.alias("TenantId"),
        F.lower(user).alias("UserKey"),
        user.alias("Account"),
        computer.alias("Computer"),
        share.alias("ShareName"),
        resource.alias("Resource"),
        F.lower(resource).alias("ResourceKey"),
        F.col("TimeGenerated"),
    )


def _labels():
    """The names a resource key stands for (one spelling of each, deterministic)."""
    from pyspark.sql import functions as F

    return [F.min(name).alias(name) for name in ("Computer", "ShareName", "Resource")]


def daily_summary(access):
    """Per (tenant, user, resource, UTC ``Day``): events, first and last access.

    The grain a fit needs (active days, user-days): one shuffle of the events, and
    everything after it works on these far fewer rows.
    """
    from pyspark.sql import functions as F

    return access.groupBy("TenantId", "UserKey", "ResourceKey", F.to_date("TimeGenerated").alias("Day")).agg(
        F.count(F.lit(1)).alias("AccessCount"),
        F.min("TimeGenerated").alias("FirstSeen"),
        F.max("TimeGenerated").alias("LastSeen"),
        *_labels(),
    )


def pairs_from_daily(daily):
    """Per (tenant, user, resource), from :func:`daily_summary` rows: events, active days, first and last access."""
    from pyspark.sql import functions as F

    return daily.groupBy("TenantId", "UserKey", "ResourceKey").agg(
        F.sum("AccessCount").alias("AccessCount"),
        F.count(F.lit(1)).alias("ActiveDays"),
        F.min("FirstSeen").alias("FirstSeen"),
        F.max("LastSeen").alias("LastSeen"),
        *_labels(),
    )


def pair_summary(access):
    """Per (tenant, user, resource): events, active days, first and last access."""
    return pairs_from_daily(daily_summary(access))


def pair_output(run):
    """The :data:`PAIR_OUTPUT_COLUMNS` of scored pairs (:func:`pair_summary` rows): the run's times and the pair."""
    from pyspark.sql import functions as F

    return [
        timestamp_literal(run.run_time).alias("TimeGenerated"),
        timestamp_literal(run.window.start).alias("WindowStart"),
        timestamp_literal(run.window.end).alias("WindowEnd"),
        "TenantId",
        F.col("UserKey").alias("Account"),
        "Computer",
        "ShareName",
        "Resource",
        "AccessCount",
        "FirstSeen",
        "LastSeen",
    ]


class AccessTemplate(Template):
    """Base of the templates over SecurityEvent accesses: what they read, and their input mapping
    (``Config`` subclasses :class:`AccessMappingConfig`)."""

    table = "SecurityEvent"
    Config = AccessMappingConfig
    minimum_training = {"events": 50, "days": 2, "users": 3, "pairs": 10}

    def columns(self):
        return mapping_columns(self.config)

    def required_columns(self):
        c = self.config
        return [c.user_column, c.computer_column, c.share_column, "EventID"]

    def prepare(self, events):
        return access_events(events, self.config)

    def input_filters(self):
        return access_filters(self.config)

    def filter_hint(self) -> str:
        return ("The template reads EventIDs event_ids of users (exclude_machine_accounts skips accounts ending "
                "in $): check the window, or those options in the config's template: section.")

