"""The one code path of every job: source -> template -> model / sink, with the run summary.

The CLI, the ``jobs/`` scripts, the Databricks wheel tasks and the notebooks all call
:func:`train` and :func:`score`; nothing else reads, fits or writes.
"""
from __future__ import annotations

import datetime as dt
import os
import uuid
from typing import Any, Dict, Mapping, Optional, Union

from .config import load_config
from .errors import ConfigError, EmptyWindowError
from .paths import to_spark_path
from .sinks import Sink, open_sink
from .sources import ExportSource, open_source
from .summary import RunSummary
from .templates import RunInfo, Template, get_template_class, load_model, read_metadata, save_model
from .templates.store import check_compatible
from .timewindow import UTC, TimeWindow, format_time, parse_time

EMIT_CHOICES = ("anomalies", "all")
RUN_NAMESPACE = uuid.UUID("7f0c6a52-3c1e-4a53-9c39-6b8f2f1d0b7e")

TemplateLike = Union[str, Template]
SourceLike = Union[str, ExportSource]


def _config_sections(config: Union[None, str, Mapping[str, Any]]) -> Dict[str, Dict[str, Any]]:
    if config is None or isinstance(config, str):
        return load_config(config)
    sections = {"template": {}, "source": {}, "sink": {}}
    for key, value in dict(config).items():
        if key not in sections:
            raise ConfigError(f"unknown config section '{key}'")
        sections[key] = dict(value or {})
    return sections


def _template(spec: TemplateLike, options: Mapping[str, Any]) -> Template:
    if isinstance(spec, Template):
        if options:
            return type(spec)({**spec.get_params(), **options})
        return spec
    return get_template_class(spec)(dict(options))


def _source(spec: SourceLike, options: Optional[Mapping[str, Any]] = None) -> ExportSource:
    return spec if isinstance(spec, ExportSource) else open_source(spec, options)


def _spark(spark):
    if spark is not None:
        return spark
    from .spark import get_spark

    return get_spark()


def _day_window(latest: dt.datetime) -> TimeWindow:
    day = latest.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return TimeWindow(day, day + dt.timedelta(days=1))


def resolve_score_window(source: ExportSource, table: str, start: Optional[str], end: Optional[str]) -> TimeWindow:
    """``--start/--end`` as given; a missing bound is one day from the other; none: the newest day."""
    if start and end:
        return TimeWindow.parse(start, end)
    if start:
        lo = parse_time(start)
        return TimeWindow(lo, lo + dt.timedelta(days=1))
    if end:
        hi = parse_time(end)
        return TimeWindow(hi - dt.timedelta(days=1), hi)
    incremental = source.incremental_window(table)  # with a watermark: what is new since the last run
    if incremental is not None:
        return incremental
    latest = source.latest_time(table)
    if latest is None:
        raise EmptyWindowError(f"no {table} data under {source.describe()}: nothing to score")
    return _day_window(latest)


def _read_prepared(summary: RunSummary, source: ExportSource, template: Template, window: TimeWindow, spark,
                   quarantine_dir: str):
    """Read, prepare and summarize the window in one pass over the files.

    Returns the template's summarized input (computed and kept), the prepared events'
    count and time bounds, and the read's counts. Only the summary is stored, never the parsed records.
    """
    from pyspark.sql import functions as F

    from .spark import ObservedCounts

    events = []

    def build(records):
        prepared = ObservedCounts(template.prepare(records), "byoml_events", [
            F.count(F.lit(1)).alias("events"),
            F.min("TimeGenerated").alias("first"),
            F.max("TimeGenerated").alias("last"),
        ])
        events[:] = [prepared]
        return template.summarize(prepared.df)

    with summary.stage("read", spark):
        result = source.read(
            spark, template.input_table, window, template.columns(), template.required_columns(), build=build
        )
        s = result.stats
        summary.add_counts(
            files=s.files, records=s.records, quarantined=s.quarantined, duplicates=s.duplicates,
            out_of_window=s.out_of_window, other_table=s.other_table, rows_read=s.rows,
        )
        if s.skipped_folders:
            summary.notes.append(
                f"{len(s.skipped_folders)} folders do not follow the export layout and were skipped, "
                f"e.g. {s.skipped_folders[0]}"
            )
        if s.layout == "flat":
            summary.notes.append("no y=/m=/d=/h= folders: every JSON file was read and filtered on TimeGenerated")
        written = result.write_quarantine(to_spark_path(quarantine_dir))
        if written:
            summary.outputs["quarantine"] = quarantine_dir
        result.check()
        counted = events[0].get()
        summary.add_counts(events=int(counted["events"] or 0))
    if not counted["events"]:
        raise EmptyWindowError(
            f"{s.rows} {template.input_table} rows were read, but none is an input of template "
            f"{template.name} (check its filters, e.g. event_ids, in the config)"
        )
    return result.df, counted, s


