"""The one code path of every job: source -> template -> model / sink, with the run summary.

The CLI, the ``jobs/`` scripts, the Databricks wheel tasks and the notebooks all call
:func:`train` and :func:`score`; nothing else reads, fits or writes.
"""
from __future__ import annotations

import datetime as dt
import os
import uuid
from typing import Any, Dict, Mapping, Optional, Tuple, Union

from .config import load_config
from .errors import ConfigError, EmptyWindowError, MissingColumnError, ThinDataError
from .paths import to_spark_path
from .sinks import Sink, open_sink
from .sources import ExportSource, open_source
from .summary import RunSummary
from .templates import EMIT_MODES, RunInfo, Template, get_template_class, load_model, read_metadata, save_model
from .templates.store import check_compatible
from .timewindow import UTC, TimeWindow, format_time, parse_time

EMIT_CHOICES = EMIT_MODES  # every template's; a template may declare more (Template.emit_modes)
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


def _source(spec: Optional[SourceLike], options: Optional[Mapping[str, Any]] = None,
            store: Optional[str] = None) -> ExportSource:
    """The run's source: ``spec`` opened with the config's ``source:`` options; through the day store in
    ``store`` (or ``source: store:``) when one is given."""
    if isinstance(spec, ExportSource):
        if store:
            from .daystore import StoreSource

            return StoreSource(store, spec)
        return spec
    options = dict(options or {})
    if store:
        options["store"] = store
    return open_source(spec, options)


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


def resolve_train_window(source: ExportSource, table: str, start: Optional[str],
                         end: Optional[str]) -> Tuple[TimeWindow, Optional[dt.datetime]]:
    """``--start/--end`` as given; without ``--end``, up to the start of the newest day present, which is
    kept out of training so that ``score`` without a window judges data the model has not seen.

    Returns the window and, when the end was chosen here, the start of that newest day."""
    if end:
        return TimeWindow.parse(start, end), None
    first = parse_time(start) if start else None  # a bad --start is a usage error before anything is listed
    latest = source.latest_time(table)
    if latest is None:
        raise EmptyWindowError(f"no {table} data under {source.describe()}: nothing to train on")
    newest = _day_window(latest).start
    window = TimeWindow(first, newest)
    if window.start is not None and window.start >= newest:
        raise ConfigError(f"--start {format_time(window.start)} is not before the newest day of data "
                          f"({newest:%Y-%m-%d}), which train keeps out for scoring: give --end to train on it")
    return window, newest


def check_window_has_data(source: ExportSource, table: str, window: TimeWindow) -> None:
    """A window that starts after the newest folder of the export: said before Spark starts (folder listing only)."""
    if not source.lists_folders or window.start is None:
        return
    latest = source.latest_time(table)
    if latest is not None and window.start > latest.astimezone(UTC) + dt.timedelta(hours=1):
        raise EmptyWindowError(
            f"the window {window} starts after the newest {table} data under {source.describe()} "
            f"({format_time(latest)} is the newest folder): nothing to read")


def check_score_window(window: TimeWindow, metadata: Mapping[str, Any], allow_overlap: bool) -> Optional[str]:
    """Refuse a scoring window that overlaps the model's training window or lies before it.

    A model scores its own training data too well (the flags vanish) and data older than its training
    with hindsight; ``allow_overlap`` is the deliberate opt-in, and the run summary then says so."""
    trained = metadata.get("training_window") or {}
    observed = metadata.get("observed_window") or {}
    t_end = parse_time(trained["end"]) if trained.get("end") else None
    t_start = parse_time(trained.get("start") or observed.get("start")) if (trained.get("start") or observed.get("start")) else None
    if t_end is None:
        return None
    overlaps = window.start < t_end and (t_start is None or window.end > t_start)
    before = t_start is not None and window.end <= t_start
    if not (overlaps or before):
        return None
    span = f"[{format_time(t_start) if t_start else '…'}, {format_time(t_end)})"
    what = "overlaps the model's training window" if overlaps else "lies before the model's training window"
    if allow_overlap:
        return f"the scoring window {what} {span} (--allow-overlap): scores there are not a fair test"
    raise ConfigError(
        f"the scoring window {window} {what} {span}: a model scores its own training data as normal, so "
        f"nothing would be flagged. Score from {format_time(t_end)} on (--start), retrain with --end "
        f"{window.start:%Y-%m-%d}, or pass --allow-overlap to score it anyway")


