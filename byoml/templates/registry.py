"""Find templates by name: built-ins, ``byoml.templates`` entry points, or ``module:Class``.

>>> from byoml.templates import get_template
>>> get_template("access-rarity").name
'access-rarity'
"""
from __future__ import annotations

import importlib
import importlib.metadata
import os
import sys
from typing import Dict, Optional, Type

from ..errors import ConfigError
from .base import Template

ENTRY_POINT_GROUP = "byoml.templates"

BUILTIN: Dict[str, str] = {
    "access-rarity": "byoml.templates.rarity:AccessRarity",
    "anomalous-resource-access": "byoml.templates.resource_access:AnomalousResourceAccess",
    "masquerading-process": "byoml.templates.masquerading:MasqueradingProcess",
    "log-patterns": "byoml.templates.log_patterns:LogPatterns",
    "series-decompose": "byoml.templates.series_decompose:SeriesDecompose",
    "series-forecast": "byoml.templates.series_forecast:SeriesForecast",
    "usage-regression": "byoml.templates.usage_regression:UsageRegression",
}


def _entry_points() -> Dict[str, importlib.metadata.EntryPoint]:
    return {ep.name: ep for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)}


def available() -> Dict[str, str]:
    """Template names and where they come from (``module:Class``)."""
    names = dict(BUILTIN)
    for name, ep in _entry_points().items():
        names.setdefault(name, ep.value)
    return dict(sorted(names.items()))


def _import(spec: str) -> type:
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise ConfigError(f"template '{spec}' is not 'module:Class'")
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())  # let --template my_module:MyTemplate find ./my_module.py
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"cannot import template module '{module_name}': {exc}") from None
    obj = module
    for part in attr.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            raise ConfigError(f"module '{module_name}' has no '{attr}'")
    return obj


def get_template_class(name: str) -> Type[Template]:
    """The template class for a registered name or a ``module:Class`` path."""
    if ":" in name:
        cls = _import(name)
    elif name in BUILTIN:
        cls = _import(BUILTIN[name])
    else:
        eps = _entry_points()
        if name not in eps:
            raise ConfigError(
                f"unknown template '{name}'; available: {', '.join(available())} "
                "(or give your own as module:Class)"
            )
        try:
            cls = eps[name].load()
        except Exception as exc:  # a broken plug-in should not look like a byoml bug
            raise ConfigError(f"template '{name}' from entry point {eps[name].value} failed to load: {exc}") from None
    if not (isinstance(cls, type) and issubclass(cls, Template)):
        raise ConfigError(f"'{name}' is not a byoml Template subclass")
    if not cls.name:
        raise ConfigError(f"template class {cls.__qualname__} has no 'name'")
    return cls


def get_template(name: str, config: Optional[object] = None) -> Template:
    """An instance of the template ``name`` with ``config`` (mapping or Config object)."""
    return get_template_class(name)(config)
