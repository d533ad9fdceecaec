"""Options of ``series-forecast``: the series input of every series template, and what the forecast adds."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

from ...errors import ConfigError
from ..base import param
from ..series_frame import SeriesInput
from .candidates import CANDIDATES, ForecastSpec
from .selection import MIN_HISTORY_DAYS

#: the default candidates and interval scale, chosen by grouped cross-validation over the NAB
#: categories (``benchmarks/forecast_quality.py``): ``decompose`` (a line extrapolated over a week)
#: and ``theta`` lost more by their misses than they won, in every category
DEFAULT_CANDIDATES = ["naive_day", "naive_week", "profile_day", "profile_week", "hgb"]
DEFAULT_INTERVAL_SCALE = 1.3

DIRECTIONS = ("above", "below")


@dataclass
class SeriesForecastConfig(SeriesInput):
    """Parameters of ``series-forecast`` (durations are whole numbers of bins).

    The input is that of every series template (``table``, ``group_by``, ``time_column``,
    ``value_column``, ``aggregation``, ``bin``, ``where``). ``horizon``: how far each forecast
    reaches. ``candidates``: the models each series chooses from by its rolling-origin holdout
    (:mod:`.candidates`); ``holdout_origins`` forecasts of the holdout, ``holdout_step`` apart,
    the last one ending at the end of the training window.

    Thresholds (a daily cap, a commitment tier, a disk size): ``thresholds`` maps a series (its
    key columns joined by ``/``, e.g. ``SecurityEvent``) to a value, ``default_threshold`` serves the
    others (none: no crossing is computed). The forecast is summed (sum, count) or averaged (avg,
    min, max) over ``threshold_window`` (``1d``: a daily cap) and multiplied by ``threshold_scale``
    (``0.001``: Usage's MB against a cap in GB) before it is compared; ``threshold_direction``
    ``below`` watches a floor instead (free disk space).
    """

    output_table: str = param("SeriesForecast", "the custom table written, without _CL")
    min_train_bins: int = param(48, "fewer training bins: the series is too_short (not forecast)")
    horizon: str = param("7d", "how far each forecast reaches from the scoring start")
    candidates: List[str] = param(DEFAULT_CANDIDATES, "models a series chooses from: " + ", ".join(CANDIDATES))
    holdout_origins: int = param(7, "forecast origins of the rolling-origin holdout at the end of the training window")
    holdout_step: str = param("1d", "time between two holdout origins")
    lookback: str = param("28d", "history a forecast is made from (read before the scoring start)")
    interval_scale: float = param(DEFAULT_INTERVAL_SCALE, "multiplies the holdout-calibrated interval half-widths "
                                  "(1.3: chosen on NAB, where the holdout's week understates later errors)")
    thresholds: Dict[str, float] = param({}, "threshold per series (key columns joined by /), e.g. {SecurityEvent: 50}")
    default_threshold: Optional[float] = param(None, "threshold of the series not in thresholds (none: no crossing)")
    threshold_window: str = param("1d", "the forecast is summed (averaged for gauges) over this window before the comparison")
    threshold_scale: float = param(1.0, "the windowed forecast is multiplied by this before the comparison (0.001: MB to GB)")
    threshold_direction: str = param("above", "above: a cap (crossed upwards) | below: a floor (crossed downwards)")
    series_per_task: int = param(200, "series fitted and forecast together in one pandas call")
    seed: int = param(0, "seed of the gradient boosting candidate")

    def validate(self) -> None:
        super().validate()
        unknown = sorted(set(self.candidates) - set(CANDIDATES))
        if unknown or not self.candidates:
            raise ConfigError(f"candidates must name at least one of {', '.join(CANDIDATES)}"
                              + (f"; unknown: {', '.join(unknown)}" if unknown else ""))
        if self.bins(self.horizon, "horizon") < 1:
            raise ConfigError("horizon must be at least one bin")
        if self.holdout_origins < 2:
            raise ConfigError("holdout_origins must be at least 2 (intervals are calibrated across origins)")
        if self.bins(self.holdout_step, "holdout_step") < 1:
            raise ConfigError("holdout_step must be at least one bin")
        if self.bins(self.lookback, "lookback") < 2 * self.day_bins:
            raise ConfigError("lookback must hold at least two days of bins")
        if not self.interval_scale > 0:
            raise ConfigError("interval_scale must be > 0")
        for name, value in list(self.thresholds.items()) + [("default_threshold", self.default_threshold)]:
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
                raise ConfigError(f"threshold of {name} must be a number, not {value!r}")
        if self.bins(self.threshold_window, "threshold_window") < 1:
            raise ConfigError("threshold_window must be at least one bin")
        if not self.threshold_scale > 0:
            raise ConfigError("threshold_scale must be > 0")
        if self.threshold_direction not in DIRECTIONS:
            raise ConfigError(f"threshold_direction must be one of {', '.join(DIRECTIONS)}, not '{self.threshold_direction}'")
        if self.series_per_task < 1:
            raise ConfigError("series_per_task must be at least 1")

    @property
    def horizon_bins(self) -> int:
        return self.bins(self.horizon, "horizon")

    @property
    def lookback_bins(self) -> int:
        return self.bins(self.lookback, "lookback")

    @property
    def minimum_days(self) -> int:
        """Days of history a series needs to be forecast at all: ``min_train_bins``, and a holdout of two
        origins (the intervals are calibrated across origins), ``holdout_step`` apart, each after
        ``MIN_HISTORY_DAYS`` of history and forecasting a day (or the horizon, if shorter).

        >>> SeriesForecastConfig().minimum_days, SeriesForecastConfig(bin="1d", horizon="30d", holdout_step="7d").minimum_days
        (4, 48)
        """
        holdout = (MIN_HISTORY_DAYS * self.day_bins + self.bins(self.holdout_step, "holdout_step")
                   + min(self.horizon_bins, self.day_bins))
        return -(-max(self.min_train_bins, holdout) * self.bin_seconds // 86400)

    def spec(self) -> ForecastSpec:
        """The numeric settings the candidates, the holdout and the intervals run with."""
        return ForecastSpec(day=self.day_bins, lookback=self.lookback_bins, bin_seconds=self.bin_seconds, seed=self.seed)

    def threshold_of(self, key: Sequence[str]) -> Optional[float]:
        """The threshold of the series with key values ``key`` (None: none configured)."""
        value = self.thresholds.get("/".join(str(k) for k in key), self.default_threshold)
        return None if value is None else float(value)
