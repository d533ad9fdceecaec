"""One suite over every registered template, built-in or a user's: byoml.testing.check_template."""
from __future__ import annotations

import pathlib
import subprocess
import sys
import textwrap

import pytest

from byoml.errors import ConfigError
from byoml.templates import available, get_template, get_template_class
from byoml.templates.rarity import AccessRarity
from byoml.testing import Fixture, TemplateCheckError, check_template

EXAMPLES = pathlib.Path(__file__).resolve().parents[1] / "templates" / "examples"
sys.path.insert(0, str(EXAMPLES))

TEMPLATES = sorted(available()) + ["off_hours:OffHours"]


@pytest.fixture(scope="module")
def samples(request):
    return {kind: request.getfixturevalue(fixture) for kind, fixture in (
        ("resource-access", "access_sample"), ("usage", "usage_sample"), ("process-creation", "process_sample"),
        ("log-patterns", "syslog_sample"))}


@pytest.mark.parametrize("name", TEMPLATES)
def test_check_template(name, spark, samples, tmp_path):
    cls = get_template_class(name)
    root, labels = samples[cls.sample_data]
    report = check_template(cls, Fixture.from_labels(str(root), labels), spark=spark, workdir=str(tmp_path))
    assert report.passed == ["declaration", "fit", "scores", "deterministic", "round_trip", "written_schema",
                             "empty_window", "missing_column", "other_template"]
    assert report.flagged < report.rows
    # a forecast flags a configured threshold's crossing (tests/test_series_forecast.py checks it with one)
    assert report.flagged > 0 or not cls.labelled_flags


PLUGIN = '''
"""A plug-in template in its own package: first access of a share by anyone in the window."""
from dataclasses import dataclass

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from byoml.errors import EmptyWindowError
from byoml.spark import timestamp_literal
from byoml.templates import Model, Template, learned_table, param
from byoml.templates.access_events import AccessMappingConfig, access_events, mapping_columns


@dataclass
class FirstShareConfig(AccessMappingConfig):
    """Options of first-share."""

    threshold: float = param(1.0, "flag a resource no user touched in training at or above this score")
    output_table: str = param("FirstShare", "the custom table written, without _CL")


class FirstShareModel(Model):
    """Fitted first-share."""

    resources_: DataFrame = learned_table("events n per (TenantId, ResourceKey) in training")

    def score(self, prepared, run):
        seen = prepared.groupBy("TenantId", "UserKey", "ResourceKey").agg(F.count(F.lit(1)).alias("AccessCount"))
        joined = seen.join(self.resources_, ["TenantId", "ResourceKey"], "left")
        score = F.when(F.col("n").isNull(), F.lit(1.0)).otherwise(F.lit(1.0) / (F.col("n") + 1.0))
        return joined.select(
            timestamp_literal(run.run_time).alias("TimeGenerated"), "TenantId", F.col("UserKey").alias("Account"),
            F.col("ResourceKey").alias("Resource"), "AccessCount", score.alias("AnomalyScore"),
            (score >= self.template.config.threshold).alias("IsAnomaly"))


class FirstShare(Template):
    """A resource nobody accessed in training."""

    name = "first-share"
    version = "1.0"
    table = "SecurityEvent"
    output_table = "FirstShare"
    output_columns = ("TimeGenerated timestamp, TenantId string, Account string, Resource string, "
                      "AccessCount bigint, AnomalyScore double, IsAnomaly boolean")
    Config = FirstShareConfig
    model_class = FirstShareModel

    def columns(self):
        return mapping_columns(self.config)

    def required_columns(self):
        return [self.config.user_column, self.config.share_column, "EventID"]

    def prepare(self, events):
        return access_events(events, self.config)

    def fit(self, prepared, window):
        resources = prepared.groupBy("TenantId", "ResourceKey").agg(F.count(F.lit(1)).alias("n"))
        if resources.isEmpty():
            raise EmptyWindowError("first-share: no access events to learn from")
        return FirstShareModel(self, resources_=resources)
'''


def test_a_plugin_template_in_a_temporary_package_passes(spark, samples, tmp_path, monkeypatch):
    """A template without sample data, from a package of its own: the caller passes the fixture."""
    package = tmp_path / "contoso_templates"
    package.mkdir()
    (package / "__init__.py").write_text("from .first_share import FirstShare\n")
    (package / "first_share.py").write_text(textwrap.dedent(PLUGIN))
    monkeypatch.syspath_prepend(str(tmp_path))
    cls = get_template_class("contoso_templates:FirstShare")
    assert cls.sample_data is None
    with pytest.raises(TemplateCheckError, match="has no sample_data: pass fixture"):
        check_template(cls, spark=spark, workdir=str(tmp_path / "no-fixture"))
    root, labels = samples["resource-access"]
    fixture = Fixture.from_labels(str(root), labels)
    report = check_template(cls, fixture, spark=spark, workdir=str(tmp_path / "work"))
    assert "written_schema" in report.passed and "missing_column" in report.passed and report.flagged > 0


class MisDeclared(AccessRarity):
    """access-rarity declaring a column it does not write."""

    name = "mis-declared"
    output_columns = AccessRarity.output_columns + ", Extra string"


def test_check_template_reports_a_schema_mismatch(spark, samples, tmp_path):
    root, labels = samples["resource-access"]
    with pytest.raises(TemplateCheckError, match="declared column Extra is not written"):
        check_template(MisDeclared, Fixture.from_labels(str(root), labels), spark=spark, workdir=str(tmp_path))


@pytest.mark.parametrize("name", TEMPLATES)
def test_options_are_keywords_or_a_mapping(name):
    cls = get_template_class(name)
    first = cls.params()[-1]
    assert cls(**{first.name: first.default}).get_params() == get_template(name, {first.name: first.default}).get_params()
    with pytest.raises(ConfigError, match="unknown .* option"):
        get_template(name, {"no_such_option": 1})
    with pytest.raises(ConfigError, match="unknown .* option"):
        cls(no_such_option=1)


def test_keyword_options_are_type_checked_and_validated():
    from off_hours import OffHours

    assert OffHours(prior=10).config.prior == 10.0
    assert OffHours({"prior": 10}).config.prior == 10.0
    with pytest.raises(ConfigError, match="expected float"):
        OffHours(prior="ten")
    with pytest.raises(ConfigError, match="rank must be >= 2"):
        get_template_class("anomalous-resource-access")(rank=1)


def test_describe_lists_every_option_with_its_default():
    cls = get_template_class("anomalous-resource-access")
    out = subprocess.run([sys.executable, "-m", "byoml", "templates", "--describe", "anomalous-resource-access"],
                         capture_output=True, text=True, check=True).stdout
    for p in cls.params():
        line = next((ln for ln in out.splitlines() if ln.strip().startswith(p.name + ":")), None)
        assert line is not None, f"{p.name} not listed"
        assert f"default: {p.default!r}" in line and p.doc in line
    assert "rank: ALS rank" in out and "default: 10" in out
