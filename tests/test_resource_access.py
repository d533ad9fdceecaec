"""anomalous-resource-access: quality floor on fixed seeds, the classic cases, the output contract."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from byoml.errors import ConfigError
from byoml.evaluate import load_scores, resource_access_metrics
from byoml.run import score, train
from byoml.sample_data import generate
from byoml.templates import get_template
from byoml.templates.resource_access import PATHS

TEMPLATE = "anomalous-resource-access"
SEEDS = (1, 2, 5)  # 5: a sweep across only three departments (a mean affinity left it unflagged)


@pytest.fixture(scope="module", params=SEEDS)
def scored(request, tmp_path_factory, spark):
    root = tmp_path_factory.mktemp(f"ara-{request.param}")
    labels = generate("resource-access", str(root / "export"), users=300, days=28, seed=request.param,
                      layout="hourly")
    train(TEMPLATE, str(root / "export"), str(root / "model"), end=labels["train_window"]["end"], spark=spark)
    summary = score(TEMPLATE, str(root / "export"), str(root / "model"), str(root / "sink"), emit="all", spark=spark)
    rows = load_scores(str(root / "sink"), "AnomalousResourceAccessResult")
    return labels, rows, summary


def _joined(labels, rows):
    truth = pd.DataFrame(labels["pairs"])
    truth["key"] = truth["Account"].str.lower() + "|" + ("\\\\" + truth["Computer"] + truth["ShareName"].str[3:]).str.lower()
    rows = rows.assign(key=rows["Account"].str.lower() + "|" + rows["Resource"].str.lower())
    return truth.merge(rows, on="key", how="left", suffixes=("", "_out"))


def test_quality_floor(scored):
    labels, rows, _ = scored
    m = resource_access_metrics(rows, labels)
    assert m["unscored_pairs"] == 0
    assert m["roc_auc_new_pairs_known_users"] >= 0.95, m
    assert m["precision_at_k"] >= 0.8, m
    assert m["new_user_normal_flag_rate"] <= 0.05, m
    assert m["roc_auc_novel_anomalies_vs_normal"] >= 0.95, m


def test_classic_cases(scored):
    labels, rows, _ = scored
    j = _joined(labels, rows)
    threshold = get_template(TEMPLATE).config.threshold
    normal = j[j["label"] == 0]["AnomalyScore"]
    high = np.percentile(normal, 99)
    sweep = j[j["kind"] == "new_account_sweep"]
    assert len(sweep) >= 6 and (sweep["ScoringPath"].str.startswith("new_user")).all()
    assert sweep["IsAnomaly"].all(), "a new account sweeping departments is flagged"
    assert (sweep["AnomalyScore"] > high).mean() >= 0.8
    outsider = j[j["kind"] == "outsider_new_share"]
    assert len(outsider) >= 1 and (outsider["ScoringPath"] == "new_resource").all()
    assert (outsider["AnomalyScore"] >= threshold).all(), "an outsider's first touch of a new share scores high"
    hires = j[(j["label"] == 0) & j["user_new"]]
    assert len(hires) >= 5
    assert (hires["AnomalyScore"] < threshold).mean() >= 0.95, "new hires using their department's shares score low"


def test_output_contract(scored):
    labels, rows, summary = scored
    required = ["TimeGenerated", "WindowStart", "WindowEnd", "TenantId", "Account", "Computer", "ShareName", "Resource",
                "AccessCount", "FirstSeen", "LastSeen", "AnomalyScore", "IsAnomaly", "ScoringPath", "Explanation",
                "ModelVersion", "RunId"]
    assert set(required) <= set(rows.columns)
    assert rows[required].notna().all().all()
    assert np.isfinite(rows["AnomalyScore"].astype(float)).all()
    assert set(rows["ScoringPath"]) <= {"known_pair", "new_pair", "new_resource", "new_user", "new_user_new_resource"}
    assert (rows["IsAnomaly"] == (rows["AnomalyScore"] >= 2.5)).all()
    assert len(rows) == summary.counts["scored"] == len(labels["pairs"])
    seen = rows[rows["ScoringPath"] == "known_pair"]
    assert len(seen) > 0.5 * len(rows) and not seen["IsAnomaly"].any(), "pairs seen in training are normal"
    assert seen["Explanation"].str.startswith("usual resources: ").all()
    j = _joined(labels, rows)
    assert (j["pair_new"] == (j["ScoringPath"] != "known_pair")).all(), "ScoringPath marks pairs seen in training"


def test_tenants_are_scored_separately(spark, access_sample, tmp_path):
    root, labels = access_sample
    assert len(labels["tenants"]) == 2
    train(TEMPLATE, str(root), str(tmp_path / "m"), end=labels["train_window"]["end"], spark=spark)
    cal = spark.read.parquet(str(next((tmp_path / "m").glob("m-*")) / "tables" / "calibration")).toPandas()
    assert set(cal["TenantId"]) == set(labels["tenants"]) and len(cal) == 2 * len(PATHS)
    score(TEMPLATE, str(root), str(tmp_path / "m"), str(tmp_path / "s"), emit="all", spark=spark)
    rows = load_scores(str(tmp_path / "s"), "AnomalousResourceAccessResult")
    domains = {t: set() for t in labels["tenants"]}
    for tenant, explanation in zip(rows["TenantId"], rows["Explanation"]):
        domains[tenant].update(w.split("\\")[0] for w in explanation.replace(",", " ").split() if "\\" in w and not w.startswith("\\\\"))
    first, second = (domains[t] for t in labels["tenants"])
    assert first and second and first.isdisjoint(second), "explanations only name users of the row's own tenant"


@pytest.mark.parametrize("options,message", [
    ({"strength": "loud"}, "strength must be one of"),
    ({"rank": 1}, "rank must be"),
    ({"event_ids": []}, "event_ids must list"),
    ({"als_blocks": -1}, "als_blocks must be"),
])
def test_config_checks(options, message):
    with pytest.raises(ConfigError, match=message):
        get_template(TEMPLATE, options)


@pytest.mark.parametrize("partitions,blocks", [("4", 2), ("1", 1), ("200", 10)])
def test_als_blocks_follow_the_shuffle_partitions(spark, partitions, blocks):
    from byoml.templates.resource_access.embedding import auto_blocks

    before = spark.conf.get("spark.sql.shuffle.partitions")
    spark.conf.set("spark.sql.shuffle.partitions", partitions)
    try:
        assert auto_blocks(spark) == blocks
    finally:
        spark.conf.set("spark.sql.shuffle.partitions", before)


def _training_days(spark, access_sample, options):
    """The template, its training window and the sample's training rows (its daily summary)."""
    from byoml.sources import LocalExportSource
    from byoml.timewindow import TimeWindow

    root, labels = access_sample
    window = TimeWindow.parse(labels["train_window"]["start"], labels["train_window"]["end"])
    template = get_template(TEMPLATE, options)
    read = LocalExportSource(str(root)).read(spark, template.input_table, window, template.columns(),
                                             template.required_columns(), build=lambda df: template.summarize(template.prepare(df)))
    return template, window, read.df


