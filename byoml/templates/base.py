"""The template interface: prepare -> fit -> save/load -> score.

A *template* is an algorithm a security team can run as is or adapt. It is a
small class in the style of scikit-learn and ``pyspark.ml``:

* its options are keyword arguments, declared by a :class:`TemplateConfig` dataclass whose
  fields carry their type, default and one line of doc (:func:`param`; listed by
  :meth:`Template.explain_params` and ``byoml templates --describe``), set at construction
  and never changed by ``fit``;
* :meth:`Template.prepare` turns the rows of the source table into the rows the
  algorithm needs (a DataFrame -> DataFrame function), and :meth:`Template.summarize`
  optionally aggregates them to the grain the model works at (kept, in the read's pass);
* :meth:`Template.fit` learns a :class:`Model` from prepared training rows; what it learned
  is the model class's declared attributes (:func:`learned_table`, :func:`learned_value`);
* :meth:`Model.score` turns prepared rows of the scoring window into output rows of the
  template's ``_CL`` table, whose columns the template declares (``output_columns``), with
  ``AnomalyScore`` and a boolean ``IsAnomaly``;
* a model is saved as Parquet tables plus JSON state by :mod:`byoml.templates.store`,
  which also checks on load that the model belongs to the template and version.

Write your own by subclassing both classes (see ``templates/README.md`` in the repository) and
check it with :func:`byoml.testing.check_template`.
"""
from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import typing
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar, Dict, List, Mapping, Optional, Sequence, Tuple, Type

from ..errors import ConfigError
from ..timewindow import TimeWindow


def param(default: Any = dataclasses.MISSING, doc: str = "") -> Any:
    """A config option: its default and one line of documentation (see :meth:`TemplateConfig.params`).

    A list or dict default is copied for each config, as ``field(default_factory=...)`` would.

    >>> from dataclasses import dataclass
    >>> @dataclass
    ... class C(TemplateConfig):
    ...     prior: float = param(10.0, "weight of the tenant's profile")
    >>> C.params()[0]
    Param(name='prior', type='float', default=10.0, doc="weight of the tenant's profile")
    """
    metadata = {"doc": doc}
    if isinstance(default, (list, dict, set)):
        frozen = copy.deepcopy(default)
        return field(default_factory=lambda: copy.deepcopy(frozen), metadata=metadata)
    return field(default=default, metadata=metadata)


@dataclass(frozen=True)
class Param:
    """One declared option of a template: what ``byoml templates --describe`` lists."""

    name: str
    type: str
    default: Any
    doc: str

    def explain(self) -> str:
        """``name: doc (type, default: value)``, as ``explainParams`` words it in pyspark.ml."""
        return f"{self.name}: {self.doc or 'undocumented'} ({self.type}, default: {self.default!r})"


def _type_name(hint: Any) -> str:
    if hint is None:
        return "any"
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.Union:
        return " | ".join("None" if a is type(None) else _type_name(a) for a in args)
    if origin is not None:
        name = getattr(origin, "__name__", str(origin))
        return f"{name}[{', '.join(_type_name(a) for a in args)}]" if args else name
    return getattr(hint, "__name__", str(hint))


@dataclass
class TemplateConfig:
    """Base class of template configs: a dataclass of declared options, built from keywords or a mapping."""

    @classmethod
    def params(cls) -> List[Param]:
        """The declared options: name, type, default and one line of doc, in declaration order."""
        hints = typing.get_type_hints(cls)
        out = []
        for f in dataclasses.fields(cls):
            if f.default is not dataclasses.MISSING:
                default = f.default
            elif f.default_factory is not dataclasses.MISSING:
                default = f.default_factory()
            else:
                default = None
            out.append(Param(f.name, _type_name(hints.get(f.name)), default, str(f.metadata.get("doc", ""))))
        return out

    @classmethod
    def from_dict(cls, data: Optional[Mapping[str, Any]]) -> "TemplateConfig":
        """A checked config from option values (keyword arguments, a YAML ``template:`` section)."""
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


