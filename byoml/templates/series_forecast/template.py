"""Template ``series-forecast``: capacity forecasts with calibrated intervals for any metric series.

What a capacity planner asks of the Usage table (or of Perf, or any table): how much next week and
next month, how sure we are, and on which day the daily cap or commitment tier is reached. KQL has
``series_decompose_forecast`` (a point forecast, no interval) and ``series_fit_line``; this template
adds a model chosen per series by measurement and intervals that hold their coverage.

* **input**: the series of every series template (``make-series`` from the config: ``table``,
  ``group_by``, ``time_column``, ``value_column``, ``aggregation``, ``bin``; Usage per DataType by default);
* **fit** (the training window): per series, every candidate (:mod:`.candidates`) forecasts a
  rolling-origin holdout at the end of the window and the lowest mean absolute error wins
  (:mod:`.selection`); the intervals are calibrated from the cross-validated holdout errors
  (:mod:`.intervals`). The model records each series' choice and holdout errors (``series_``) and one
  gradient boosting model per bucket of series (``models_``);
* **score** (``byoml score --start T``): ``horizon`` bins from T, from the ``lookback`` before T read
  from the source (nothing at or after T is used), with 80% and 95% intervals and, where a threshold
  is configured, the first bin at which the forecast and its cautious 80% bound cross it
  (:mod:`.thresholds`). Without a window T is the start of the newest day, where ``train`` without
  ``--end`` stops; training needs ``minimum_training`` days, those of the holdout.

Output ``SeriesForecast_CL``: the key columns as in the input (``DataType``), ``TimeGenerated`` (the
forecast bin), ``Step``, ``Forecast``, ``Lower80``/``Upper80``, ``Lower95``/``Upper95``, ``Model``,
``HoldoutMAE``, ``Threshold``, ``ThresholdCrossing``, ``ThresholdCrossing80``, ``TrainedThrough``.
The kit's ``AnomalyScore`` and ``IsAnomaly`` mean, for a forecast: ``AnomalyScore`` is the share of
the threshold the forecast reaches by that bin (its window's running total, or mean for a gauge,
over the threshold; 1.0 = at the threshold, 0 without one), and ``IsAnomaly`` is true on one row per
series, the first bin at which the cautious 80% bound crosses the threshold (``AnomalyReason``:
``threshold_forecast`` when the forecast itself crosses there, else ``threshold_upper80`` or
``threshold_lower80``): the earliest date to plan for. ``--emit anomalies`` therefore writes the
crossings only; the daily job writes every row (``--emit all``).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from ...timewindow import TimeWindow
from .. import series_frame as sf
from ..base import Model, RunInfo, learned_table
from . import spark as glue
from .config import SeriesForecastConfig
from .predict import output_ddl

if TYPE_CHECKING:
    from pyspark.sql import DataFrame


class SeriesForecastModel(Model):
    """Fitted ``series-forecast``: per series its chosen model, holdout errors and interval calibration."""

    series_: DataFrame = learned_table(
        "per series: status, chosen model, holdout MAE and MASE, every candidate's holdout MAE, interval calibration")
    models_: DataFrame = learned_table("per bucket of series: the gradient boosting candidate (pickled)")

    def score(self, prepared, run: RunInfo):
        tpl: SeriesForecast = self.template
        cfg = tpl.config
        start, _ = sf.check_window(run.window, cfg)
        if start is None:
            from ...errors import ConfigError

            raise ConfigError("a forecast needs a start (--start): it forecasts the horizon from there")
        buckets = int(self.metadata.get("buckets") or 1)
        out = glue.forecast(prepared, self.series_, self.models_, cfg, start - cfg.lookback_bins, start, buckets)
        return sf.finish_output(out, run)

    def report_context(self, prepared, run: RunInfo):
        """The history the report draws before the forecasts: the lookback's bins of every series."""
        from pyspark.sql import functions as F

        cfg = self.template.config
        start, _ = sf.check_window(run.window, cfg)
        return (prepared.filter((F.col("bin") >= start - cfg.lookback_bins) & (F.col("bin") < start))
                .select(*cfg.group_by, "TimeGenerated", "Value"))


class SeriesForecast(sf.SeriesTemplate):
    """Capacity forecasts per series with calibrated 80%/95% intervals and threshold crossings."""

    name = "series-forecast"
    version = "1.0"
    output_table = "SeriesForecast"
    Config = SeriesForecastConfig
    model_class = SeriesForecastModel
    report_kind = "forecast"
    #: IsAnomaly marks a configured threshold's crossing, not something in the data: labelled sample
    #: data without a threshold has no flag to find (see ``byoml.testing.check_template``)
    labelled_flags = False

    @property
    def minimum_training(self):  # type: ignore[override]
        """The days a series needs for the rolling-origin holdout (``SeriesForecastConfig.minimum_days``:
        4 with hourly bins, 48 with the daily example's) and one series forecast; a series' own
        minimum is ``min_train_bins``."""
        return {"days": self.config.minimum_days, "series_ok": 1}

    def output_ddl(self) -> str:
        return output_ddl(self.config)

    def fit(self, prepared, window: TimeWindow) -> Model:
        from pyspark import StorageLevel
        from pyspark.sql import functions as F

        cfg = self.config
        keys = list(cfg.group_by)
        lo_bin, hi_bin = sf.check_window(window, cfg)
        buckets = self.buckets(prepared)
        fitted = glue.fit(prepared, cfg, lo_bin, hi_bin, buckets).persist(StorageLevel.MEMORY_AND_DISK)
        series = fitted.filter(F.col("row_kind") == "series").drop("row_kind", "hgb", "sklearn")
        models = fitted.filter(F.col("row_kind") == "model").select("bucket", "hgb", "sklearn")
        counts = sf.check_fitted_series(series, cfg, keys)
        chosen = {str(r["model"]): int(r["n"]) for r in
                  series.filter(F.col("status") == sf.OK).groupBy("model").agg(F.count(F.lit(1)).alias("n")).collect()}
        stats = series.agg(F.avg("holdout_mase").alias("mase")).first()
        return SeriesForecastModel(
            self, series_=series, models_=models,
            metadata={"counts": counts, "models_chosen": chosen, "holdout_mase_mean": stats["mase"],
                      "buckets": buckets, "horizon_bins": cfg.horizon_bins},
        )
