"""usage-regression and series-decompose: the behaviours every series template must have."""
from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest

from byoml.errors import ConfigError, EmptyWindowError, MissingColumnError, SeriesError
from byoml.templates import RunInfo, get_template, load_model, save_model
from byoml.timewindow import UTC, TimeWindow

from .conftest import REPO
from .series_runs import fit_window, score_window, to_spark

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


def fit_score(spark, name, rows, config=None, window=SCORE):
    tpl, model = fit_window(spark, name, rows, TRAIN, config)
    return tpl, model, score_df(spark, model, rows, window)


def score_df(spark, model, rows, window=SCORE) -> pd.DataFrame:
    return score_window(spark, model, rows, window, ["DataType", "TimeGenerated"])


@pytest.fixture(scope="module")
def rows():
    return usage_rows()


@pytest.mark.parametrize("name", TEMPLATES)
def test_output_columns_and_every_bin(spark, rows, name):
    _, _, out = fit_score(spark, name, rows)
    for col in ("TimeGenerated", "DataType", "ActualUsage", "PredictedUsage", "LowerBound", "UpperBound",
                "Residual", "AnomalyScore", "Anomalies", "IsAnomaly", "AnomalyReason", "SeriesStatus", "SeriesKind",
                "ModelVersion", "RunId"):
        assert col in out.columns
    assert len(out) == 3 * 48  # every bin of every series
    assert set(out["Anomalies"].unique()) <= {-1, 0, 1}
    assert (out.IsAnomaly == (out.Anomalies != 0)).all()
    ok = out[out.SeriesStatus == "ok"]
    assert len(ok) == len(out)
    assert (ok.LowerBound <= ok.PredictedUsage).all() and (ok.PredictedUsage <= ok.UpperBound).all()
    outside = (ok.ActualUsage < ok.LowerBound) | (ok.ActualUsage > ok.UpperBound)
    assert (outside == (ok.AnomalyScore.abs() > 1)).all()  # the score is in units of the bounds
    assert (~ok.IsAnomaly | outside).all()  # a flag is always beyond the bounds (the first bin of an episode)
    assert ok.IsAnomaly.mean() < 0.05  # clean data: few flags
    assert set(out.AnomalyReason[out.IsAnomaly]) <= {"spike", "dip", "level_shift", "missing_data", "new_series"}
    expected = {"daily/count"} if name == "series-decompose" else {"regression/count", "daily/count"}
    assert set(out.SeriesKind) <= expected  # usage-regression: the model, or a series' own profile when better


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
def test_silence_and_spike_are_flagged_once_with_their_reason(spark, rows, name):
    data = rows.copy()
    t = data.TimeGenerated
    silence = (data.DataType == "Perf") & (t >= SCORE.start + dt.timedelta(hours=10)) & (t < SCORE.start + dt.timedelta(hours=13))
    data = data[~silence]  # Perf stops: its rows are missing
    spike = (data.DataType == "Syslog") & (t == SCORE.start + dt.timedelta(hours=30))
    data.loc[spike, "Quantity"] *= 6
    _, _, out = fit_score(spark, name, data)

    def rows_of(dtype, lo, hi):
        return out[(out.DataType == dtype) & (out.TimeGenerated >= pd.Timestamp(lo).tz_localize(None))
                   & (out.TimeGenerated < pd.Timestamp(hi).tz_localize(None))]

    gap = rows_of("Perf", SCORE.start + dt.timedelta(hours=10), SCORE.start + dt.timedelta(hours=13))
    assert gap.ActualUsage.tolist() == [0.0] * 3
    assert gap.IsAnomaly.tolist() == [True, False, False] and gap.AnomalyReason.iloc[0] == "missing_data"
    assert rows_of("Perf", SCORE.start + dt.timedelta(hours=13), SCORE.start + dt.timedelta(hours=16)).IsAnomaly.sum() == 0
    hit = rows_of("Syslog", SCORE.start + dt.timedelta(hours=30), SCORE.start + dt.timedelta(hours=31))
    assert hit.Anomalies.tolist() == [1] and hit.AnomalyReason.tolist() == ["spike"]


@pytest.mark.parametrize("name", TEMPLATES)
def test_series_that_stops_completely_is_flagged_once(spark, rows, name):
    data = rows[~((rows.DataType == "Perf") & (rows.TimeGenerated >= SCORE.start + dt.timedelta(hours=5)))]
    _, _, out = fit_score(spark, name, data)
    perf = out[out.DataType == "Perf"].reset_index(drop=True)
    assert len(perf) == 48 and (perf.ActualUsage[5:] == 0).all()
    assert perf.IsAnomaly.sum() == 1 and perf.AnomalyReason[5] == "missing_data" and perf.IsAnomaly[5]
    assert "level_shift" in set(perf.AnomalyReason[6:12])  # the silence lasts: absorbed as the new level


