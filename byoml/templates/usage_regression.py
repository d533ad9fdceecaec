"""Template ``usage-regression``: the Azure Monitor notebook's regression recipe, made into a product.

Hourly series per DataType (the sum of ``Quantity`` per bin; a missing bin is 0). Series
are pooled into groups of at most ``series_per_model`` (a hash of the key), and each
group is fitted on one executor (``applyInPandas``):

* every series is put on a common scale (its value transform, :mod:`byoml.templates.series_profile`:
  sqrt for count-like series that are almost never zero; centred, divided by its spread);
* features that generalise (:mod:`byoml.templates.regression`): hour of day, day of week,
  the same hour's median over the last week, the value a week before, the mean of the last
  week and the median of the day before yesterday, all from bins before the one predicted,
  instead of the notebook's Year/Month/Day/Hour, which cannot extrapolate past the training
  window. None of them looks at the last day, so an incident is not absorbed into the
  prediction within hours (the module says why and what it was measured against);
* Ridge (one-hot DataType, scaled features) and HistGradientBoosting (DataType as a
  categorical feature) are compared with ``TimeSeriesSplit``; the lower MAE wins and
  both MAEs are kept in the metadata.

Scoring rolls forward: each bin's features come from the bins before it, read from the
source (``score_lookback``), and :mod:`byoml.templates.series_detector` turns the residuals
into flags, as in ``series-decompose``: the recent level of the residuals is added to the
prediction, Tukey fences on the residuals of the last ``fence_window``, a threshold that rises
on heavy-tailed series, one flag per episode, level shifts absorbed, missing data flagged.
Each choice and its measurement on real series is in that module and in
``benchmarks/usage_quality.py``.
"""
from __future__ import annotations

import pickle
from dataclasses import dataclass
from typing import TYPE_CHECKING, List

import numpy as np
import pandas as pd

from ..errors import ConfigError, ModelError
from ..timewindow import TimeWindow
from . import series_frame as sf
from .base import Model, RunInfo, learned_table, param
from .decompose import rolling_forecast
from .regression import CALENDAR, NUMERIC, SeriesScale, default_features, fit_select
from .series_detector import NEW_SERIES, detect
from .series_profile import ProfileSpec, fit_profiles, level_forecast

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

FEATURE_HISTORY = "8d"


@dataclass
class UsageRegressionConfig(sf.SeriesConfig):
    """Parameters of ``usage-regression``.

    ``series_per_model``: series pooled in one model (one executor task each). ``n_splits``:
    folds of ``TimeSeriesSplit``. ``ridge_alpha``, ``hgb_max_iter``: candidate settings. The flag
    rules (``threshold``, ``tail_factor``, ``level_window``, ``fence_window``, ``shift_after``...) are those
    of :class:`~byoml.templates.series_frame.SeriesConfig`.
    """

    series_per_model: int = param(200, "series pooled in one model (one executor task each)")
    n_splits: int = param(3, "folds of TimeSeriesSplit")
    ridge_alpha: float = param(1.0, "Ridge candidate's alpha")
    hgb_max_iter: int = param(100, "HistGradientBoosting candidate's max_iter")
    seed: int = param(0, "seed of the models")

    def validate(self) -> None:
        super().validate()
        if self.series_per_model < 1:
            raise ConfigError("series_per_model must be at least 1")
        if self.n_splits < 2:
            raise ConfigError("n_splits must be at least 2")


SERIES_SCHEMA_TAIL = (
    "status string, n_bins long, first_bin long, transform string, offset double, center double, spread double, "
    "count_like boolean, period int, kind string"
)
GROUP_SCHEMA_TAIL = (
    "row_kind string, code int, forecaster string, mae_model double, mae_profile double, model binary, "
    "candidate string, mae_ridge double, mae_hgb double, rows long, sklearn string"
)


class UsageRegressionModel(Model):
    """Fitted ``usage-regression``: per series its scale, kind and forecaster, per group its pickled model."""

    series_: DataFrame = learned_table("per series: status, scale, kind, group, code and forecaster (model or profile)")
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
        bin_seconds = cfg.bin_seconds
        installed = _sklearn_version()

        def score_group(pdf: pd.DataFrame, model_pdf: pd.DataFrame) -> pd.DataFrame:
            with sf.limit_threads():
                if len(model_pdf) and model_pdf["sklearn"].iloc[0] != installed:
                    raise ModelError(f"model trained with scikit-learn {model_pdf['sklearn'].iloc[0]}, "
                                     f"this is {installed}: retrain the model")
                model = pickle.loads(model_pdf["model"].iloc[0]) if len(model_pdf) else None
                return tpl._score_group(pdf, model, keys, floor, start, end, bin_seconds)

        out = rows.groupBy("group").cogroup(models.groupBy("group")).applyInPandas(score_group, sf.output_schema(cfg))
        return sf.finish_output(out, run)


def _sklearn_version() -> str:
    import sklearn

    return ".".join(sklearn.__version__.split(".")[:2])


