"""Fit and score a series template on in-memory Usage rows (the helpers of the series template tests)."""
from __future__ import annotations

from typing import Sequence

import pandas as pd

from byoml.templates import RunInfo, get_template
from byoml.timewindow import TimeWindow


def to_spark(spark, rows: pd.DataFrame):
    return spark.createDataFrame(rows, "TimeGenerated timestamp, DataType string, Quantity double")


def fit_window(spark, name: str, rows: pd.DataFrame, train: TimeWindow, config=None):
    """The template and its model fitted on the rows inside ``train``."""
    tpl = get_template(name, config or {})
    inside = rows[(rows.TimeGenerated >= train.start) & (rows.TimeGenerated < train.end)]
    return tpl, tpl.fit(tpl.prepare(to_spark(spark, inside)), train)


def score_window(spark, model, rows: pd.DataFrame, window: TimeWindow, order: Sequence[str]) -> pd.DataFrame:
    """The model's rows for ``window``, read with the template's lookback before it, sorted by ``order``."""
    tpl = model.template
    read = rows[(rows.TimeGenerated >= window.start - tpl.score_lookback) & (rows.TimeGenerated < window.end)]
    run = RunInfo(run_id="r1", run_time=window.end, window=window, model_version="v1")
    out = model.score(tpl.prepare(to_spark(spark, read)), run).toPandas()
    return out.sort_values(list(order)).reset_index(drop=True)
