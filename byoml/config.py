"""Run configuration files (YAML or JSON) with sections ``template``, ``source`` and ``sink``.

Example::

    template:            # the template's own options (see its Config class)
      threshold: 3.0
    sink:                # connector options (Log Analytics endpoint, DCR id, stream...)
      stream: Custom-AnomalousResourceAccessResult
"""
from __future__ import annotations

import json
import os
from typing import Any, Dict, Optional

from .errors import ConfigError

SECTIONS = ("template", "source", "sink")


def load_config(path: Optional[str]) -> Dict[str, Dict[str, Any]]:
    """Read a config file; returns every section (empty dicts for absent ones)."""
    out: Dict[str, Dict[str, Any]] = {name: {} for name in SECTIONS}
    if not path:
        return out
    if not os.path.exists(path):
        raise ConfigError(f"config file '{path}' does not exist")
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    try:
        if path.endswith(".json"):
            data = json.loads(text) if text.strip() else {}
        else:
            import yaml

            data = yaml.safe_load(text) or {}
    except Exception as exc:
        raise ConfigError(f"config file '{path}' is not valid {'JSON' if path.endswith('.json') else 'YAML'}: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config file '{path}' must hold a mapping with sections {', '.join(SECTIONS)}")
    unknown = sorted(set(data) - set(SECTIONS))
    if unknown:
        raise ConfigError(
            f"config file '{path}': unknown section(s) {', '.join(unknown)}; use {', '.join(SECTIONS)} "
            "(template options go under 'template:')"
        )
    for name in SECTIONS:
        section = data.get(name) or {}
        if not isinstance(section, dict):
            raise ConfigError(f"config file '{path}': section '{name}' must be a mapping")
        out[name] = section
    return out
