"""One source record -> one Log Analytics row: the field map, the column types, and what
Log Analytics derives itself (SecurityEvent's ``Account`` and ``AccountType``, ``Type``, an
``EventOriginId``).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import uuid
from typing import Any, Dict, Mapping, Optional, Tuple

from ..timewindow import UTC, format_time_generated
from .fieldmaps import FieldMap, first_value

# uuid5 namespace of the EventOriginIds the importer makes from a record's content
EVENT_ORIGIN_NAMESPACE = uuid.UUID("b3f1c6a4-2a0e-5d8e-9f61-7d2c0e4b9a15")
# SIDs of SYSTEM, LOCAL SERVICE and NETWORK SERVICE: Log Analytics calls these accounts Machine
SERVICE_SIDS = frozenset({"S-1-5-18", "S-1-5-19", "S-1-5-20"})
NO_VALUE = ("", "-")

_ISO = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?\s*(Z|z|UTC|[+-]\d{2}:?\d{2})?$")
# the Log Analytics portal's CSV export: 11/2/2026, 10:04:05.123 AM
_PORTAL = re.compile(
    r"^(\d{1,2})/(\d{1,2})/(\d{4}),?\s+(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d+))?\s*([AaPp][Mm])?\s*(UTC|Z)?$", re.IGNORECASE)


class Skip(Exception):
    """A record that cannot be imported: ``reason`` (the kind, for the counts) and ``detail``."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


def parse_timestamp(value: Any, tz: dt.tzinfo) -> Optional[dt.datetime]:
    """An aware datetime from ISO-8601 text (any number of fractional digits, ``T`` or a space,
    an offset or none: then ``tz``), the portal's ``M/D/YYYY, h:mm:ss AM`` or epoch seconds or
    milliseconds; None when it is none of these."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        seconds = value / 1000.0 if abs(value) >= 1e11 else float(value)
        try:
            return dt.datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if not isinstance(value, str):
        return None
    text = value.strip()
    m = _ISO.match(text)
    try:
        if m:
            year, month, day, hour, minute, second, fraction, zone = m.groups()
            when = dt.datetime(int(year), int(month), int(day), int(hour), int(minute), int(second or 0),
                               int((fraction or "0")[:6].ljust(6, "0")))
            if zone is None:
                return when.replace(tzinfo=tz)
            if zone.upper() in ("Z", "UTC"):
                return when.replace(tzinfo=UTC)
            sign = 1 if zone[0] == "+" else -1
            digits = zone[1:].replace(":", "")
            offset = dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
            return when.replace(tzinfo=dt.timezone(sign * offset))
        m = _PORTAL.match(text)
        if m:
            month, day, year, hour, minute, second, fraction, half, zone = m.groups()
            hour_24 = int(hour) % 12 + (12 if half.upper() == "PM" else 0) if half else int(hour)
            when = dt.datetime(int(year), int(month), int(day), hour_24, int(minute), int(second),
                               int((fraction or "0")[:6].ljust(6, "0")))
            return when.replace(tzinfo=UTC if zone else tz)
    except ValueError:  # 2026-02-30, hour 25...
        return None
    return None


def _convert(column: str, type_name: str, value: Any, tz: dt.tzinfo) -> Any:
    """``value`` as the column's type for the JSON line, or :class:`Skip`."""
    if type_name == "string":
        if isinstance(value, (dict, list)):
            return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)
    if type_name in ("int", "long"):
        if isinstance(value, bool):
            raise Skip(f"{column}: not a valid {type_name}", repr(value))
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, int):
            return value
        if isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d+\s*", value):
            return int(value)
        raise Skip(f"{column}: not a valid {type_name}", repr(value))
    if type_name == "double":
        try:
            return float(value)
        except (TypeError, ValueError):
            raise Skip(f"{column}: not a valid double", repr(value)) from None
    if type_name == "boolean":
        text = str(value).strip().lower()
        if text in ("true", "1", "yes"):
            return True
        if text in ("false", "0", "no"):
            return False
        raise Skip(f"{column}: not a valid boolean", repr(value))
    if type_name == "timestamp":
        when = parse_timestamp(value, tz)
        if when is None:
            raise Skip(f"{column}: not a timestamp", repr(value))
        return format_time_generated(when)
    return value