class Learned:
    """A learned attribute of a model class, declared where the class is written.

    ``table=True``: a Spark DataFrame (saved as Parquet; anything that grows with users or
    series); otherwise a small JSON value (saved in ``state.json``). By the scikit-learn
    convention the attribute's name ends in ``_``; the saved table or key drops it. Reading
    one that was never set (a model built by hand without it) raises :class:`AttributeError`.
    """

    def __init__(self, doc: str, *, table: bool = False) -> None:
        self.doc = doc
        self.table = table
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @property
    def saved_name(self) -> str:
        """Name of the Parquet table or ``state.json`` key (the attribute without its trailing ``_``)."""
        return self.name[:-1] if self.name.endswith("_") else self.name

    def __get__(self, obj: Any, owner: Optional[type] = None) -> Any:
        if obj is None:
            return self
        try:
            return obj.__dict__[self.name]
        except KeyError:
            raise AttributeError(f"{type(obj).__name__}.{self.name} is not set: it is learned by fit") from None

    def __set__(self, obj: Any, value: Any) -> None:
        obj.__dict__[self.name] = value


def learned_table(doc: str) -> Any:
    """Declare a learned Spark table of a model class (see :class:`Learned`)."""
    return Learned(doc, table=True)


def learned_value(doc: str) -> Any:
    """Declare a small learned JSON value of a model class (see :class:`Learned`)."""
    return Learned(doc)


class Model(ABC):
    """A fitted template: its learned attributes, declared on the class with :func:`learned_table`
    and :func:`learned_value`, plus metadata (filled by ``fit`` and by the store).

    ``Model(template, metadata, **learned)`` sets every declared attribute; an undeclared one is
    refused, so what a model holds is what its class says.
    """

    def __init__(self, template: "Template", metadata: Optional[Mapping[str, Any]] = None, **learned: Any) -> None:
        declared = self.learned_attributes()
        unknown = sorted(set(learned) - set(declared))
        if unknown:
            raise TypeError(f"{type(self).__name__} declares no learned attribute {', '.join(unknown)} "
                            f"(declared: {', '.join(declared) or 'none'})")
        self.template = template
        self.metadata: Dict[str, Any] = dict(metadata or {})
        for name, value in learned.items():
            setattr(self, name, value)

    @classmethod
    def learned_attributes(cls) -> Dict[str, Learned]:
        """Declared learned attributes, by attribute name, in declaration order (base classes first)."""
        found: Dict[str, Learned] = {}
        for klass in reversed(cls.__mro__):
            for name, value in vars(klass).items():
                if isinstance(value, Learned):
                    found[name] = value
        return found

    def learned_tables(self) -> Dict[str, Any]:
        """Saved name -> DataFrame of every learned table (what the store writes as Parquet)."""
        return {a.saved_name: getattr(self, name) for name, a in self.learned_attributes().items() if a.table}

    def learned_values(self) -> Dict[str, Any]:
        """Saved name -> value of every small learned value (what the store writes to ``state.json``)."""
        return {a.saved_name: getattr(self, name) for name, a in self.learned_attributes().items() if not a.table}

    @classmethod
    def from_saved(cls, template: "Template", tables: Mapping[str, Any], state: Mapping[str, Any],
                   metadata: Mapping[str, Any]) -> "Model":
        """Rebuild a model from what :meth:`learned_tables` and :meth:`learned_values` saved."""
        learned = {}
        for name, a in cls.learned_attributes().items():
            source = tables if a.table else state
            if a.saved_name in source:
                learned[name] = source[a.saved_name]
        return cls(template, metadata, **learned)

    @abstractmethod
    def score(self, prepared, run: RunInfo):
        """Score prepared rows of ``run.window``; return rows of the output table."""

    def report_context(self, prepared, run: RunInfo):
        """Rows the template's report draws beside the scored ones (a DataFrame, or None: none).

        The ``forecast`` report draws each series' history before the forecasts from it; the report
        collects a bounded part of it (:mod:`byoml.report.collect`).
        """
        return None

    def emit(self, mode: str, prepared, run: RunInfo):
        """Rows of an extra ``--emit`` mode the template declares (:attr:`Template.emit_modes`), from the
        rows its :meth:`Template.for_emit` template prepared."""
        from ..errors import ConfigError

        raise ConfigError(f"template {self.template.name} has no --emit {mode}")

    def anomaly_condition(self):
        """Spark column: true for output rows that are anomalies (``--emit anomalies``).

        Every built-in template writes a boolean ``IsAnomaly`` beside ``AnomalyScore``.
        """
        from pyspark.sql import functions as F

        return F.col("IsAnomaly")

    @property
    def version(self) -> str:
        """The model's identity, written into every output row as ``ModelVersion``."""
        return str(self.metadata.get("model_version", "unsaved"))


