"""The conformance suite of byoml templates, shipped so a plug-in author can run it on their own.

:func:`check_template` is to a template what scikit-learn's ``check_estimator`` is to an
estimator. It fits and scores the template on its sample data (or on a :class:`Fixture` you pass:
an export folder and the training and scoring windows) and checks, in order:

* ``declaration``: name, version, tables, a documented option list, keyword
  options equal to the mapping form, unknown options refused;
* ``fit``: every declared learned attribute is set, learned values are JSON;
* ``scores``: rows come out, every ``AnomalyScore`` is finite, ``IsAnomaly`` (the anomaly
  condition) flags some rows but not all (not all only, with your own fixture, or for a template
  whose flags mark what its options configure, ``labelled_flags = False``: a forecast flags the
  crossing of a threshold the user sets, and sample data without one has nothing to flag; check
  such a template's flags with ``options`` that set one);
* ``deterministic``: a second fit scores the same rows;
* ``round_trip``: a saved and loaded model scores the same rows;
* ``written_schema``: the rows ``run.score`` hands the sink have exactly the declared columns and types;
* ``empty_window``, ``missing_column``, ``other_template``: clear :class:`~byoml.errors.ByomlError`
  messages for a window without data, an export without a required column, and a model another
  template trained.

Use it in your tests::

    from byoml.testing import check_template
    from off_hours import OffHours

    def test_off_hours(spark, tmp_path):
        check_template(OffHours, spark=spark, workdir=str(tmp_path))
"""
from __future__ import annotations

import datetime as dt
import json
import os
import pathlib
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Type, Union

from .errors import ByomlError, ConfigError, EmptyWindowError, ModelError, SchemaError
from .sinks.base import SinkResult
from .timewindow import UTC, TimeWindow

#: Small sample sizes per sample-data kind: enough to fit, small enough for a test.
SAMPLE_OPTIONS: Dict[str, Dict[str, Any]] = {
    "resource-access": {"users": 120, "days": 14, "tenants": 2, "seed": 11, "malformed_lines": 4},
    "usage": {"series": 8, "days": 21, "seed": 5},
    "process-creation": {"computers": 60, "days": 5, "tenants": 2, "seed": 11, "malformed_lines": 3},
    "log-patterns": {"computers": 4, "days": 4, "volume": 0.25, "seed": 3},
}
RUN_TIME = dt.datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
TOLERANCE = 1e-9  # Spark sums in no fixed order: the last bits of an aggregate may differ between runs


class TemplateCheckError(AssertionError):
    """A template failed a conformance check; the message names the check and what to fix."""


@dataclass
class Fixture:
    """Data to check a template on: an export folder (``am-<table>`` containers) and two windows."""

    export: str
    train_window: TimeWindow
    score_window: TimeWindow
    labelled: bool = False  # sample data with injected anomalies: some rows must be flagged

    @classmethod
    def from_labels(cls, export: str, labels: Mapping[str, Any]) -> "Fixture":
        """The fixture of a sample export, from its ``labels.json`` windows."""
        tw, sw = labels["train_window"], labels["score_window"]
        return cls(export, TimeWindow.parse(tw["start"], tw["end"]), TimeWindow.parse(sw["start"], sw["end"]), True)


@dataclass
class CheckReport:
    """What :func:`check_template` ran: the checks passed, in order, and the rows scored."""

    template: str
    passed: List[str] = field(default_factory=list)
    rows: int = 0
    flagged: int = 0


def sample_fixture(template_cls: type, folder: str, **options: Any) -> Fixture:
    """Generate the template's sample data (``template_cls.sample_data``) under ``folder``."""
    from .sample_data import generate

    kind = template_cls.sample_data
    if not kind:
        raise TemplateCheckError(
            f"template {template_cls.__name__} has no sample_data: pass fixture=Fixture(export folder, "
            "train window, score window) to check_template")
    labels = generate(kind, folder, **{**SAMPLE_OPTIONS.get(kind, {}), **options})
    return Fixture.from_labels(folder, labels)


