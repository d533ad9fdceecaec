"""Parse export files into a typed, deduplicated Spark DataFrame, with a quarantine.

The path of a record through the reader:

1. ``spark.read.text`` of the listed files, one row per line (blank lines skipped);
2. ``{"records":[...]}`` bodies (Event Hubs) are unwrapped into one row per record. Export
   files hold one record per line, so a read of them first takes every line as a record and
   only counts the lines that are bodies; if there are any, it parses the files again,
   unwrapping (the unwrapping step copies every line, a cost plain exports need not pay).
   A *truncated* body (cut off in transit or by a crashed writer) is split into its records
   by a SQL expression: its complete records are read (counted as ``recovered``) and only
   the record cut off at its end is quarantined (``cut_off``), so ``records`` counts every
   record the body held;
3. every declared column is pulled out as text with ``json_tuple`` and converted
   with ``try_cast``. A line that is not a JSON object is *malformed*; a value that
   does not fit its column type is a *schema error*. Both go to the quarantine
   with the file, the line number in it and a reason, and are counted;
4. records of another table (``Type``) and records outside the window are counted
   and left out (the window is exact on ``TimeGenerated``, after folder pruning);
5. duplicates are dropped by the rule of :mod:`byoml.sources.dedupe` (``EventOriginId``, or
   a 128-bit content hash when the records have no trustworthy one).

The files are parsed once. That pass dedupes (one shuffle on the key), runs the caller's
``build`` (a job's prepare and summarize) and keeps only its result; the read's counts are
observed while it runs (:class:`byoml.spark.ObservedCounts`). Quarantined lines are told apart
(malformed or schema error), numbered and kept on a second read of only the files that hold them.
"""
from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from functools import reduce
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Union

from ..errors import EmptyWindowError, MissingColumnError, SchemaError
from ..spark import ObservedCounts, materialize, timestamp_literal
from ..timewindow import TimeWindow
from .dedupe import dedupe, dedupe_on_content, keep_records
from .lines import RemoteLines
from .schemas import SUPPORTED_TYPES, TABLE_REQUIRED, declared_schema

log = logging.getLogger(__name__)

Inputs = Union[Sequence[str], RemoteLines]  # Spark paths, or lines the executors fetch

OK, MALFORMED, SCHEMA_ERROR, OTHER_TABLE, OUT_OF_WINDOW, QUARANTINED, WRAPPED = 0, 1, 2, 3, 4, 5, 6
BAD = (MALFORMED, SCHEMA_ERROR, QUARANTINED)
_CORRUPT = "_corrupt_record"
_WRAPPER_PATTERN = r'^\s*\{\s*"records"\s*:'
_WRAPPER_HEAD_CHARS = 256  # a wrapped body starts with {"records": within this many characters
_BODY_HEAD = r'^\s*\{\s*"records"\s*:\s*\['  # ... and a body that holds records, with [
_BODY_TRAILER = r'\s*(\]\s*\}|,)\s*$'  # after the last record: the end of a whole body, or a cut after a comma
# a split point between two records of a body: after a } that a comma and a { follow (it may
# also fall inside a record, in a string or a nested array of objects: pieces are joined again
# until they make a whole JSON object)
_RECORD_BOUNDARY = r'(?<=\})(?=\s*,\s*\{)'
_LEADING_COMMA, _SPACES = r'^\s*,\s*', r'\s*'
_REASON_SAMPLE_CHARS = 60
NIL_GUID = "00000000-0000-0000-0000-000000000000"


@dataclass
class ReadStats:
    """Counts of one read, for the run summary."""

    table: str = ""
    files: int = 0
    bytes: int = 0
    records: int = 0
    malformed: int = 0
    schema_errors: int = 0
    other_table: int = 0
    out_of_window: int = 0
    duplicates: int = 0
    rows: int = 0
    # truncated {"records":[...]} bodies: their complete records are read (``recovered``, part of
    # ``records``), the record cut off at the end of each is quarantined (``cut_off``, part of ``malformed``)
    truncated_bodies: int = 0
    recovered: int = 0
    cut_off: int = 0
    layout: str = "export"
    skipped_folders: List[str] = field(default_factory=list)
    present: Dict[str, int] = field(default_factory=dict)
    dedupe: str = "content"  # "EventOriginId" or "content"

    @property
    def quarantined(self) -> int:
        return self.malformed + self.schema_errors

    def to_dict(self) -> dict:
        out = asdict(self)
        out["quarantined"] = self.quarantined
        return out


