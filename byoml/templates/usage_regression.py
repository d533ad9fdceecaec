"""Template ``usage-regression``: the Azure Monitor notebook's regression recipe, made into a product.

Hourly series per DataType (the sum of ``Quantity`` per bin; a missing bin is 0). Series
are pooled into groups of at most ``series_per_model`` (a hash of the key), and each
group is fitted on one executor (``applyInPandas``):

* every series is put on a common scale (its value transform, :mod:`byoml.templates.transform`:
  sqrt when non-negative and almost never zero; centred, divided by its spread);
* features that generalise (:mod:`byoml.templates.regression`): hour of day, day of week,
  the same hour's median over the last week, the value a week before, the mean of the last
  week and the median of the day before yesterday, all from bins before the one predicted,
  instead of the notebook's Year/Month/Day/Hour, which cannot extrapolate past the training
  window. None of them looks at the last day, so an incident is not absorbed into the
  prediction within hours (the module says why and what it was measured against);
* Ridge (one-hot DataType, scaled features) and HistGradientBoosting (DataType as a
  categorical feature) are compared with ``TimeSeriesSplit``; the lower MAE wins and
  both MAEs are kept in the metadata;
* per DataType, Tukey fences (10th/90th percentiles, k = 1.5) on the out-of-fold residuals.

Scoring rolls forward: each bin's features come from the bins before it, read from the
source (``score_lookback``); the fences are the quantiles of the series' own residuals
over the ``fence_window`` before each day (``fences: recent``), per time of day
(``fence_cycle``, ``fence_width``), so quiet night hours and busy day hours each get fences
of their size, and a series whose noise grows does not flag every hour. Until the window
holds a day of residuals, the trained fences stand in; ``fences: widest`` takes the wider
of both, ``trained`` only the trained ones.

``fence_floor`` (0.5): the recent fences' quantile spread is at least half the trained one
(from out-of-fold residuals). Right after training, the fence window holds the training
bins, whose residuals are in-sample: HistGradientBoosting fits them closely, so the first
days' fences came out too narrow and flagged ordinary hours. With the floor, on NAB, 18.8
instead of 20.8 false flags per 1,000 bins at the same recall (NAB score 64.4 -> 66.7), on
the sample data 2.29 instead of 2.50 (NAB score 82.8 -> 83.0).

Against the notebook's features in the same template (``benchmarks/usage_quality.py``,
"regression, notebook features", both with these fences): on the sample data recall 0.848
vs 0.788, 2.29 vs 8.12 false flags per 1,000 bins, NAB score 83.0 vs 72.3 (Year/Month/Day
cannot extrapolate past the training window; without the floor it flags 75.6); on NAB recall
0.905 vs 0.857 (19 vs 18 windows) and NAB score 66.7 vs 64.5, with a few more false flags
(18.8 vs 16.8 per 1,000 bins).

Why a 9-day fence window (``benchmarks/usage_quality.py``, measured with the former features,
which included the last day's level): the regression's errors change
size when a series changes regime (a level shift, a new daily shape, noise that grows or
shrinks), and the fences must follow within days or they flag every hour of the new regime
(too narrow) or miss everything in it (too wide). Nine days still give each time of day
about 45 residuals (``fence_width`` 2: five neighbouring hours a day), enough for stable
10th/90th percentiles. Against the former 14 days it finds more labelled windows with fewer
false flags on both data sets (sample data: recall 0.818 -> 0.848, false flags per 1,000
bins 2.71 -> 2.50; NAB: false flags 23.0 -> 18.4 at the same recall); 7 days is as good on
NAB but noisier on the sample data (3.75 false flags per 1,000 bins). 10 days and more
behave as 14 on NAB: the gain is not a smooth optimum, so it is re-measured whenever the
model or its features change.
"""
from __future__ import annotations

import datetime as dt
import pickle
from dataclasses import dataclass
from typing import TYPE_CHECKING, List

import numpy as np
import pandas as pd

from ..errors import ConfigError, ModelError
from ..timewindow import TimeWindow
from . import series_frame as sf
from .base import Model, RunInfo, Template, learned_table, param
from .regression import CALENDAR, NUMERIC, SeriesScale, default_features, fit_select
from .tukey import Fences, recent_quantiles, tukey_flag, tukey_score

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

FEATURE_HISTORY = "8d"
FENCES = ("recent", "widest", "trained")