class _CapturingSink:
    """A :class:`~byoml.sinks.Sink` that keeps what it is given: the schema and the rows."""

    def __init__(self, folder: str) -> None:
        self.folder = folder
        self.columns: List = []
        self.rows = None

    def write(self, df, table: str, run_id: str, rows: int) -> SinkResult:
        from .templates.schema import dataframe_columns

        self.columns = dataframe_columns(df)
        self.rows = _rows(df)
        return SinkResult(rows, "memory")

    def quarantine_dir(self, run_id: str, table: str) -> str:
        return os.path.join(self.folder, "_quarantine", run_id, table)

    def describe(self) -> str:
        return "memory (byoml.testing)"


def _rows(df):
    """The rows of a small output as pandas, sorted on every non-float column."""
    pdf = df.toPandas()
    keys = [c for c in pdf.columns if pdf[c].dtype.kind != "f"]
    return pdf.sort_values(keys).reset_index(drop=True) if keys else pdf


def _same_rows(a, b, what: str) -> None:
    floats = [c for c in a.columns if a[c].dtype.kind == "f"]
    if list(a.columns) != list(b.columns) or len(a) != len(b):
        raise TemplateCheckError(f"{what}: {len(a)} rows of {list(a.columns)} against {len(b)} of {list(b.columns)}")
    if not a.drop(columns=floats).equals(b.drop(columns=floats)):
        raise TemplateCheckError(f"{what}: the rows differ outside the floating-point columns")
    for c in floats:
        if not a[c].isna().equals(b[c].isna()):
            raise TemplateCheckError(f"{what}: column {c} is missing in different rows")
        if a[c].notna().any() and float((a[c] - b[c]).abs().max()) >= TOLERANCE:
            raise TemplateCheckError(f"{what}: column {c} differs by up to {float((a[c] - b[c]).abs().max()):.3g}")


def _prepared(spark, template, fixture_export: str, window: TimeWindow):
    from .sources import LocalExportSource

    result = LocalExportSource(fixture_export).read(
        spark, template.input_table, window.extended_back(template.score_lookback), template.columns(),
        template.required_columns())
    result.check()
    return template.summarize(template.prepare(result.df))


def _check_declaration(cls) -> None:
    from .templates.base import Model, TemplateConfig

    problems = []
    if not cls.name:
        problems.append("set the class attribute name")
    if not re.fullmatch(r"\d+\.\d+", str(cls.version)):
        problems.append(f"version must be 'MAJOR.MINOR', not {cls.version!r}")
    if not cls.table or not cls.output_table:
        problems.append("set table (what it reads) and output_table (the _CL table, without the suffix)")
    if not (isinstance(cls.Config, type) and issubclass(cls.Config, TemplateConfig)):
        problems.append("Config must subclass byoml.templates.TemplateConfig")
    if not (isinstance(getattr(cls, "model_class", None), type) and issubclass(cls.model_class, Model)):
        problems.append("model_class must subclass byoml.templates.Model")
    if problems:
        raise TemplateCheckError(f"{cls.__name__}: " + "; ".join(problems))
    undocumented = [p.name for p in cls.params() if not p.doc]
    if undocumented:
        raise TemplateCheckError(f"{cls.__name__}: options without a doc: {', '.join(undocumented)} "
                                 "(declare them with byoml.templates.param(default, doc))")
    defaults = {p.name: p.default for p in cls.params()}
    if cls(**defaults).get_params() != cls(dict(defaults)).get_params() or cls().get_params() != cls(**defaults).get_params():
        raise TemplateCheckError(f"{cls.__name__}: keyword options and the mapping form build different configs")
    try:
        cls(no_such_option_byoml_check=1)
    except ConfigError:
        pass
    else:
        raise TemplateCheckError(f"{cls.__name__}: an unknown option was accepted")
    if not cls().output_schema():
        raise TemplateCheckError(f"{cls.__name__}: declare output_columns (Spark DDL of the output rows)")


def _check_fit(model) -> None:
    from .templates.base import Model

    if not isinstance(model, Model):
        raise TemplateCheckError(f"fit returned {type(model).__name__}, not a byoml Model")
    for name in type(model).learned_attributes():
        try:
            getattr(model, name)
        except AttributeError:
            raise TemplateCheckError(f"fit left the declared learned attribute {name} unset") from None
    try:
        json.dumps(model.learned_values())
    except (TypeError, ValueError) as exc:
        raise TemplateCheckError(f"learned values must be JSON-serialisable (tables are DataFrames): {exc}") from None


