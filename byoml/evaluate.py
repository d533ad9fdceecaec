"""Quality figures of a scored output against the ground truth of ``byoml sample-data``.

Shared by ``byoml evaluate``, the tests and the benchmarks. Scored outputs are
small (one row per pair or per bin of the scoring window), so they are read with pandas.
"""
from __future__ import annotations

import glob
import json
import os
from typing import Any, Dict, Optional

import numpy as np
import pandas as pd

from .errors import ConfigError


def load_labels(path: str) -> dict:
    """``labels.json`` written by ``byoml sample-data`` (or its folder), or a loghub ``*_structured.csv``."""
    if path.endswith(".csv"):
        from .sample_data.loghub import loghub_labels

        return loghub_labels(path)
    if os.path.isdir(path):
        path = os.path.join(path, "labels.json")
    if not os.path.exists(path):
        raise ConfigError(f"labels file '{path}' does not exist (it is written by 'byoml sample-data')")
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def load_scores(path: str, table: Optional[str] = None) -> pd.DataFrame:
    """Read the JSON Lines of a local ``_CL`` table folder (or of ``SINK/<table>_CL``)."""
    folder = path
    if table and not glob.glob(os.path.join(folder, "*.json")):
        folder = os.path.join(path, f"{table}_CL")
    files = sorted(glob.glob(os.path.join(folder, "*.json")))
    if not files:
        raise ConfigError(f"no scored rows (*.json) in '{folder}': run 'byoml score ... --emit all' first")
    frames = [pd.read_json(f, lines=True, dtype=False) for f in files if os.path.getsize(f) > 0]
    if not frames:
        raise ConfigError(f"the scored files in '{folder}' are empty")
    return pd.concat(frames, ignore_index=True)


def _resource_key(computer: pd.Series, share: pd.Series) -> pd.Series:
    share = share.astype(str)
    stripped = share.str.replace(r"^\\\\\*\\", "", regex=True)
    return ("\\\\" + computer.astype(str) + "\\" + stripped).str.lower()


def precision_recall_at_k(labels: np.ndarray, scores: np.ndarray, k: int) -> Dict[str, float]:
    order = np.argsort(-scores, kind="mergesort")[:k]
    hits = float(labels[order].sum())
    positives = float(labels.sum())
    return {"precision_at_k": hits / k if k else float("nan"), "recall_at_k": hits / positives if positives else float("nan")}


def _auc(labels: np.ndarray, scores: np.ndarray) -> Optional[float]:
    from sklearn.metrics import roc_auc_score

    if len(np.unique(labels)) < 2:
        return None
    return float(roc_auc_score(labels, scores))


