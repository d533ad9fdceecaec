"""Quality of ``masquerading-process`` output against the process-creation sample's ground truth.

A labelled masquerade (a (tenant, computer, process path) row of ``labels.json``) is *detected* when
its row is flagged (``IsAnomaly``) with the reason its kind calls for among its ``Reason``s; it is
*flagged* when its row is flagged at all. A *false flag* is a flagged row that is no masquerade:
a benign look-alike of the labels (SysWOW64 copies, vendor binaries, per-user installs, Windows
binaries near each other) or any other row. Works on ``--emit anomalies`` output as well as ``all``.
"""
from __future__ import annotations

from typing import Any, Dict

import pandas as pd

from .errors import ConfigError

NEEDED = {"TenantId", "Computer", "ProcessPath", "IsAnomaly", "Reason"}


def _key(frame: pd.DataFrame) -> pd.Series:
    return (frame["TenantId"].astype(str) + "|" + frame["Computer"].astype(str).str.lower() + "|"
            + frame["ProcessPath"].astype(str).str.lower())


def process_metrics(scores: pd.DataFrame, labels: dict) -> Dict[str, Any]:
    """Recall per injected kind, false flags (by benign kind), precision of the flags."""
    missing = NEEDED - set(scores.columns)
    if missing:
        raise ConfigError(f"scored rows lack column(s) {sorted(missing)}; is this a masquerading-process output?")
    if "RunId" in scores and scores["RunId"].nunique() > 1:
        raise ConfigError(f"the scored rows come from {scores['RunId'].nunique()} runs; evaluate one run's output "
                          "(score into an empty sink folder)")
    truth = pd.DataFrame(labels.get("rows") or [])
    if truth.empty or not truth["label"].any():
        raise ConfigError("the labels hold no injected masquerade")
    truth = truth.assign(key=_key(truth)).drop_duplicates("key")
    scores = scores.assign(key=_key(scores)).drop_duplicates("key")
    flagged = scores[scores["IsAnomaly"].astype(bool)]
    merged = truth.merge(flagged[["key", "Reason", "AnomalyScore"]], on="key", how="left")
    malicious = merged[merged["label"] == 1]
    reasons = malicious["Reason"].fillna("").str.split(",")
    hit = [want in got for want, got in zip(malicious["reason"], reasons)]
    malicious = malicious.assign(detected=hit, flagged=malicious["Reason"].notna())
    by_kind = {}
    for kind in labels.get("kinds") or sorted(malicious["kind"].unique()):
        rows = malicious[malicious["kind"] == kind]
        by_kind[kind] = {"rows": int(len(rows)), "detected": int(rows["detected"].sum()),
                         "recall": float(rows["detected"].mean()) if len(rows) else None,
                         "missed": sorted(rows.loc[~rows["detected"], "ProcessPath"].tolist())}
    bad_keys = set(truth.loc[truth["label"] == 1, "key"])
    false = flagged[~flagged["key"].isin(bad_keys)]
    benign = truth[truth["label"] == 0].set_index("key")["kind"]
    false_kinds = false["key"].map(benign).fillna("other")
    n_flagged, n_true = int(len(flagged)), int(len(flagged) - len(false))
    return {
        "masquerade_rows": int(len(malicious)),
        "detected": int(malicious["detected"].sum()),
        "recall": float(malicious["detected"].mean()),
        "min_recall_per_kind": min((v["recall"] for v in by_kind.values() if v["recall"] is not None), default=None),
        "flagged": n_flagged,
        "false_flags": int(len(false)),
        "precision": n_true / n_flagged if n_flagged else None,
        "false_flags_by_kind": {k: int(v) for k, v in false_kinds.value_counts().sort_index().items()},
        "benign_lookalike_rows": int((truth["label"] == 0).sum()),
        "by_kind": by_kind,
        "false_flag_examples": sorted(false["ProcessPath"].astype(str).unique().tolist())[:20],
    }