def _check_scores(model, out, labelled: bool) -> tuple:
    from pyspark.sql import functions as F

    if "AnomalyScore" not in out.columns or "IsAnomaly" not in out.columns:
        raise TemplateCheckError("the output needs AnomalyScore (double) and IsAnomaly (boolean)")
    totals = out.agg(F.count(F.lit(1)).alias("n"), F.sum(model.anomaly_condition().cast("long")).alias("flagged"),
                     F.sum((F.col("AnomalyScore").isNull() | F.isnan("AnomalyScore")
                            | F.abs("AnomalyScore").eqNullSafe(float("inf"))).cast("long")).alias("bad")).first()
    n, flagged = int(totals["n"]), int(totals["flagged"] or 0)
    if n == 0:
        raise TemplateCheckError("scoring the fixture's score window gave no rows")
    if totals["bad"]:
        raise TemplateCheckError(f"{totals['bad']} of {n} AnomalyScore values are not finite")
    if flagged >= n:
        raise TemplateCheckError(f"every one of the {n} rows is flagged")
    if labelled and flagged == 0:
        raise TemplateCheckError(f"none of the {n} rows of labelled sample data is flagged")
    return n, flagged


def _without_column(export: str, table: str, column: str, out: str) -> str:
    """A copy of ``export``'s ``table`` container with ``column`` removed from every record."""
    from .sources.layout import container_name

    source = pathlib.Path(export) / container_name(table)
    if not source.is_dir():
        raise TemplateCheckError(f"the fixture has no {container_name(table)} folder under {export}")
    target = pathlib.Path(out) / container_name(table)
    for path in source.rglob("*"):
        dest = target / path.relative_to(source)
        if path.is_dir():
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        lines = []
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                lines.append(line)  # malformed lines stay malformed
                continue
            if isinstance(record, dict) and isinstance(record.get("records"), list):
                for r in record["records"]:
                    r.pop(column, None) if isinstance(r, dict) else None
            elif isinstance(record, dict):
                record.pop(column, None)
            lines.append(json.dumps(record))
        dest.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out


def _expect(error: Type[ByomlError], what: str, call, match: Optional[str] = None) -> None:
    try:
        call()
    except error as exc:
        if match and match.lower() not in str(exc).lower():
            raise TemplateCheckError(f"{what}: the error does not name {match!r}: {exc}") from None
        return
    except Exception as exc:  # noqa: BLE001 - any other error is the finding
        raise TemplateCheckError(f"{what}: expected a {error.__name__}, got {type(exc).__name__}: {exc}") from None
    raise TemplateCheckError(f"{what}: expected a {error.__name__}, nothing was raised")