def resource_access_metrics(scores: pd.DataFrame, labels: dict) -> Dict[str, Any]:
    """ROC-AUC overall and for the hard subsets, precision@k and recall@k (k = injected anomalies)."""
    truth = pd.DataFrame(labels["pairs"])
    if truth.empty:
        raise ConfigError("the labels hold no scored pairs")
    needed = {"TenantId", "Account", "AnomalyScore"}
    missing = needed - set(scores.columns)
    if missing:
        raise ConfigError(f"scored rows lack column(s) {sorted(missing)}; is this a resource-access output?")
    if "RunId" in scores and scores["RunId"].nunique() > 1:
        raise ConfigError(
            f"the scored rows come from {scores['RunId'].nunique()} runs; evaluate one run's output "
            "(score into an empty sink folder)"
        )
    if "IsAnomaly" in scores and scores["IsAnomaly"].all() and len(scores) < len(truth):
        raise ConfigError("the scored rows hold only anomalies: re-run 'byoml score' with '--emit all' to evaluate")
    truth["key"] = (truth["TenantId"].astype(str) + "|" + truth["Account"].str.lower() + "|"
                    + _resource_key(truth["Computer"], truth["ShareName"]))
    if "Resource" in scores:
        res = scores["Resource"].astype(str).str.lower()
    else:
        res = _resource_key(scores["Computer"], scores["ShareName"])
    scores = scores.assign(key=scores["TenantId"].astype(str) + "|" + scores["Account"].str.lower() + "|" + res)
    scores = scores.drop_duplicates("key")
    merged = truth.merge(scores[["key", "AnomalyScore"] + [c for c in ("IsAnomaly", "ScoringPath") if c in scores]],
                         on="key", how="left")
    unscored = int(merged["AnomalyScore"].isna().sum())
    floor = float(np.nanmin(merged["AnomalyScore"])) - 1.0 if merged["AnomalyScore"].notna().any() else 0.0
    merged["AnomalyScore"] = merged["AnomalyScore"].fillna(floor)
    y = merged["label"].to_numpy(dtype=int)
    s = merged["AnomalyScore"].to_numpy(dtype=float)
    k = int(y.sum())
    out: Dict[str, Any] = {
        "pairs": int(len(merged)),
        "anomalous_pairs": k,
        "unscored_pairs": unscored,
        "unlabelled_scored_rows": int(len(scores) - scores["key"].isin(truth["key"]).sum()),
        "roc_auc": _auc(y, s),
    }
    out.update(precision_recall_at_k(y, s, k))
    known_new = merged[merged["pair_new"] & ~merged["user_new"]]
    out["roc_auc_new_pairs_known_users"] = _auc(known_new["label"].to_numpy(dtype=int), known_new["AnomalyScore"].to_numpy(dtype=float))
    out["new_pairs_known_users"] = {"anomalous": int(known_new["label"].sum()), "normal": int((known_new["label"] == 0).sum())}
    novel = merged["user_new"] | merged["resource_new"]
    subset = merged[(novel & (merged["label"] == 1)) | (merged["label"] == 0)]
    out["roc_auc_novel_anomalies_vs_normal"] = _auc(subset["label"].to_numpy(dtype=int), subset["AnomalyScore"].to_numpy(dtype=float))
    if "IsAnomaly" in merged:
        flagged = merged["IsAnomaly"].eq(True)
        tp = int((flagged & (merged["label"] == 1)).sum())
        out["flagged"] = int(flagged.sum())
        out["flag_precision"] = tp / int(flagged.sum()) if flagged.any() else None
        out["flag_recall"] = tp / k if k else None
        new_user_normal = merged[merged["user_new"] & (merged["label"] == 0)]
        out["new_user_normal_pairs"] = int(len(new_user_normal))
        out["new_user_normal_flagged"] = int(new_user_normal["IsAnomaly"].eq(True).sum())
        out["new_user_normal_flag_rate"] = (
            out["new_user_normal_flagged"] / len(new_user_normal) if len(new_user_normal) else None
        )
        normal = merged[merged["label"] == 0]
        out["normal_flag_rate"] = float(normal["IsAnomaly"].eq(True).mean()) if len(normal) else None
    by_kind = {}
    for kind, grp in merged[merged["label"] == 1].groupby("kind"):
        normal_scores = merged.loc[merged["label"] == 0, "AnomalyScore"].to_numpy()
        # share of normal pairs each anomaly outranks, averaged: AUC of this kind against all normals
        ranks = [(normal_scores < v).mean() + 0.5 * (normal_scores == v).mean() for v in grp["AnomalyScore"]]
        by_kind[kind] = {"pairs": int(len(grp)), "auc_vs_normal": float(np.mean(ranks)) if len(normal_scores) else None}
    out["by_kind"] = by_kind
    return out


def evaluate_for_labels(scores: pd.DataFrame, labels: dict) -> Dict[str, Any]:
    kind = labels.get("kind")
    if kind == "resource-access":
        return resource_access_metrics(scores, labels)
    if kind == "usage":
        from .evaluate_series import usage_metrics

        return usage_metrics(scores, labels)
    if kind == "process-creation":
        from .evaluate_process import process_metrics

        return process_metrics(scores, labels)
    raise ConfigError(f"labels of kind '{kind}' are not supported")


def format_metrics(metrics: Dict[str, Any], indent: int = 2) -> str:
    """A readable rendering of nested metrics."""
    lines = []

    def walk(prefix: str, value: Any, depth: int) -> None:
        pad = " " * (indent * depth)
        if isinstance(value, dict):
            lines.append(f"{pad}{prefix}:") if prefix else None
            for k, v in value.items():
                walk(k, v, depth + (1 if prefix else 0))
        elif isinstance(value, float):
            lines.append(f"{pad}{prefix}: {value:.4f}")
        else:
            lines.append(f"{pad}{prefix}: {value}")

    walk("", metrics, 0)
    return "\n".join(lines)
