"""Field maps: which field of a Winlogbeat, NXLog or CSV record fills which Log Analytics column.

A map says, per target column, the source fields to look in, first non-empty wins; a field
is a name (``Hostname``, ``@timestamp``) or a dotted path into nested objects
(``winlog.event_data.SubjectUserName``; a flat key with dots, as a flattened export writes
it, is found too). Columns the map does not name are looked up by their own name under
``same_name`` prefixes (``winlog.event_data``, or ``""`` for the top level). ``constants``
are set on every record. The built-in maps are :data:`BUILTIN`; ``--map FILE`` changes
them without code (YAML or JSON)::

    extends: nxlog              # the built-in map to start from (default: the --from format's; none: empty)
    timezone: Europe/Berlin     # for timestamps without an offset (default UTC)
    columns:                    # target column: a source field, or a list of fallbacks ([] = not from the source)
      Computer: [MachineName, Hostname]
      TimeGenerated: EventTime
    same_name: [""]             # prefixes under which a column is found by its own name
    constants:                  # set on every record
      TenantId: 5c1e0000-0000-4000-8000-000000000001
    account_from_target: [4624, 4625, 4634, 4647]   # SecurityEvent: EventIDs whose Account is the target

The map's ``columns`` replace the base map's entries column by column; ``same_name``,
``constants`` and ``account_from_target`` replace them whole when given. ``docs/import.md``
holds the built-in maps as a table (a test keeps it in step with :data:`BUILTIN`).
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence

from ..errors import ConfigError

FORMATS = ("winlogbeat", "nxlog", "csv")
# Log Analytics takes the account of these events from the target (the account that logged
# on or off); of every other event from the subject, unless the event has no subject.
ACCOUNT_FROM_TARGET = (4624, 4625, 4634, 4647)
_MAP_KEYS = {"extends", "timezone", "columns", "same_name", "constants", "account_from_target"}


@dataclass
class FieldMap:
    """Where each target column comes from (see the module docstring)."""

    name: str = "custom"
    columns: Dict[str, List[str]] = field(default_factory=dict)
    same_name: List[str] = field(default_factory=lambda: [""])
    constants: Dict[str, Any] = field(default_factory=dict)
    timezone: str = "UTC"
    account_from_target: List[int] = field(default_factory=lambda: list(ACCOUNT_FROM_TARGET))

    def sources(self, column: str) -> List[str]:
        """The source fields looked in for ``column``, in order."""
        if column in self.columns:
            return list(self.columns[column])
        return [f"{prefix}.{column}" if prefix else column for prefix in self.same_name]

    def tzinfo(self) -> dt.tzinfo:
        if self.timezone.upper() in ("UTC", "Z"):
            return dt.timezone.utc
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            return ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ConfigError(f"field map: unknown timezone '{self.timezone}' (an IANA name such as Europe/Berlin, or UTC)") from exc


_EVENT_DATA = "winlog.event_data"

BUILTIN: Dict[str, FieldMap] = {
    # Winlogbeat / Elastic Common Schema: the event's own fields under winlog.event_data
    "winlogbeat": FieldMap(
        name="winlogbeat",
        columns={
            "TimeGenerated": ["@timestamp"],
            "Computer": ["winlog.computer_name", "host.name", "host.hostname"],
            "EventID": ["winlog.event_id", "event.code"],
            "Channel": ["winlog.channel"],
            "EventSourceName": ["winlog.provider_name"],
            "IpAddress": [f"{_EVENT_DATA}.IpAddress", "source.ip"],
            "IpPort": [f"{_EVENT_DATA}.IpPort", "source.port"],
            "NewProcessName": [f"{_EVENT_DATA}.NewProcessName", "process.executable"],
            "ParentProcessName": [f"{_EVENT_DATA}.ParentProcessName", "process.parent.executable"],
            "CommandLine": [f"{_EVENT_DATA}.CommandLine", "process.command_line"],
            "EventOriginId": [],
        },
        same_name=[_EVENT_DATA, ""],
    ),
    # NXLog im_msvistalog (and Logstash in front of it: @timestamp): flat event fields
    "nxlog": FieldMap(
        name="nxlog",
        columns={
            "TimeGenerated": ["@timestamp", "TimeCreated", "EventTime", "TimeGenerated"],
            "Computer": ["Hostname", "Computer"],
            "EventSourceName": ["SourceName", "EventSourceName"],
            "EventOriginId": [],
        },
        same_name=[""],
    ),
    # CSV: columns that already have Log Analytics names (a portal export's "TimeGenerated [UTC]" too)
    "csv": FieldMap(name="csv", columns={}, same_name=[""]),
}


def _as_list(value: Any, where: str) -> List[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise ConfigError(f"{where}: expected a field name or a list of field names, got {value!r}")


def field_map_from(data: Mapping[str, Any], default: str, where: str = "field map") -> FieldMap:
    """A :class:`FieldMap` from a map file's content, on top of the built-in map it extends."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where}: expected a mapping with {', '.join(sorted(_MAP_KEYS))}")
    unknown = sorted(set(data) - _MAP_KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; the keys are {', '.join(sorted(_MAP_KEYS))}")
    base_name = data.get("extends", default)
    if base_name in (None, "none"):
        base = FieldMap(name="custom", same_name=[])
    elif base_name in BUILTIN:
        base = dataclasses.replace(BUILTIN[base_name])
    else:
        raise ConfigError(f"{where}: extends: '{base_name}' is not a built-in map ({', '.join(BUILTIN)} or none)")
    columns = {k: list(v) for k, v in base.columns.items()}
    given = data.get("columns") or {}
    if not isinstance(given, Mapping):
        raise ConfigError(f"{where}: columns: expected a mapping of target column to source field(s)")
    for column, sources in given.items():
        columns[str(column)] = _as_list(sources, f"{where}: columns.{column}")
    constants = data.get("constants", base.constants)
    if not isinstance(constants, Mapping):
        raise ConfigError(f"{where}: constants: expected a mapping of column to value")
    same_name = data.get("same_name", base.same_name)
    same_name = _as_list(same_name, f"{where}: same_name")
    try:
        account_from_target = [int(e) for e in data.get("account_from_target", base.account_from_target)]
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: account_from_target: expected a list of EventIDs") from exc
    out = FieldMap(
        name=f"{base.name}+{os.path.basename(where)}" if base_name not in (None, "none") else where,
        columns=columns, same_name=same_name, constants=dict(constants),
        timezone=str(data.get("timezone", base.timezone)), account_from_target=account_from_target,
    )
    out.tzinfo()  # an unknown zone is an error now, not on the first naive timestamp
    return out


def load_field_map(fmt: str, path: Optional[str] = None) -> FieldMap:
    """The built-in map of ``fmt``, changed by the map file at ``path`` (YAML or JSON) if given."""
    if fmt not in BUILTIN:
        raise ConfigError(f"--from must be one of {', '.join(FORMATS)}, not '{fmt}'")
    if not path:
        return dataclasses.replace(BUILTIN[fmt])
    if not os.path.isfile(path):
        raise ConfigError(f"--map: file '{path}' does not exist")
    import yaml

    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    try:
        data = (json.loads(text) if text.strip() else {}) if path.endswith(".json") else (yaml.safe_load(text) or {})
    except (ValueError, yaml.YAMLError) as exc:
        raise ConfigError(f"--map: '{path}' does not parse: {exc}") from exc
    return field_map_from(data, fmt, where=path)


def lookup(record: Mapping[str, Any], path: str) -> Any:
    """The value at ``path`` in ``record``: a flat key first, then the dotted path into nested objects."""
    if path in record:
        return record[path]
    node: Any = record
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def first_value(record: Mapping[str, Any], sources: Sequence[str]) -> Any:
    """The first of ``sources`` with a value (None and "" are no value)."""
    for path in sources:
        value = lookup(record, path)
        if value is not None and value != "":
            return value
    return None


def mapping_table(names: Sequence[str] = FORMATS) -> str:
    """The built-in maps as a Markdown table (``docs/import.md`` holds it; a test compares)."""
    maps = [BUILTIN[n] for n in names]
    columns = list(dict.fromkeys(c for m in maps for c in m.columns))

    def cell(m: FieldMap, column: str) -> str:
        if column in m.columns:
            return ", ".join(f"`{s}`" for s in m.columns[column]) or "(derived)"
        return "same name"

    lines = ["| column | " + " | ".join(names) + " |", "| --- |" + " --- |" * len(names)]
    lines += [f"| `{c}` | " + " | ".join(cell(m, c) for m in maps) + " |" for c in columns]
    lines.append("| any other column | " + " | ".join(
        ", ".join(f"`{p}.<column>`" if p else "`<column>`" for p in m.same_name) for m in maps) + " |")
    return "\n".join(lines)