def _read_prepared(summary: RunSummary, source: ExportSource, template: Template, window: TimeWindow, spark,
                   quarantine_dir: str):
    """Read, prepare and summarize the window in one pass over the files.

    Returns the template's summarized input (computed and kept), the prepared events'
    count and time bounds, and the read's counts. Only the summary is stored, never the parsed records.
    """
    from pyspark.sql import functions as F

    from .spark import ObservedCounts

    events, dropped = [], []
    filters = template.input_filters()

    def build(records):
        if filters:  # where the rows the template does not use went, counted in the same pass
            reason = F.lit(None)
            for name, keep in reversed(filters):
                reason = F.when(~F.coalesce(keep, F.lit(False)), F.lit(name)).otherwise(reason)
            observed = ObservedCounts(records, "byoml_filtered", [
                F.sum(F.when(reason == name, 1).otherwise(0)).alias(f"f{i}") for i, (name, _) in enumerate(filters)])
            dropped[:] = [observed]
            records = observed.df
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
        if s.truncated_bodies:
            summary.add_counts(recovered=s.recovered)
            summary.notes.append(
                f"{s.truncated_bodies} truncated {{\"records\":[...]}} bodies: {s.recovered} complete records in them "
                f"were read, {s.cut_off} cut off at their end quarantined (counts are per record, exact)")
        if s.skipped_folders:
            summary.notes.append(
                f"{len(s.skipped_folders)} folders do not follow the export layout and were skipped, "
                f"e.g. {s.skipped_folders[0]}"
            )
        if s.layout == "flat":
            summary.notes.append("no y=/m=/d=/h= folders: every JSON file was read and filtered on TimeGenerated")
        summary.notes.extend(result.notes)
        if result.write_quarantine(to_spark_path(quarantine_dir)):
            summary.outputs["quarantine"] = quarantine_dir
        elif result.quarantine_at:  # read from the day store: quarantined when the days were ingested
            summary.outputs["quarantine"] = result.quarantine_at
        if dropped and s.rows:
            got = dropped[0].get()
            summary.filtered = {name: int(got.get(f"f{i}") or 0) for i, (name, _) in enumerate(filters)}
        try:
            result.check()
        except MissingColumnError as exc:
            # the filters took every row before any reached a filter on the missing column: the filters
            # are the cause (a day without 5140 events has no ShareName); rows dropped for the empty
            # column itself mean the column is the cause
            on_column = sum(n for name, n in summary.filtered.items() if exc.column in name)
            if s.rows and summary.filtered and sum(summary.filtered.values()) >= s.rows and not on_column:
                raise EmptyWindowError(_no_inputs(s.rows, template, window, summary.filtered,
                                                  f"(so none has '{exc.column}', which the template reads)")) from None
            raise
        counted = events[0].get()
        summary.add_counts(events=int(counted["events"] or 0))
    if not counted["events"]:
        raise EmptyWindowError(_no_inputs(s.rows, template, window, summary.filtered, ""))
    return result.df, counted, s


def _newest_input_day(source: ExportSource, template: Template, window: TimeWindow, spark,
                      days: int = 14) -> Optional[dt.datetime]:
    """The start of the newest day before ``window`` with an input of the template (the ``days`` before it)."""
    from pyspark.sql import functions as F

    search = TimeWindow(window.start - dt.timedelta(days=days), window.start)
    try:
        result = source.for_hints().read(spark, template.input_table, search, template.columns(), [],
                             build=lambda records: template.prepare(records).agg(F.max("TimeGenerated").alias("last")))
        last = result.df.first()["last"] if result.stats.rows else None
    except Exception:  # noqa: BLE001 - only a hint for an error already being raised
        return None
    return _day_window(last.replace(tzinfo=UTC)).start if last is not None else None


