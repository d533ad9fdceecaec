"""Quality of series-forecast on 33 real NAB series by category: MASE and interval coverage.

    .venv/bin/python benchmarks/forecast_quality.py [--step 24] [--horizon 168] [--jobs 2] [--choose AWS CloudWatch,Traffic]

The series of ``../shared/data/nab`` and ``nab-extra`` at 1h (:func:`byoml.sample_data.nab.load_series`,
shifted so their 30% points coincide, as the NAB Usage export puts them). Rolling origins every
``--step`` bins over the last 70% of each series: at each origin, every series that goes on past
it is fitted on the bins before it, exactly as ``series-forecast`` fits a bucket of series
(the rolling-origin holdout at the end of that history, one gradient boosting model for the batch,
the choice per series, the interval calibration: the template's own numpy functions), and forecasts
``--horizon`` bins, scored against what followed.

* **MASE**: mean absolute error over the forecast bins divided by the series' in-sample mean
  absolute one-day difference (the M4 convention for hourly data), averaged over origins, then
  over the series of a category; pooled: over all series. Against the daily seasonal naive and the
  KQL-style ``series_decompose_forecast`` (seasonal profile + least squares line, alone).
  Choices are made on the geometric mean over series of MASE relative to the seasonal naive's
  (``rel``), so that a series with a level shift (MASE 20-30) does not decide alone.
* **Coverage**: the share of actual values inside the 80% and 95% intervals, over every bin and origin.

Defaults are chosen on some categories and reported on the others (the project's rule): the
candidate set and ``interval_scale`` are picked on ``--choose`` categories (MASE first, then the
interval scale whose coverage is nearest 80% and 95% there), and the table marks those categories.
The exit code is the number of targets missed.
"""
from __future__ import annotations

import argparse
import os
import pathlib
import pickle
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Dict, List

import numpy as np

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

CATEGORIES = ("AWS CloudWatch", "AdExchange", "Traffic", "Tweets")
#: candidate sets compared (the template's default is the full set)
SETS = {
    "all": ("naive_day", "naive_week", "decompose", "profile_day", "profile_week", "theta", "hgb"),
    "without hgb": ("naive_day", "naive_week", "decompose", "profile_day", "profile_week", "theta"),
    "without decompose": ("naive_day", "naive_week", "profile_day", "profile_week", "theta", "hgb"),
    "simple + hgb": ("naive_day", "naive_week", "profile_day", "profile_week", "hgb"),
    "simple + theta": ("naive_day", "naive_week", "profile_day", "profile_week", "theta"),
    "simple": ("naive_day", "naive_week", "profile_day", "profile_week"),
}
SCALES = (1.0, 1.1, 1.2, 1.3, 1.4, 1.5)
HOLDOUT_ORIGINS, HOLDOUT_STEP = 7, 24


def load(nab_dirs: List[str]):
    from benchmarks.series_fastpath import nab_series
    from byoml.sample_data.nab import load_series

    loaded = load_series(*nab_dirs)
    return nab_series(loaded), {n: cat for n, (_, _, cat) in loaded.items()}


def _origin(args):
    """Every series going on past ``origin`` (an absolute bin): holdout errors and forecasts of each candidate."""
    origin, series, horizon = args
    from byoml.templates.series_forecast.candidates import CANDIDATES, ForecastSpec, forecast
    from byoml.templates.series_forecast.selection import holdout_errors, naive_scale
    from byoml.templates.series_frame import limit_threads

    names = [n for n, (y, bins, _) in series.items() if bins[0] < origin - 2 * 24 and bins[-1] >= origin]
    if not names:
        return []
    lo = min(int(series[n][1][0]) for n in names)
    hist = np.full((len(names), origin - lo), np.nan)
    actual = np.full((len(names), horizon), np.nan)
    for i, n in enumerate(names):
        y, bins, _ = series[n]
        before = bins < origin
        hist[i, bins[before] - lo] = y[before]
        after = (bins >= origin) & (bins < origin + horizon)
        actual[i, bins[after] - origin] = y[after]
    spec = ForecastSpec()
    with limit_threads():
        import pickle

        E, blob = holdout_errors(CANDIDATES, hist, lo, horizon, spec, HOLDOUT_ORIGINS, HOLDOUT_STEP)
        f = forecast(CANDIDATES, hist, lo, horizon, spec, hgb_model=pickle.loads(blob) if blob else None)
    scale = naive_scale(hist, spec.day)
    return [{"series": n, "origin": origin, "E": E[:, i], "forecast": np.stack([f[c][i] for c in CANDIDATES]),
             "actual": actual[i], "scale": scale[i]} for i, n in enumerate(names)]


