"""The template interface: prepare -> fit -> save/load -> score.

A *template* is an algorithm a security team can run as is or adapt. It is a
small class in the style of scikit-learn and ``pyspark.ml``:

* its parameters are a typed :class:`TemplateConfig` dataclass (the defaults are
  the documentation), set at construction and never changed by ``fit``;
* :meth:`Template.prepare` turns the rows of the source table into the rows the
  algorithm needs (a DataFrame -> DataFrame function), and :meth:`Template.summarize`
  optionally aggregates them to the grain the model works at (kept, in the read's pass);
* :meth:`Template.fit` learns a :class:`Model` from prepared training rows;
* :meth:`Model.score` turns prepared rows of the scoring window into output rows
  of the template's ``_CL`` table;
* a model is saved as Parquet tables plus JSON state by :mod:`byoml.templates.store`,
  which also checks on load that the model belongs to the template and version.

Write your own by subclassing both classes; see ``templates/README.md`` in the repository.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import typing
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar, Dict, List, Mapping, Optional, Sequence, Type

from ..errors import ConfigError
from ..timewindow import TimeWindow


@dataclass
class TemplateConfig:
    """Base class of template configs: a dataclass built from a mapping with checks."""

    @classmethod
    def from_dict(cls, data: Optional[Mapping[str, Any]]) -> "TemplateConfig":
        data = dict(data or {})
        fields = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - set(fields))
        if unknown:
            raise ConfigError(
                f"unknown {cls.__name__} option(s) {', '.join(unknown)}; valid options: {', '.join(sorted(fields))}"
            )
        hints = typing.get_type_hints(cls)
        values = {}
        for name, value in data.items():
            values[name] = _coerce(cls.__name__, name, value, hints.get(name))
        try:
            config = cls(**values)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{cls.__name__}: {exc}") from None
        config.validate()
        return config

    def validate(self) -> None:
        """Check values that types cannot express; raise :class:`ConfigError`."""

    def to_dict(self) -> Dict[str, Any]:
        return dataclasses.asdict(self)


def _coerce(owner: str, name: str, value: Any, hint: Any) -> Any:
    """Light type check for config values read from JSON/YAML."""
    if hint is None:
        return value
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is typing.Union and type(None) in args:
        if value is None:
            return None
        hint = next(a for a in args if a is not type(None))
        origin, args = typing.get_origin(hint), typing.get_args(hint)
    bad = ConfigError(f"{owner}.{name}: expected {getattr(hint, '__name__', hint)}, got {value!r}")
    if hint is bool:
        if not isinstance(value, bool):
            raise bad
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise bad
        return value
    if origin in (list, tuple, typing.Sequence) or hint in (list, tuple):
        if isinstance(value, str) or not isinstance(value, (list, tuple)):
            raise bad
        inner = args[0] if args else None
        items = [_coerce(owner, f"{name}[]", v, inner) for v in value]
        return tuple(items) if origin is tuple or hint is tuple else list(items)
    if origin is dict or hint is dict:
        if not isinstance(value, dict):
            raise bad
        return value
    return value


@dataclass
class RunInfo:
    """What a scoring run knows about itself; templates copy it into output rows."""

    run_id: str
    run_time: dt.datetime
    window: TimeWindow
    model_version: str


@dataclass
class Model(ABC):
    """A fitted template: Spark tables (size grows with the data) plus small JSON state."""

    template: "Template"
    tables: Dict[str, Any] = field(default_factory=dict)  # name -> pyspark DataFrame
    state: Dict[str, Any] = field(default_factory=dict)  # JSON-serialisable learned values
    metadata: Dict[str, Any] = field(default_factory=dict)  # filled by fit and by the store

    @abstractmethod
    def score(self, prepared, run: RunInfo):
        """Score prepared rows of ``run.window``; return rows of the output table."""

    def anomaly_condition(self):
        """Spark column: true for output rows that are anomalies (``--emit anomalies``)."""
        from pyspark.sql import functions as F

        return F.col("IsAnomaly")

    @property
    def version(self) -> str:
        """The model's identity, written into every output row as ``ModelVersion``."""
        return str(self.metadata.get("model_version", "unsaved"))


class Template(ABC):
    """Base class of every template (built-in or yours).

    Class attributes a template sets:

    ``name``           registry name, e.g. ``"access-rarity"``
    ``version``        model format version ``"MAJOR.MINOR"``; a model loads only into the same MAJOR
    ``table``          the Log Analytics table it reads (``SecurityEvent``)
    ``output_table``   the custom table it writes, without ``_CL``
    ``Config``         its :class:`TemplateConfig` subclass
    ``sample_data``    key of the generator in :mod:`byoml.sample_data` whose labels it is evaluated on
    ``score_lookback`` history the scoring step needs before the window (read from the source)
    """

    name: ClassVar[str] = ""
    version: ClassVar[str] = "1.0"
    table: ClassVar[str] = ""
    output_table: ClassVar[str] = ""
    Config: ClassVar[Type[TemplateConfig]] = TemplateConfig
    sample_data: ClassVar[Optional[str]] = None
    score_lookback: ClassVar[dt.timedelta] = dt.timedelta(0)
    model_class: ClassVar[Type[Model]]

    def __init__(self, config: Optional[Any] = None) -> None:
        if config is None:
            config = self.Config()
        elif isinstance(config, Mapping):
            config = self.Config.from_dict(config)
        elif not isinstance(config, self.Config):
            raise ConfigError(f"{self.name}: config must be a {self.Config.__name__} or a mapping")
        else:
            config.validate()
        self.config = config

    # -- what to read --------------------------------------------------
    @property
    def input_table(self) -> str:
        """The table to read; a config field ``table`` overrides the class default."""
        return getattr(self.config, "table", None) or self.table

    @property
    def output_table_name(self) -> str:
        """The ``_CL`` table name (without the suffix); a config ``output_table`` overrides it."""
        return getattr(self.config, "output_table", None) or self.output_table

    @property
    def sample_kind(self) -> Optional[str]:
        """The sample-data generator for this template as configured (default: ``sample_data``)."""
        return self.sample_data

    def columns(self) -> Optional[Sequence[str]]:
        """Columns :meth:`prepare` uses (None reads every column)."""
        return None

    def required_columns(self) -> List[str]:
        """Columns that must be present in the data; absent ones are a clear error."""
        return []

    # -- the algorithm --------------------------------------------------
    @abstractmethod
    def prepare(self, events):
        """Rows of the source table -> rows the algorithm uses (DataFrame -> DataFrame)."""

    def summarize(self, prepared):
        """Prepared rows -> the rows :meth:`fit` and :meth:`Model.score` receive (default: the same).

        A job computes and keeps this frame in the same pass that reads the files, and keeps
        nothing wider: return an aggregate here (e.g. per user and day) when the model needs
        no more, and the event-level rows are never stored.
        """
        return prepared

    @abstractmethod
    def fit(self, prepared, window: TimeWindow) -> Model:
        """Learn a :class:`Model` from prepared training rows."""

    def build_model(self, tables: Dict[str, Any], state: Dict[str, Any], metadata: Dict[str, Any]) -> Model:
        """Rebuild a fitted model from saved tables and state (used by the store)."""
        return self.model_class(self, tables, state, metadata)

    # -- evaluation -----------------------------------------------------
    def evaluate(self, scores, labels: dict) -> dict:
        """Quality figures of a scored output (pandas) against sample-data labels."""
        from ..evaluate import evaluate_for_labels

        return evaluate_for_labels(scores, labels)

    def params(self) -> Dict[str, Any]:
        return self.config.to_dict()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.config!r})"
