"""Template ``log-patterns``: message patterns mined from log text, new and surging ones flagged.

The parts, in the order data meets them: :mod:`.masking` (variables masked, tokens),
:mod:`.miner` (which tokens are variables), :mod:`.merge` (variants into patterns with
stable ids, messages to patterns), :mod:`.rates` (baselines and scores), :mod:`.scoring`
(a window's rows) and :mod:`.template` (the template and its model).
"""
from .config import LogPatternsConfig
from .template import LogPatternRecords, LogPatterns, LogPatternsModel

__all__ = ["LogPatternRecords", "LogPatterns", "LogPatternsConfig", "LogPatternsModel"]