class ReadResult:
    """The clean DataFrame of a read, its counts, and its quarantined records."""

    def __init__(self, df, stats: ReadStats, quarantine, schema: Mapping[str, str], window: TimeWindow) -> None:
        self.df = df
        self.stats = stats
        self.schema = dict(schema)
        self.window = window
        self._quarantine = quarantine  # quarantined rows, parsed again from the files that hold them
        self.notes: List[str] = []  # what the run summary should say about this read
        self.quarantine_at: Optional[str] = None  # where the read's quarantine already is (the day store's)

    def check(self) -> None:
        """Raise when the window holds no usable record or a required column is absent.

        Called after the quarantine is written, so a failing run still leaves it behind.
        """
        s = self.stats
        if s.rows == 0:
            raise EmptyWindowError(
                f"no usable {s.table} records in {self.window}: {s.records} records read from "
                f"{s.files} files, {s.out_of_window} outside the window, {s.other_table} of other "
                f"tables, {s.quarantined} quarantined. Check --start/--end and the source."
            )
        for name, count in s.present.items():
            if count == 0:
                raise MissingColumnError(
                    s.table, name, f"none of the {s.rows} records in {self.window} has a value for it"
                )

    def quarantine(self):
        """Quarantined records: ``File``, ``Line`` (1-based, in the file), ``Reason``, ``Record`` (the raw text).

        The records of a ``{"records":[...]}`` body share the body's line.
        """
        from pyspark.sql import functions as F

        if self._quarantine is None:
            return self.df.sparkSession.createDataFrame([], "File string, Line bigint, Reason string, Record string")
        return self._quarantine.select(
            F.col("_file").alias("File"), F.col("_line").alias("Line"), F.col("_reason").alias("Reason"),
            F.col("_raw").alias("Record"),
        )

    def write_quarantine(self, path: str) -> Optional[str]:
        """Write the quarantine as JSON Lines under ``path``; returns the path, or None if empty.

        The folder holds the part files only: no ``_SUCCESS`` marker and, on local paths, none of
        the ``.crc`` checksum files Hadoop's local file system writes beside every file.
        """
        if self.stats.quarantined == 0 or self._quarantine is None:  # none, or kept elsewhere (the day store)
            return None
        self.quarantine().orderBy("File", "Line").coalesce(1).write.mode("overwrite").options(
            **CLEAN_WRITE_OPTIONS).json(path)
        return path

    def close(self) -> None:
        """Drop the references to the computed read (Spark frees its blocks once unreferenced)."""
        self.df = None
        self._quarantine = None


# Options of a Spark write that leave only the data files in its folder: no ``_SUCCESS`` marker
# (the file output committer's option, any file system), and ``file:`` paths written through
# Hadoop's raw local file system, which keeps no ``.crc`` checksum beside every file. The options
# reach only the write's own Hadoop configuration (``fs.file.impl`` with an instance of its own,
# not the cached one the session shares); abfss, dbfs and Volumes keep no checksum files anyway.
CLEAN_WRITE_OPTIONS = {
    "mapreduce.fileoutputcommitter.marksuccessfuljobs": "false",
    "fs.file.impl": "org.apache.hadoop.fs.RawLocalFileSystem",
    "fs.file.impl.disable.cache": "true",
}


def _type_columns(schema: Mapping[str, str], columns: Optional[Sequence[str]]) -> Dict[str, str]:
    if columns is None:
        chosen = dict(schema)
    else:
        chosen = {}
        for name in list(TABLE_REQUIRED) + ["EventOriginId", "Type", *columns]:
            if name in chosen:
                continue
            if name in schema:
                chosen[name] = schema[name]
            elif name not in ("EventOriginId", "Type"):
                chosen[name] = "string"
    bad = {c: t for c, t in chosen.items() if t not in SUPPORTED_TYPES}
    if bad:
        raise SchemaError(f"unsupported column types {bad}; use one of {sorted(SUPPORTED_TYPES)}")
    return chosen


