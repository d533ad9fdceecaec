"""Lines that Spark does not read from paths: the executors fetch them (``https://`` Blob exports).

The reader takes either Spark paths or a :class:`RemoteLines`; both end as the same frame of
``value``, ``_file`` and ``_line`` that the one parser reads.
"""
from __future__ import annotations

import json
from abc import ABC, abstractmethod
from typing import Dict, Iterable, Sequence

INFER_SAMPLE_LINES = 10_000
_PYTHON_TYPES = ((bool, "boolean"), (int, "long"), (float, "double"))


class RemoteLines(ABC):
    """Files whose numbered lines come as a DataFrame (no path Spark reads)."""

    @abstractmethod
    def __len__(self) -> int:
        """How many files (or byte ranges of files)."""

    @abstractmethod
    def lines(self, spark):
        """``value`` (the line), ``_file`` (where it is) and ``_line`` (1-based, blank lines counted)."""

    @abstractmethod
    def only(self, files: Sequence[str]) -> "RemoteLines":
        """The files among these ``_file`` values (the quarantine reads the files with bad lines again)."""

    def infer_schema(self, spark) -> Dict[str, str]:
        """Column types of an undeclared table, from the first lines of the files (see :func:`infer_types`)."""
        sample = self.lines(spark).orderBy("_file", "_line").limit(INFER_SAMPLE_LINES).select("value").collect()
        return infer_types(row["value"] for row in sample)


def infer_types(lines: Iterable[str]) -> Dict[str, str]:
    """Column types of JSON lines (``{"records":[...]}`` bodies unwrapped), as the reader declares them.

    Integers are ``long``, numbers ``double`` (also where integers mix with them), ``true``/``false``
    ``boolean``; anything else, and any other mix, ``string``. ``TimeGenerated`` is a timestamp.

    >>> infer_types(['{"a": 1, "b": 1.5, "c": "x"}', '{"a": 2.5, "b": 2, "d": true}', 'not json'])
    {'a': 'double', 'b': 'double', 'c': 'string', 'd': 'boolean', 'TimeGenerated': 'timestamp'}
    """
    types: Dict[str, str] = {}
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        records = record.get("records") if isinstance(record, dict) else None
        for item in records if isinstance(records, list) else [record]:
            if not isinstance(item, dict):
                continue
            for name, value in item.items():
                if value is None:
                    continue
                found = next((t for py, t in _PYTHON_TYPES if isinstance(value, py)), "string")
                seen = types.get(name, found)
                types[name] = found if seen == found else ("double" if {seen, found} == {"long", "double"} else "string")
    types["TimeGenerated"] = "timestamp"
    return types
