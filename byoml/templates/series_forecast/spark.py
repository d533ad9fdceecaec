"""Spark glue of ``series-forecast``: buckets of series fitted and forecast in ``applyInPandas``.

Series are hashed into buckets of about ``series_per_task``; each bucket is one pandas call on an
executor, which fits (or forecasts) all its series as one batch (:mod:`.fit`, :mod:`.predict`).
Everything else is DataFrame expressions; only counts reach the driver.
"""
from __future__ import annotations

import pickle
from typing import List, Optional

import numpy as np
import pandas as pd

from ...errors import ModelError
from .. import series_frame as sf
from .config import SeriesForecastConfig
from .fit import SERIES_COLUMNS, SERIES_SCHEMA, fit_batch
from .predict import empty_rows, forecast_rows, output_ddl

MODEL_SCHEMA = "bucket int, hgb binary, sklearn string"


def sklearn_version() -> str:
    import sklearn

    return ".".join(sklearn.__version__.split(".")[:2])


def _matrix(pdf: pd.DataFrame, keys: List[str], lo: np.ndarray, hi: int, gauge: bool):
    """``(first bin, Y)`` of the series ``keys`` (one row each) from rows ``keys, bin, Value`` (see ``dense_matrix``)."""
    code = (pd.MultiIndex.from_frame(keys).get_indexer(pd.MultiIndex.from_frame(pdf[list(keys.columns)]))
            if len(pdf) else np.zeros(0, dtype=np.int64))
    keep = code >= 0
    bins = pdf["bin"].to_numpy(dtype=np.int64)[keep] if len(pdf) else np.zeros(0, dtype=np.int64)
    values = pdf["Value"].to_numpy(dtype=float)[keep] if len(pdf) else np.zeros(0)
    return sf.dense_matrix(code[keep], bins, values, lo, np.full(len(keys), hi), missing=np.nan if gauge else 0.0)


def fit_bucket(pdf: pd.DataFrame, keys: List[str], cfg: SeriesForecastConfig, lo_bin: int, hi_bin: int) -> pd.DataFrame:
    """Series rows (``row_kind`` series) and the bucket's model row of one bucket."""
    names = pdf[keys].drop_duplicates().sort_values(keys, kind="mergesort").reset_index(drop=True)
    first = pdf.groupby(keys, sort=False)["bin"].min()
    first = first.reindex(pd.MultiIndex.from_frame(names) if len(keys) > 1 else names[keys[0]]).to_numpy()
    grid0, Y = _matrix(pdf, names, np.maximum(first.astype(np.int64), lo_bin), hi_bin, cfg.gauge)
    fitted, blob = fit_batch(Y, grid0, cfg)
    bucket = int(pdf["bucket"].iloc[0])
    series = pd.concat([names, fitted], axis=1).assign(row_kind="series", bucket=bucket, hgb=None, sklearn=None)
    model = pd.DataFrame([{**{k: None for k in keys}, "row_kind": "model", "bucket": bucket, "hgb": blob,
                           "sklearn": sklearn_version()}])
    return pd.concat([series, model], ignore_index=True)[[*keys, "row_kind", *SERIES_COLUMNS, "bucket", "hgb", "sklearn"]]


def fit_schema(cfg: SeriesForecastConfig) -> str:
    return f"{sf.series_key_schema(cfg)}, row_kind string, {SERIES_SCHEMA}, {MODEL_SCHEMA}"


def fit(prepared, cfg: SeriesForecastConfig, lo_bin: Optional[int], hi_bin: Optional[int], buckets: int):
    """The fitted rows of every bucket (series and model rows), as a DataFrame."""
    from pyspark.sql import functions as F

    keys = list(cfg.group_by)
    data = prepared.select(*keys, "bin", "Value")
    if lo_bin is not None or hi_bin is not None:
        data = data.filter((F.col("bin") >= F.lit(lo_bin if lo_bin is not None else -2**62))
                           & (F.col("bin") < F.lit(hi_bin if hi_bin is not None else 2**62)))
    if lo_bin is None or hi_bin is None:  # an open training window: the data's own bounds
        bounds = data.agg(F.min("bin").alias("lo"), F.max("bin").alias("hi")).first()
        lo_bin = int(bounds["lo"]) if lo_bin is None and bounds["lo"] is not None else (lo_bin or 0)
        hi_bin = int(bounds["hi"]) + 1 if hi_bin is None and bounds["hi"] is not None else (hi_bin or 0)

    def run(pdf: pd.DataFrame) -> pd.DataFrame:
        with sf.limit_threads():
            return fit_bucket(pdf, keys, cfg, lo_bin, hi_bin)

    return data.withColumn("bucket", sf.bucket_of(keys, buckets)).groupBy("bucket").applyInPandas(run, fit_schema(cfg))


def forecast_bucket(values: pd.DataFrame, fitted: pd.DataFrame, keys: List[str], cfg: SeriesForecastConfig,
                    read_lo: int, start: int, installed: str) -> pd.DataFrame:
    """Output rows of the fitted series of one bucket, from the bins ``read_lo..start-1`` of ``values``."""
    model_rows = fitted[fitted["row_kind"] == "model"]
    series = fitted[(fitted["row_kind"] == "series") & (fitted["status"] == sf.OK)]
    if not len(series):
        return empty_rows(keys)
    series = series.sort_values(keys, kind="mergesort").reset_index(drop=True)
    hgb = None
    if len(model_rows) and model_rows["hgb"].iloc[0] is not None:
        if model_rows["sklearn"].iloc[0] != installed:
            raise ModelError(f"model trained with scikit-learn {model_rows['sklearn'].iloc[0]}, this is {installed}: "
                             "retrain the model")
        hgb = pickle.loads(model_rows["hgb"].iloc[0])
    lo = np.clip(series["first_bin"].to_numpy(dtype=np.int64), read_lo, start)
    names = series[keys].reset_index(drop=True)
    grid0, Y = _matrix(values, names, lo, start, cfg.gauge)
    if Y.shape[1] == 0:
        grid0, Y = start, np.full((len(names), 0), np.nan)
    return forecast_rows(names, series, Y, grid0, cfg, hgb_model=hgb)


def forecast(prepared, series, models, cfg: SeriesForecastConfig, read_lo: int, start: int, buckets: int):
    """Forecast rows of every fitted series from the bins ``read_lo..start-1`` of ``prepared``."""
    from pyspark.sql import functions as F

    keys = list(cfg.group_by)
    data = (prepared.filter((F.col("bin") >= read_lo) & (F.col("bin") < start)).select(*keys, "bin", "Value")
            .withColumn("bucket", sf.bucket_of(keys, buckets)))
    fitted = series.withColumn("row_kind", F.lit("series")).unionByName(
        models.withColumn("row_kind", F.lit("model")), allowMissingColumns=True)
    installed = sklearn_version()

    def run(values: pd.DataFrame, rows: pd.DataFrame) -> pd.DataFrame:
        with sf.limit_threads():
            return forecast_bucket(values, rows, keys, cfg, read_lo, start, installed)

    return data.groupBy("bucket").cogroup(fitted.groupBy("bucket")).applyInPandas(run, output_ddl(cfg))