class UsageRegression(sf.SeriesTemplate):
    """Flags unusual hourly ingestion per DataType against a Ridge or gradient-boosting forecast."""

    name = "usage-regression"
    version = "3.0"
    output_table = "UsageAnomalies"
    Config = UsageRegressionConfig
    minimum_training = {"days": 2, "series_ok": 1}  # a series' own minimum is min_train_bins
    report_kind = "series"
    model_class = UsageRegressionModel

    #: feature columns and which of them are categorical; subclasses may change the features
    feature_columns: List[str] = list(CALENDAR) + list(NUMERIC) + ["code"]
    categorical: List[str] = ["code", "hour", "dow"]

    # -- hooks a variant can override ---------------------------------------
    def series_scale(self, y: np.ndarray) -> SeriesScale:
        return SeriesScale.fit(y, self.config.transform, self.config.aggregation)

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
        return (cfg.bins(FEATURE_HISTORY, "feature history") + cfg.bins(cfg.fence_window, "fence_window")
                + cfg.bins(cfg.level_window, "level_window"))

    def output_ddl(self) -> str:
        return sf.output_ddl(self.config)

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

    def _profile_base(self, v: np.ndarray, index: np.ndarray, period: int) -> np.ndarray:
        """The series' own forecast on the common scale: its seasonal profile (none, daily or weekly)."""
        spec = self._profile_spec(period_candidates=False)
        return rolling_forecast(np.asarray(v, dtype=float)[None, :], index, 0, spec.seasonal_spec(period))["baseline"][0]

    def _profile_spec(self, period_candidates: bool = True, min_train_bins: int = 0) -> ProfileSpec:
        cfg = self.config
        return ProfileSpec(aggregation=cfg.aggregation, transform=cfg.transform,
                           periods=(cfg.day_bins, 7 * cfg.day_bins) if period_candidates else (),
                           level_bins=cfg.bins(cfg.level_window, "level_window"),
                           min_train_bins=min_train_bins or cfg.min_train_bins, bins_per_day=cfg.day_bins)

    def profile_series(self, index: np.ndarray, y: np.ndarray) -> dict:
        """A series' row of the model before the group fit: status, scale, count-like, period."""
        cfg = self.config
        min_bins = max(cfg.min_train_bins, self.history_bins + 2 * cfg.n_splits)
        profile = fit_profiles(index, y[None, :], self._profile_spec(min_train_bins=min_bins))[0]
        row = dict(status=profile["status"], n_bins=len(y), first_bin=int(index[0]), transform=None, offset=None,
                   center=None, spread=None, count_like=profile["count_like"], period=int(profile["period"] or 0),
                   kind=profile["kind"])
        if profile["status"] == sf.OK:
            s = self.series_scale(y)
            row.update(transform=s.transform, offset=s.offset, center=s.center, spread=s.spread)
        return row

    def _fit_group(self, pdf: pd.DataFrame, keys: List[str], lo_bin, hi_bin) -> pd.DataFrame:
        """One model for the series of a group; per series, the forecaster with the lower out-of-sample error:
        the model, or the series' own seasonal profile (short or irregular series that a pooled model
        predicts worse than their own recent level)."""
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
            base = self._profile_base(feats["y"].to_numpy(), feats["bin"].to_numpy(), int(p["period"]))
            feats["profile"] = level_forecast(feats["y"].to_numpy()[None, :], base[None, :],
                                              cfg.bins(cfg.level_window, "level_window"))[0]
            frames.append(feats[feats["pos"] >= self.history_bins])
            names.append(name if isinstance(name, tuple) else (name,))
        train = pd.concat(frames, ignore_index=True).sort_values(["bin", "series"], kind="mergesort").reset_index(drop=True)
        sel = fit_select(train, self.feature_columns, self.categorical, n_splits=cfg.n_splits, alpha=cfg.ridge_alpha,
                         max_iter=cfg.hgb_max_iter, seed=cfg.seed)
        # the model's error (out of fold) against the profile's (one step ahead) on the same bins
        both = np.isfinite(sel.oof) & np.isfinite(train["profile"].to_numpy())
        err = pd.DataFrame({"series": train["series"], "model": np.abs(train["y"] - sel.oof),
                            "profile": np.abs(train["y"] - train["profile"])})[both].groupby("series").mean()
        group = int(pdf["group"].iloc[0])
        rows = []
        for code, name in enumerate(names):
            e_model = float(err["model"].get(code, np.nan))
            e_profile = float(err["profile"].get(code, np.nan))
            use_profile = np.isfinite(e_profile) and (not np.isfinite(e_model) or e_profile < e_model)
            rows.append({**dict(zip(keys, name)), "group": group, "row_kind": "series", "code": code,
                         "forecaster": "profile" if use_profile else "model", "mae_model": e_model,
                         "mae_profile": e_profile})
        rows.append({**{k: None for k in keys}, "group": group, "row_kind": "model", "model": pickle.dumps(sel.model),
                     "candidate": sel.name, "mae_ridge": sel.mae.get("ridge"), "mae_hgb": sel.mae.get("hgb"),
                     "rows": len(train), "sklearn": _sklearn_version()})
        return pd.DataFrame(rows)

    def _score_group(self, pdf: pd.DataFrame, model, keys, floor: int, start: int, end: int,
                     bin_seconds: int) -> pd.DataFrame:
        """Output rows of every series of one group: one ``predict`` call for all of them, then the
        detector over the series that share a grid of bins."""
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
                d["pred"] = np.full(len(d["feats"]), np.nan)
                d["pred"][d["usable"]] = pred[at:at + n]
                at += n
                if d["forecaster"] == "profile":
                    d["pred"] = self._profile_base(d["feats"]["y"].to_numpy(), d["feats"]["bin"].to_numpy(), d["period"])
            by_grid: dict = {}
            for d in designs:
                by_grid.setdefault(int(d["feats"]["bin"].iloc[0]), []).append(d)
            for batch in by_grid.values():
                self._judge(batch, bin_seconds)
        out = [p["out"] if isinstance(p, dict) else p for p in parts]
        return pd.concat(out, ignore_index=True) if out else sf.empty_output(self.config)

    def _score_design(self, grp: pd.DataFrame, model, keys, floor: int, start: int, end: int, bin_seconds: int):
        """The features of one series' bins (a dict), or its output rows when it cannot be predicted
        (not in the model, or too short at training: not judged, its first bin flagged when new)."""
        cfg = self.config
        p = grp.iloc[0]
        key = {k: p[k] for k in keys}
        known = isinstance(p.get("status"), str)
        observed = grp["bin"].dropna()
        first = int(p["first_bin"]) if known and pd.notna(p.get("first_bin")) else (int(observed.min()) if len(observed) else end)
        lo = max(floor, first)
        scored = max(start, lo) - lo
        if not known or p["status"] != sf.OK or model is None:
            index, y = sf.dense(grp[["bin", "Value"]], lo, end)
            status = NEW_SERIES if not known else str(p["status"])
            flags = np.zeros(len(index) - scored, np.int8)
            reasons = np.full(len(flags), "", dtype=object)
            if not known and cfg.flag_new_series and len(observed) and start <= int(observed.min()) < end:
                flags[int(observed.min()) - lo - scored], reasons[int(observed.min()) - lo - scored] = 1, NEW_SERIES
            nan = np.full((1, len(flags)), np.nan)
            return sf.output_frames(pd.DataFrame([key]), index[scored:], bin_seconds, y[None, scored:], nan, nan, nan,
                                    nan, flags[None, :], reasons[None, :], [status], [status])
        scale = SeriesScale(str(p["transform"]), float(p["offset"]), float(p["center"]), float(p["spread"]))
        feats, y = self._design(grp, lo, end, scale, int(p["code"]))
        kind = str(p["kind"]) if p["forecaster"] == "profile" else str(p["kind"]).split("/")[-1]
        return {"key": key, "scale": scale, "feats": feats, "y": y, "scored": scored, "count_like": bool(p["count_like"]),
                "kind": kind if p["forecaster"] == "profile" else f"regression/{kind}", "forecaster": str(p["forecaster"]),
                "period": int(p["period"]), "usable": (feats["pos"] >= self.history_bins).to_numpy()}

    def _judge(self, batch: List[dict], bin_seconds: int) -> None:
        """Flags of series sharing a grid from their predictions; each design gets its output rows (``out``)."""
        index = batch[0]["feats"]["bin"].to_numpy()
        at = batch[0]["scored"]
        Z = np.stack([d["feats"]["y"].to_numpy(dtype=float) for d in batch])
        det = detect(Z, np.stack([d["pred"] for d in batch]), index, at, self.config.detector_spec(),
                     zero=np.stack([d["y"] == 0 for d in batch]), count_like=np.array([d["count_like"] for d in batch]))
        for j, d in enumerate(batch):
            inv = d["scale"].inverse
            sl = slice(at, None)
            d["out"] = sf.output_frames(
                pd.DataFrame([d["key"]]), index[sl], bin_seconds, d["y"][None, sl], inv(det.predicted[j, sl])[None],
                inv(det.lower[j, sl])[None], inv(det.upper[j, sl])[None], det.score[j:j + 1, sl], det.flags[j:j + 1, sl],
                det.reasons[j:j + 1, sl], np.where(det.ready[j:j + 1, sl], sf.OK, sf.WARMUP), [d["kind"]],
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
            return pd.DataFrame([{**{k: pdf[k].iloc[0] for k in keys}, **tpl.profile_series(index, y)}])

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
        series = grouped.join(fitted.filter(F.col("row_kind") == "series")
                              .select(*keys, "code", "forecaster", "mae_model", "mae_profile"), keys, "left")
        models = fitted.filter(F.col("row_kind") == "model").select(
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
            "forecasters": {str(r["forecaster"]): int(r["n"]) for r in series.filter(F.col("forecaster").isNotNull())
                            .groupBy("forecaster").agg(F.count(F.lit(1)).alias("n")).collect()},
            "cv_mae_note": "mean absolute error of TimeSeriesSplit folds on the scaled target, averaged over groups",
            "score_lookback_bins": self.lookback_bins,
        }
        return UsageRegressionModel(self, metadata, series_=series, models_=models)