def evaluate(runs: List[dict], names: tuple, scale: float) -> Dict[str, dict]:
    """Per series: MASE of the chosen forecast and of the baselines, and the interval hits."""
    from byoml.templates.series_forecast.candidates import CANDIDATES
    from byoml.templates.series_forecast.intervals import bounds, calibrate
    from byoml.templates.series_forecast.selection import select

    idx = [CANDIDATES.index(n) for n in names]
    out: Dict[str, dict] = {}
    for r in runs:
        E = r["E"][idx][:, None]  # (candidates, 1 series, origins, steps)
        chosen, _, errors = select(E, names)
        if chosen[0] is None or not np.isfinite(r["scale"]) or r["scale"] <= 0:
            continue
        f = r["forecast"][CANDIDATES.index(chosen[0])][None, :]
        params = calibrate(errors)
        a = r["actual"][None, :]
        seen = np.isfinite(a)
        row = out.setdefault(r["series"], {"mase": [], "naive": [], "kql": [], "n": 0, "in80": 0, "in95": 0,
                                           "models": {}})
        for key, fc in (("mase", f), ("naive", r["forecast"][CANDIDATES.index("naive_day")][None, :]),
                        ("kql", r["forecast"][CANDIDATES.index("decompose")][None, :])):
            row[key].append(float(np.nanmean(np.abs(a - fc)[seen])) / r["scale"])
        for level, key in ((0.80, "in80"), (0.95, "in95")):
            lo, hi = bounds(f, params, level, scale)
            lo = np.where(f >= 0, np.maximum(lo, 0.0), lo) if np.nanmin(r["actual"]) >= 0 else lo
            row[key] += int(((a >= lo) & (a <= hi))[seen].sum())
        row["n"] += int(seen.sum())
        row["models"][chosen[0]] = row["models"].get(chosen[0], 0) + 1
    return out


def summarize(per_series: Dict[str, dict], categories: Dict[str, str], cats) -> dict:
    rows = [v for n, v in per_series.items() if categories[n] in cats]
    if not rows:
        return {}
    mean = lambda key: float(np.mean([np.mean(v[key]) for v in rows]))  # noqa: E731
    n = sum(v["n"] for v in rows)
    relative = float(np.exp(np.mean([np.log(np.mean(v["mase"]) / np.mean(v["naive"])) for v in rows])))
    return {"mase": mean("mase"), "naive": mean("naive"), "kql": mean("kql"), "cov80": sum(v["in80"] for v in rows) / n,
            "cov95": sum(v["in95"] for v in rows) / n, "series": len(rows), "relative": relative}


