"""series-forecast: forecasts from T on with data before T only, intervals, thresholds, the recorded choice,
quality floors on real NAB series, and clear errors."""
from __future__ import annotations

import datetime as dt
import json
import sys

import numpy as np
import pandas as pd
import pytest

from byoml.config import load_config
from byoml.errors import ConfigError, EmptyWindowError, SeriesError
from byoml.templates import get_template, load_model, save_model
from byoml.templates.series_forecast.thresholds import first_crossing, running
from byoml.timewindow import UTC, TimeWindow

from .conftest import REPO, shared_data
from .series_runs import fit_window, score_window, to_spark

START = dt.datetime(2026, 3, 2, tzinfo=UTC)  # a Monday
TRAIN = TimeWindow(START, START + dt.timedelta(days=21))
T = TRAIN.end
SCORE = TimeWindow(T, T + dt.timedelta(days=1))
HORIZON = 168


def usage_rows(days: int = 30, seed: int = 4) -> pd.DataFrame:
    """Hourly MB per DataType: a daily rhythm, a growing series, a weekly one (quiet weekends), a random walk."""
    rng = np.random.default_rng(seed)
    hours = pd.date_range(START, periods=days * 24, freq="h")
    t = np.arange(len(hours))
    daily = 1 + 0.5 * np.sin(2 * np.pi * (hours.hour - 6) / 24)
    series = {
        "Syslog": 60 * daily * rng.lognormal(0, 0.08, len(t)),
        "Growing": (40 + 0.25 * t) * daily * rng.lognormal(0, 0.05, len(t)),
        "Weekly": np.where(hours.dayofweek >= 5, 5.0, 80.0) * daily * rng.lognormal(0, 0.05, len(t)),
        "Drifting": np.maximum(1.0, 200 + np.cumsum(rng.normal(0, 4, len(t)))),
    }
    return pd.concat([pd.DataFrame({"TimeGenerated": hours, "DataType": name, "Quantity": v})
                      for name, v in series.items()], ignore_index=True)


def fit(spark, rows, config=None):
    return fit_window(spark, "series-forecast", rows, TRAIN, config)


def score(spark, model, rows, window=SCORE) -> pd.DataFrame:
    return score_window(spark, model, rows, window, ["DataType", "Step"])


@pytest.fixture(scope="module")
def rows():
    return usage_rows()


@pytest.fixture(scope="module")
def fitted(spark, rows):
    tpl, model = fit(spark, rows)
    return tpl, model, score(spark, model, rows)


def test_rows_columns_and_bounds(fitted):
    tpl, _, out = fitted
    # every declared column, in order; run.score adds LowConfidence (check_template checks the written rows)
    assert [c for c, _ in tpl.output_schema()] == [*out.columns, "LowConfidence"]
    assert list(out.columns[:3]) == ["DataType", "TimeGenerated", "Step"]
    assert len(out) == 4 * HORIZON
    first = out[out.Step == 1]
    assert (first.TimeGenerated == pd.Timestamp(T).tz_localize(None)).all()
    assert all(list(g) == list(range(1, HORIZON + 1)) for _, g in out.groupby("DataType").Step)
    assert (out.TrainedThrough == pd.Timestamp(T).tz_localize(None)).all()
    assert ((out.Lower95 <= out.Lower80 + 1e-9) & (out.Lower80 <= out.Forecast + 1e-9) & (out.Forecast <= out.Upper80 + 1e-9)
            & (out.Upper80 <= out.Upper95 + 1e-9)).all()
    assert (out.Lower95 >= 0).all()  # never below 0 for volumes
    assert set(out.Model) <= set(tpl.config.candidates)
    assert not out.IsAnomaly.any() and (out.AnomalyScore == 0).all() and out.Threshold.isna().all()
    assert out.ThresholdCrossing.isna().all() and (out.AnomalyReason == "").all()


def test_forecasts_follow_the_series(fitted, rows):
    """On these clean series the forecast of the next week is within 25% of what happened, on average."""
    _, _, out = fitted
    actual = rows.assign(TimeGenerated=rows.TimeGenerated.dt.tz_localize(None)).set_index(["DataType", "TimeGenerated"])
    actual = actual.Quantity
    joined = out.join(actual, on=["DataType", "TimeGenerated"])
    for name, g in joined.groupby("DataType"):
        if name != "Drifting":  # a random walk: only its intervals are tested
            assert (g.Forecast - g.Quantity).abs().mean() < 0.25 * g.Quantity.mean(), name