def train(
    template: TemplateLike,
    source: SourceLike,
    model_dir: str,
    start: Optional[str] = None,
    end: Optional[str] = None,
    config: Union[None, str, Mapping[str, Any]] = None,
    spark=None,
) -> RunSummary:
    """Read the training window, fit the template and save the model atomically to ``model_dir``."""
    sections = _config_sections(config)
    tpl = _template(template, sections["template"])
    src = _source(source, sections["source"])
    window = TimeWindow.parse(start, end)
    run_id = str(uuid.uuid4())
    summary = RunSummary("train", tpl.name, run_id=run_id, source=src.describe(), window=str(window))
    spark = _spark(spark)
    prepared, bounds, read_stats = _read_prepared(
        summary, src, tpl, window, spark, os.path.join(model_dir, "_quarantine", run_id, tpl.input_table))
    with summary.stage("fit", spark):
        model = tpl.fit(prepared, window)
    model.metadata.update(
        {
            "training_window": window.to_dict(),
            "observed_window": {
                "start": format_time(bounds["first"].replace(tzinfo=UTC)) if bounds["first"] else None,
                "end": format_time(bounds["last"].replace(tzinfo=UTC)) if bounds["last"] else None,
            },
            "source": src.describe(),
            "table": tpl.input_table,
            "read": read_stats.to_dict(),
            "events": summary.counts.get("events", 0),
            "train_run_id": run_id,
        }
    )
    with summary.stage("save", spark):
        save_model(model, model_dir)
    summary.counts.update({k: v for k, v in model.metadata.get("counts", {}).items() if isinstance(v, int)})
    summary.outputs["model"] = f"{model_dir} ({model.version})"
    return summary


def score(
    template: TemplateLike,
    source: SourceLike,
    model_dir: str,
    sink: Union[str, Sink],
    start: Optional[str] = None,
    end: Optional[str] = None,
    emit: str = "anomalies",
    config: Union[None, str, Mapping[str, Any]] = None,
    spark=None,
    quarantine_dir: Optional[str] = None,
    report: Optional[str] = None,
) -> RunSummary:
    """Score a window with the model in ``model_dir`` and write the ``_CL`` rows to ``sink``.

    ``emit='anomalies'`` writes only flagged rows; ``'all'`` writes every scored row.
    ``report``: also write a self-contained HTML report of the run there (:mod:`byoml.report`).
    """
    if emit not in EMIT_CHOICES:
        raise ConfigError(f"--emit must be one of {', '.join(EMIT_CHOICES)}, not '{emit}'")
    if report:
        from .report import check_report_path

        report = check_report_path(report)  # a bad path fails before any work is done
    sections = _config_sections(config)
    metadata = read_metadata(model_dir)
    cls = type(template) if isinstance(template, Template) else get_template_class(template)
    check_compatible(metadata, cls.name, cls.version, model_dir)  # before any data is read
    saved = {k: v for k, v in (metadata.get("params") or {}).items()}
    tpl = cls({**saved, **sections["template"]}) if not isinstance(template, Template) else _template(template, sections["template"])
    src = _source(source, sections["source"])
    snk = open_sink(sink, sections["sink"]) if isinstance(sink, str) else sink
    if not isinstance(snk, Sink):
        raise ConfigError(f"sink {sink!r} is neither a folder, 'loganalytics' nor a byoml.sinks.Sink "
                          "(write, quarantine_dir, describe)")
    window = resolve_score_window(src, tpl.input_table, start, end)
    increment = src.begin(tpl.input_table, window)  # "" unless the source reads incrementally
    spark = _spark(spark)
    model = load_model(tpl, model_dir, spark)
    # Deterministic: a rerun of the same window (and the same pinned increment) has the same RunId,
    # so the Log Analytics sink's ledger does not send its rows twice.
    run_id = str(uuid.uuid5(RUN_NAMESPACE, f"{tpl.name}|{model.version}|{window}" + (f"|{increment}" if increment else "")))
    run = RunInfo(run_id=run_id, run_time=dt.datetime.now(UTC), window=window, model_version=model.version)
    summary = RunSummary("score", tpl.name, run_id=run_id, source=src.describe(), window=str(window))
    read_window = window.extended_back(tpl.score_lookback)
    quarantine = quarantine_dir or snk.quarantine_dir(run_id, tpl.input_table)
    try:
        prepared, _, _ = _read_prepared(summary, src, tpl, read_window, spark, quarantine)
    except EmptyWindowError:
        if increment:
            src.commit()  # the new data holds nothing to score: do not read it again
        raise
    scored = None
    try:
        from pyspark import StorageLevel
        from pyspark.sql import functions as F

        with summary.stage("score", spark):
            out = model.score(prepared, run)
            if "ModelVersion" not in out.columns:
                out = out.withColumn("ModelVersion", F.lit(model.version))
            if "RunId" not in out.columns:
                out = out.withColumn("RunId", F.lit(run_id))
            flag = model.anomaly_condition()
            scored = out.persist(StorageLevel.MEMORY_AND_DISK)
            totals = scored.agg(F.count(F.lit(1)).alias("n"), F.sum(flag.cast("long")).alias("flagged")).first()
            n_scored, n_flagged = int(totals["n"]), int(totals["flagged"] or 0)
            summary.add_counts(scored=n_scored, flagged=n_flagged)
        rows = scored if emit == "all" else scored.filter(flag)
        with summary.stage("write", spark):
            written = snk.write(rows, tpl.output_table_name, run_id, n_scored if emit == "all" else n_flagged)
        src.commit()  # only now does the watermark move past what this run read
        summary.add_counts(written=written.rows)
        summary.outputs["written to"] = written.location
        summary.extra["output_table"] = f"{tpl.output_table_name}_CL"
        summary.extra["emit"] = emit
        if report:
            from .report import write_report

            with summary.stage("report", spark):
                info = write_report(report, scored, flag, tpl, summary, model_version=model.version,
                                    context=model.report_context(prepared, run))
            summary.outputs["report"] = info.path
            if info.note:
                summary.notes.append(info.note)
    finally:
        if scored is not None:
            scored.unpersist()
    return summary


