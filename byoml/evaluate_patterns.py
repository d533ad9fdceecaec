"""Quality of ``log-patterns`` output: grouping accuracy against loghub, flags against sample incidents.

* **Grouping accuracy** (labels of kind ``loghub``, scores of ``--emit records``): a line is right
  when the set of lines given its mined pattern is exactly the set of lines that share its
  true ``EventId`` (Zhu et al., ICSE-SEIP 2019: the measure loghub's parsers are compared by).
* **Flags** (labels of kind ``log-patterns``, scores of ``--emit all``): an injected incident
  is found when a row of its group, inside its hours, whose ``ExampleMessage`` matches its
  ``match``, is flagged for its kind (``new_pattern`` or ``surge``); a flagged row no incident
  explains is a false flag, counted per 100 pattern-hours (rows written).
"""
from __future__ import annotations

import re
from typing import Any, Dict, List

import pandas as pd

from .errors import ConfigError


def grouping_accuracy(truth, predicted) -> float:
    """Share of lines whose predicted group is exactly their true group.

    >>> grouping_accuracy(["a", "a", "b", "c"], [1, 1, 2, 2])
    0.5
    """
    df = pd.DataFrame({"t": list(truth), "p": list(predicted)})
    if df.empty:
        raise ConfigError("no lines to measure grouping accuracy on")
    sizes = df["t"].value_counts()
    per_group = df.groupby("p")["t"].agg(["nunique", "first", "size"])
    right = per_group[(per_group["nunique"] == 1) & (per_group["first"].map(sizes) == per_group["size"])]
    return float(right["size"].sum()) / len(df)


def loghub_metrics(scores: pd.DataFrame, labels: dict) -> Dict[str, Any]:
    """Grouping accuracy of ``--emit records`` rows against the labels' true ``EventId`` per ``EventOriginId``."""
    needed = {"EventOriginId", "PatternId"}
    if not needed <= set(scores.columns):
        raise ConfigError(f"scored rows lack {sorted(needed - set(scores.columns))}: score with '--emit records' to evaluate "
                          "grouping accuracy")
    truth = pd.Series(labels["truth"], name="EventId")
    rows = scores.drop_duplicates("EventOriginId").set_index("EventOriginId")["PatternId"]
    joined = pd.concat([truth, rows], axis=1, join="outer")
    missing = int(joined["PatternId"].isna().sum())
    unknown = int(joined["EventId"].isna().sum())
    if unknown == len(joined):
        raise ConfigError("none of the scored records is a line of the labelled log: were they scored from its export?")
    joined = joined[joined["EventId"].notna()]
    predicted = joined["PatternId"].fillna("(not scored)")
    return {
        "dataset": labels.get("dataset", ""),
        "lines": int(len(joined)),
        "grouping_accuracy": grouping_accuracy(joined["EventId"], predicted),
        "patterns": int(joined["PatternId"].nunique()),
        "true_events": int(joined["EventId"].nunique()),
        "unscored_lines": missing,
    }


def incident_metrics(scores: pd.DataFrame, labels: dict, keys: List[str]) -> Dict[str, Any]:
    """Recall per incident kind and false flags per 100 pattern-hours (scores of ``--emit all``)."""
    needed = {"TimeGenerated", "IsAnomaly", "AnomalyReason", "ExampleMessage", *keys}
    if not needed <= set(scores.columns):
        raise ConfigError(f"scored rows lack {sorted(needed - set(scores.columns))}; is this a log-patterns output?")
    if scores["IsAnomaly"].astype(bool).all():
        raise ConfigError("the scored rows hold only anomalies: re-run 'byoml score' with '--emit all' to evaluate")
    rows = scores.assign(_t=pd.to_datetime(scores["TimeGenerated"], utc=True), _flag=scores["IsAnomaly"].astype(bool))
    explained = pd.Series(False, index=rows.index)
    found: Dict[str, List[bool]] = {}
    for incident in labels.get("incidents", []):
        mine = pd.Series(True, index=rows.index)
        for k in keys:
            mine &= rows[k].astype(str) == str(incident[k])
        start, end = pd.Timestamp(incident["start"]), pd.Timestamp(incident["end"])
        mine &= (rows["_t"] >= start) & (rows["_t"] < end)
        mine &= rows["ExampleMessage"].astype(str).map(lambda m, rx=re.compile(incident["match"]): bool(rx.search(m)))
        reason = "new_pattern" if incident["kind"] == "new_pattern" else "surge"
        hit = mine & rows["_flag"] & (rows["AnomalyReason"] == reason)
        explained |= mine & rows["_flag"]
        found.setdefault(incident["kind"], []).append(bool(hit.any()))
    false = int((rows["_flag"] & ~explained).sum())
    out: Dict[str, Any] = {"pattern_hours": int(len(rows)), "flagged": int(rows["_flag"].sum()), "false_flags": false,
                           "false_flags_per_100_pattern_hours": 100.0 * false / max(1, len(rows))}
    for kind, hits in sorted(found.items()):
        out[f"{kind}_incidents"] = len(hits)
        out[f"{kind}_recall"] = sum(hits) / len(hits)
    hits = [h for v in found.values() for h in v]
    out["recall"] = sum(hits) / len(hits) if hits else None
    return out


def evaluate_log_patterns(scores: pd.DataFrame, labels: dict, keys: List[str]) -> Dict[str, Any]:
    """The figures for the labels' kind: ``loghub`` (grouping accuracy) or ``log-patterns`` (flags)."""
    kind = labels.get("kind")
    if kind == "loghub":
        return loghub_metrics(scores, labels)
    if kind == "log-patterns":
        return incident_metrics(scores, labels, keys)
    raise ConfigError(f"log-patterns is evaluated on labels of kind loghub or log-patterns, not '{kind}'")