def test_intervals_widen_with_the_horizon(fitted):
    _, _, out = fitted
    for name, g in out.groupby("DataType"):
        half = (g.Upper95 - g.Forecast).to_numpy()
        assert (np.diff(half) >= -1e-9).all(), name  # never narrower further ahead
    drifting = out[out.DataType == "Drifting"]
    width = (drifting.Upper80 - drifting.Lower80).to_numpy()
    assert width[-1] > 1.5 * width[0]  # a random walk's uncertainty grows


def test_no_look_ahead(spark, fitted, rows):
    """Data at or after T never changes a forecast from T; data before T does."""
    _, model, before = fitted
    changed = rows.copy()
    changed.loc[changed.TimeGenerated >= pd.Timestamp(T), "Quantity"] *= 7.0
    after = score(spark, model, changed, TimeWindow(T, T + dt.timedelta(days=3)))
    cols = ["Forecast", "Lower80", "Upper80", "Lower95", "Upper95", "Model"]
    pd.testing.assert_frame_equal(before[cols], after[cols])
    earlier = rows.copy()
    earlier.loc[earlier.TimeGenerated >= pd.Timestamp(T - dt.timedelta(days=1)), "Quantity"] *= 3.0
    assert not np.allclose(score(spark, model, earlier).Forecast, before.Forecast)


def test_model_choice_recorded(fitted):
    tpl, model, out = fitted
    series = model.series_.toPandas().set_index("DataType")
    assert set(series.index) == {"Syslog", "Growing", "Weekly", "Drifting"}
    assert (series.status == "ok").all() and series.model.isin(tpl.config.candidates).all()
    assert (series.holdout_mae > 0).all() and (series.holdout_mase > 0).all()
    for name, row in series.iterrows():
        maes = json.loads(row.candidate_mae)
        assert set(maes) <= set(tpl.config.candidates) and len(maes) >= 4
        assert row.holdout_mae == pytest.approx(min(maes.values()), rel=1e-5)  # the lowest holdout error won
        assert (out[out.DataType == name].Model == row.model).all()
    assert series.loc["Weekly", "model"] not in ("naive_day", "profile_day")  # quiet weekends: a weekly model
    assert sum(model.metadata["models_chosen"].values()) == 4


def test_save_load_round_trip(spark, fitted, rows, tmp_path):
    tpl, model, before = fitted
    save_model(model, str(tmp_path / "m"))
    pd.testing.assert_frame_equal(before, score(spark, load_model(tpl, str(tmp_path / "m"), spark), rows))


def with_options(model, **options):
    """The fitted model under other scoring options (thresholds are used at scoring only)."""
    tpl = get_template("series-forecast", {**model.template.get_params(), **options})
    return type(model)(tpl, model.metadata, series_=model.series_, models_=model.models_)


def test_threshold_crossing(spark, fitted, rows):
    """A daily cap in GB on one series: the first bin whose day-to-date forecast reaches it, and the 80% bound's."""
    _, model, free = fitted
    g = free[free.DataType == "Growing"]
    days = g.Forecast.to_numpy().reshape(7, 24).sum(axis=1) * 0.001  # the forecast totals per day, in GB
    cap = 0.9 * days.max()
    out = score(spark, with_options(model, threshold_scale=0.001, thresholds={"Growing": cap}), rows)
    g = out[out.DataType == "Growing"].reset_index(drop=True)
    run = running(g.Forecast.to_numpy()[None, :], np.arange(HORIZON), 24, np.zeros(1), np.zeros(1), False)[0] * 0.001
    expected = int(np.argmax(run >= cap))
    assert run[expected] >= cap > run[expected - 1] and expected % 24 > 0  # reached during a day, not at midnight
    assert (g.ThresholdCrossing == g.TimeGenerated.iloc[expected]).all() and (g.Threshold == cap).all()
    assert (g.ThresholdCrossing80 <= g.ThresholdCrossing).all()
    flagged = out[out.IsAnomaly]
    assert list(flagged.DataType) == ["Growing"]  # one row, only where a threshold is set
    assert flagged.TimeGenerated.iloc[0] == g.ThresholdCrossing80.iloc[0]
    assert flagged.AnomalyReason.iloc[0] in ("threshold_forecast", "threshold_upper80")
    assert g.AnomalyScore.iloc[expected] >= 1.0 > g.AnomalyScore.iloc[expected - 1]
    others = out[out.DataType != "Growing"]
    assert others.Threshold.isna().all() and others.ThresholdCrossing.isna().all() and (others.AnomalyScore == 0).all()
    never = score(spark, with_options(model, threshold_scale=0.001, thresholds={"Growing": 10 * cap}), rows)
    assert never.ThresholdCrossing.isna().all() and not never.IsAnomaly.any()


