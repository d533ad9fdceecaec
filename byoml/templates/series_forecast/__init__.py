"""Template ``series-forecast``: capacity forecasts with calibrated intervals (see :mod:`.template`).

The parts: :mod:`.config` (options), :mod:`.candidates` (the models), :mod:`.selection` (the
rolling-origin holdout and the choice per series), :mod:`.intervals` (the calibration),
:mod:`.thresholds` (crossings), :mod:`.fit` and :mod:`.predict` (a batch of series), :mod:`.spark`
(buckets of series in ``applyInPandas``) and :mod:`.template` (the template and its model).
"""
from .config import SeriesForecastConfig
from .template import SeriesForecast, SeriesForecastModel

__all__ = ["SeriesForecast", "SeriesForecastConfig", "SeriesForecastModel"]
