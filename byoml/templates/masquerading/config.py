"""Options of ``masquerading-process`` (``byoml templates --describe masquerading-process`` lists them)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional

from ...errors import ConfigError
from ..base import TemplateConfig, param


@dataclass
class MasqueradingConfig(TemplateConfig):
    """Options of ``masquerading-process``: the SecurityEvent 4688 mapping, what counts as the
    tenant's own, and when a finding is an anomaly."""

    table: str = param("SecurityEvent", "the Log Analytics table read")
    event_ids: List[int] = param([4688], "EventIDs that are process creations (4688)")
    tenant_column: str = param("TenantId", "column naming the tenant (tenants never share learned statistics)")
    computer_column: str = param("Computer", "column naming the computer")
    account_column: str = param("Account", "column naming the account that started the process")
    process_column: str = param("NewProcessName", "column holding the new process's full path")
    parent_column: str = param("ParentProcessName", "column holding the parent's full path (Windows 10 / Server 2016 on)")
    command_line_column: Optional[str] = param("CommandLine", "column holding the command line, where audited "
                                                              "(shown, not scored); null: none")
    where: Optional[str] = param(None, "extra Spark SQL filter on the rows, e.g. Computer NOT LIKE 'LAB-%'")
    min_computers: int = param(3, "computers a name, a folder of a system binary or a parent of one must have "
                                  "been seen on in training to count as the tenant's own")
    frequent_share: float = param(0.05, "share of the tenant's computers a name must run on in training to be "
                                        "a look-alike target besides the Windows binaries")
    min_edit_length: int = param(6, "stem length from which one edit of a name that is not a core Windows "
                                    "binary is a look-alike (core ones: from 4, so lsas.exe counts)")
    two_edit_length: int = param(10, "stem length from which two edits are a look-alike too; 0: never")
    threshold: float = param(6.0, "AnomalyScore at and above which a row is an anomaly (IsAnomaly)")
    extra_folders: Dict[str, List[str]] = param({}, "more system binaries or folders: name -> folders, "
                                                    "e.g. {'svchost.exe': ['D:\\\\Windows\\\\System32']}")
    extra_parents: Dict[str, List[str]] = param({}, "more fixed lineages: child name -> parent names")
    output_table: str = param("MasqueradingProcessResult", "the custom table written, without _CL")

    def validate(self) -> None:
        if not self.event_ids:
            raise ConfigError("event_ids must list at least one EventID (4688)")
        if self.min_computers < 1:
            raise ConfigError("min_computers must be >= 1")
        if not 0.0 < self.frequent_share <= 1.0:
            raise ConfigError("frequent_share must be in (0, 1]")
        if self.min_edit_length < 4:
            raise ConfigError("min_edit_length must be >= 4: one edit of a shorter name matches ordinary names")
        if self.two_edit_length and self.two_edit_length < 8:
            raise ConfigError("two_edit_length must be 0 (never) or >= 8")
        for option in ("extra_folders", "extra_parents"):
            value = getattr(self, option)
            if not all(isinstance(k, str) and isinstance(v, list) and all(isinstance(x, str) for x in v)
                       for k, v in value.items()):
                raise ConfigError(f"{option} maps a binary name to a list of names or folders, e.g. "
                                  "{'svchost.exe': ['services.exe']}")
        for column in ("tenant_column", "computer_column", "account_column", "process_column", "parent_column"):
            if not getattr(self, column):
                raise ConfigError(f"{column} must name a column")
