"""One suite over every registered template, built-in or a user's: the scikit-learn check_estimator idea."""
from __future__ import annotations

import datetime as dt
import math
import pathlib
import sys

import pytest

from byoml.errors import ByomlError, ConfigError, ModelError
from byoml.sources import LocalExportSource
from byoml.templates import RunInfo, available, get_template, load_model, save_model
from byoml.templates.store import read_metadata
from byoml.timewindow import UTC, TimeWindow

EXAMPLES = pathlib.Path(__file__).resolve().parents[1] / "templates" / "examples"
sys.path.insert(0, str(EXAMPLES))

TEMPLATES = sorted(available()) + ["off_hours:OffHours"]
RUN_TIME = dt.datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def samples(request):
    return {"resource-access": request.getfixturevalue("access_sample"), "usage": request.getfixturevalue("usage_sample")}


def _prepared(spark, template, root, window: TimeWindow):
    read_window = window.extended_back(template.score_lookback)
    result = LocalExportSource(str(root)).read(
        spark, template.input_table, read_window, template.columns(), template.required_columns())
    result.check()
    return template.summarize(template.prepare(result.df))


def _windows(labels):
    tw, sw = labels["train_window"], labels["score_window"]
    return TimeWindow.parse(tw["start"], tw["end"]), TimeWindow.parse(sw["start"], sw["end"])


def _rows(df):
    pdf = df.toPandas()
    keys = [c for c in pdf.columns if pdf[c].dtype.kind != "f"]
    return pdf.sort_values(keys).reset_index(drop=True)


def _assert_same_rows(a, b):
    """Same rows; floating-point columns equal to 1e-9 (Spark sums in no fixed order, so the last bits
    of an aggregate may differ between two runs of the same seeded fit)."""
    floats = [c for c in a.columns if a[c].dtype.kind == "f"]
    assert list(a.columns) == list(b.columns) and len(a) == len(b)
    assert a.drop(columns=floats).equals(b.drop(columns=floats))
    for c in floats:
        assert a[c].isna().equals(b[c].isna()), c
        assert ((a[c] - b[c]).abs().max() if a[c].notna().any() else 0.0) < 1e-9, c


@pytest.fixture(scope="module", params=TEMPLATES)
def fitted(request, spark, samples):
    template = get_template(request.param)
    root, labels = samples[template.sample_data]
    train_w, score_w = _windows(labels)
    model = template.fit(_prepared(spark, template, root, train_w), train_w)
    run = RunInfo("run-1", RUN_TIME, score_w, "test-model")
    return template, model, root, labels, run


def test_output_has_the_contract_columns_and_finite_scores(spark, fitted):
    template, model, root, labels, run = fitted
    out = model.score(_prepared(spark, template, root, run.window), run)
    for column in ("TimeGenerated", "AnomalyScore"):
        assert column in out.columns
    pdf = out.toPandas()
    assert len(pdf) > 0
    assert all(isinstance(v, float) and math.isfinite(v) for v in pdf["AnomalyScore"]), "scores must be finite"
    flagged = out.filter(model.anomaly_condition()).count()
    assert 0 < flagged < len(pdf), "a template on labelled sample data flags some rows, not all"


def test_save_load_round_trip_scores_identically(spark, fitted, tmp_path):
    template, model, root, labels, run = fitted
    prepared = _prepared(spark, template, root, run.window)
    before = _rows(model.score(prepared, run))
    save_model(model, str(tmp_path / "model"))
    meta = read_metadata(str(tmp_path / "model"))
    assert meta["template"] == template.name and meta["format_version"] == template.version
    assert meta["params"] == template.params()
    loaded = load_model(template, str(tmp_path / "model"), spark)
    after = _rows(loaded.score(prepared, run))
    _assert_same_rows(before, after)


def test_fit_is_deterministic(spark, fitted):
    template, model, root, labels, run = fitted
    train_w, _ = _windows(labels)
    again = template.fit(_prepared(spark, template, root, train_w), train_w)
    prepared = _prepared(spark, template, root, run.window)
    a, b = _rows(model.score(prepared, run)), _rows(again.score(prepared, run))
    _assert_same_rows(a, b)


def test_empty_training_data_is_a_clear_error(spark, fitted):
    template, model, root, labels, run = fitted
    train_w, _ = _windows(labels)
    empty = _prepared(spark, template, root, train_w).limit(0)
    with pytest.raises(ByomlError):
        template.fit(empty, train_w)


@pytest.mark.parametrize("name", TEMPLATES)
def test_unknown_config_option_is_refused(name):
    with pytest.raises(ConfigError, match="unknown .* option"):
        get_template(name, {"no_such_option": 1})


def test_loading_another_templates_model_is_refused(spark, fitted, tmp_path):
    template, model, *_ = fitted
    save_model(model, str(tmp_path / "m"))
    other = next(n for n in TEMPLATES if get_template(n).name != template.name)
    with pytest.raises(ModelError, match=f"trained by template '{template.name}'"):
        load_model(get_template(other), str(tmp_path / "m"), spark)