def _account(domain: Any, user: Any) -> Optional[str]:
    if user is None or user == "":
        return None
    return f"{domain}\\{user}" if domain not in (None, "") else str(user)


def _account_type(name: str, sid: Any) -> str:
    return "Machine" if name.endswith("$") or sid in SERVICE_SIDS else "User"


def derive_security_event(row: Dict[str, Any], fmap: FieldMap) -> None:
    """Fill ``SubjectAccount``, ``TargetAccount``, ``Account`` and ``AccountType`` as Log Analytics
    builds them, where the source did not give them.

    ``Account`` is ``DOMAIN\\user`` of the target for the EventIDs of ``account_from_target``
    (logons and logoffs: the account that logged on) and for events without a subject (``-``),
    of the subject otherwise. ``AccountType`` is ``Machine`` for names ending in ``$`` and the
    service accounts (SYSTEM, LOCAL SERVICE, NETWORK SERVICE), else ``User``.
    """
    subject = _account(row.get("SubjectDomainName"), row.get("SubjectUserName"))
    target = _account(row.get("TargetDomainName"), row.get("TargetUserName"))
    if subject is not None:
        row.setdefault("SubjectAccount", subject)
    if target is not None:
        row.setdefault("TargetAccount", target)
    use_target = target is not None and (
        row.get("EventID") in fmap.account_from_target or row.get("SubjectUserName") in (None, *NO_VALUE))
    if "Account" not in row:
        account = target if use_target else subject
        if account is not None:
            row["Account"] = account
    if "AccountType" not in row and row.get("Account"):
        sid = row.get("TargetUserSid") if use_target else row.get("SubjectUserSid")
        row["AccountType"] = _account_type(str(row["Account"]), sid)


def event_origin_id(record: Mapping[str, Any]) -> str:
    """A stable id of a source record: a name-based UUID of its content (keys sorted)."""
    text = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return str(uuid.uuid5(EVENT_ORIGIN_NAMESPACE, hashlib.sha256(text.encode("utf-8")).hexdigest()))


def map_record(record: Mapping[str, Any], fmap: FieldMap, table: str, schema: Mapping[str, str],
               tz: dt.tzinfo) -> Tuple[dt.datetime, Dict[str, Any]]:
    """(TimeGenerated, the row) of one source record, or :class:`Skip` with the reason.

    ``schema`` (column -> type) names the target columns; for a table byoml does not declare,
    the mapped columns plus the record's own top-level fields (strings) are written.
    """
    row: Dict[str, Any] = {}
    when_sources = fmap.sources("TimeGenerated")
    raw_time = first_value(record, when_sources)
    if raw_time is None:
        raise Skip("TimeGenerated: missing", f"none of {', '.join(when_sources) or '(no field mapped)'} has a value")
    when = parse_timestamp(raw_time, tz)
    if when is None:
        raise Skip("TimeGenerated: not a timestamp", repr(raw_time))
    row["TimeGenerated"] = format_time_generated(when)
    columns = dict(schema)
    if not columns:  # a table byoml does not declare: what the map names, and the record's own fields
        columns = {name: "string" for name in [*fmap.columns, *record] if isinstance(name, str)}
    for column, type_name in columns.items():
        if column == "TimeGenerated":
            continue
        value = first_value(record, fmap.sources(column))
        if value is not None:
            row[column] = _convert(column, type_name, value, tz)
    for column, value in fmap.constants.items():
        row[column] = _convert(column, columns.get(column, "string"), value, tz)
    if table == "SecurityEvent":
        derive_security_event(row, fmap)
    row.setdefault("Type", table)
    if "EventOriginId" in columns or not schema:
        row.setdefault("EventOriginId", event_origin_id(record))
    return when, row
