"""Command line: arguments only; the work is done by :mod:`byoml.run` and friends.

::

    byoml train  --template NAME --source SRC --model DIR [--start ISO | --days N] [--end ISO] [--config FILE]
    byoml score  --template NAME --source SRC --model DIR --sink SINK [--start ISO] [--end ISO]
                 [--emit anomalies|all|records] [--config FILE] [--report FILE]
    byoml ingest --source SRC --store DIR [--table NAME | --template NAME] [--start ISO] [--end ISO]
    byoml sample-data --template NAME --out DIR [--seed N] [--from-loghub CSV] ...
    byoml evaluate --template NAME --scores DIR --labels FILE
    byoml import --from winlogbeat|nxlog|csv [--table SecurityEvent] [--map FILE] [--layout 5min|hourly] IN OUT
    byoml replay DIR [--config FILE]
    byoml demo
    byoml templates [--describe NAME]

Exit codes: 0 success, 1 a run failed (bad input data, missing model...), 2 bad arguments.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import List, Optional

from ._version import __version__
from .credentials import install_log_redaction, redact
from .errors import ByomlError, ConfigError
from .importers import DEFAULT_RESOURCE_ID, FORMATS
from .sources.layout import LAYOUTS

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse's exit code 2, with a hint
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\nRun '{self.prog} --help' for the options.\n")


def _add_common(p: argparse.ArgumentParser, sink: bool) -> None:
    p.add_argument("--template", required=True, help="template name (see 'byoml templates') or module:Class")
    p.add_argument("--source", help=(
        "local export folder; https://<account>.blob.core.windows.net/<container>[/<prefix>]; "
        "abfss://...; eventhub://<namespace>/<hub>[?consumer_group=...]; la-query://<workspace-id>. "
        "Optional with --store (then only the store is read)"))
    p.add_argument("--store", help=(
        "day store folder (byoml ingest): read the window from its Parquet days, ingesting from --source "
        "first the days it lacks or that changed (config: source: store:)"))
    p.add_argument("--model", required=True, help="model directory")
    if sink:
        p.add_argument("--sink", required=True, help=(
            "local folder for <Table>_CL/part-*.json, or 'loganalytics' (Logs Ingestion API, "
            "configured by the config's sink: section or BYOML_LA_* variables)"))
        p.add_argument("--emit", default="anomalies", metavar="anomalies|all|MODE", help=(
            "write only flagged rows (default), every scored row, or a mode the template declares "
            "(log-patterns: records, one row per record with its pattern)"))
        p.add_argument("--quarantine", help="where to write quarantined records (default: beside the output)")
        p.add_argument("--report", metavar="FILE", help=(
            "also write a self-contained HTML report of the run (top anomalies with explanations, "
            "a user x resource view, or each flagged series over time)"))
    if sink:
        p.add_argument("--start", help=(
            "window start, ISO-8601 UTC (inclusive). Default: the newest day in the source (with a watermark: "
            "what is new since the last run); with only --end, the day before it"))
        p.add_argument("--end", help="window end, ISO-8601 UTC (exclusive). Default: one day after --start")
    else:
        p.add_argument("--start", help="window start, ISO-8601 UTC (inclusive). Default: the oldest data")
        p.add_argument("--end", help=(
            "window end, ISO-8601 UTC (exclusive). Default: the start of the newest day in the source, which "
            "is kept out of training so that 'score' without a window judges unseen data"))
    p.add_argument("--config", help="YAML/JSON file with 'template:', 'source:', 'sink:' sections")
    p.add_argument("--summary-json", help="also write the run summary as JSON to this file")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="byoml", description="Bring-your-own ML for Log Analytics exports, on Spark.")
    parser.add_argument("--version", action="version", version=f"byoml {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log details")
    parser.add_argument("--debug", action="store_true", help=(
        "on an error, show the full Python traceback and Spark's own (JVM) messages"))
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("train", help="fit a template on a training window and save the model")
    _add_common(p, sink=False)
    p.add_argument("--days", type=int, help=(
        "train on the N whole days before --end (default end: today 00:00 UTC) instead of giving --start; "
        "what a scheduled job uses"))
    p.add_argument("--force", action="store_true", help=(
        "train even below the template's minimum data (events, days, users...); the model and every row it "
        "scores are then marked LowConfidence"))

    p = sub.add_parser("score", help="score a window with a saved model and write the _CL rows")
    _add_common(p, sink=True)
    p.add_argument("--allow-overlap", action="store_true", help=(
        "score a window that overlaps the model's training window or lies before it (refused by default: "
        "a model scores its own training data as normal)"))

    p = sub.add_parser("ingest", help="parse export days once into the day store (Parquet per day)",
                       description="Parse, type, deduplicate and quarantine each export day once and keep it as a "
                                   "Parquet partition of the store; train and score read it with --store. Days "
                                   "already stored are read again only when their files changed.")
    p.add_argument("--source", required=True, help="the export (local folder, https:// Blob container, abfss://)")
    p.add_argument("--store", required=True, help="the store's folder (a Unity Catalog Volume on Databricks)")
    p.add_argument("--table", help="the table to ingest (default: the --template's input table, else SecurityEvent)")
    p.add_argument("--template", help="take the table from this template (and the config's template: section)")
    p.add_argument("--start", help=(
        "first day, ISO-8601 UTC. Default: from late_hours (12) before the newest stored folder, or the whole "
        "export on the first ingest"))
    p.add_argument("--end", help="end (exclusive), ISO-8601 UTC; partial days are widened to whole days")
    p.add_argument("--config", help="YAML/JSON file whose source: section holds the source's options")
    p.add_argument("--summary-json", help="also write the run summary as JSON to this file")

    p = sub.add_parser("sample-data", help="write a realistic export with labelled anomalies")
    p.add_argument("--template", default="access-rarity", help="template whose input to generate")
    p.add_argument("--config", help="config file whose template: section picks the input (series-decompose with "
                                    "table: Perf writes Perf counters)")
    p.add_argument("--computers", type=int,
                   help="Perf: number of computers (default 12); process creation: per tenant (default 300); log-patterns: 8")
    p.add_argument("--out", required=True, help="output folder (am-<table> containers and labels.json)")
    p.add_argument("--seed", type=int, default=7, help="random seed: the same seed writes the same export (default 7)")
    p.add_argument("--users", type=int, help="resource access: users in the main tenant (default 300)")
    p.add_argument("--tenants", type=int, help="resource access, process creation: number of tenants (default 1)")
    p.add_argument("--series", type=int, help="usage: number of DataTypes (default 20)")
    p.add_argument("--days", type=int, help="days of training data")
    p.add_argument("--end", help="end of the scoring window, ISO-8601 (default 2026-11-03)")
    p.add_argument("--layout", choices=("5min", "hourly"), help="PT05M.json folders (default for SecurityEvent) or PT1H.json")
    p.add_argument("--malformed-lines", type=int, help="malformed lines to inject (default 0)")
    p.add_argument("--max-lines-per-blob", type=int, help="lines before an overflow file *_1.json starts")
    p.add_argument("--from-loghub", metavar="CSV", help=(
        "log-patterns: turn a loghub *_structured.csv into a Syslog export (one record per line, spread over --days "
        "days) whose labels are the true EventIds"))

    p = sub.add_parser("evaluate", help="quality figures of a scored output against sample-data labels")
    p.add_argument("--template", required=True, help="the template that wrote the scores (name or module:Class)")
    p.add_argument("--scores", required=True, help="the sink folder, or its <Table>_CL folder")
    p.add_argument("--labels", required=True, help="labels.json written by sample-data (or its folder)")
    p.add_argument("--json", dest="json_out", help="also write the figures as JSON to this file")
    p.add_argument("--config", help="the config the scores were made with (its output_table is read)")

    p = sub.add_parser("import", help="write events in Winlogbeat, NXLog or CSV fields as a workspace export",
                       description="Map events in other field names onto a Log Analytics table and write them in the "
                                   "export layout (OUT/am-<table>/WorkspaceResourceId=.../y=/m=/d=/h=/m=/PT05M.json), "
                                   "which --source of train and score reads. The field maps: docs/import.md.")
    p.add_argument("--from", dest="fmt", required=True, choices=FORMATS, help=(
        "the field layout of IN: winlogbeat (ECS, winlog.event_data.*), nxlog (flat: Hostname, EventTime, "
        "SubjectUserName...) or csv (a header row; Log Analytics column names by default)"))
    p.add_argument("--table", default="SecurityEvent", help="the Log Analytics table written (default SecurityEvent)")
    p.add_argument("--map", dest="map_file", metavar="FILE", help=(
        "YAML/JSON field map changing the built-in one: columns (target column -> source field or list of "
        "fallbacks), constants, timezone, extends (default: the built-in map of --from)"))
    p.add_argument("--layout", choices=LAYOUTS, default="5min",
                   help="5-minute folders with PT05M.json (default, today's export) or hourly PT1H.json")
    p.add_argument("--workspace-resource-id", default=DEFAULT_RESOURCE_ID,
                   help=f"the WorkspaceResourceId= folder written (default {DEFAULT_RESOURCE_ID})")
    p.add_argument("--append", action="store_true",
                   help="add to an OUT that already holds the table (default: refuse, so nothing is imported twice)")
    p.add_argument("--summary-json", help="also write the counts (read, written, skipped by reason) as JSON to this file")
    p.add_argument("input", metavar="IN", help="a JSON Lines or CSV file (gzipped or not), or a folder of them")
    p.add_argument("out", metavar="OUT", help="the export folder to write (am-<table> is created in it)")

    p = sub.add_parser("demo", help="sample data -> train -> score -> results, locally")
    p.add_argument("--dir", default="byoml-demo", help="working folder (default ./byoml-demo)")
    p.add_argument("--template", help="template to demo (default: the resource access template)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--users", type=int, default=300)

    p = sub.add_parser("replay", help="resend dead-lettered Log Analytics chunks")
    p.add_argument("dir", help="the dead-letter folder (sink state_dir/dead-letter) or one letter file")
    p.add_argument("--config", help="config file whose sink: section overrides endpoint/dcr_id/stream")

    p = sub.add_parser("templates", help="list available templates, or describe one")
    p.add_argument("--describe", metavar="NAME",
                   help="a template's options (name, type, default, doc), output columns and report")
    return parser


def _cmd_train(args) -> int:
    from .run import train
    from .timewindow import days_before

    start, end = args.start, args.end
    if args.days is not None:
        if start:
            raise ConfigError("give either --start or --days, not both")
        start, end = days_before(args.days, end)
    summary = train(args.template, args.source, args.model, start, end, args.config, force=args.force,
                    store=args.store)
    _finish(summary, args)
    return EXIT_OK


def _cmd_score(args) -> int:
    from .run import score

    summary = score(args.template, args.source, args.model, args.sink, args.start, args.end,
                    args.emit, args.config, quarantine_dir=args.quarantine, report=args.report,
                    allow_overlap=args.allow_overlap, store=args.store)
    _finish(summary, args)
    return EXIT_OK


def _cmd_ingest(args) -> int:
    from .run import ingest

    summary = ingest(args.source, args.store, args.table, args.start, args.end, args.config, template=args.template)
    _finish(summary, args)
    return EXIT_OK


def _finish(summary, args) -> None:
    print(summary.render())
    if getattr(args, "summary_json", None):
        summary.write_json(args.summary_json)


def _cmd_sample_data(args) -> int:
    from .sample_data import generate
    from .templates import get_template_class
    from .timewindow import parse_time

    if args.config:
        from .config import load_config
        from .templates import get_template

        kind = get_template(args.template, load_config(args.config).get("template")).sample_kind
    else:
        kind = get_template_class(args.template).sample_data
    if kind is None:
        raise ConfigError(f"template '{args.template}' has no sample data generator")
    options = {}
    for name in ("seed", "users", "tenants", "series", "computers", "days", "layout", "malformed_lines",
                 "max_lines_per_blob", "from_loghub"):
        value = getattr(args, name, None)
        if value is not None:
            options[name] = value
    if args.end:
        options["end"] = parse_time(args.end)
    labels = generate(kind, args.out, **options)
    counts = labels.get("counts", {})
    print(f"wrote {kind} sample data to {args.out}")
    print(f"  training window {labels['train_window']['start']} -> {labels['train_window']['end']}")
    print(f"  scoring window  {labels['score_window']['start']} -> {labels['score_window']['end']}")
    print("  " + " · ".join(f"{k} {v:,}" for k, v in counts.items() if isinstance(v, int)))
    print(f"  ground truth    {args.out.rstrip('/')}/labels.json")
    return EXIT_OK


def _cmd_evaluate(args) -> int:
    from .evaluate import format_metrics, load_labels, load_scores
    from .templates import get_template_class

    cls = get_template_class(args.template)
    if args.config:
        from .config import load_config

        template = cls(load_config(args.config).get("template"))
    else:
        template = cls()
    labels = load_labels(args.labels)
    scores = load_scores(args.scores, template.scores_table(labels))
    metrics = template.evaluate(scores, labels)
    print(f"byoml evaluate · {cls.name}")
    print(format_metrics(metrics))
    if args.json_out:
        with open(args.json_out, "w", encoding="utf-8") as fh:
            json.dump(metrics, fh, indent=2)
    return EXIT_OK


def _cmd_import(args) -> int:
    from .importers import import_events

    report = import_events(args.input, args.out, fmt=args.fmt, table=args.table, map_file=args.map_file,
                           layout=args.layout, resource_id=args.workspace_resource_id, append=args.append)
    print(report.render(), file=sys.stderr)
    if args.summary_json:
        with open(args.summary_json, "w", encoding="utf-8") as fh:
            json.dump(report.to_dict(), fh, indent=2)
    if report.written == 0:
        print(f"byoml import: error: none of the {report.read:,} records read could be imported (see the reasons above)",
              file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def _cmd_demo(args) -> int:
    from .demo import run_demo

    return run_demo(args.dir, template=args.template, seed=args.seed, users=args.users)


def _cmd_templates(args) -> int:
    from .templates import available, get_template_class

    if args.describe:
        cls = get_template_class(args.describe)
        print(f"{cls.name} {cls.version}: {_summary_line(cls)}")
        print(f"reads {cls.table}, writes {cls.output_table}_CL, report: {cls.report_kind}")
        print("\noptions (--config template: section, or keyword arguments in Python):")
        for line in cls.explain_params().splitlines():
            print(f"  {line}")
        print("\noutput columns:")
        print("  " + ", ".join(f"{n} {t}" for n, t in cls().output_schema()))
        learned = cls.model_class.learned_attributes()
        if learned:
            print("\nlearned by fit:")
            for attr, spec in learned.items():
                print(f"  {attr} ({'table' if spec.table else 'value'}): {spec.doc}")
        return EXIT_OK
    rows = []
    for name in available():
        try:
            cls = get_template_class(name)
            rows.append((name, cls.table, f"{cls.output_table}_CL", _summary_line(cls)))
        except ByomlError as exc:
            rows.append((name, "", "", f"(broken: {exc})"))
    widths = [max(len(r[i]) for r in [("name", "reads", "writes", ""), *rows]) for i in range(3)]
    print(f"{'name':<{widths[0]}}  {'reads':<{widths[1]}}  {'writes':<{widths[2]}}  what")
    for row in rows:
        print(f"{row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]:<{widths[2]}}  {row[3]}")
    print("\n'byoml templates --describe NAME' lists a template's options, output columns and what it learns.")
    return EXIT_OK


def _summary_line(cls) -> str:
    """The first sentence of a template class's docstring."""
    doc = " ".join((cls.__doc__ or "").strip().split("\n\n")[0].split())
    return doc.split(". ")[0].rstrip(".") + "." if doc else ""