def _calibration(template, window, frame):
    cal = template.fit(frame, window).calibration_.toPandas()
    return cal.sort_values(["TenantId", "path"]).reset_index(drop=True)


def test_calibration_sample_does_not_depend_on_row_order(spark, access_sample):
    """Past ``calibration_pairs`` training rows, whole user-days are sampled by a seeded hash of
    their key: the same days (and so the same calibration) however Spark partitions the rows."""
    template, window, daily = _training_days(spark, access_sample, {"calibration_pairs": 400})
    assert daily.count() > 1000, "the sample must be a real subset"

    def calibration(frame):
        return _calibration(template, window, frame)

    a, b = calibration(daily), calibration(daily.repartition(3, "UserKey").sortWithinPartitions("Day"))
    assert len(a) == 2 * len(PATHS)
    user_days = a[a["path"] == "new_user_day"]["n"]
    assert (user_days > 0).all() and user_days.sum() < daily.select("TenantId", "UserKey", "Day").distinct().count()
    assert a[["TenantId", "path", "n"]].equals(b[["TenantId", "path", "n"]])
    assert np.allclose(a["mean"], b["mean"], atol=1e-9) and np.allclose(a["std"], b["std"], atol=1e-9)


def test_metrics_count_new_users_normal_pairs_and_their_flags():
    """The evaluation's counts of new users' normal pairs, so a rate can be pooled over seeds."""
    def pair(account, share, label, user_new):
        return {"TenantId": "t", "Account": account, "Computer": "FS1", "ShareName": share, "label": label,
                "kind": "sweep" if label else "normal", "pair_new": True, "user_new": user_new, "resource_new": False}

    labels = {"pairs": [pair("new", "A", 0, True), pair("new", "B", 0, True), pair("new", "C", 1, True),
                        pair("old", "A", 0, False), pair("old", "D", 1, False)]}
    scores = pd.DataFrame({
        "TenantId": ["t"] * 5, "Account": ["NEW", "new", "new", "old", "old"],  # accounts are case-folded
        "Computer": ["FS1"] * 5, "ShareName": ["A", "B", "C", "A", "D"],
        "AnomalyScore": [3.0, 0.1, 4.0, 0.2, 5.0], "IsAnomaly": [True, False, True, False, True],
    })
    m = resource_access_metrics(scores, labels)
    assert (m["new_user_normal_pairs"], m["new_user_normal_flagged"]) == (2, 1)
    assert m["new_user_normal_flag_rate"] == 0.5
    assert m["flagged"] == 3 and m["precision_at_k"] == 1.0


def test_calibration_is_the_same_whether_the_model_tables_are_broadcast(spark, access_sample, monkeypatch):
    """Up to ``BROADCAST_ITEMS`` resources the calibration sends the small model tables to every task;
    past it Spark joins them as it plans: the same statistics either way."""
    from byoml.templates.resource_access import calibration as module

    template, window, daily = _training_days(spark, access_sample, {})
    broadcast = _calibration(template, window, daily)
    monkeypatch.setattr(module, "BROADCAST_ITEMS", 0)
    planned = _calibration(template, window, daily)
    assert broadcast[["TenantId", "path", "n"]].equals(planned[["TenantId", "path", "n"]])
    assert np.allclose(broadcast["mean"], planned["mean"], atol=1e-12)
    assert np.allclose(broadcast["std"], planned["std"], atol=1e-12)