def test_running_window_counts_what_was_observed_before_the_start():
    # a forecast starting at 12:00 of a day: the morning's 30 already count against the day's cap of 50
    run = running(np.full((1, 36), 2.0), np.arange(12, 48), 24, np.array([30.0]), np.array([12.0]), mean=False)
    assert int(first_crossing(run, np.array([50.0]), "above")[0]) == 9  # 30 + 10 x 2 at 21:00
    assert run[0, 12] == 2.0  # the next day starts from zero
    floor = running(np.full((1, 4), 5.0), np.arange(4), 24, np.zeros(1), np.zeros(1), mean=True)
    assert int(first_crossing(floor, np.array([6.0]), "below")[0]) == 0
    assert int(first_crossing(floor, np.array([np.nan]), "below")[0]) == -1


def test_check_template_flags_a_configured_threshold(spark, usage_sample, tmp_path):
    from byoml.testing import Fixture, check_template

    root, labels = usage_sample
    report = check_template("series-forecast", Fixture.from_labels(str(root), labels), spark=spark,
                            workdir=str(tmp_path), options={"default_threshold": 1e-6, "threshold_scale": 0.001})
    assert report.flagged == len(labels["series"])  # one crossing per series


def test_cli_path_report_and_daily_config(spark, usage_sample, tmp_path):
    from byoml.run import score as run_score
    from byoml.run import train as run_train

    root, labels = usage_sample
    tw, sw = labels["train_window"], labels["score_window"]
    run_train("series-forecast", str(root), str(tmp_path / "m"), tw["start"], tw["end"], spark=spark)
    report = tmp_path / "r.html"
    summary = run_score("series-forecast", str(root), str(tmp_path / "m"), str(tmp_path / "out"), start=sw["start"],
                        emit="all", report=str(report), spark=spark)
    assert summary.counts["scored"] == len(labels["series"]) * HORIZON
    html = report.read_text(encoding="utf-8")
    assert "Plotly.newPlot(" in html and "Forecasts: history, forecast and interval bands" in html
    assert "history" in html and "95% interval" in html
    rows = [json.loads(line) for f in (tmp_path / "out" / "SeriesForecast_CL").glob("part-*.json") for line in f.open()]
    assert len(rows) == summary.counts["scored"] and {"Forecast", "Upper95", "DataType", "TrainedThrough"} <= set(rows[0])

    config = load_config(str(REPO / "templates" / "examples" / "config-forecast-daily.yaml"))
    daily = get_template("series-forecast", config["template"])
    assert daily.config.bin == "1d" and daily.config.horizon_bins == 30
    assert daily.output_table_name == "SeriesForecast"


def test_default_windows_and_thin_training(spark, usage_sample, tmp_path, capsys):
    """train without --end keeps the newest day out; score without a window forecasts from that day's start,
    the end of training (no overlap); fewer days than the holdout needs are refused unless --force."""
    from byoml.cli import EXIT_FAILED, EXIT_OK, main
    from byoml.templates import read_metadata
    from byoml.timewindow import parse_time

    root, labels = usage_sample
    newest = parse_time(labels["score_window"]["end"]) - dt.timedelta(days=1)  # the export's newest day
    common = ["--template", "series-forecast", "--source", str(root)]
    assert main(["train", *common, "--model", str(tmp_path / "m")]) == EXIT_OK
    assert "kept out of training" in capsys.readouterr().out
    assert parse_time(read_metadata(str(tmp_path / "m"))["training_window"]["end"]) == newest
    assert main(["score", *common, "--model", str(tmp_path / "m"), "--sink", str(tmp_path / "out"), "--emit", "all",
                 "--summary-json", str(tmp_path / "s.json")]) == EXIT_OK, capsys.readouterr().err
    rows = pd.concat(pd.read_json(p, lines=True) for p in (tmp_path / "out").rglob("*.json"))
    first = pd.to_datetime(rows.loc[rows.Step == 1, "TimeGenerated"], utc=True)
    assert len(rows) == len(labels["series"]) * HORIZON and (first == pd.Timestamp(newest)).all()
    assert not rows["LowConfidence"].any()

    thin = ["--start", f"{newest - dt.timedelta(days=3):%Y-%m-%d}", "--end", f"{newest:%Y-%m-%d}"]
    assert get_template("series-forecast").minimum_training["days"] == 4
    assert main(["train", *common, "--model", str(tmp_path / "thin"), *thin]) == EXIT_FAILED
    err = capsys.readouterr().err
    assert "too thin" in err and "3 days (needs 4)" in err and "--force" in err
    assert main(["train", *common, "--model", str(tmp_path / "thin"), *thin, "--force"]) == EXIT_OK
    assert read_metadata(str(tmp_path / "thin"))["low_confidence"]["days"] == {"have": 3, "need": 4}


