"""Options of ``log-patterns`` (``byoml templates --describe log-patterns`` lists them)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import List, Optional

from ...errors import ConfigError
from ..base import TemplateConfig, param
from .masking import MASK_NAMES
from .miner import MinerSpec

#: severities counted in ``ErrorCount`` by default: Syslog's (emerg..err), and the words other tables use
ERROR_LEVELS = ["emerg", "alert", "crit", "critical", "err", "error", "fatal", "panic"]


@dataclass
class LogPatternsConfig(TemplateConfig):
    """What to read, how to mine, and when a pattern-hour is an anomaly."""

    table: str = param("Syslog", "the Log Analytics table read")
    message_column: str = param("SyslogMessage", "the text column patterns are mined from")
    group_by: List[str] = param(["Computer", "Facility", "ProcessName"], "columns naming a group; rates are per pattern and group")
    record_id_columns: List[str] = param(["EventOriginId", "_ItemId"],
                                         "the record's id for --emit records: the first of these that is set")
    level_column: Optional[str] = param("SeverityLevel", "the record's severity column (None: no ErrorCount)")
    error_levels: List[str] = param(ERROR_LEVELS, "values of level_column (any case) counted in ErrorCount")
    where: Optional[str] = param(None, "extra Spark SQL filter on the rows")
    masks: List[str] = param(list(MASK_NAMES), "built-in text masks applied, in their fixed order")
    extra_masks: List[str] = param([], "more regexes (Java syntax) replaced by <*> after the built-in masks")
    variable_threshold: int = param(4, "a token position with at least this many values in a cluster is a variable")
    min_digits: int = param(2, "a token with at least this many digits is a variable (blk_38865, U11)")
    threshold: float = param(4.0, "|AnomalyScore| at and above which a pattern-hour is a surge or a drop")
    min_count: int = param(10, "a surge has at least this many records in the hour")
    min_expected: float = param(10.0, "a drop needs a baseline of at least this many records in the hour")
    profile_prior_days: float = param(3.0, "days of the flat hourly rate blended into each hour-of-day baseline")
    flag_new: bool = param(True, "flag a pattern the model has never seen (AnomalyReason new_pattern)")
    example_chars: int = param(512, "ExampleMessage is cut to this many characters")
    output_table: str = param("LogPatterns", "the custom table written, without _CL")

    def validate(self) -> None:
        unknown = sorted(set(self.masks) - set(MASK_NAMES))
        if unknown:
            raise ConfigError(f"unknown mask(s) {', '.join(unknown)}; masks are {', '.join(MASK_NAMES)}")
        for regex in self.extra_masks:
            try:
                re.compile(regex)
            except re.error as exc:
                raise ConfigError(f"extra_masks: '{regex}' is not a regular expression ({exc})") from None
        if not self.message_column:
            raise ConfigError("message_column must name the text column (e.g. SyslogMessage)")
        if self.message_column in self.group_by:
            raise ConfigError(f"message_column {self.message_column} cannot also be a group_by column")
        if self.variable_threshold < 2:
            raise ConfigError("variable_threshold must be at least 2")
        if self.min_digits < 1:
            raise ConfigError("min_digits must be at least 1")
        if self.threshold <= 0 or self.min_count < 1 or self.min_expected <= 0:
            raise ConfigError("threshold and min_expected must be > 0 and min_count >= 1")
        if self.profile_prior_days < 0:
            raise ConfigError("profile_prior_days must be >= 0")
        if self.example_chars < 16:
            raise ConfigError("example_chars must be at least 16")

    @property
    def miner_spec(self) -> MinerSpec:
        return MinerSpec(variable_threshold=self.variable_threshold, min_digits=self.min_digits)