def _no_inputs(rows: int, template: Template, window: TimeWindow, filtered: Mapping[str, int], extra: str) -> str:
    """Why a window gave the template no input: the filters that took its rows, largest first."""
    reasons = ", ".join(f"{n:,} {name}" for name, n in sorted(filtered.items(), key=lambda kv: -kv[1]) if n)
    hint = template.filter_hint() if filtered else "check the template's filters in the config"
    return (f"{rows:,} {template.input_table} rows were read in {window}, but none is an input of {template.name}"
            + (f": {reasons}" if reasons else "") + (f" {extra}" if extra else "") + f". {hint}")


def _thin(template: Template, have: Mapping[str, Any]) -> Dict[str, Tuple[int, int]]:
    """The template's ``minimum_training`` counts that ``have`` falls short of: ``{name: (have, need)}``."""
    return {k: (int(have[k]), int(need)) for k, need in template.minimum_training.items()
            if have.get(k) is not None and int(have[k]) < int(need)}


def _thin_message(template: Template, short: Mapping[str, Tuple[int, int]], window: TimeWindow) -> str:
    found = ", ".join(f"{have:,} {name.replace('_', ' ')} (needs {need:,})" for name, (have, need) in short.items())
    return (f"the training window {window} is too thin for {template.name}: {found}. Statistics from this "
            "little mean nothing; lengthen the window (--start, --days), or pass --force to train anyway "
            "(the model and every row it scores are then marked LowConfidence)")


def _days(bounds: Mapping[str, Any]) -> int:
    first, last = bounds.get("first"), bounds.get("last")
    if not first or not last:
        return 0
    return int((last - first).total_seconds() // 86400) + 1


def ingest(
    source: SourceLike,
    store: str,
    table: Optional[str] = None,
    start: Optional[str] = None,
    end: Optional[str] = None,
    config: Union[None, str, Mapping[str, Any]] = None,
    spark=None,
    template: Optional[TemplateLike] = None,
) -> RunSummary:
    """Fill the day store in ``store`` from the export ``source`` (:mod:`byoml.daystore`).

    The table is ``table``, else the input table of ``template`` (with the config's ``template:``
    options), else SecurityEvent. Without ``start``, only what may have changed since the last
    ingest is listed (``late_hours``, 12 by default, before the newest stored folder); a day is
    parsed again only when its files changed.
    """
    from .daystore import StoreSource

    sections = _config_sections(config)
    if table is None:
        table = _template(template, sections["template"]).input_table if template else "SecurityEvent"
    if isinstance(source, ExportSource):
        src = StoreSource(store, source)
    else:
        src = _source(source, sections["source"], store)
    if not isinstance(src, StoreSource) or src.export is None:
        raise ConfigError("byoml ingest needs --source (the export) and --store (the day store's folder)")
    window = TimeWindow.parse(start, end)
    summary = RunSummary("ingest", table, source=src.describe(), window=str(window))
    spark = _spark(spark)
    with summary.stage("ingest", spark):
        report = src.ingest(spark, table, window)
    c = report.counts
    summary.add_counts(files=c["files"], records=c["records"], quarantined=c["malformed"] + c["schema_errors"],
                       duplicates=c["duplicates"], other_table=c["other_table"], rows_stored=c["rows"],
                       days_ingested=len(report.ingested), days_unchanged=len(report.unchanged))
    if report.ingested:
        summary.outputs["days"] = ", ".join(report.ingested) if len(report.ingested) <= 4 else \
            f"{report.ingested[0]} .. {report.ingested[-1]}"
    if report.quarantine:
        summary.outputs["quarantine"] = report.quarantine[0] + (f" (+{len(report.quarantine) - 1} days)"
                                                                if len(report.quarantine) > 1 else "")
    summary.outputs["store"] = src.manifest(table).root
    return summary


def train(
    template: TemplateLike,
    source: Optional[SourceLike],
    model_dir: str,
    start: Optional[str] = None,
    end: Optional[str] = None,
    config: Union[None, str, Mapping[str, Any]] = None,
    spark=None,
    force: bool = False,
    store: Optional[str] = None,
) -> RunSummary:
    """Read the training window, fit the template and save the model atomically to ``model_dir``.

    Without ``end`` the window ends at the start of the newest day present (kept out for scoring).
    Below the template's ``minimum_training``, training is refused unless ``force``.
    ``store``: read through the day store in that folder (:mod:`byoml.daystore`; ``source`` may
    then be None: the store only).
    """
    sections = _config_sections(config)
    tpl = _template(template, sections["template"])
    src = _source(source, sections["source"], store)
    window, newest = resolve_train_window(src, tpl.input_table, start, end)
    check_window_has_data(src, tpl.input_table, window)
    run_id = str(uuid.uuid4())
    summary = RunSummary("train", tpl.name, run_id=run_id, source=src.describe(), window=str(window))
    if newest is not None:
        summary.notes.append(f"the newest day ({newest:%Y-%m-%d}) is kept out of training for scoring; "
                             "give --end to train on it")
    spark = _spark(spark)
    try:
        prepared, bounds, read_stats = _read_prepared(
            summary, src, tpl, window, spark, os.path.join(model_dir, "_quarantine", run_id, tpl.input_table))
    except EmptyWindowError as exc:
        if newest is not None:
            raise EmptyWindowError(f"{exc} (train kept the newest day, {newest:%Y-%m-%d}, out of the window: "
                                   f"to train on it, give --end {newest + dt.timedelta(days=1):%Y-%m-%d})") from None
        raise
    have: Dict[str, Any] = {"events": summary.counts.get("events", 0), "days": _days(bounds)}
    short = _thin(tpl, have)
    if short and not force:
        raise ThinDataError(_thin_message(tpl, short, window))
    with summary.stage("fit", spark):
        model = tpl.fit(prepared, window)
    short.update(_thin(tpl, {**have, **model.metadata.get("counts", {})}))
    if short and not force:
        raise ThinDataError(_thin_message(tpl, short, window))
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
            "filtered": summary.filtered,
            "train_run_id": run_id,
        }
    )
    if short:
        model.metadata["low_confidence"] = {name: {"have": h, "need": n} for name, (h, n) in short.items()}
        summary.notes.append("LOW CONFIDENCE (--force): " + _thin_message(tpl, short, window).split(": ", 1)[1]
                             .split(". ")[0])
    with summary.stage("save", spark):
        save_model(model, model_dir)
    summary.counts.update({k: v for k, v in model.metadata.get("counts", {}).items() if isinstance(v, int)})
    summary.outputs["model"] = f"{model_dir} ({model.version})"
    return summary