def _cmd_replay(args) -> int:
    from .config import load_config
    from .sinks.log_analytics import replay

    report = replay(args.dir, load_config(args.config)["sink"])
    print(f"byoml replay · {args.dir}")
    print(f"  sent          {report.sent_chunks} chunk(s), {report.sent_rows:,} rows")
    if report.already_delivered:
        print(f"  removed       {report.already_delivered} letter(s) already delivered by a rerun")
    if report.failed:
        print(f"  still failing {report.failed} chunk(s), kept with their reasons; first: {report.reasons[0]}")
        return EXIT_FAILED
    return EXIT_OK


COMMANDS = {
    "train": _cmd_train,
    "score": _cmd_score,
    "ingest": _cmd_ingest,
    "sample-data": _cmd_sample_data,
    "evaluate": _cmd_evaluate,
    "import": _cmd_import,
    "demo": _cmd_demo,
    "templates": _cmd_templates,
    "replay": _cmd_replay,
}


def main(argv: Optional[List[str]] = None) -> int:
    import os

    parser = build_parser()
    args = parser.parse_args(argv)
    if args.debug:  # Spark's own messages too (local sessions read this when they start)
        os.environ.setdefault("BYOML_SPARK_LOG_LEVEL", "WARN")
    elif args.command in ("train", "score", "ingest", "demo"):
        _quiet_pyspark_error_logs()
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    install_log_redaction()
    try:
        return COMMANDS[args.command](args)
    except ConfigError as exc:
        print(f"byoml {args.command}: error: {redact(str(exc))}", file=sys.stderr)
        return EXIT_USAGE
    except ByomlError as exc:
        print(f"byoml {args.command}: error: {redact(str(exc))}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print(f"byoml {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # not a ByomlError: a short answer, the full story only with --debug
        if args.debug:
            raise
        message, code = explain_failure(exc)
        print(f"byoml {args.command}: {redact(message)}", file=sys.stderr)
        return code


def _quiet_pyspark_error_logs() -> None:
    """PySpark 4 logs every analysis error, with its whole plan, as JSON on stderr before raising it; the
    error's first line (and its suggestion) is what the CLI prints instead (``--debug`` keeps the logs)."""
    try:
        from pyspark.logger import PySparkLogger
    except ImportError:  # PySpark 3.5: no such logs
        return
    for name in ("SQLQueryContextLogger", "DataFrameQueryContextLogger"):
        PySparkLogger.getLogger(name).setLevel(logging.CRITICAL + 10)


def explain_failure(exc: BaseException) -> "tuple[str, int]":
    """One or a few lines for an exception byoml did not raise itself, and the exit code.

    * Spark could not analyse a query (a column or expression from the config: ``where:``,
      ``group_by``...): Spark's own first line, with its "Did you mean" suggestion; exit 2.
    * A Python error inside Spark's workers (a template's pandas code): the Python traceback only,
      without the JVM's; exit 1.
    * An Azure SDK error: its first line; exit 1.
    * Any other error in a template's code: its Python traceback, without Py4J/Java frames; exit 1.
    """
    import traceback

    name = type(exc).__name__
    text = str(exc).strip()
    first = text.splitlines()[0] if text else name
    try:
        from pyspark.errors import AnalysisException, PythonException
    except ImportError:  # pragma: no cover - pyspark is a dependency
        AnalysisException = PythonException = ()  # type: ignore[assignment]
    if AnalysisException and isinstance(exc, AnalysisException):
        first = first.split("; line ")[0].split(" SQLSTATE:")[0].strip()
        return (f"error: Spark cannot run a query of this run: {first}. Check the column names and expressions "
                "in the config's template: section (where:, group_by, value_column...). --debug shows Spark's plan",
                EXIT_USAGE)
    if PythonException and isinstance(exc, PythonException):
        tb = text[text.find("Traceback (most recent call last)"):] if "Traceback (most recent call" in text else first
        jvm = ("at org.", "at java.", "at scala.")
        tb = "\n".join(line for line in tb.splitlines() if line.strip() and not line.lstrip().startswith(jvm))
        return f"error in the template's code, on a Spark worker:\n{tb.rstrip()}\n(--debug shows Spark's messages too)", EXIT_FAILED
    if type(exc).__module__.startswith("azure."):
        return (f"Azure error {name}: {first} (run with -v for details; check the endpoint, the network and the "
                "identity's roles)", EXIT_FAILED)
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "py4j" not in f.filename and "/pyspark/" not in f.filename]
    where = "".join(traceback.format_list(frames[-8:]))
    if "py4j" in type(exc).__module__ or name == "Py4JJavaError":
        first = next((ln for ln in text.splitlines() if ln.strip() and not ln.startswith("\tat ")), name)
    return f"error: {name}: {first}\n{where.rstrip()}\n(--debug shows the full traceback)", EXIT_FAILED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
