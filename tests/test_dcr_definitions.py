"""Every built-in template's output columns are declared in its shipped DCR / table definition."""
from __future__ import annotations

import pathlib

import pytest

from byoml.sinks.dcr import RENAMED, arm_template, load, stream_columns, table_columns, template_definition, transform_kql
from byoml.templates import available, get_template_class
from byoml.templates.schema import la_type

REPO = pathlib.Path(__file__).resolve().parents[1]
DCR_DIR = REPO / "templates" / "dcr"


def test_every_shipped_definition_is_consistent():
    files = sorted(DCR_DIR.glob("*.json"))
    assert {f.stem for f in files} >= {"AccessRarity", "AnomalousResourceAccessResult", "UsageAnomalies"}
    for path in files:
        template = load(str(path))
        stream, table = stream_columns(template), table_columns(template)
        assert stream["TimeGenerated"] == "datetime" and "RunId" in stream and "ModelVersion" in stream, path.name
        assert table == {RENAMED.get(n, n): t for n, t in stream.items()}, path.name
        assert "TenantId" not in table  # reserved in custom tables
        dcr = next(r for r in template["resources"] if r["type"] == "Microsoft.Insights/dataCollectionRules")
        (flow,) = dcr["properties"]["dataFlows"]
        assert flow["streams"] == [f"Custom-{path.stem}"] and flow["outputStream"] == f"Custom-{path.stem}_CL"
        assert flow["transformKql"] == transform_kql(list(stream.items()))
        assert all(len(n) <= 45 for n in table)


@pytest.mark.parametrize("name", sorted(available()))
def test_shipped_definition_matches_the_declared_schema(name):
    """The DCR stream of each template's output table is its declared output schema, column for column.

    That the rows a template writes match its declared schema is checked by
    ``byoml.testing.check_template`` (tests/test_templates.py), so together they hold the DCR to the rows.
    """
    tpl = get_template_class(name)()
    path = DCR_DIR / f"{tpl.output_table_name}.json"
    assert path.exists(), f"ship {path.relative_to(REPO)} for template {name}"
    declared = [(column, la_type(spark_type)) for column, spark_type in tpl.output_schema()]
    assert list(stream_columns(load(str(path))).items()) == declared, (
        f"{path.name} differs from {name}'s declared output schema: regenerate it with "
        "byoml.sinks.dcr.template_definition")
    assert stream_columns(template_definition(tpl)) == dict(declared)


def test_a_definition_that_misses_a_declared_column_is_caught(tmp_path):
    tpl = get_template_class("access-rarity")()
    columns = [(c, la_type(t)) for c, t in tpl.output_schema() if c != "IsAnomaly"]
    assert [c for c, _ in columns] != [c for c, _ in tpl.output_schema()]
    assert list(stream_columns(arm_template("AccessRarity", columns)).items()) != [
        (c, la_type(t)) for c, t in tpl.output_schema()]