def score(
    template: TemplateLike,
    source: Optional[SourceLike],
    model_dir: str,
    sink: Union[str, Sink],
    start: Optional[str] = None,
    end: Optional[str] = None,
    emit: str = "anomalies",
    config: Union[None, str, Mapping[str, Any]] = None,
    spark=None,
    quarantine_dir: Optional[str] = None,
    report: Optional[str] = None,
    allow_overlap: bool = False,
    store: Optional[str] = None,
) -> RunSummary:
    """Score a window with the model in ``model_dir`` and write the ``_CL`` rows to ``sink``.

    Without a window, the newest day present (or, with a watermark, what is new). A window that
    overlaps the model's training window, or lies before it, is refused unless ``allow_overlap``.

    ``emit='anomalies'`` writes only flagged rows; ``'all'`` writes every scored row; a mode the
    template declares (``Template.emit_modes``, e.g. ``records`` of ``log-patterns``) writes what
    the model's ``emit`` makes of the rows its ``for_emit`` template prepared, to that template's table.
    ``report``: also write a self-contained HTML report of the run there (:mod:`byoml.report`).
    ``store``: read through the day store in that folder, ingesting the window's missing days first.
    """
    cls = type(template) if isinstance(template, Template) else get_template_class(template)
    if emit not in EMIT_CHOICES and emit not in cls.emit_modes:
        extra = f" or {', '.join(cls.emit_modes)}" if cls.emit_modes else ""
        raise ConfigError(f"--emit must be one of {', '.join(EMIT_CHOICES)}{extra} for template {cls.name}, not '{emit}'")
    if report and emit not in EMIT_CHOICES:
        raise ConfigError(f"--report draws scored rows: give --emit {' or '.join(EMIT_CHOICES)} with it, not {emit}")
    if report:
        from .report import check_report_path

        report = check_report_path(report)  # a bad path fails before any work is done
    sections = _config_sections(config)
    metadata = read_metadata(model_dir)
    check_compatible(metadata, cls.name, cls.version, model_dir)  # before any data is read
    saved = {k: v for k, v in (metadata.get("params") or {}).items()}
    tpl = cls({**saved, **sections["template"]}) if not isinstance(template, Template) else _template(template, sections["template"])
    src = _source(source, sections["source"], store)
    snk = open_sink(sink, sections["sink"]) if isinstance(sink, str) else sink
    if not isinstance(snk, Sink):
        raise ConfigError(f"sink {sink!r} is neither a folder, 'loganalytics' nor a byoml.sinks.Sink "
                          "(write, quarantine_dir, describe)")
    writer = tpl.for_emit(emit)  # what this --emit reads and writes: the template itself, or its view
    window = resolve_score_window(src, tpl.input_table, start, end)
    overlap_note = check_score_window(window, metadata, allow_overlap)
    check_window_has_data(src, tpl.input_table, window)
    increment = src.begin(tpl.input_table, window)  # "" unless the source reads incrementally
    spark = _spark(spark)
    model = load_model(tpl, model_dir, spark)
    # Deterministic: a rerun of the same window (and the same pinned increment) has the same RunId,
    # so the Log Analytics sink's ledger does not send its rows twice.
    run_id = str(uuid.uuid5(RUN_NAMESPACE, f"{tpl.name}|{model.version}|{window}" + (f"|{increment}" if increment else "")))
    run = RunInfo(run_id=run_id, run_time=dt.datetime.now(UTC), window=window, model_version=model.version)
    summary = RunSummary("score", tpl.name, run_id=run_id, source=src.describe(), window=str(window))
    if overlap_note:
        summary.notes.append(overlap_note)
    low_confidence = bool(metadata.get("low_confidence"))
    if low_confidence:
        summary.notes.append("the model was trained on too little data (--force): every row is marked LowConfidence")
    read_window = window.extended_back(tpl.score_lookback)
    quarantine = quarantine_dir or snk.quarantine_dir(run_id, tpl.input_table)
    try:
        prepared, _, _ = _read_prepared(summary, src, writer, read_window, spark, quarantine)
    except EmptyWindowError as exc:
        if increment:
            src.commit()  # the new data holds nothing to score: do not read it again
        if not (start or end or increment):  # the default window: say where the inputs are
            found = _newest_input_day(src, tpl, window, spark)
            if found is not None:
                raise EmptyWindowError(f"{exc} The newest day ({window.start:%Y-%m-%d}) holds no input; the newest "
                                       f"that does is {found:%Y-%m-%d}: score it with --start {found:%Y-%m-%d}") from None
        raise
    scored = None
    try:
        from pyspark import StorageLevel
        from pyspark.sql import functions as F

        with summary.stage("score", spark):
            out = model.score(prepared, run) if writer is tpl else model.emit(emit, prepared, run)
            if "ModelVersion" not in out.columns:
                out = out.withColumn("ModelVersion", F.lit(model.version))
            if "RunId" not in out.columns:
                out = out.withColumn("RunId", F.lit(run_id))
            if "LowConfidence" not in out.columns:
                out = out.withColumn("LowConfidence", F.lit(low_confidence))
            flag = model.anomaly_condition() if writer is tpl else F.lit(False)
            scored = out.persist(StorageLevel.MEMORY_AND_DISK)
            totals = scored.agg(F.count(F.lit(1)).alias("n"), F.sum(flag.cast("long")).alias("flagged")).first()
            n_scored, n_flagged = int(totals["n"]), int(totals["flagged"] or 0)
            summary.add_counts(scored=n_scored, flagged=n_flagged)
        every = emit != "anomalies"
        rows = scored if every else scored.filter(flag)
        with summary.stage("write", spark):
            written = snk.write(rows, writer.output_table_name, run_id, n_scored if every else n_flagged)
        src.commit()  # only now does the watermark move past what this run read
        summary.add_counts(written=written.rows)
        summary.outputs["written to"] = written.location
        summary.extra["output_table"] = f"{writer.output_table_name}_CL"
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