@dataclass
class UsageRegressionConfig(sf.SeriesConfig):
    """Parameters of ``usage-regression``.

    ``series_per_model``: series pooled in one model (one executor task each). ``n_splits``:
    folds of ``TimeSeriesSplit``. ``fences``: recent, widest or trained (see the module).
    ``fence_window``: residual history of the recent fences ("0": trained fences only);
    ``fence_cycle`` / ``fence_width``: recent fences per phase of this cycle, from residuals
    within ``fence_width`` bins of the phase ("0": one fence for all bins). ``fence_floor``: the
    recent fences' quantile spread is at least this share of the trained one (0: no floor).
    ``ridge_alpha``, ``hgb_max_iter``: candidate settings.
    """

    series_per_model: int = param(200, "series pooled in one model (one executor task each)")
    n_splits: int = param(3, "folds of TimeSeriesSplit")
    ridge_alpha: float = param(1.0, "Ridge candidate's alpha")
    hgb_max_iter: int = param(100, "HistGradientBoosting candidate's max_iter")
    fences: str = param("recent", "recent | widest | trained (see the module)")
    fence_window: str = param("9d", "residual history of the recent fences (0: trained fences only)")
    fence_cycle: str = param("1d", "recent fences per phase of this cycle (0: one fence for all bins)")
    fence_width: int = param(2, "recent fences use the residuals within this many bins of the phase")
    fence_floor: float = param(0.5, "the recent fences' spread is at least this share of the trained one (0: none)")
    seed: int = param(0, "seed of the models")

    def validate(self) -> None:
        super().validate()
        if self.series_per_model < 1:
            raise ConfigError("series_per_model must be at least 1")
        if self.n_splits < 2:
            raise ConfigError("n_splits must be at least 2")
        if self.fences not in FENCES:
            raise ConfigError(f"fences must be one of {', '.join(FENCES)}, not '{self.fences}'")
        self.bins(self.fence_window, "fence_window")
        self.bins(self.fence_cycle, "fence_cycle")
        if self.fence_width < 0:
            raise ConfigError("fence_width must be >= 0")
        if self.fence_floor < 0:
            raise ConfigError("fence_floor must be >= 0")


SERIES_SCHEMA_TAIL = "status string, n_bins long, first_bin long, transform string, offset double, center double, spread double"
GROUP_SCHEMA_TAIL = (
    "kind string, code int, q_lo double, q_hi double, model binary, candidate string, "
    "mae_ridge double, mae_hgb double, rows long, sklearn string"
)


class UsageRegressionModel(Model):
    """Fitted ``usage-regression``: per series its scale and fences, per group its pickled model."""

    series_: DataFrame = learned_table("per series: status, scale, group, code and trained fences q_lo, q_hi")
    models_: DataFrame = learned_table("per group: the chosen scikit-learn model (pickled) and both CV MAEs")

    def score(self, prepared, run: RunInfo):
        from pyspark.sql import functions as F

        tpl: UsageRegression = self.template
        cfg = tpl.config
        keys = list(cfg.group_by)
        read_lo, start, end = sf.score_bins(run.window, cfg, tpl.lookback_bins)
        data = prepared.filter((F.col("bin") >= read_lo) & (F.col("bin") < end)).select(*keys, "bin", "Value")
        first_in_source = data.agg(F.min("bin")).first()[0]
        floor = max(read_lo, int(first_in_source) if first_in_source is not None else read_lo)
        rows = self.series_.join(data, keys, "full_outer")
        models = self.models_
        bin_seconds, fence_bins, refit = cfg.bin_seconds, cfg.bins(cfg.fence_window, "fence_window"), tpl.day_bins
        installed = _sklearn_version()

        def score_group(pdf: pd.DataFrame, model_pdf: pd.DataFrame) -> pd.DataFrame:
            with sf.limit_threads():
                if len(model_pdf) and model_pdf["sklearn"].iloc[0] != installed:
                    raise ModelError(f"model trained with scikit-learn {model_pdf['sklearn'].iloc[0]}, "
                                     f"this is {installed}: retrain the model")
                model = pickle.loads(model_pdf["model"].iloc[0]) if len(model_pdf) else None
                return tpl._score_group(pdf, model, keys, floor, start, end, bin_seconds, fence_bins, refit)

        out = rows.groupBy("group").cogroup(models.groupBy("group")).applyInPandas(score_group, sf.output_schema(cfg))
        return sf.finish_output(out, run)


