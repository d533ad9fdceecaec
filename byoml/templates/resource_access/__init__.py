"""Template ``anomalous-resource-access``: which file-share accesses were out of character?

Trains on SecurityEvent 5140 and scores every (tenant, user, resource) pair of the scoring
window. Quality is held by ``tests/test_resource_access.py``; speed and quality figures, and
how the defaults were chosen, are in ``benchmarks/README.md``. The parts:

1. **Strength** (:mod:`.embedding`): per (tenant, user, resource) over the training window,
   events per active day, as in Sentinel BYO-ML.
2. **Embedding** (:mod:`.embedding`): Spark ML ALS with implicit feedback learns a vector per
   resource from who accesses what; a resource few users touched is pulled towards the
   resources of its server (``item_prior``).
3. **Affinity** (:mod:`.affinity`): how well a resource fits a user's history, or, for a user
   without history, the rest of their window. One definition, used by scoring and calibration.
4. **Calibration** (:mod:`.calibration`): the mean and std of each path's affinities on normal
   training behaviour of the same tenant, scored as if it were new (leave one out).
5. **Score** (:mod:`.scoring`): ``AnomalyScore = (mean - affinity) / std``, in standard
   deviations below the tenant's normal, comparable across paths;
   ``IsAnomaly = AnomalyScore >= threshold`` (default 2.5). ``Explanation``
   (:mod:`.explanations`) names the user's usual resources and the resource's usual users.

Options: :mod:`.config` (``byoml templates --describe anomalous-resource-access``).
"""
from .affinity import KEYS
from .calibration import PATHS
from .config import STRENGTHS, ResourceAccessConfig
from .scoring import ResourceAccessModel
from .template import AnomalousResourceAccess

__all__ = ["KEYS", "PATHS", "STRENGTHS", "AnomalousResourceAccess", "ResourceAccessConfig", "ResourceAccessModel"]