def infer_schema(spark, paths: Inputs) -> Dict[str, str]:
    """Infer column types of an unknown table from its files (``records`` bodies unwrapped).

    Nested values (objects, arrays) are kept as JSON text; ``TimeGenerated`` is a timestamp.
    """
    from pyspark.sql import types as T

    if isinstance(paths, RemoteLines):
        return paths.infer_schema(spark)

    inferred = spark.read.option("mode", "PERMISSIVE").option("recursiveFileLookup", "true").json(list(paths)).schema
    fields = {f.name: f.dataType for f in inferred.fields if f.name != _CORRUPT}
    records = fields.pop("records", None)
    if isinstance(records, T.ArrayType) and isinstance(records.elementType, T.StructType):
        for f in records.elementType.fields:
            fields.setdefault(f.name, f.dataType)
    elif records is not None:
        fields["records"] = records
    mapping = {
        T.LongType: "long",
        T.IntegerType: "int",
        T.DoubleType: "double",
        T.BooleanType: "boolean",
    }
    out: Dict[str, str] = {}
    for name, dtype in fields.items():
        out[name] = next((v for k, v in mapping.items() if isinstance(dtype, k)), "string")
    out["TimeGenerated"] = "timestamp"
    return out


def column_types(schema: Mapping[str, str], columns: Optional[Sequence[str]], required: Sequence[str]) -> Dict[str, str]:
    """The columns a read types (``columns`` of ``schema``, or all of it, plus the ``required`` ones)."""
    types = _type_columns(schema, columns)
    for name in required:
        if name not in types:
            types[name] = schema.get(name, "string")
    return types


def _fill_status_counts(stats: ReadStats, counts, required: Sequence[str]) -> None:
    stats.records = int(counts["records"] or 0)
    stats.truncated_bodies = int(counts["truncated_bodies"] or 0)
    stats.recovered = int(counts["recovered"] or 0)
    stats.cut_off = int(counts["cut_off"] or 0)
    stats.other_table = int(counts["other_table"] or 0)
    stats.out_of_window = int(counts["out_of_window"] or 0)
    stats.present = {name: int(counts[f"present_{i}"] or 0) for i, name in enumerate(required)}


def _raw(pattern: str) -> str:
    """``pattern`` as a raw SQL string literal (backslashes kept as they are)."""
    assert "'" not in pattern, pattern
    return f"r'{pattern}'"


def _one_object_sql(text: str) -> str:
    """SQL: true where ``text`` is exactly one JSON object (nothing after it; ``from_json`` alone
    ignores what follows a value, so the object is parsed as a field between two others)."""
    probe = (f"""from_json(concat('{{"v":', {text}, ',"e":1}}'), 'v string, e int, `{_CORRUPT}` string', """
             f"map('mode', 'PERMISSIVE', 'columnNameOfCorruptRecord', '{_CORRUPT}'))")
    return f"coalesce({probe}.`{_CORRUPT}` IS NULL AND {probe}.e = 1 AND ltrim({text}) LIKE '{{%', false)"


def recover_records(value: str):
    """The records of a truncated ``{"records":[...]}`` body in column ``value``:
    ``struct(done array<string>, tail string)``.

    ``done`` are its complete records, as they stand in the body; ``tail`` is the text after the
    last of them (the record cut off), or null when the body ends on a record boundary. A SQL
    expression (split at the candidate boundaries, then a fold that joins pieces until they make
    a whole object), evaluated only on bodies that do not parse. It is written as SQL text: as
    Column objects its nesting made a Spark Connect plan deeper than protobuf decodes (100 levels).
    """
    from pyspark.sql import functions as F

    text = f"CASE WHEN acc.buf IS NULL THEN regexp_replace(piece, {_raw(_LEADING_COMMA)}, '') ELSE concat(acc.buf, piece) END"
    last = f"regexp_replace({text}, {_raw(_BODY_TRAILER)}, '')"  # the body's last record, before its ]} or a comma
    record = f"CASE WHEN {_one_object_sql(text)} THEN {text} WHEN {_one_object_sql(last)} THEN {last} END"
    step = (f"(acc, piece) -> CASE WHEN ({record}) IS NOT NULL "
            f"THEN named_struct('done', concat(acc.done, array({record})), 'buf', CAST(NULL AS STRING)) "
            f"ELSE named_struct('done', acc.done, 'buf', {text}) END")
    pieces = f"split(regexp_replace(`{value}`, {_raw(_BODY_HEAD + _SPACES)}, ''), {_raw(_RECORD_BOUNDARY)})"
    folded = F.expr(f"aggregate({pieces}, named_struct('done', CAST(array() AS array<string>), "
                    f"'buf', CAST(NULL AS STRING)), {step})")
    tail = F.when(F.length(F.trim(folded["buf"])) > 0, folded["buf"])
    return F.struct(folded["done"].alias("done"), tail.alias("tail"))