def test_perf_example_forecasts_free_disk_space_against_a_floor(spark, tmp_path):
    """templates/examples/config-forecast-perf.yaml: one series per computer's disk (the where: filter's
    rows are counted as filtered), gauges, and a floor crossed downwards by the lower bound first."""
    from byoml.run import score as run_score
    from byoml.run import train as run_train
    from byoml.sample_data import generate

    config = str(REPO / "templates" / "examples" / "config-forecast-perf.yaml")
    tpl = get_template("series-forecast", load_config(config)["template"])
    assert tpl.sample_kind == "perf" and tpl.config.gauge and tpl.config.threshold_direction == "below"
    labels = generate("perf", str(tmp_path / "perf"), computers=4, days=14, seed=2)
    tw, sw = labels["train_window"], labels["score_window"]
    trained = run_train("series-forecast", str(tmp_path / "perf"), str(tmp_path / "m"), tw["start"], tw["end"],
                        config=config, spark=spark)
    assert trained.filtered.get("excluded by where", 0) > 0
    run_score("series-forecast", str(tmp_path / "perf"), str(tmp_path / "m"), str(tmp_path / "out"), start=sw["start"],
              emit="all", config=config, spark=spark)
    rows = pd.concat(pd.read_json(p, lines=True) for p in (tmp_path / "out").rglob("*.json"))
    assert len(rows) == 4 * HORIZON and set(rows.CounterName) == {"% Free Space"} and rows.Computer.nunique() == 4
    assert (rows.Threshold == 10).all() and (rows.Lower80 <= rows.Forecast).all()
    both = rows.dropna(subset=["ThresholdCrossing", "ThresholdCrossing80"])
    assert (pd.to_datetime(both.ThresholdCrossing80) <= pd.to_datetime(both.ThresholdCrossing)).all()


def test_bad_input_errors(spark, fitted, rows):
    for bad, match in (({"candidates": ["prophet"]}, "candidates must name"), ({"candidates": []}, "candidates must name"),
                       ({"horizon": "90m"}, "whole number"), ({"holdout_origins": 1}, "holdout_origins"),
                       ({"thresholds": {"Syslog": "fifty"}}, "must be a number"),
                       ({"threshold_direction": "sideways"}, "threshold_direction"), ({"lookback": "1d"}, "lookback"),
                       ({"interval_scale": 0}, "interval_scale"), ({"aggregation": "median"}, "aggregation")):
        with pytest.raises(ConfigError, match=match):
            get_template("series-forecast", bad)
    with pytest.raises(SeriesError, match="too short"):
        fit(spark, rows, {"min_train_bins": 10_000})
    _, model, _ = fitted
    tpl = get_template("series-forecast")
    with pytest.raises(EmptyWindowError):
        tpl.fit(tpl.prepare(to_spark(spark, rows.iloc[:0])), TRAIN)
    with pytest.raises(ConfigError, match="boundary"):
        score(spark, model, rows, TimeWindow(T + dt.timedelta(minutes=30), T + dt.timedelta(days=1)))


def test_nab_quality_floors():
    """On four real NAB series (the benchmark's path, fewer origins): better than the seasonal naive, and
    intervals near their nominal coverage."""
    nab, extra = shared_data("nab"), shared_data("nab-extra")
    sys.path.insert(0, str(REPO))
    from benchmarks.forecast_quality import _origin, evaluate, load
    from byoml.templates.series_forecast.config import SeriesForecastConfig

    series, _ = load([str(nab), str(extra)])
    keep = ["Twitter_volume_AAPL", "Twitter_volume_UPS", "TravelTime_387", "exchange-3_cpc_results"]
    series = {n: series[n] for n in keep}
    split = {int(b[s]) for _, b, s in series.values()}.pop()
    runs = [r for o in range(split, split + 24 * 24, 96) for r in _origin((o, series, HORIZON))]
    cfg = SeriesForecastConfig()
    per = evaluate(runs, tuple(cfg.candidates), cfg.interval_scale)
    assert set(per) == set(keep)
    mase = np.mean([np.mean(v["mase"]) for v in per.values()])
    naive = np.mean([np.mean(v["naive"]) for v in per.values()])
    kql = np.mean([np.mean(v["kql"]) for v in per.values()])
    n = sum(v["n"] for v in per.values())
    cov80, cov95 = sum(v["in80"] for v in per.values()) / n, sum(v["in95"] for v in per.values()) / n
    assert mase < 0.9 * naive and mase < kql, (mase, naive, kql)
    assert 0.7 <= cov80 <= 0.9 and 0.88 <= cov95 <= 0.99, (cov80, cov95)

