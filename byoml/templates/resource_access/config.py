"""Options of ``anomalous-resource-access`` (defaults chosen by measurement: benchmarks/README.md)."""
from __future__ import annotations

from dataclasses import dataclass

from ...errors import ConfigError
from ..access_events import AccessMappingConfig
from ..base import param

STRENGTHS = ("events_per_day", "active_days", "log_events", "binary")


@dataclass
class ResourceAccessConfig(AccessMappingConfig):
    """Options of ``anomalous-resource-access`` (``byoml templates --describe anomalous-resource-access``)."""

    rank: int = param(10, "ALS rank: length of the user and resource vectors")
    reg_param: float = param(1.0, "ALS regularisation")
    alpha: float = param(1.0, "ALS implicit-feedback confidence scale")
    max_iter: int = param(5, "ALS iterations (5 score like 10 on the sample seeds, with a shorter fit)")
    seed: int = param(42, "seed of ALS and of the calibration sample")
    strength: str = param("events_per_day", "per-pair feature: events_per_day | active_days | log_events | binary")
    context_prior: float = param(1.0, "weight of the tenant's typical direction in a new user's context")
    item_prior: float = param(2.0, "weight (in users) pulling a little-used resource towards its server's resources")
    threshold: float = param(2.5, "IsAnomaly when AnomalyScore (standard deviations) reaches it")
    calibration_pairs: int = param(200_000, "at most about this many training pairs (and user-days) calibrate, "
                                            "sampled by a seeded hash of their keys")
    als_blocks: int = param(0, "ALS user and item blocks; 0: half the shuffle partitions, between 1 and 10")
    output_table: str = param("AnomalousResourceAccessResult", "the custom table written, without _CL")

    def validate(self) -> None:
        super().validate()
        if self.strength not in STRENGTHS:
            raise ConfigError(f"strength must be one of {', '.join(STRENGTHS)}, not '{self.strength}'")
        if self.rank < 2 or self.max_iter < 1:
            raise ConfigError("rank must be >= 2 and max_iter >= 1")
        if self.als_blocks < 0:
            raise ConfigError("als_blocks must be >= 0 (0: from the shuffle partitions)")
        if self.reg_param < 0 or self.alpha <= 0 or self.context_prior < 0 or self.item_prior < 0:
            raise ConfigError("reg_param, context_prior and item_prior must be >= 0, alpha > 0")