def coverage_miss(s: dict) -> float:
    return abs(s["cov80"] - 0.80) + abs(s["cov95"] - 0.95)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nab", action="append", help="NAB folder (repeatable; default: ../shared/data/nab and nab-extra)")
    ap.add_argument("--step", type=int, default=24, help="bins between two rolling origins")
    ap.add_argument("--horizon", type=int, default=168)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--cache", help="keep the forecasts in this pickle and reuse them (to re-run the choice only)")
    args = ap.parse_args(argv)
    from benchmarks.series_fastpath import nab_folders

    args.nab = nab_folders(args.nab)
    if args.nab is None:
        return 2
    series, categories = load(args.nab)
    split = {int(bins[s]) for _, bins, s in series.values()}.pop()
    last = max(int(bins[-1]) for _, bins, _ in series.values())
    origins = list(range(split, last, args.step))
    started = time.perf_counter()
    if args.cache and os.path.exists(args.cache):
        with open(args.cache, "rb") as fh:
            runs = pickle.load(fh)
    else:
        with ProcessPoolExecutor(args.jobs) as pool:
            runs = [r for part in pool.map(_origin, [(o, series, args.horizon) for o in origins]) for r in part]
        if args.cache:
            with open(args.cache, "wb") as fh:
                pickle.dump(runs, fh)
    elapsed = time.perf_counter() - started
    print(f"{len(series)} NAB series at 1h, {len(origins)} rolling origins every {args.step} bins over the last 70%, "
          f"horizon {args.horizon}: {len(runs)} forecasts in {elapsed:.0f}s ({args.jobs} processes; "
          f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())})")

    results = {(name, sc): evaluate(runs, cands, sc) for name, cands in SETS.items() for sc in SCALES}

    def choose(cats):
        """The candidate set with the lowest geometric mean of MASE relative to the seasonal naive on ``cats``,
        then the interval scale whose 80% and 95% coverage there is nearest the nominal levels."""
        best = min(SETS, key=lambda n: summarize(results[(n, 1.0)], categories, cats)["relative"])
        return best, min(SCALES, key=lambda sc: coverage_miss(summarize(results[(best, sc)], categories, cats)))

    print("\nevery candidate set (scale 1.0): MASE relative to the seasonal naive (geometric mean over series)")
    print(f"  {'candidates':<18}" + "".join(f"{c:>16}" for c in (*CATEGORIES, "pooled")))
    for name in SETS:
        row = [summarize(results[(name, 1.0)], categories, [c])["relative"] for c in CATEGORIES]
        row.append(summarize(results[(name, 1.0)], categories, CATEGORIES)["relative"])
        print(f"  {name:<18}" + "".join(f"{v:16.3f}" for v in row))
    print("\ncoverage (80% / 95%) of each interval scale, pooled, per candidate set")
    for name in SETS:
        cells = [summarize(results[(name, sc)], categories, CATEGORIES) for sc in SCALES]
        print(f"  {name:<18}" + "".join(f"  {sc:.1f}: {c['cov80']:.3f}/{c['cov95']:.3f}" for sc, c in zip(SCALES, cells)))

    shipped_set, shipped_scale = choose(CATEGORIES)
    print(f"\ndefaults chosen on all four categories: candidates '{shipped_set}', interval_scale {shipped_scale}")
    print("\nGrouped cross-validation: each category reported under the defaults chosen on the other three "
          "(choose on one part, report on another)")
    print(f"  {'held out':<15} {'chosen on the other three':<34} {'series':>6} {'MASE':>6} {'naive':>6} {'KQL':>6} "
          f"{'cov80':>6} {'cov95':>6}  {'MASE, cov80, cov95 with the shipped defaults'}")
    held: Dict[str, dict] = {}
    claims = []
    for c in CATEGORIES:
        fold_set, fold_scale = choose([x for x in CATEGORIES if x != c])
        per = results[(fold_set, fold_scale)]
        held.update({n: v for n, v in per.items() if categories[n] == c})
        s_ = summarize(per, categories, [c])
        ins = summarize(results[(shipped_set, shipped_scale)], categories, [c])
        print(f"  {c:<15} {fold_set + ', scale ' + str(fold_scale):<34} {s_['series']:>6} {s_['mase']:6.3f} "
              f"{s_['naive']:6.3f} {s_['kql']:6.3f} {s_['cov80']:6.3f} {s_['cov95']:6.3f}  "
              f"{ins['mase']:.3f}, {ins['cov80']:.3f}, {ins['cov95']:.3f}")
        claims.append((f"{c} (held out): MASE {s_['mase']:.3f} < seasonal naive {s_['naive']:.3f} and < KQL-style "
                       f"{s_['kql']:.3f}", s_["mase"] < s_["naive"] and s_["mase"] < s_["kql"]))
    pooled = summarize(held, categories, CATEGORIES)
    print(f"  {'pooled':<15} {'(each category held out)':<34} {pooled['series']:>6} {pooled['mase']:6.3f} "
          f"{pooled['naive']:6.3f} {pooled['kql']:6.3f} {pooled['cov80']:6.3f} {pooled['cov95']:6.3f}")
    claims.append((f"pooled (held out): MASE {pooled['mase']:.3f} < seasonal naive {pooled['naive']:.3f} and < KQL-style "
                   f"{pooled['kql']:.3f}", pooled["mase"] < pooled["naive"] and pooled["mase"] < pooled["kql"]))
    claims.append((f"pooled (held out): 80% coverage {pooled['cov80']:.3f} in [0.75, 0.85]", 0.75 <= pooled["cov80"] <= 0.85))
    claims.append((f"pooled (held out): 95% coverage {pooled['cov95']:.3f} in [0.91, 0.98]", 0.91 <= pooled["cov95"] <= 0.98))
    models: Dict[str, int] = {}
    for v in results[(shipped_set, shipped_scale)].values():
        for m, k in v["models"].items():
            models[m] = models.get(m, 0) + k
    print("  models chosen with the shipped defaults (series x origins): "
          + ", ".join(f"{m} {k}" for m, k in sorted(models.items(), key=lambda x: -x[1])))
    from byoml.templates.series_forecast.config import SeriesForecastConfig

    shipped = SeriesForecastConfig()
    claims.append((f"shipped candidates {shipped.candidates} == chosen set '{shipped_set}'",
                   tuple(shipped.candidates) == SETS[shipped_set]))
    claims.append((f"shipped interval_scale {shipped.interval_scale} == chosen {shipped_scale}",
                   shipped.interval_scale == shipped_scale))
    print("\ntargets")
    failed = 0
    for text, ok in claims:
        failed += not ok
        print(f"  {'yes' if ok else 'NO ':<3}  {text}")
    return failed


if __name__ == "__main__":
    sys.exit(main())