def check_template(
    template: Union[type, str],
    fixture: Optional[Fixture] = None,
    *,
    spark=None,
    workdir: Optional[str] = None,
    options: Optional[Mapping[str, Any]] = None,
) -> CheckReport:
    """Run the conformance checks on a template class (or a registered name / ``module:Class``).

    ``fixture``: the data to check on; by default the template's sample data is generated
    (a template without ``sample_data`` must pass one). ``options``: the template's options.
    ``workdir``: where models and copies go (a temporary folder by default, removed after).
    Raises :class:`TemplateCheckError` on the first failed check; returns what passed.
    """
    from .run import score as run_score
    from .run import train as run_train
    from .templates import RunInfo, Template, get_template_class, load_model, save_model
    from .templates.schema import schema_differences

    cls = get_template_class(template) if isinstance(template, str) else template
    if not (isinstance(cls, type) and issubclass(cls, Template)):
        raise TemplateCheckError(f"{template!r} is not a byoml Template subclass")
    report = CheckReport(cls.name or cls.__name__)
    _check_declaration(cls)
    report.passed.append("declaration")
    if spark is None:
        from .spark import get_spark

        spark = get_spark()
    own_dir = workdir is None
    root = pathlib.Path(workdir or tempfile.mkdtemp(prefix="byoml-check-"))
    try:
        if fixture is None:
            fixture = sample_fixture(cls, str(root / "sample"))
        tpl = cls(dict(options or {}))

        model = tpl.fit(_prepared(spark, tpl, fixture.export, fixture.train_window), fixture.train_window)
        _check_fit(model)
        report.passed.append("fit")

        run = RunInfo("check-run", RUN_TIME, fixture.score_window, "check-model")
        scoring = _prepared(spark, tpl, fixture.export, fixture.score_window)
        out = model.score(scoring, run)
        report.rows, report.flagged = _check_scores(model, out, fixture.labelled and cls.labelled_flags)
        first = _rows(out)
        report.passed.append("scores")

        again = tpl.fit(_prepared(spark, tpl, fixture.export, fixture.train_window), fixture.train_window)
        _same_rows(first, _rows(again.score(scoring, run)), "a second fit of the same data")
        report.passed.append("deterministic")

        model_dir = str(root / "model")
        save_model(model, model_dir)
        loaded = load_model(tpl, model_dir, spark)
        _same_rows(first, _rows(loaded.score(scoring, run)), "the saved and loaded model")
        if loaded.metadata.get("params") != tpl.get_params():
            raise TemplateCheckError("the saved model does not record the template's options")
        report.passed.append("round_trip")

        sink = _CapturingSink(str(root / "sink"))
        run_score(tpl, fixture.export, model_dir, sink, start=fixture.score_window.start.isoformat(),
                  end=fixture.score_window.end.isoformat(), emit="all", spark=spark)
        problems = schema_differences(sink.columns, tpl.output_schema())
        if problems:
            raise TemplateCheckError("the written rows differ from the declared output schema: " + "; ".join(problems))
        if len(sink.rows) != report.rows:
            raise TemplateCheckError(f"run.score wrote {len(sink.rows)} rows, the model scored {report.rows}")
        report.passed.append("written_schema")

        empty = TimeWindow(fixture.train_window.start - dt.timedelta(days=3650),
                           fixture.train_window.start - dt.timedelta(days=3649))
        _expect(EmptyWindowError, "training on a window without data",
                lambda: run_train(tpl, fixture.export, str(root / "empty-model"), start=empty.start.isoformat(),
                                  end=empty.end.isoformat(), spark=spark))
        _expect(ByomlError, "fitting no rows", lambda: tpl.fit(
            _prepared(spark, tpl, fixture.export, fixture.train_window).limit(0), fixture.train_window))
        report.passed.append("empty_window")

        # TimeGenerated places a record in the window: without it a record is quarantined, not read
        required = [c for c in tpl.required_columns() if c != "TimeGenerated"]
        if required:
            column = required[0]
            broken = _without_column(fixture.export, tpl.input_table, column, str(root / "missing-column"))
            _expect(SchemaError, f"training on an export without the required column {column}",
                    lambda: run_train(tpl, broken, str(root / "broken-model"),
                                      start=fixture.train_window.start.isoformat(),
                                      end=fixture.train_window.end.isoformat(), spark=spark), match=column)
            report.passed.append("missing_column")

        other = _other_template()
        _expect(ModelError, "loading the model into another template",
                lambda: load_model(other, model_dir, spark), match=f"trained by template '{tpl.name}'")
        _expect(ModelError, "scoring with another template's model",
                lambda: run_score(other, fixture.export, model_dir, sink, emit="all", spark=spark),
                match=f"trained by template '{tpl.name}'")
        report.passed.append("other_template")
    finally:
        if own_dir:
            shutil.rmtree(root, ignore_errors=True)
    return report


def _other_template():
    """An instance of a template with another name, to load a model into."""
    from .templates import Model, Template, TemplateConfig

    class _OtherModel(Model):
        def score(self, prepared, run):  # never called: the model is refused on load
            raise AssertionError("byoml.testing: another template's model was loaded")

    class _OtherTemplate(Template):
        name = "byoml-testing-other"
        table = "SecurityEvent"
        output_table = "Other"
        output_columns = "TimeGenerated timestamp, AnomalyScore double, IsAnomaly boolean"
        Config = TemplateConfig
        model_class = _OtherModel

        def prepare(self, events):
            return events

        def fit(self, prepared, window):
            raise AssertionError("byoml.testing: the other template is never fitted")

    return _OtherTemplate()

