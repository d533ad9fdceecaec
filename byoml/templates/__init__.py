"""Algorithm templates: the interface, the registry and the built-in templates."""
from .base import EMIT_MODES, REPORT_KINDS, Learned, Model, Param, RunInfo, Template, TemplateConfig, learned_table, learned_value, param
from .registry import ENTRY_POINT_GROUP, available, get_template, get_template_class
from .store import load_model, read_metadata, save_model

__all__ = [
    "EMIT_MODES",
    "ENTRY_POINT_GROUP",
    "REPORT_KINDS",
    "Learned",
    "Model",
    "Param",
    "RunInfo",
    "Template",
    "TemplateConfig",
    "available",
    "get_template",
    "get_template_class",
    "learned_table",
    "learned_value",
    "load_model",
    "param",
    "read_metadata",
    "save_model",
]
