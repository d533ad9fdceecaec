"""Algorithm templates: the interface, the registry and the built-in templates."""
from .base import Model, RunInfo, Template, TemplateConfig
from .registry import ENTRY_POINT_GROUP, available, get_template, get_template_class
from .store import load_model, read_metadata, save_model

__all__ = [
    "ENTRY_POINT_GROUP",
    "Model",
    "RunInfo",
    "Template",
    "TemplateConfig",
    "available",
    "get_template",
    "get_template_class",
    "load_model",
    "read_metadata",
    "save_model",
]