def _sklearn_version() -> str:
    import sklearn

    return ".".join(sklearn.__version__.split(".")[:2])


class UsageRegression(Template):
    """Regression of hourly usage per DataType (Ridge vs HistGradientBoosting) with Tukey fences."""

    name = "usage-regression"
    version = "2.0"
    table = "Usage"
    output_table = "UsageAnomalies"
    report_kind = "series"
    Config = UsageRegressionConfig
    sample_data = "usage"
    model_class = UsageRegressionModel

    #: feature columns and which of them are categorical; subclasses may change the features
    feature_columns: List[str] = list(CALENDAR) + list(NUMERIC) + ["code"]
    categorical: List[str] = ["code", "hour", "dow"]
    fence_source = "holdout"

    # -- hooks a variant can override ---------------------------------------
    def series_scale(self, y: np.ndarray) -> SeriesScale:
        return SeriesScale.fit(y, self.config.transform)

    def features(self, v: np.ndarray, index: np.ndarray) -> pd.DataFrame:
        return default_features(v, index, self.config.bin_seconds)

    @property
    def history_bins(self) -> int:
        """Bins of history a row needs before it is used (its lag features exist)."""
        return self.day_bins

    @property
    def day_bins(self) -> int:
        return max(1, 86400 // self.config.bin_seconds)

    @property
    def lookback_bins(self) -> int:
        cfg = self.config
        return cfg.bins(FEATURE_HISTORY, "feature history") + cfg.bins(cfg.fence_window, "fence_window")

    @property
    def score_lookback(self) -> dt.timedelta:  # type: ignore[override]
        return dt.timedelta(seconds=self.lookback_bins * self.config.bin_seconds)

    def output_ddl(self) -> str:
        return sf.output_ddl(self.config)

    def columns(self):
        return sf.series_columns(self.config)

    def required_columns(self):
        return sf.series_columns(self.config)

    def prepare(self, events):
        return sf.make_series(events, self.config)

    # -- per group, on the executors -----------------------------------------
    def _design(self, grp: pd.DataFrame, lo: int, hi: int, scale: SeriesScale, code: int):
        index, y = sf.dense(grp[["bin", "Value"]], lo, hi)
        v = scale.forward(y)
        feats = self.features(v, index)
        feats["code"] = code
        feats["y"] = v
        feats["bin"] = index
        feats["pos"] = np.arange(len(index))
        return feats, y

    def _fit_group(self, pdf: pd.DataFrame, keys: List[str], lo_bin, hi_bin) -> pd.DataFrame:
        cfg = self.config
        frames, names = [], []
        for code, (name, grp) in enumerate(pdf.groupby(keys, sort=True)):
            first = int(grp["first_bin"].iloc[0])
            lo = first if lo_bin is None else max(lo_bin, first)
            hi = int(grp["bin"].max()) + 1 if hi_bin is None else hi_bin
            p = grp.iloc[0]
            scale = SeriesScale(str(p["transform"]), float(p["offset"]), float(p["center"]), float(p["spread"]))
            feats, _ = self._design(grp, lo, hi, scale, code)
            feats["series"] = code
            frames.append(feats[feats["pos"] >= self.history_bins])
            names.append(name if isinstance(name, tuple) else (name,))
        train = pd.concat(frames, ignore_index=True).sort_values(["bin", "series"], kind="mergesort").reset_index(drop=True)
        sel = fit_select(train, self.feature_columns, self.categorical, n_splits=cfg.n_splits, alpha=cfg.ridge_alpha,
                         max_iter=cfg.hgb_max_iter, seed=cfg.seed)
        if self.fence_source == "holdout":
            train["resid"] = train["y"] - sel.oof
        else:
            train["resid"] = train["y"] - sel.model.predict(train[self.feature_columns])
        group = int(pdf["group"].iloc[0])
        rows = []
        for code, name in enumerate(names):
            f = Fences.from_residuals(train.loc[train["series"] == code, "resid"], tuple(cfg.quantiles), cfg.threshold)
            rows.append({**dict(zip(keys, name)), "group": group, "kind": "series", "code": code,
                         "q_lo": f.q_lo, "q_hi": f.q_hi})
        rows.append({**{k: None for k in keys}, "group": group, "kind": "model", "model": pickle.dumps(sel.model),
                     "candidate": sel.name, "mae_ridge": sel.mae.get("ridge"), "mae_hgb": sel.mae.get("hgb"),
                     "rows": len(train), "sklearn": _sklearn_version()})
        return pd.DataFrame(rows)

    def _score_group(self, pdf: pd.DataFrame, model, keys, floor: int, start: int, end: int, bin_seconds: int,
                     fence_bins: int, refit: int) -> pd.DataFrame:
        """Output rows of every series of one group: one ``predict`` call for all of them."""
        parts, designs = [], []
        for _, grp in pdf.groupby(keys, sort=True, dropna=False):
            part = self._score_design(grp, model, keys, floor, start, end, bin_seconds)
            parts.append(part)
            if isinstance(part, dict):
                designs.append(part)
        if designs:
            X = pd.concat([d["feats"].loc[d["usable"], self.feature_columns] for d in designs], ignore_index=True)
            pred = model.predict(X) if len(X) else np.zeros(0)
            at = 0
            for d in designs:
                n = int(d["usable"].sum())
                d["pred"] = pred[at:at + n]
                at += n
        out = [self._score_finish(p, bin_seconds, fence_bins, refit) if isinstance(p, dict) else p for p in parts]
        return pd.concat(out, ignore_index=True) if out else sf.empty_output(self.config)

    def _score_design(self, grp: pd.DataFrame, model, keys, floor: int, start: int, end: int, bin_seconds: int):
        """The features of one series' bins (a dict), or its unscored output rows (a DataFrame)."""
        p = grp.iloc[0]
        key = {k: p[k] for k in keys}
        known = isinstance(p.get("status"), str)
        observed = grp["bin"].dropna()
        first = int(p["first_bin"]) if known and pd.notna(p.get("first_bin")) else (int(observed.min()) if len(observed) else end)
        lo = max(floor, first)
        scored = max(start, lo) - lo
        if not known or p["status"] != sf.OK or model is None:
            index, y = sf.dense(grp[["bin", "Value"]], lo, end)
            return sf.unscored(key, index[scored:], y[scored:], bin_seconds, sf.NEW_SERIES if not known else p["status"])
        scale = SeriesScale(str(p["transform"]), float(p["offset"]), float(p["center"]), float(p["spread"]))
        feats, y = self._design(grp, lo, end, scale, int(p["code"]))
        return {"key": key, "scale": scale, "feats": feats, "y": y, "scored": scored,
                "usable": (feats["pos"] >= self.history_bins).to_numpy(), "q": (float(p["q_lo"]), float(p["q_hi"]))}

    def _score_finish(self, d: dict, bin_seconds: int, fence_bins: int, refit: int) -> pd.DataFrame:
        """Residuals, fences, bounds and flags of one series from its predictions."""
        cfg = self.config
        feats, y, scored, scale = d["feats"], d["y"], d["scored"], d["scale"]
        index = feats["bin"].to_numpy()
        pred = np.full(len(feats), np.nan)
        pred[d["usable"]] = d["pred"]
        resid = feats["y"].to_numpy() - pred
        trained = (np.full(len(feats), d["q"][0]), np.full(len(feats), d["q"][1]))
        q_lo, q_hi = trained
        if fence_bins > 0 and cfg.fences != "trained":  # quantiles of the residuals in the fence window before each day
            q_lo, q_hi = recent_quantiles(resid, index, scored, refit, fence_bins, tuple(cfg.quantiles), min_count=refit,
                                          cycle=cfg.bins(cfg.fence_cycle, "fence_cycle"), width=cfg.fence_width)
            if cfg.fence_floor > 0:  # at least fence_floor x the trained spread, around their own middle
                floor = cfg.fence_floor * (trained[1] - trained[0])
                narrow = q_hi - q_lo < floor
                mid = (q_lo + q_hi) / 2.0
                q_lo, q_hi = np.where(narrow, mid - floor / 2.0, q_lo), np.where(narrow, mid + floor / 2.0, q_hi)
            if cfg.fences == "widest":
                q_lo, q_hi = np.fmin(q_lo, trained[0]), np.fmax(q_hi, trained[1])
            else:  # until the window holds enough residuals, the trained fences
                q_lo, q_hi = np.where(np.isfinite(q_lo), q_lo, trained[0]), np.where(np.isfinite(q_hi), q_hi, trained[1])
        sl = slice(scored, None)
        k = cfg.threshold
        spread = q_hi[sl] - q_lo[sl]
        base = pred[sl]
        score = tukey_score(resid[sl], q_lo[sl], q_hi[sl])
        ready = np.isfinite(base) & np.isfinite(spread)
        return sf.output_frame(
            d["key"], index[sl], bin_seconds, y[sl], scale.inverse(base), scale.inverse(base + q_lo[sl] - k * spread),
            scale.inverse(base + q_hi[sl] + k * spread), score, np.where(ready, tukey_flag(score, k), 0),
            np.where(ready, sf.OK, sf.WARMUP),
        )

    # -- fit -------------------------------------------------------------------
    def fit(self, prepared, window: TimeWindow) -> Model:
        from pyspark import StorageLevel
        from pyspark.sql import functions as F

        cfg = self.config
        keys = list(cfg.group_by)
        lo_bin, hi_bin = sf.check_window(window, cfg)
        tpl = self

        def fit_scale(pdf: pd.DataFrame) -> pd.DataFrame:
            lo = int(pdf["bin"].min()) if lo_bin is None else max(lo_bin, int(pdf["bin"].min()))
            hi = int(pdf["bin"].max()) + 1 if hi_bin is None else hi_bin
            index, y = sf.dense(pdf, lo, hi)
            row = {k: pdf[k].iloc[0] for k in keys}
            status = sf.series_status(y, max(cfg.min_train_bins, tpl.history_bins + 2 * cfg.n_splits))
            row.update(status=status, n_bins=len(y), first_bin=lo, transform=None, offset=None, center=None, spread=None)
            if status == sf.OK:
                s = tpl.series_scale(y)
                row.update(transform=s.transform, offset=s.offset, center=s.center, spread=s.spread)
            return pd.DataFrame([row])

        scales = prepared.groupBy(*keys).applyInPandas(fit_scale, f"{sf.series_key_schema(cfg)}, {SERIES_SCHEMA_TAIL}")
        scales = scales.persist(StorageLevel.MEMORY_AND_DISK)
        counts = sf.check_fitted_series(scales, cfg, keys)
        n_groups = max(1, -(-counts.get("series_ok", 0) // cfg.series_per_model))
        grouped = scales.withColumn("group", F.pmod(F.xxhash64(*keys), F.lit(n_groups)).cast("int"))
        ok = grouped.filter(F.col("status") == sf.OK)
        rows = prepared.select(*keys, "bin", "Value").join(ok, keys)

        def fit_group(pdf: pd.DataFrame) -> pd.DataFrame:
            with sf.limit_threads():
                return tpl._fit_group(pdf, keys, lo_bin, hi_bin)

        schema = f"{sf.series_key_schema(cfg)}, group int, {GROUP_SCHEMA_TAIL}"
        fitted = rows.groupBy("group").applyInPandas(fit_group, schema).persist(StorageLevel.MEMORY_AND_DISK)
        series = grouped.join(
            fitted.filter(F.col("kind") == "series").select(*keys, "code", "q_lo", "q_hi"), keys, "left"
        )
        models = fitted.filter(F.col("kind") == "model").select(
            "group", "model", "candidate", "mae_ridge", "mae_hgb", "rows", "sklearn"
        )
        summary = models.agg(
            F.avg("mae_ridge").alias("ridge"), F.avg("mae_hgb").alias("hgb"),
            F.sum(F.when(F.col("candidate") == "ridge", 1).otherwise(0)).alias("ridge_chosen"),
            F.sum(F.when(F.col("candidate") == "hgb", 1).otherwise(0)).alias("hgb_chosen"),
        ).first()
        metadata = {
            "counts": counts,
            "groups": n_groups,
            "cv_mae": {"ridge": summary["ridge"], "hgb": summary["hgb"]},
            "chosen": {"ridge": int(summary["ridge_chosen"] or 0), "hgb": int(summary["hgb_chosen"] or 0)},
            "cv_mae_note": "mean absolute error of TimeSeriesSplit folds on the scaled target, averaged over groups",
            "score_lookback_bins": self.lookback_bins,
        }
        return UsageRegressionModel(self, metadata, series_=series, models_=models)
