"""Usage templates end to end through the CLI, quality floors on fixed seeds and on the real NAB series."""
from __future__ import annotations

import json

import pandas as pd
import pytest

from byoml.cli import main
from byoml.evaluate_series import NAB_STANDARD, scaled_sigmoid, window_flags

from .conftest import shared_data

TEMPLATES = ["usage-regression", "series-decompose"]


def _rows(flags, start="2026-01-01"):
    return pd.DataFrame({"DataType": "A", "Anomalies": flags,
                         "TimeGenerated": pd.date_range(start, periods=len(flags), freq="h", tz="UTC")})


WINDOW = [{"DataType": "A", "start": "2026-01-01T10:00:00Z", "end": "2026-01-01T20:00:00Z"}]


def test_nab_score_null_perfect_and_false_flags():
    none = window_flags(_rows([0] * 48), WINDOW)
    assert none["nab_score"] == 0.0 and none["window_recall"] == 0.0
    first = [0] * 48
    first[10] = 1
    perfect = window_flags(_rows(first), WINDOW)
    assert perfect["nab_score"] == pytest.approx(100.0) and perfect["false_flags"] == 0
    late = [0] * 48
    late[19] = 1
    assert 50.0 < window_flags(_rows(late), WINDOW)["nab_score"] < perfect["nab_score"]
    noisy = list(first)
    noisy[2] = noisy[40] = 1  # one before the window (full A_FP), one long after it
    m = window_flags(_rows(noisy), WINDOW)
    assert m["false_flags"] == 2
    expected_raw = 1.0 + NAB_STANDARD["fp"] * 1.0 + NAB_STANDARD["fp"] * -scaled_sigmoid((40 - 19) / 9)
    assert m["nab_raw"] == pytest.approx(expected_raw)
    assert m["false_flags_per_1000_bins"] == pytest.approx(1000 * 2 / 48)


def test_usage_metrics_rejects_anomalies_only_output():
    from byoml.errors import ConfigError
    from byoml.evaluate_series import usage_metrics

    with pytest.raises(ConfigError, match="--emit all"):
        usage_metrics(_rows([1, -1]), {"windows": WINDOW})


@pytest.mark.parametrize("name", TEMPLATES)
def test_cli_end_to_end_with_quality_floor(name, tmp_path, spark):
    """sample-data -> train -> score -> evaluate; fixed seed, the figures must stay above a floor."""
    data, model, sink, out = (str(tmp_path / p) for p in ("data", "model", "sink", "m.json"))
    assert main(["sample-data", "--template", name, "--out", data, "--series", "20", "--days", "28", "--seed", "11"]) == 0
    labels = json.load(open(f"{data}/labels.json"))
    tw, sw = labels["train_window"], labels["score_window"]
    assert main(["train", "--template", name, "--source", data, "--model", model, "--start", tw["start"], "--end", tw["end"]]) == 0
    assert main(["score", "--template", name, "--source", data, "--model", model, "--sink", sink,
                 "--start", sw["start"], "--end", sw["end"], "--emit", "all"]) == 0
    assert main(["evaluate", "--template", name, "--scores", sink, "--labels", data, "--json", out]) == 0
    m = json.load(open(out))
    assert m["bins"] == 20 * 48 and m["windows"] == len(labels["windows"]) >= 6
    # floors well under the measured figures (seed 11: recall 0.5-0.83, NAB 45-80), far above a broken detector
    assert m["window_recall"] >= 0.5, m
    assert m["false_flags_per_1000_bins"] <= 10.0, m
    assert m["nab_score"] >= 40.0, m


def test_nab_series_resampled_and_shifted(tmp_path):
    from byoml.sample_data.nab import SPLIT, generate_nab, load_series

    nab = shared_data("nab")
    series = load_series(str(nab))
    assert len(series) == 11
    for s, _ in series.values():
        assert (s.index.to_series().diff().dropna() == pd.Timedelta(hours=1)).all() and s.notna().all()
    labels = generate_nab(str(tmp_path / "nab"), str(nab))
    assert labels["score_window"]["start"] == "2026-01-01T00:00:00Z" == labels["train_window"]["end"]
    assert len(labels["windows"]) == sum(len(w) for _, w in series.values())
    assert SPLIT.year == 2026


def _nab_metrics(tpl, labels, work, spark) -> dict:
    from byoml.evaluate import load_scores
    from byoml.run import score, train

    tw, sw = labels["train_window"], labels["score_window"]
    data = str(work.parent / "nab")
    train(tpl, data, str(work / "m"), tw["start"], tw["end"], spark=spark)
    score(tpl, data, str(work / "m"), str(work / "s"), sw["start"], sw["end"], emit="all", spark=spark)
    return tpl.evaluate(load_scores(str(work / "s"), tpl.output_table_name), labels)


@pytest.mark.parametrize("name", TEMPLATES)
def test_nab_real_series_quality(name, tmp_path, spark):
    """The real NAB series: train on the first 30%, score the rest; figures above a floor."""
    from byoml.sample_data.nab import generate_nab
    from byoml.templates import get_template

    labels = generate_nab(str(tmp_path / "nab"), str(shared_data("nab")))
    m = _nab_metrics(get_template(name, {"bad_series": "skip"}), labels, tmp_path / name, spark)
    assert m["windows"] >= 18
    assert m["window_recall"] >= 0.6
    assert m["false_flags_per_1000_bins"] <= 20.0
    assert m["nab_score"] >= 45.0


def test_nab_shipped_features_beat_notebook_features(tmp_path, spark):
    """usage-regression's features against the notebook's Year/Month/Day/Hour in the same template.

    Measured: recall 0.905 vs 0.857 (19 vs 18 windows), NAB score 66.7 vs 64.5; the shipped
    features flag a little more often (18.8 vs 16.8 false flags per 1,000 bins), which the NAB
    score charges. The sample data's side of the comparison is in benchmarks/usage_quality.py.
    """
    from benchmarks.baselines import NotebookFeatures
    from byoml.sample_data.nab import generate_nab
    from byoml.templates import get_template

    labels = generate_nab(str(tmp_path / "nab"), str(shared_data("nab")))
    ours = _nab_metrics(get_template("usage-regression", {"bad_series": "skip"}), labels, tmp_path / "ours", spark)
    theirs = _nab_metrics(NotebookFeatures({"bad_series": "skip"}), labels, tmp_path / "notebook", spark)
    assert ours["nab_score"] > theirs["nab_score"], (ours, theirs)
    assert ours["window_recall"] >= theirs["window_recall"], (ours, theirs)
    assert ours["false_flags_per_1000_bins"] <= 1.25 * theirs["false_flags_per_1000_bins"], (ours, theirs)


def test_usage_metrics_rejects_bins_scored_twice():
    from byoml.errors import ConfigError
    from byoml.evaluate_series import usage_metrics

    rows = _rows([0, 1, 0])
    with pytest.raises(ConfigError, match="more than once"):
        usage_metrics(pd.concat([rows, rows]), {"windows": WINDOW})