@pytest.mark.parametrize("name", TEMPLATES)
def test_level_shift_is_flagged_once_then_absorbed(spark, rows, name):
    data = rows.copy()
    shift_at = SCORE.start + dt.timedelta(hours=8)
    data.loc[(data.DataType == "SecurityEvent") & (data.TimeGenerated >= shift_at), "Quantity"] *= 3
    _, _, out = fit_score(spark, name, data)
    sec = out[out.DataType == "SecurityEvent"].reset_index(drop=True)
    assert sec.IsAnomaly.sum() == 1 and sec.IsAnomaly[8] and sec.AnomalyReason[8] == "spike"
    assert (sec.AnomalyReason[9:16] == "level_shift").sum() == 1
    late = sec[sec.TimeGenerated >= pd.Timestamp(shift_at + dt.timedelta(hours=12)).tz_localize(None)]
    assert (late.PredictedUsage / late.ActualUsage).between(0.5, 2.0).all()  # predicted at the new level


@pytest.mark.parametrize("name", TEMPLATES)
def test_too_short_series(spark, rows, name):
    short = rows[(rows.DataType == "Perf") & (rows.TimeGenerated >= TRAIN.end - dt.timedelta(hours=20))]
    with pytest.raises(SeriesError, match="too short.*Perf"):
        fit_score(spark, name, short)
    mixed = pd.concat([rows[rows.DataType != "Perf"], short])
    with pytest.raises(SeriesError, match="too short.*Perf.*bad_series: skip"):
        fit_score(spark, name, mixed, {"bad_series": "error"})
    longer = usage_rows(days=17)  # skip is the default: the others train, and Perf is judged later
    mixed = pd.concat([longer[longer.DataType != "Perf"],
                       longer[(longer.DataType == "Perf") & (longer.TimeGenerated >= TRAIN.end - dt.timedelta(hours=20))]])
    window = TimeWindow(SCORE.start, SCORE.start + dt.timedelta(days=5))
    tpl, model, out = fit_score(spark, name, mixed, window=window)
    assert model.metadata["counts"] == {"series_ok": 2, "series_too_short": 1}
    perf = out[out.DataType == "Perf"]
    if name == "series-decompose":  # judged with a default profile once its history suffices (a day, then a
        # day of residuals for its fences)
        assert set(perf.SeriesStatus) == {"too_short", "warmup"} and (perf.SeriesStatus == "too_short").sum() >= 48
        assert perf.IsAnomaly.sum() <= 2
    else:
        assert set(perf.SeriesStatus) == {"too_short"} and (perf.Anomalies == 0).all()


@pytest.mark.parametrize("name", TEMPLATES)
def test_constant_series_is_modelled_and_a_change_flagged(spark, rows, name):
    flat = rows[rows.DataType == "Perf"].copy()
    flat["Quantity"] = 5.0
    flat.loc[flat.TimeGenerated >= SCORE.start + dt.timedelta(hours=20), "Quantity"] = 9.0
    _, model, out = fit_score(spark, name, flat)
    assert out.SeriesKind.iloc[0].endswith("/constant") and model.metadata["counts"] == {"series_ok": 1}
    assert out.IsAnomaly.sum() == 1 and out.IsAnomaly.iloc[20]


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
    assert model.metadata["series_kinds"] == {"daily/count": 2}
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


def test_new_series_is_flagged_once(spark, rows):
    """A series the model has not seen, first seen in the scoring window: its first bin is flagged."""
    training = rows[(rows.TimeGenerated < TRAIN.end) & (rows.DataType != "Perf")]
    scoring = rows[(rows.DataType != "Perf") | (rows.TimeGenerated >= SCORE.start + dt.timedelta(hours=3))]
    for name in TEMPLATES:
        tpl = get_template(name)
        out = score_df(spark, tpl.fit(tpl.prepare(to_spark(spark, training)), TRAIN), scoring)
        perf = out[out.DataType == "Perf"].reset_index(drop=True)
        assert set(perf.SeriesStatus) <= {"new_series", "warmup"}
        assert len(perf) == 45 and perf.IsAnomaly.sum() == 1  # its rows start where it does
        assert perf.AnomalyReason[0] == "new_series" and perf.Anomalies[0] == 1
        quiet = get_template(name, {"flag_new_series": False})
        out = score_df(spark, quiet.fit(quiet.prepare(to_spark(spark, training)), TRAIN), scoring)
        assert not out[out.DataType == "Perf"].IsAnomaly.any()


