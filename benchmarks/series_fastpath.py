"""The usage templates' own numpy code on in-memory series, without Spark: for grids of settings.

``benchmarks/usage_quality.py`` measures the shipped defaults through the CLI path (Spark, the
export, ``run.train`` / ``run.score``). Choosing among candidate defaults by grouped
cross-validation needs many runs, so it calls the same functions the templates run on the
executors (:func:`byoml.templates.series_profile.fit_profiles`,
:func:`byoml.templates.series_decompose.judge_batch`, ``UsageRegression.profile_series`` /
``_fit_group`` / ``_score_group``) on each series' hourly values, with the same windows: the
profile or model fitted on the training bins, every scored bin judged from the
``lookback_bins`` before the scoring window on. Only the export round trip (and its dedupe) is
skipped; the figures agree with the CLI path's (``usage_quality.py`` prints both).
"""
from __future__ import annotations

import os
import pathlib
import pickle
from typing import Dict, List, Optional, Tuple

import numpy as np
import pandas as pd

#: name -> (values, absolute bin numbers, index of the first scored bin); the first scored bins are one bin
#: number for all series (a job's training window ends at one time)
Series = Dict[str, Tuple[np.ndarray, np.ndarray, int]]


#: where the NAB series are: ``../shared/data/nab`` and ``nab-extra`` beside the repository
SHARED = pathlib.Path(__file__).resolve().parents[2] / "shared" / "data"


def nab_folders(given: Optional[List[str]]) -> Optional[List[str]]:
    """The NAB folders to read (``given``, else the shared ones); None, said, when one has no windows.json."""
    folders = given or [str(SHARED / "nab"), str(SHARED / "nab-extra")]
    missing = [d for d in folders if not os.path.exists(os.path.join(d, "windows.json"))]
    if missing:
        print(f"NAB data not found at {', '.join(missing)}: nothing to measure")
        return None
    return folders


def hourly_bins(index: pd.DatetimeIndex) -> np.ndarray:
    return (index.asi8 // 10**9 // 3600).astype(np.int64)


def nab_series(loaded: dict) -> Series:
    """NAB series (:func:`byoml.sample_data.nab.load_series`) on the hours of the Usage export that
    :func:`~byoml.sample_data.nab.generate_nab` writes (shifted so that scoring starts at ``SPLIT``)."""
    from byoml.sample_data.nab import TRAIN_SHARE, shift_to_split

    out = {}
    for n, (s, _, _) in loaded.items():
        y, split = s.to_numpy(), int(len(s) * TRAIN_SHARE)
        first = int(np.argmax(y != 0))  # the export has no row for a zero hour: a series starts at its first value
        out[n] = (y[first:], hourly_bins(s.index + shift_to_split(s))[first:], split - first)
    return out


def decompose_flags(template, series: Series) -> Dict[str, np.ndarray]:
    """``series-decompose`` (or a variant with its own ``judge``): flags of each series' scored bins."""
    from byoml.templates.series_profile import default_profile, fit_profiles

    cfg = template.config
    spec = cfg.profile_spec()
    out = {}
    for name, (y, bins, split) in series.items():
        profile = fit_profiles(bins[:split], y[:split][None, :], spec)[0]
        if profile["status"] != "ok":
            profile = default_profile(y[:split], y, spec, profile["status"])
        lo = max(0, split - cfg.lookback_bins)
        res = template.judge(bins[lo:], y[lo:][None, :], split - lo, [profile], cfg)
        out[name] = np.where(res["ready"], res["flags"], 0)[0, split - lo:].astype(int)
    return out


def regression_flags(template, series: Series) -> Dict[str, np.ndarray]:
    """``usage-regression``: one pooled model over all the series (one group, as Spark fits up to
    ``series_per_model`` series together), then each series scored from its lookback. One BLAS/OpenMP
    thread, as on the executors: HistGradientBoosting's histograms sum in another order with more."""
    from byoml.templates.series_frame import limit_threads

    with limit_threads():
        return _regression_flags(template, series)


def _regression_flags(template, series: Series) -> Dict[str, np.ndarray]:
    keys = ["DataType"]
    table = pd.DataFrame([{"DataType": name, "group": 0, **template.profile_series(bins[:split], y[:split])}
                          for name, (y, bins, split) in series.items()])
    ok = table[table.status == "ok"]
    train = []
    for name, (y, bins, split) in series.items():
        if name in set(ok.DataType):
            keep = y[:split] != 0  # as in the export: a zero hour has no row
            train.append(pd.DataFrame({"DataType": name, "bin": bins[:split][keep], "Value": y[:split][keep]}))
    ends = {int(bins[split]) for y, bins, split in series.values()}
    if len(ends) != 1:
        raise ValueError("the series must share the end of their training window (one --end, as in a job)")
    fitted = template._fit_group(pd.concat(train).merge(ok, on="DataType"), keys, None, ends.pop())
    model = pickle.loads(fitted[fitted.row_kind == "model"]["model"].iloc[0])
    rows = fitted[fitted.row_kind == "series"][["DataType", "code", "forecaster"]]
    table = table.merge(rows, on="DataType", how="left")
    out = {}
    for name, (y, bins, split) in series.items():
        lo = max(0, split - template.lookback_bins)
        keep = y[lo:] != 0
        data = pd.DataFrame({"DataType": name, "bin": bins[lo:][keep], "Value": y[lo:][keep]})
        grp = table[table.DataType == name].merge(data, on="DataType", how="right")
        res = template._score_group(grp, model, keys, int(bins[lo]), int(bins[split]), int(bins[-1]) + 1,
                                    template.config.bin_seconds)
        out[name] = res["Anomalies"].to_numpy().astype(int)
    return out


def flags_for(template, series: Series) -> Dict[str, np.ndarray]:
    from byoml.templates.usage_regression import UsageRegression

    return regression_flags(template, series) if isinstance(template, UsageRegression) else decompose_flags(template, series)
