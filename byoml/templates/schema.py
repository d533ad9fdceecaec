"""Declared output schemas: Spark DDL text, read without a Spark session.

A template declares its output columns as DDL (``"TimeGenerated timestamp, AnomalyScore double"``);
:func:`parse_ddl` reads it, :func:`la_type` maps each type to its Log Analytics column type (what
the DCR stream declares) and :func:`schema_differences` compares a scored DataFrame's schema with it.

>>> parse_ddl("TimeGenerated timestamp, `DataType` string, Tags array<string>")
[('TimeGenerated', 'timestamp'), ('DataType', 'string'), ('Tags', 'array<string>')]
>>> la_type("bigint"), la_type("double"), la_type("map<string,int>")
('long', 'real', 'dynamic')
"""
from __future__ import annotations

from typing import List, Sequence, Tuple

# Spark's simpleString names of the types byoml writes, with their DDL synonyms
_SYNONYMS = {"long": "bigint", "integer": "int", "short": "smallint", "byte": "tinyint", "bool": "boolean"}
_LA = {
    "timestamp": "datetime", "timestamp_ntz": "datetime", "date": "datetime",
    "double": "real", "float": "real", "bigint": "long", "int": "int", "smallint": "int", "tinyint": "int",
    "boolean": "boolean", "string": "string",
}


def _split_top_level(text: str) -> List[str]:
    parts, depth, current = [], 0, []
    for ch in text:
        if ch in "<(":
            depth += 1
        elif ch in ">)":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]


def normalize_type(spark_type: str) -> str:
    """A Spark type name as ``DataType.simpleString()`` writes it (``long`` -> ``bigint``)."""
    text = spark_type.strip().lower()
    if text.startswith("decimal"):
        return text.replace(" ", "")
    return _SYNONYMS.get(text, text.replace(" ", ""))


def parse_ddl(ddl: str) -> List[Tuple[str, str]]:
    """``"a int, `b c` string"`` -> ``[("a", "int"), ("b c", "string")]`` (types normalised)."""
    columns = []
    for part in _split_top_level(ddl or ""):
        if part.startswith("`"):
            end = part.index("`", 1)
            name, rest = part[1:end], part[end + 1:]
        else:
            name, _, rest = part.partition(" ")
        if not rest.strip():
            raise ValueError(f"column '{name}' of the declared schema has no type")
        columns.append((name, normalize_type(rest)))
    return columns


def la_type(spark_type: str) -> str:
    """The Log Analytics column type holding values of a Spark type."""
    t = normalize_type(spark_type)
    if t.startswith(("array", "map", "struct")):
        return "dynamic"
    if t.startswith("decimal"):
        return "real"
    if t not in _LA:
        raise ValueError(f"no Log Analytics column type for Spark type '{spark_type}'")
    return _LA[t]


def schema_differences(actual: Sequence[Tuple[str, str]], declared: Sequence[Tuple[str, str]]) -> List[str]:
    """What differs between two (column, type) lists, one sentence each (empty: the same columns)."""
    have, want = dict(actual), dict(declared)
    problems = [f"column {n} is written but not declared" for n in have if n not in want]
    problems += [f"declared column {n} is not written" for n in want if n not in have]
    problems += [f"column {n} is written as {have[n]}, declared as {want[n]}"
                 for n in have if n in want and normalize_type(have[n]) != normalize_type(want[n])]
    return problems


def dataframe_columns(df) -> List[Tuple[str, str]]:
    """(column, simpleString type) of a Spark DataFrame's schema."""
    return [(f.name, f.dataType.simpleString()) for f in df.schema.fields]
