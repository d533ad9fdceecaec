"""Run configuration files (YAML or JSON) with sections ``template``, ``source`` and ``sink``.

Example::

    template:            # the template's own options (see its Config class)
      threshold: 3.0
    source:
      watermark: ${BYOML_STATE_DIR}/watermark    # ${NAME}: from the environment
    sink:                # connector options (Log Analytics endpoint, DCR id, stream...)
      stream: Custom-AnomalousResourceAccessResult

``${NAME}`` in a string value is replaced by the environment variable ``NAME`` (an unset
one is an error), so one file serves every job: a scheduler sets the paths per job.
"""
from __future__ import annotations

import json
import os
import re
from typing import Any, Dict, Optional

from .errors import ConfigError

SECTIONS = ("template", "source", "sink")
_ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def expand_environment(value: Any, where: str = "config") -> Any:
    """``value`` with ``${NAME}`` in every string replaced by the environment variable ``NAME``."""
    if isinstance(value, str):
        def replace(match: "re.Match[str]") -> str:
            name = match.group(1)
            if name not in os.environ:
                raise ConfigError(f"{where}: ${{{name}}} is used but the environment variable {name} is not set")
            return os.environ[name]

        return _ENV_REFERENCE.sub(replace, value)
    if isinstance(value, dict):
        return {k: expand_environment(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [expand_environment(v, where) for v in value]
    return value


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
        out[name] = expand_environment(section, f"config file '{path}': {name}")
    return out
