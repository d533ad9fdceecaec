"""Time windows [start, end) in UTC and ISO-8601 parsing for the CLI."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Optional, Tuple

from .errors import ConfigError

UTC = dt.timezone.utc
_FRACTION = re.compile(r"(\.\d+)")


def parse_time(text: str) -> dt.datetime:
    """Parse an ISO-8601 date or date-time into an aware UTC datetime.

    Accepts ``2026-11-02``, ``2026-11-02T13:00``, ``2026-11-02T13:00:00Z``,
    offsets like ``+01:00`` and 0-9 fractional digits. A value without an offset is UTC.

    >>> parse_time("2026-11-02T13:00:00.1234567Z").isoformat()
    '2026-11-02T13:00:00.123456+00:00'
    """
    raw = text.strip()
    value = raw[:-1] + "+00:00" if raw.endswith(("Z", "z")) else raw
    # fromisoformat on Python 3.10 takes exactly 3 or 6 digits: normalise to microseconds.
    value = _FRACTION.sub(lambda m: (m.group(1) + "000000")[:7], value, count=1)
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise ConfigError(
            f"cannot read time '{text}': use ISO-8601, e.g. 2026-11-02 or 2026-11-02T13:00:00Z"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def days_before(days: int, end: Optional[str] = None, now: Optional[dt.datetime] = None) -> Tuple[str, str]:
    """``(start, end)`` of the ``days`` whole days before ``end`` (default: today 00:00 UTC).

    >>> days_before(28, "2026-11-01")
    ('2026-10-04T00:00:00Z', '2026-11-01T00:00:00Z')
    """
    if days < 1:
        raise ConfigError(f"--days must be at least 1, not {days}")
    if end:
        hi = parse_time(end)
    else:
        hi = (now or dt.datetime.now(UTC)).astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return format_time(hi - dt.timedelta(days=days)), format_time(hi)


def format_time_generated(value: dt.datetime) -> str:
    """``2026-11-02T13:09:20.0412345Z`` style, as exports write TimeGenerated: up to 7 fractional
    digits, trailing zeros trimmed."""
    value = value.astimezone(UTC)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += ("." + f"{value.microsecond:06d}0").rstrip("0")
    return text + "Z"


def format_time(value: dt.datetime) -> str:
    """Format as Log Analytics does: ISO-8601 UTC with ``Z``."""
    value = value.astimezone(UTC)
    if value.microsecond:
        return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class TimeWindow:
    """A half-open UTC interval ``[start, end)``; either bound may be open (None)."""

    start: Optional[dt.datetime] = None
    end: Optional[dt.datetime] = None

    def __post_init__(self) -> None:
        for name in ("start", "end"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                object.__setattr__(self, name, value.replace(tzinfo=UTC))
        if self.start is not None and self.end is not None and self.start >= self.end:
            raise ConfigError(
                f"empty time window: start {format_time(self.start)} is not before end {format_time(self.end)}"
            )

    @classmethod
    def parse(cls, start: Optional[str], end: Optional[str]) -> "TimeWindow":
        return cls(parse_time(start) if start else None, parse_time(end) if end else None)

    @property
    def bounded(self) -> bool:
        return self.start is not None and self.end is not None

    def overlaps(self, lo: dt.datetime, hi: dt.datetime) -> bool:
        """True when ``[lo, hi)`` intersects this window."""
        if self.start is not None and hi <= self.start:
            return False
        if self.end is not None and lo >= self.end:
            return False
        return True

    def extended_back(self, lookback: dt.timedelta) -> "TimeWindow":
        """The same window with its start moved back by ``lookback``."""
        if self.start is None or not lookback:
            return self
        return TimeWindow(self.start - lookback, self.end)

    def __str__(self) -> str:
        lo = format_time(self.start) if self.start else "-inf"
        hi = format_time(self.end) if self.end else "+inf"
        return f"[{lo}, {hi})"

    def to_dict(self) -> dict:
        return {
            "start": format_time(self.start) if self.start else None,
            "end": format_time(self.end) if self.end else None,
        }
