"""Template ``masquerading-process``: processes named like system binaries, or run from where they do not belong.

Reads SecurityEvent 4688 (process creation) and scores every (tenant, computer, process path) of
the scoring window, with the reasons found (MITRE ATT&CK T1036.005, CAR-2021-04-001):

1. ``name_lookalike`` (:mod:`.lookalikes`): the name imitates a Windows binary or a binary that runs on
   many of the tenant's computers: one edit however short the name (``lsas.exe``), swapped letters
   (``scvhost.exe``), homoglyphs (``rundII32.exe``, ``svch0st.exe``), extra or missing extensions
   (``svchost.exe.exe``, ``lsass.com``). Candidate pairs come from an equi-join on blocking keys
   (:mod:`.names`): no cross join, no Python UDF;
2. ``unexpected_folder`` (:mod:`.findings`): a Windows binary's name run from a folder it does not ship
   in (:mod:`.windows`) and that the tenant does not use for it;
3. ``rare_parent`` (:mod:`.findings`): a process of fixed lineage started by another parent
   (``lsass.exe`` not started by ``wininit.exe``).

What fit learns (:mod:`.template`): per tenant, on how many computers each name, folder and parent
ran. The score (:mod:`.scoring`): points per finding plus the path's rarity in the tenant.
Options: :mod:`.config` (``byoml templates --describe masquerading-process``).
"""
from .config import MasqueradingConfig
from .scoring import OUTPUT_COLUMNS, REASONS, MasqueradingModel
from .template import MasqueradingProcess

__all__ = ["OUTPUT_COLUMNS", "REASONS", "MasqueradingConfig", "MasqueradingModel", "MasqueradingProcess"]
