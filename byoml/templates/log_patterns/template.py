"""Template ``log-patterns``: mine message patterns from log text, and flag new and surging ones.

Like KQL's ``reduce`` and ``autocluster``, on Spark and scheduled: training mines the patterns
of the training window's messages (:mod:`.masking`, :mod:`.miner`, :mod:`.merge`) and learns
each pattern's hourly rate per group (:mod:`.rates`); scoring assigns every record of the
window to a pattern (a message that matches none starts a new one) and writes one row per
(pattern, group, hour) to ``LogPatterns_CL`` (:mod:`.scoring`). ``--emit records`` writes one
row per record instead (``LogPatternRecords_CL``: its id, ``PatternId`` and ``Pattern``), for
labelling and evaluation.

Everything is Spark SQL over DataFrames: no Python UDF, no ``mapInPandas``. The records of a
window are first reduced to their distinct masked messages (about 1 in 10 to 1 in 1,000 of the
lines), which the miner then works on with joins and aggregations; measured on 1M Syslog lines
in ``benchmarks/log_patterns_scale.py``.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Dict, List

from ...errors import ConfigError, EmptyWindowError
from ...timewindow import TimeWindow
from ..base import Model, RunInfo, Template, learned_table, learned_value
from . import masking, merge, miner, rates, scoring
from .config import LogPatternsConfig

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

OUTPUT_TAIL = ("PatternId string, Pattern string, Count bigint, Baseline double, IsNew boolean, AnomalyScore double, "
               "IsAnomaly boolean, AnomalyReason string, ErrorCount bigint, ExampleMessage string")
RECORD_COLUMNS = "TimeGenerated timestamp, EventOriginId string, PatternId string, Pattern string, IsNew boolean"
RECORDS = "records"


class LogPatternsModel(Model):
    """Fitted ``log-patterns``: the variants and patterns mined, and the baseline rates."""

    variants_: DataFrame = learned_table("per variant: length, constants (position, token), Template, PatternId")
    patterns_: DataFrame = learned_table("per pattern: PatternId, Pattern, records and an ExampleMessage in training")
    baselines_: DataFrame = learned_table("per (PatternId, group, hour of day): Baseline records per hour, Dispersion")
    span_: dict = learned_value("the training span: first and last hour (epoch hours) and hours")

    def score(self, prepared, run: RunInfo):
        keys = list(self.template.config.group_by)
        msgs = _messages(prepared)
        patterns = scoring.pattern_map(msgs, self)
        return scoring.pattern_hours(prepared, patterns, self, run, keys)

    def emit(self, mode: str, prepared, run: RunInfo):
        """``--emit records``: one row per record of the window: its id, ``PatternId``, ``Pattern``, ``IsNew``."""
        from pyspark.sql import functions as F

        if mode != RECORDS:
            raise ConfigError(f"log-patterns has no --emit {mode}")
        patterns = scoring.pattern_map(_messages(prepared.withColumn("n", F.lit(1))), self)
        return prepared.join(patterns, "Masked").select(
            "TimeGenerated", F.col("RecordId").alias("EventOriginId"), "PatternId", "Pattern", "IsNew")


def _messages(prepared):
    from pyspark.sql import functions as F

    return prepared.groupBy("Masked").agg(F.sum("n").alias("n"))


class LogPatterns(Template):
    """Message patterns mined from log text; new and surging patterns flagged."""

    name = "log-patterns"
    version = "1.0"
    table = "Syslog"
    output_table = "LogPatterns"
    report_kind = "patterns"
    Config = LogPatternsConfig
    sample_data = "log-patterns"
    model_class = LogPatternsModel
    # hour-of-day baselines need days; a pattern's rate needs records
    minimum_training = {"events": 500, "days": 2}
    emit_modes = {RECORDS: "one row per record: EventOriginId (or _ItemId), PatternId, Pattern (LogPatternRecords_CL)"}

    def output_ddl(self) -> str:
        keys = ", ".join(f"`{k}` string" for k in self.config.group_by)
        return f"TimeGenerated timestamp, {keys}, {OUTPUT_TAIL}"

    def for_emit(self, mode: str) -> Template:
        if mode == RECORDS:
            return LogPatternRecords(self.config)
        return super().for_emit(mode)

    def columns(self) -> List[str]:
        cfg = self.config
        cols = ["TimeGenerated", cfg.message_column, *cfg.group_by, *cfg.record_id_columns]
        if cfg.level_column:
            cols.append(cfg.level_column)
        return list(dict.fromkeys(cols))

    def required_columns(self) -> List[str]:
        return [self.config.message_column]

    def input_filters(self):
        """``where:``, and records with a message."""
        from pyspark.sql import functions as F

        cfg = self.config
        filters = [("excluded by where", F.expr(cfg.where))] if cfg.where else []
        message = F.trim(F.col(cfg.message_column).cast("string"))
        return filters + [(f"empty {cfg.message_column}", message.isNotNull() & (F.length(message) > 0))]

    def filter_hint(self) -> str:
        return f"Records need a {self.config.message_column}; check message_column and where: in the config."

    def prepare(self, events):
        """One row per record: ``TimeGenerated``, ``hour``, the group columns, ``Masked``, ``Message``,
        ``errors`` (1 for an error level), ``RecordId``, ``n`` (1)."""
        from pyspark.sql import functions as F

        cfg = self.config
        df = self.apply_filters(events)
        message = F.col(cfg.message_column).cast("string")
        level = F.lower(F.trim(F.col(cfg.level_column).cast("string"))) if cfg.level_column else F.lit(None)
        errors = F.when(level.isin([v.lower() for v in cfg.error_levels]), 1).otherwise(0)
        ids = [F.col(c).cast("string") for c in cfg.record_id_columns]
        masked = masking.mask_text(message, masking.masks(cfg.masks, cfg.extra_masks))
        return df.select(
            "TimeGenerated", F.date_trunc("hour", "TimeGenerated").alias("hour"),
            *[F.coalesce(F.col(k).cast("string"), F.lit("")).alias(k) for k in cfg.group_by],
            masked.alias("Masked"), F.substring(F.trim(message), 1, cfg.example_chars).alias("Message"),
            errors.cast("long").alias("errors"), (F.coalesce(*ids) if ids else F.lit(None).cast("string")).alias("RecordId"),
            F.lit(1).cast("long").alias("n"),
        ).filter(F.length("Masked") > 0)

    def summarize(self, prepared):
        """Records -> one row per (group, hour, masked message): ``n``, ``errors``, an ``example``."""
        from pyspark.sql import functions as F

        keys = list(self.config.group_by)
        return prepared.groupBy(*keys, "hour", "Masked").agg(
            F.sum("n").alias("n"), F.sum("errors").alias("errors"), F.min("Message").alias("example"),
            F.min("TimeGenerated").alias("TimeGenerated"))

    def fit(self, prepared, window: TimeWindow) -> Model:
        from pyspark.sql import functions as F

        from ...spark import materialize

        cfg = self.config
        keys = list(cfg.group_by)
        span = prepared.agg(F.min("hour").alias("lo"), F.max("hour").alias("hi"), F.sum("n").alias("n")).first()
        if span["lo"] is None:
            raise EmptyWindowError(f"{self.name}: no {cfg.message_column} text in the training window {window}")
        msgs = _messages(prepared)
        variants = materialize(merge.merge_variants(miner.mine(msgs, cfg.miner_spec)))
        assigned = merge.assign(msgs, variants, cfg.miner_spec)
        rows = prepared.join(assigned, "Masked")
        examples = rows.groupBy("PatternId").agg(F.min("example").alias("ExampleMessage"))
        patterns = materialize(merge.patterns_of(variants).join(examples, "PatternId", "left"))
        counts = rows.groupBy("PatternId", *keys, "hour").agg(F.sum("n").alias("Count"))
        first, last = int(span["lo"].timestamp()) // 3600, int(span["hi"].timestamp()) // 3600
        baselines = materialize(rates.learn_baselines(counts, keys, first, last, cfg.profile_prior_days))
        stats = patterns.agg(F.count(F.lit(1)).alias("patterns"), F.sum("variants").alias("variants")).first()
        series = baselines.select("PatternId", *keys).distinct().count()
        counts_meta: Dict[str, int] = {"records": int(span["n"]), "patterns": int(stats["patterns"]),
                                       "variants": int(stats["variants"]), "pattern_series": int(series)}
        return LogPatternsModel(
            self, variants_=variants.drop("n"), patterns_=patterns, baselines_=baselines,
            span_={"first_hour": first, "last_hour": last, "hours": last - first + 1},
            metadata={"counts": counts_meta})

    def scores_table(self, labels: dict) -> str:
        """Where ``byoml evaluate`` reads the scores: the records table for loghub labels."""
        return LogPatternRecords.output_table if labels.get("kind") == "loghub" else self.output_table_name

    def evaluate(self, scores, labels: dict) -> dict:
        from ...evaluate_patterns import evaluate_log_patterns

        return evaluate_log_patterns(scores, labels, list(self.config.group_by))


class LogPatternRecords(LogPatterns):
    """``log-patterns --emit records``: the records themselves, each with its pattern."""

    output_table = "LogPatternRecords"
    output_columns = RECORD_COLUMNS
    emit_modes: Dict[str, str] = {}

    @property
    def output_table_name(self) -> str:  # type: ignore[override]
        return self.output_table

    def output_ddl(self) -> str:
        return RECORD_COLUMNS

    def summarize(self, prepared):
        return prepared.select("TimeGenerated", "hour", *self.config.group_by, "Masked", "RecordId", "n")