def test_gauge_missing_bin_is_missing_data_not_zero(spark, rows):
    """An average (a gauge): a missing hour has no value and is flagged as missing data, once."""
    data = rows[~((rows.DataType == "Syslog") & (rows.TimeGenerated >= SCORE.start + dt.timedelta(hours=6))
                  & (rows.TimeGenerated < SCORE.start + dt.timedelta(hours=9)))]
    _, model, out = fit_score(spark, "series-decompose", data, {"aggregation": "avg"})
    syslog = out[out.DataType == "Syslog"].reset_index(drop=True)
    assert syslog.ActualUsage[6:9].isna().all() and syslog.ActualUsage[:6].notna().all()
    assert syslog.IsAnomaly.sum() == 1 and syslog.AnomalyReason[6] == "missing_data"
    assert set(out.SeriesKind) == {"daily/gauge"}


def test_series_kinds_detected(spark):
    """A daily rhythm, a weekly one (weekends), and a gauge without one."""
    rng = np.random.default_rng(4)
    hours = pd.date_range(START - dt.timedelta(days=14), periods=28 * 24, freq="h")
    daily = 100 * (1 + 0.6 * np.sin(2 * np.pi * hours.hour / 24)) * rng.lognormal(0, 0.05, len(hours))
    weekly = daily * np.where(hours.dayofweek >= 5, 0.3, 1.0)
    gauge = 50 + np.cumsum(rng.normal(0, 0.3, len(hours))) + rng.normal(0, 2, len(hours))
    frames = [pd.DataFrame({"TimeGenerated": hours, "DataType": n, "Quantity": v})
              for n, v in (("Daily", daily), ("Weekly", weekly), ("Gauge", gauge))]
    df = to_spark(spark, pd.concat(frames, ignore_index=True))
    tpl = get_template("series-decompose")
    window = TimeWindow(hours[0].to_pydatetime(), TRAIN.end)
    model = tpl.fit(tpl.prepare(df.filter(df.TimeGenerated < TRAIN.end)), window)
    kinds = {r["DataType"]: r["kind"] for r in model.series_.collect()}
    assert kinds == {"Daily": "daily/count", "Weekly": "weekly/count", "Gauge": "none/count"}


def test_perf_example_end_to_end(tmp_path, spark, capsys):
    """templates/examples/config-perf.yaml: Perf sample data -> train -> score -> evaluate, through the CLI.
    Gauges (averages): every injected incident kind is found, a stopped agent as missing data."""
    from byoml.cli import main

    config = str(REPO / "templates" / "examples" / "config-perf.yaml")
    data, model, sink, out = (str(tmp_path / p) for p in ("data", "model", "sink", "m.json"))
    assert main(["sample-data", "--template", "series-decompose", "--config", config, "--out", data,
                 "--computers", "6", "--seed", "3"]) == 0
    labels = json.load(open(f"{data}/labels.json"))
    assert labels["table"] == "Perf" and {w["kind"] for w in labels["windows"]} == {
        "cpu_runaway", "memory_leak", "disk_fill", "storage_stall", "agent_down"}
    tw, sw = labels["train_window"], labels["score_window"]
    common = ["--template", "series-decompose", "--config", config, "--source", data, "--model", model]
    assert main(["train", *common, "--start", tw["start"], "--end", tw["end"]]) == 0
    assert main(["score", *common, "--sink", sink, "--start", sw["start"], "--end", sw["end"], "--emit", "all"]) == 0
    assert main(["evaluate", "--template", "series-decompose", "--config", config, "--scores", sink,
                 "--labels", data, "--json", out]) == 0
    m = json.load(open(out))
    assert m["windows"] == len(labels["windows"]) and m["window_recall"] == 1.0, m
    assert m["false_flags_per_1000_bins"] <= 10.0, m
    rows = pd.concat([pd.read_json(p, lines=True) for p in (tmp_path / "sink" / "PerfAnomalies_CL").glob("*.json")])
    assert len(rows) == 6 * 5 * 48
    assert {k.split("/")[1] for k in rows.SeriesKind} == {"gauge"}  # averages are gauges
    down = [w for w in labels["windows"] if w["kind"] == "agent_down"][0]
    hit = rows[(rows.Computer == down["Computer"]) & rows.IsAnomaly]
    assert set(hit.AnomalyReason) >= {"missing_data"}
