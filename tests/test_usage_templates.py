"""usage-regression and series-decompose: the behaviours every series template must have."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from byoml.errors import ConfigError, EmptyWindowError, MissingColumnError, SeriesError
from byoml.templates import RunInfo, get_template, load_model, save_model
from byoml.timewindow import UTC, TimeWindow

TEMPLATES = ["usage-regression", "series-decompose"]
START = dt.datetime(2026, 3, 2, tzinfo=UTC)  # a Monday
TRAIN = TimeWindow(START, START + dt.timedelta(days=12))
SCORE = TimeWindow(START + dt.timedelta(days=12), START + dt.timedelta(days=14))


def usage_rows(days: int = 14, types=("Syslog", "Perf", "SecurityEvent"), seed: int = 3) -> pd.DataFrame:
    """Usage-like rows: hourly MB per DataType with a daily rhythm, split in two rows per hour."""
    rng = np.random.default_rng(seed)
    hours = pd.date_range(START, periods=days * 24, freq="h")
    frames = []
    for i, name in enumerate(types):
        level = 50.0 * (i + 1)
        values = level * (1 + 0.5 * np.sin(2 * np.pi * (hours.hour - 6) / 24)) * rng.lognormal(0, 0.08, len(hours))
        for share in (0.8, 0.2):
            frames.append(pd.DataFrame({"TimeGenerated": hours, "DataType": name, "Quantity": values * share}))
    return pd.concat(frames, ignore_index=True)


def to_spark(spark, rows: pd.DataFrame):
    return spark.createDataFrame(rows, "TimeGenerated timestamp, DataType string, Quantity double")


def fit_score(spark, name, rows, config=None, window=SCORE):
    tpl = get_template(name, config or {})
    train = rows[(rows.TimeGenerated >= TRAIN.start) & (rows.TimeGenerated < TRAIN.end)]
    model = tpl.fit(tpl.prepare(to_spark(spark, train)), TRAIN)
    out = score_df(spark, model, rows, window)
    return tpl, model, out


def score_df(spark, model, rows, window=SCORE) -> pd.DataFrame:
    tpl = model.template
    lo = window.start - tpl.score_lookback
    read = rows[(rows.TimeGenerated >= lo) & (rows.TimeGenerated < window.end)]
    run = RunInfo(run_id="r1", run_time=window.end, window=window, model_version="v1")
    df = model.score(tpl.prepare(to_spark(spark, read)), run).toPandas()
    return df.sort_values(["DataType", "TimeGenerated"]).reset_index(drop=True)


@pytest.fixture(scope="module")
def rows():
    return usage_rows()


@pytest.mark.parametrize("name", TEMPLATES)
def test_output_columns_and_every_bin(spark, rows, name):
    _, _, out = fit_score(spark, name, rows)
    for col in ("TimeGenerated", "DataType", "ActualUsage", "PredictedUsage", "LowerBound", "UpperBound",
                "Residual", "AnomalyScore", "Anomalies", "ModelVersion", "RunId"):
        assert col in out.columns
    assert len(out) == 3 * 48  # every bin of every series
    assert set(out["Anomalies"].unique()) <= {-1, 0, 1}
    ok = out[out.SeriesStatus == "ok"]
    assert len(ok) == len(out)
    assert (ok.LowerBound <= ok.PredictedUsage).all() and (ok.PredictedUsage <= ok.UpperBound).all()
    flagged = ok.Anomalies != 0
    outside = (ok.ActualUsage < ok.LowerBound) | (ok.ActualUsage > ok.UpperBound)
    assert (flagged == outside).all()
    assert flagged.mean() < 0.05  # clean data: few flags


@pytest.mark.parametrize("name", TEMPLATES)
def test_deterministic(spark, rows, name):
    _, _, a = fit_score(spark, name, rows)
    _, _, b = fit_score(spark, name, rows)
    pd.testing.assert_frame_equal(a, b)


@pytest.mark.parametrize("name", TEMPLATES)
def test_save_load_round_trip(spark, rows, name, tmp_path):
    tpl, model, before = fit_score(spark, name, rows)
    save_model(model, str(tmp_path / "m"))
    loaded = load_model(tpl, str(tmp_path / "m"), spark)
    after = score_df(spark, loaded, rows)
    pd.testing.assert_frame_equal(before, after)
    with pytest.raises(Exception, match="access-rarity|trained by"):
        load_model(get_template("access-rarity"), str(tmp_path / "m"), spark)


@pytest.mark.parametrize("name", TEMPLATES)
def test_no_look_ahead(spark, rows, name):
    """Changing data after T changes no score of a bin before T."""
    tpl, model, before = fit_score(spark, name, rows)
    cut = SCORE.start + dt.timedelta(hours=30)
    changed = rows.copy()
    later = changed.TimeGenerated >= cut
    changed.loc[later, "Quantity"] *= 7.0
    after = score_df(spark, model, changed)
    early = before.TimeGenerated < pd.Timestamp(cut).tz_localize(None)
    cols = ["PredictedUsage", "LowerBound", "UpperBound", "AnomalyScore", "Anomalies"]
    pd.testing.assert_frame_equal(before.loc[early, cols], after.loc[early, cols])
    assert (after.loc[~early, "Anomalies"] != 0).sum() > (before.loc[~early, "Anomalies"] != 0).sum()


@pytest.mark.parametrize("name", TEMPLATES)
def test_silence_spike_and_drop_are_flagged(spark, rows, name):
    data = rows.copy()
    t = data.TimeGenerated
    silence = (data.DataType == "Perf") & (t >= SCORE.start + dt.timedelta(hours=10)) & (t < SCORE.start + dt.timedelta(hours=14))
    data = data[~silence]  # Perf stops: its rows are missing
    spike = (data.DataType == "Syslog") & (t == SCORE.start + dt.timedelta(hours=30))
    data.loc[spike, "Quantity"] *= 6
    _, _, out = fit_score(spark, name, data)

    def flags(dtype, lo, hi):
        sel = out[(out.DataType == dtype) & (out.TimeGenerated >= pd.Timestamp(lo).tz_localize(None))
                  & (out.TimeGenerated < pd.Timestamp(hi).tz_localize(None))]
        return sel.Anomalies.tolist(), sel.ActualUsage.tolist()

    f, actual = flags("Perf", SCORE.start + dt.timedelta(hours=10), SCORE.start + dt.timedelta(hours=14))
    assert actual == [0.0] * 4 and -1 in f
    f, _ = flags("Syslog", SCORE.start + dt.timedelta(hours=30), SCORE.start + dt.timedelta(hours=31))
    assert f == [1]


@pytest.mark.parametrize("name", TEMPLATES)
def test_series_that_stops_completely_is_scored(spark, rows, name):
    data = rows[~((rows.DataType == "Perf") & (rows.TimeGenerated >= SCORE.start))]
    _, _, out = fit_score(spark, name, data)
    perf = out[out.DataType == "Perf"]
    assert len(perf) == 48 and (perf.ActualUsage == 0).all() and (perf.Anomalies == -1).sum() >= 12


@pytest.mark.parametrize("name", TEMPLATES)
def test_too_short_series(spark, rows, name):
    short = rows[(rows.DataType == "Perf") & (rows.TimeGenerated >= TRAIN.end - dt.timedelta(hours=20))]
    with pytest.raises(SeriesError, match="too short.*Perf"):
        fit_score(spark, name, short)
    mixed = pd.concat([rows[rows.DataType != "Perf"], short])
    tpl, model, out = fit_score(spark, name, mixed, {"bad_series": "skip"})
    assert model.metadata["counts"] == {"series_ok": 2, "series_too_short": 1}
    assert set(out[out.DataType == "Perf"].SeriesStatus) == {"too_short"}
    assert (out[out.DataType == "Perf"].Anomalies == 0).all()


@pytest.mark.parametrize("name", TEMPLATES)
def test_constant_series(spark, rows, name):
    flat = rows[rows.DataType == "Perf"].copy()
    flat["Quantity"] = 5.0
    with pytest.raises(SeriesError, match="constant"):
        fit_score(spark, name, flat)


@pytest.mark.parametrize("name", TEMPLATES)
def test_bin_must_divide_the_window(spark, rows, name):
    tpl = get_template(name)
    odd = TimeWindow(TRAIN.start + dt.timedelta(minutes=30), TRAIN.end)
    with pytest.raises(ConfigError, match="does not divide"):
        tpl.fit(tpl.prepare(to_spark(spark, rows)), odd)
    with pytest.raises(ConfigError, match="not a whole number"):
        get_template(name, {"bin": "7h", "lookback": "1d"} if name == "series-decompose" else {"bin": "7h"}).lookback_bins  # noqa: B018


@pytest.mark.parametrize("name", TEMPLATES)
def test_config_errors(name):
    with pytest.raises(ConfigError, match="unknown"):
        get_template(name, {"no_such_option": 1})
    with pytest.raises(ConfigError, match="aggregation"):
        get_template(name, {"aggregation": "median"})
    with pytest.raises(ConfigError, match="quantiles"):
        get_template(name, {"quantiles": [0.9, 0.1]})


@pytest.mark.parametrize("name", TEMPLATES)
def test_empty_window_and_missing_column(spark, usage_sample, name, tmp_path):
    from byoml.run import train

    source, labels = usage_sample
    with pytest.raises(EmptyWindowError):
        train(name, str(source), str(tmp_path / "m"), "2020-01-01", "2020-01-02", spark=spark)
    day = labels["train_window"]["start"][:10]
    end = (pd.Timestamp(day) + pd.Timedelta(days=1)).strftime("%Y-%m-%d")
    with pytest.raises(MissingColumnError, match="Tenant"):
        train(name, str(source), str(tmp_path / "m"), day, end, config={"template": {"group_by": ["Tenant"]}}, spark=spark)


def test_series_decompose_any_table_and_aggregation(spark):
    """Counts of events per computer in 1h bins: group-by, aggregation and output table from config."""
    rng = np.random.default_rng(1)
    hours = pd.date_range(START, periods=14 * 24, freq="h")
    events = []
    for computer, rate in (("dc1", 40), ("web1", 15)):
        counts = rng.poisson(rate * (1 + 0.6 * np.sin(2 * np.pi * hours.hour / 24)))
        for h, c in zip(hours, counts):
            events.extend([(h + pd.Timedelta(minutes=int(m)), computer) for m in rng.integers(0, 60, c)])
    pdf = pd.DataFrame(events, columns=["TimeGenerated", "Computer"])
    df = spark.createDataFrame(pdf, "TimeGenerated timestamp, Computer string")
    tpl = get_template("series-decompose", {"table": "SecurityEvent", "group_by": ["Computer"], "aggregation": "count",
                                            "output_table": "LogonBursts"})
    assert tpl.output_table_name == "LogonBursts" and tpl.input_table == "SecurityEvent"
    model = tpl.fit(tpl.prepare(df.filter(df.TimeGenerated < TRAIN.end)), TRAIN)
    run = RunInfo(run_id="r", run_time=SCORE.end, window=SCORE, model_version="v")
    out = model.score(tpl.prepare(df), run).toPandas()
    assert set(out.Computer) == {"dc1", "web1"} and len(out) == 96
    assert model.metadata["periods_chosen"] == {"24": 2}
    assert abs(out.ActualUsage.sum() - ((pdf.TimeGenerated >= SCORE.start).sum())) < 1e-6


def test_usage_regression_metadata_records_both_candidates(spark, rows):
    _, model, _ = fit_score(spark, "usage-regression", rows)
    mae = model.metadata["cv_mae"]
    assert set(mae) == {"ridge", "hgb"} and all(v > 0 for v in mae.values())
    assert sum(model.metadata["chosen"].values()) == model.metadata["groups"] == 1


def test_usage_regression_groups_series(spark, rows):
    _, model, out = fit_score(spark, "usage-regression", rows, {"series_per_model": 1})
    assert model.metadata["groups"] == 3
    assert model.models_.count() <= 3 and len(out) == 144


def test_new_series_is_reported_not_scored(spark, rows):
    for name in TEMPLATES:
        tpl = get_template(name)
        model = tpl.fit(tpl.prepare(to_spark(spark, rows[(rows.TimeGenerated < TRAIN.end) & (rows.DataType != "Perf")])), TRAIN)
        out = score_df(spark, model, rows)
        assert set(out[out.DataType == "Perf"].SeriesStatus) == {"new_series"}
        assert (out[out.DataType == "Perf"].Anomalies == 0).all()