#: Report kinds :mod:`byoml.report` draws: ``access`` (users x resources), ``series`` (usage over
#: time), ``forecast`` (history, forecast and interval bands), ``process`` (processes with their
#: reasons), ``patterns`` (log patterns: the top ones, new and surging) and ``table`` (the top rows
#: by ``AnomalyScore``, for any template). A template naming another kind gets ``table``, and the
#: run summary says so.
REPORT_KINDS = ("access", "series", "forecast", "process", "patterns", "table")
#: What ``--emit`` writes for every template: the flagged rows, or every scored row.
EMIT_MODES = ("anomalies", "all")
#: Columns byoml adds to every output row when the template's ``score`` does not (``LowConfidence``:
#: the model was trained with ``--force`` on less data than the template's ``minimum_training``).
RUN_COLUMNS = "ModelVersion string, RunId string, LowConfidence boolean"


class Template(ABC):
    """Base class of every template (built-in or yours).

    Options are keyword arguments, checked against the declared options of ``Config``
    (``OffHours(prior=10)``); a mapping works too, for config files (``OffHours({"prior": 10})``).

    Class attributes a template sets:

    ``name``           registry name, e.g. ``"access-rarity"``
    ``version``        model format version ``"MAJOR.MINOR"``; a model loads only into the same MAJOR
    ``table``          the Log Analytics table it reads (``SecurityEvent``)
    ``output_table``   the custom table it writes, without ``_CL``
    ``output_columns`` the output rows' columns as Spark DDL (``"TimeGenerated timestamp, ..."``);
                       ``ModelVersion`` and ``RunId`` are added (override :meth:`output_ddl`
                       when the columns depend on the options)
    ``report_kind``    which report ``--report`` draws: one of :data:`REPORT_KINDS`
    ``Config``         its :class:`TemplateConfig` subclass
    ``model_class``    its :class:`Model` subclass
    ``sample_data``    key of the generator in :mod:`byoml.sample_data` whose labels it is evaluated on
    ``score_lookback`` history the scoring step needs before the window (read from the source)
    ``labelled_flags`` whether ``IsAnomaly`` marks anomalies in the data, so that labelled sample data
                       must have flagged rows (:func:`byoml.testing.check_template`); False for a
                       template whose flags mark something its options set (a forecast's threshold)
    ``minimum_training`` the least training data the template's statistics mean something on:
                       ``{"events": 200, "days": 3, ...}``, checked against the read's counts and the
                       model's ``metadata["counts"]`` (``train`` refuses below it unless forced)
    ``emit_modes``     extra ``--emit`` modes beyond ``anomalies`` and ``all`` (mode -> what it writes); the
                       template's :meth:`for_emit` reads for one, its model's :meth:`Model.emit` writes it
    """

    name: ClassVar[str] = ""
    version: ClassVar[str] = "1.0"
    table: ClassVar[str] = ""
    output_table: ClassVar[str] = ""
    output_columns: ClassVar[str] = ""
    report_kind: ClassVar[str] = "table"
    Config: ClassVar[Type[TemplateConfig]] = TemplateConfig
    sample_data: ClassVar[Optional[str]] = None
    score_lookback: ClassVar[dt.timedelta] = dt.timedelta(0)
    labelled_flags: ClassVar[bool] = True
    minimum_training: ClassVar[Dict[str, int]] = {"events": 1, "days": 1}
    emit_modes: ClassVar[Dict[str, str]] = {}
    model_class: ClassVar[Type[Model]]

    def __init__(self, config: Optional[Any] = None, **options: Any) -> None:
        if config is None:
            config = self.Config.from_dict(options)
        elif isinstance(config, Mapping):
            config = self.Config.from_dict({**config, **options})
        elif not isinstance(config, self.Config):
            raise ConfigError(f"{self.name}: config must be a {self.Config.__name__}, a mapping or keyword options")
        elif options:
            config = self.Config.from_dict({**config.to_dict(), **options})
        else:
            config.validate()
        self.config = config

    # -- what it is -----------------------------------------------------
    @classmethod
    def params(cls) -> List[Param]:
        """The template's declared options (name, type, default, doc)."""
        return cls.Config.params()

    @classmethod
    def explain_params(cls) -> str:
        """One line per option: ``name: doc (type, default: value)``, like pyspark.ml's ``explainParams``."""
        return "\n".join(p.explain() for p in cls.params())

    def get_params(self) -> Dict[str, Any]:
        """The options of this instance, as a mapping (what a saved model records)."""
        return self.config.to_dict()

    def output_ddl(self) -> str:
        """The declared output columns as Spark DDL (default: ``output_columns``; a template whose
        columns depend on its options overrides this)."""
        return self.output_columns

    def output_schema(self) -> List[Tuple[str, str]]:
        """The output rows' (column, Spark type) in order, ``ModelVersion`` and ``RunId`` included."""
        from .schema import parse_ddl

        columns = parse_ddl(self.output_ddl())
        names = {n for n, _ in columns}
        return columns + [c for c in parse_ddl(RUN_COLUMNS) if c[0] not in names]

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

    def input_filters(self) -> List[Tuple[str, Any]]:
        """The rows :meth:`prepare` keeps, as ordered ``(reason, keep)`` pairs of a name and a Spark
        condition on the table's rows: a row is dropped for the first reason whose condition is not true.
        The run summary counts the rows each reason drops; :meth:`apply_filters` applies them."""
        return []

    def apply_filters(self, events):
        """``events`` without the rows :meth:`input_filters` drop."""
        for _, keep in self.input_filters():
            events = events.filter(keep)
        return events

    def filter_hint(self) -> str:
        """What to change when the filters leave nothing (said with the counts of each reason)."""
        return "Check the template's filters in the config."

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

    def build_model(self, tables: Mapping[str, Any], state: Mapping[str, Any], metadata: Mapping[str, Any]) -> Model:
        """Rebuild a fitted model from saved tables and state (used by the store)."""
        return self.model_class.from_saved(self, tables, state, metadata)

    def for_emit(self, mode: str) -> "Template":
        """The template that reads and writes for ``--emit mode``: itself for ``anomalies`` and ``all``;
        for a mode of :attr:`emit_modes`, one whose ``summarize``, ``output_table_name`` and output
        columns are that mode's (the model's :meth:`Model.emit` fills it)."""
        if mode in EMIT_MODES:
            return self
        from ..errors import ConfigError

        extra = f" or {', '.join(self.emit_modes)}" if self.emit_modes else ""
        raise ConfigError(f"--emit must be one of {', '.join(EMIT_MODES)}{extra} for template {self.name}, not '{mode}'")

    # -- evaluation -----------------------------------------------------
    def scores_table(self, labels: dict) -> str:
        """The output table ``byoml evaluate`` reads for ``labels`` (default: :attr:`output_table_name`)."""
        return self.output_table_name

    def evaluate(self, scores, labels: dict) -> dict:
        """Quality figures of a scored output (pandas) against sample-data labels."""
        from ..evaluate import evaluate_for_labels

        return evaluate_for_labels(scores, labels)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.config!r})"