def _lines(spark, paths: Inputs, line_numbers: bool):
    """The files' lines: ``value``, ``_file`` and ``_line`` (1-based line number in the file, or null).

    Numbering takes a sort of the files' lines: only the quarantine's read of the files that
    hold bad lines asks for it. A file's lines come in file order within one split of it (the
    increasing id), its splits in the order of their start. Fetched lines come numbered.
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    if isinstance(paths, RemoteLines):
        return paths.lines(spark)

    # folders are read whole (the source passes only folders that hold exactly the export files)
    text = spark.read.option("recursiveFileLookup", "true").text(list(paths))
    if not line_numbers:
        return text.select("value", F.col("_metadata.file_path").alias("_file"), F.lit(None).cast("long").alias("_line"))
    numbered = text.select(
        "value", F.col("_metadata.file_path").alias("_file"), F.col("_metadata.file_block_start").alias("_block"),
        F.monotonically_increasing_id().alias("_id"),
    )
    in_file = Window.partitionBy("_file").orderBy("_block", "_id")
    return numbered.select("value", "_file", F.row_number().over(in_file).cast("long").alias("_line"))


def parse_records(spark, paths: Inputs, table: str, window: TimeWindow, types: Mapping[str, str],
                  classify: bool = True, eoi_key: bool = False, unwrap: bool = True, line_numbers: bool = False):
    """One row per record of the files, typed, with its status (not yet deduplicated).

    Columns: the ``types`` columns, ``_status`` (``OK``, ``MALFORMED``, ...), ``_eoi`` (a usable
    EventOriginId of a clean record), ``_h1``/``_h2`` (128-bit content hash), ``_recovered``
    (a complete record of a truncated body), ``_cut_off`` (the record cut off at the end of
    one), ``_truncated`` (the first record of a truncated body), and for quarantined records
    ``_reason``, ``_raw``, ``_file`` and ``_line`` (with ``line_numbers=True``).

    ``classify=False`` gives broken lines and schema errors alike the status ``QUARANTINED``:
    telling them apart takes ``from_json``, which Spark cannot compile into the generated code
    of the whole stage (it made every record's parse 25% slower). The reader classifies them
    on a second read of only the files that hold them.

    ``eoi_key=True`` (records deduplicated on their EventOriginId): ``_h2`` is computed only for
    records without a usable one, whose key is their content.

    ``unwrap=False``: every line is a record, and a ``{"records":[...]}`` body gets the status
    ``WRAPPED`` (to be read again with ``unwrap=True``).
    """
    from pyspark.sql import functions as F

    names = list(types)
    lines = _lines(spark, paths, line_numbers)
    # from_json cannot be compiled into Spark's generated code: only the unwrapping step, which
    # is cheap for plain lines, evaluates it (on wrapped lines only). The pattern is tried on the
    # head of a line only: on the whole line the regex scan costs as much as the parse.
    wrapped = F.from_json(F.col("value"), "records array<string>").getField("records")
    is_wrapped = F.substring("value", 1, _WRAPPER_HEAD_CHARS).rlike(_WRAPPER_PATTERN)
    no = F.lit(False)
    if unwrap:
        bodies = lines.select("value", "_file", "_line", is_wrapped.alias("_wrapped")).select(
            "value", "_file", "_line", F.when(F.col("_wrapped"), wrapped).alias("_records"), "_wrapped")
        # a body that does not parse: its complete records are recovered, the rest is one bad record
        truncated = F.col("_wrapped") & F.col("_records").isNull() & F.substring("value", 1, _WRAPPER_HEAD_CHARS).rlike(_BODY_HEAD)
        bodies = bodies.select("*", F.when(truncated, recover_records("value")).alias("_body"))
        done, tail = F.col("_body.done"), F.col("_body.tail")
        # a body without a single complete record is quarantined whole
        tail = F.when(tail.isNotNull() | (F.size(done) == 0), F.coalesce(tail, F.col("value")))
        items = (
            F.when(F.col("_records").isNotNull(), F.col("_records"))
            .when(F.col("_body").isNotNull(), F.when(tail.isNull(), done).otherwise(F.concat(done, F.array(tail))))
            .otherwise(F.array(F.col("value")))
        )
        exploded = bodies.select("_file", "_line", F.posexplode(items).alias("_pos", "_raw"),
                                 F.when(F.col("_body").isNotNull(), F.size(done)).alias("_done"))
        body_of = F.col("_done").isNotNull()
        records = exploded.select(
            "_file", "_line", "_raw", no.alias("_wrapped"),
            (body_of & (F.col("_pos") < F.col("_done"))).alias("_recovered"),
            F.when(body_of & (F.col("_pos") == F.col("_done")), F.col("_done")).alias("_cut_off"),
            (body_of & (F.col("_pos") == 0)).alias("_truncated"),
        )
    else:
        records = lines.select("_file", "_line", F.col("value").alias("_raw"), is_wrapped.alias("_wrapped"),
                               no.alias("_recovered"), F.lit(None).cast("int").alias("_cut_off"), no.alias("_truncated"))
    # json_tuple pulls the top-level fields as text in one streaming pass (nested values stay
    # JSON text, as from_json gives them): about twice as fast as from_json on wide records.
    # It cannot tell a broken line from an object without those fields, so lines without a
    # TimeGenerated (every valid record has one) are checked with from_json.
    text_names = [f"_t{i}" for i in range(len(names))]
    fields = records.select("_file", "_line", "_raw", "_wrapped", "_recovered", "_cut_off", "_truncated",
                            F.json_tuple(F.col("_raw"), *names).alias(*text_names))
    text = dict(zip(names, [F.col(c) for c in text_names]))
    # blank lines are skipped; only a line without TimeGenerated is trimmed to check (a trim of
    # every line cost a third of the parse)
    fields = fields.filter(text["TimeGenerated"].isNotNull() | (F.length(F.trim(F.col("_raw"))) > 0))

    # converted once, in a step of its own: the status and the output both use the values
    value_names = {name: f"_v{i}" for i, name in enumerate(names) if types[name] != "string"}
    fields = fields.select("*", *[
        F.expr(f"try_cast(`{text_names[names.index(name)]}` as {types[name]})").alias(alias)
        for name, alias in value_names.items()
    ])
    typed = {}
    problems = []  # (condition, reason text): the reason is only built for quarantined rows
    for name, type_name in types.items():
        raw = text[name]
        value = F.col(value_names[name]) if name in value_names else raw
        typed[name] = value
        if type_name != "string":
            problems.append((
                raw.isNotNull() & value.isNull(),
                F.concat(F.lit(f"{name}: not a valid {type_name}: '"), F.substring(raw, 1, _REASON_SAMPLE_CHARS), F.lit("'")),
            ))
    problems.append((text["TimeGenerated"].isNull(), F.lit("TimeGenerated: missing")))
    has_problem = reduce(lambda a, b: a | b, [cond for cond, _ in problems])
    schema_reason = F.concat_ws("; ", *[F.when(cond, reason) for cond, reason in problems])

    probe = F.from_json(
        F.col("_raw"), f"`{_CORRUPT}` string", {"mode": "PERMISSIVE", "columnNameOfCorruptRecord": _CORRUPT}
    )
    malformed = text["TimeGenerated"].isNull() & (probe.isNull() | probe.getField(_CORRUPT).isNotNull())
    if not classify:
        malformed = F.lit(False)
    type_col = text.get("Type", F.lit(None).cast("string"))
    other_table = type_col.isNotNull() & (F.lower(type_col) != F.lit(table.lower()))
    time_col = typed["TimeGenerated"]
    in_window = F.lit(True)
    if window.start is not None:
        in_window = in_window & (time_col >= timestamp_literal(window.start))
    if window.end is not None:
        in_window = in_window & (time_col < timestamp_literal(window.end))

    status = (
        F.when(F.col("_wrapped"), F.lit(WRAPPED))
        .when(F.col("_cut_off").isNotNull(), F.lit(MALFORMED if classify else QUARANTINED))
        .when(malformed, F.lit(MALFORMED))
        .when(other_table, F.lit(OTHER_TABLE))
        .when(has_problem, F.lit(SCHEMA_ERROR if classify else QUARANTINED))
        .when(~in_window, F.lit(OUT_OF_WINDOW))
        .otherwise(F.lit(OK))
        .cast("byte")
    )
    eoi = text["EventOriginId"] if "EventOriginId" in types else F.lit(None).cast("string")
    eoi = F.when(eoi.isNotNull() & (eoi != F.lit(NIL_GUID)) & (F.length(F.trim(eoi)) > 0), eoi)
    staged = fields.select("*", status.alias("_status"))
    is_ok = F.col("_status") == OK
    bad = F.col("_status").isin(*BAD)
    usable_eoi = F.when(is_ok, eoi)
    parsed = staged.select(
        *[typed[name].alias(name) for name in names],
        "_status",
        usable_eoi.alias("_eoi"),
        # 128-bit content hash (two seeded xxhash64) for records without a trustworthy EventOriginId
        F.xxhash64(F.col("_raw")).alias("_h1"),
        (F.when(usable_eoi.isNull(), F.xxhash64(F.lit("byoml"), F.col("_raw"))) if eoi_key
         else F.xxhash64(F.lit("byoml"), F.col("_raw"))).alias("_h2"),
        F.when(bad & (F.col("_cut_off") == 0),
               F.lit('malformed: a {"records":[...]} body that does not parse (cut off?), without a complete record'))
        .when(bad & F.col("_cut_off").isNotNull(), F.concat(
            F.lit('malformed: the end of a {"records":[...]} body that does not parse (cut off?), after its '),
            F.col("_cut_off").cast("string"), F.lit(" complete records (read)")))
        .when(F.col("_status") == MALFORMED, F.lit("malformed: not a JSON object"))
        .when(F.col("_status").isin(SCHEMA_ERROR, QUARANTINED), schema_reason).alias("_reason"),
        F.when(bad, F.col("_raw")).alias("_raw"),
        F.when(bad, F.col("_file")).alias("_file"),
        F.when(bad, F.col("_line")).alias("_line"),
        "_recovered",
        F.col("_cut_off").isNotNull().alias("_cut_off"),
        "_truncated",
    )

    return parsed


def read_export_files(
    spark,
    paths: Inputs,
    table: str,
    window: TimeWindow,
    columns: Optional[Sequence[str]] = None,
    required: Sequence[str] = (),
    stats: Optional[ReadStats] = None,
    build: Optional[Callable] = None,
    wrapped: Optional[bool] = None,
    keep_copies: bool = False,
    finish: Optional[Callable] = None,
) -> ReadResult:
    """Read export files of ``table`` into a clean DataFrame for ``window``.

    The result's ``df`` is ``build(records)`` computed and kept (default: the records
    themselves), in the same pass over the files that counts the read: a job passes its
    preparation and aggregation here, so the files are parsed once and only the aggregate
    is kept, never the wide records.

    ``columns`` limits parsing to the columns a caller needs (plus ``TimeGenerated``,
    ``EventOriginId`` and ``Type``); ``required`` columns must be present in at least
    one record, else :class:`MissingColumnError` names the column and the table.

    ``wrapped``: whether lines are ``{"records":[...]}`` bodies (Event Hubs); None finds out
    (export files are not: a read that finds bodies parses the files again, unwrapping them).

    ``keep_copies`` (the day store's ingest): no record is dropped as a duplicate, and ``_eoi``, ``_h1``,
    ``_h2`` are kept, so that a read of the store applies the dedupe rule across the days it reads
    (:func:`byoml.sources.dedupe.dedupe_rare`). ``finish`` is the action that computes the built frame (default:
    :func:`byoml.spark.materialize`; the ingest writes it instead) and gives the result's ``df``.

    Raises :class:`EmptyWindowError` when no record of the table lies in the window.
    """
    from pyspark.sql import functions as F

    stats = stats or ReadStats(table=table)
    stats.table = table
    if not paths:
        raise EmptyWindowError(f"no export files of table {table} in {window}")

    schema = declared_schema(table)
    if schema is None:
        schema = infer_schema(spark, paths)
        log.info("table %s is not declared; inferred %d columns", table, len(schema))
    types = column_types(schema, columns, required)
    names = list(types)
    by_eoi = "EventOriginId" in types
    is_ok = F.col("_status") == OK
    bad = F.col("_status").isin(*BAD)
    build = build or (lambda df: df)
    finish = finish or materialize

    def one_pass(unwrap: bool, by_event_origin_id: bool):
        """Parse, count, dedupe and build, as one computation: (df, read counts, dedupe counts)."""
        parsed = parse_records(spark, paths, table, window, types, classify=False,
                               eoi_key=by_event_origin_id and not keep_copies, unwrap=unwrap)
        read_counts = ObservedCounts(parsed, "byoml_read", [
            F.count(F.lit(1)).alias("records"),
            *[F.count(F.when(F.col("_status") == code, True)).alias(label) for code, label in (
                (QUARANTINED, "quarantined"), (OTHER_TABLE, "other_table"), (OUT_OF_WINDOW, "out_of_window"), (OK, "ok"),
                (WRAPPED, "wrapped"),
            )],
            F.count(F.when(F.col("_truncated"), True)).alias("truncated_bodies"),
            F.count(F.when(F.col("_recovered"), True)).alias("recovered"),
            F.count(F.when(F.col("_cut_off"), True)).alias("cut_off"),
            *[F.count(F.when(is_ok, F.col(name))).alias(f"present_{i}") for i, name in enumerate(required)],
            # the files to read again for the quarantine (bounded by the listing the driver holds)
            F.array_sort(F.collect_set(F.when(bad, F.col("_file")))).alias("bad_files"),
        ])
        if keep_copies:
            deduped, dedupe_counts = keep_records(read_counts.df.filter(is_ok), names)
        else:
            deduped, dedupe_counts = dedupe(read_counts.df.filter(is_ok), names, by_event_origin_id=by_event_origin_id)
        df = finish(build(deduped))
        return df, read_counts.get(), dedupe_counts.get()

    unwrap = bool(wrapped)
    df, counts, kept = one_pass(unwrap, by_eoi)
    if not unwrap and int(counts["wrapped"] or 0):
        log.info("%d lines are {\"records\": [...]} bodies: parsing again, unwrapping them", int(counts["wrapped"]))
        unwrap = True
        df, counts, kept = one_pass(unwrap, by_eoi)
    _fill_status_counts(stats, counts, required)
    eoi_groups, collided = int(kept.get("eoi_groups") or 0), int(kept.get("collided") or 0)
    # redacted or re-used ids (e.g. in published datasets): the files are parsed once more
    # (such data sets are small)
    if keep_copies:
        stats.dedupe = "none"  # every clean record is kept; the store's reader applies the rule across days
    elif dedupe_on_content(eoi_groups, collided):
        log.info("%d records share an EventOriginId with other content: deduplicating on content", collided)
        df, _, kept = one_pass(unwrap, False)
        stats.dedupe = "content"
    else:
        stats.dedupe = "EventOriginId" if eoi_groups else "content"
    stats.rows = int(kept["rows"] or 0)
    stats.duplicates = int(counts["ok"] or 0) - stats.rows
    bad_files = list(counts["bad_files"] or [])
    quarantine = None
    if bad_files:
        # broken lines and schema errors are told apart on the files that hold them
        again = paths.only(bad_files) if isinstance(paths, RemoteLines) else bad_files
        quarantine = parse_records(spark, again, table, window, types, unwrap=unwrap, line_numbers=True).filter(
            bad).select("_status", "_file", "_line", "_reason", "_raw")
        kinds = quarantine.agg(
            F.count(F.when(F.col("_status") == MALFORMED, True)).alias("malformed"),
            F.count(F.when(F.col("_status") == SCHEMA_ERROR, True)).alias("schema_errors"),
        ).first()
        stats.malformed, stats.schema_errors = int(kinds["malformed"]), int(kinds["schema_errors"])
        if stats.quarantined != int(counts["quarantined"] or 0):
            log.warning("%d records were quarantined, but %d on reading their files again (did they change?)",
                        int(counts["quarantined"] or 0), stats.quarantined)
    return ReadResult(df, stats, quarantine, types, window)
