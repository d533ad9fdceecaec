"""Every built-in template's output columns are declared in its shipped DCR / table definition."""
from __future__ import annotations

import pathlib

import pytest

from byoml.sinks.dcr import RENAMED, compatible, load, stream_columns, table_columns, transform_kql
from byoml.sinks.local import SinkResult
from byoml.templates import available, get_template_class

REPO = pathlib.Path(__file__).resolve().parents[1]
DCR_DIR = REPO / "templates" / "dcr"
SAMPLE_OPTIONS = {"resource-access": {"users": 40, "days": 5, "seed": 2, "layout": "hourly"},
                  "usage": {"series": 4, "days": 21, "seed": 2}}


class SchemaSink:
    """A sink that keeps the schema of what it is given (and writes nothing)."""

    def __init__(self) -> None:
        self.fields = {}

    def write(self, df, table, run_id, rows):
        self.fields = {f.name: type(f.dataType).__name__ for f in df.schema.fields}
        self.table = table
        return SinkResult(rows, "schema only")


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
def test_template_output_columns_are_declared(spark, tmp_path, name):
    from byoml.run import score, train
    from byoml.sample_data import generate

    cls = get_template_class(name)
    tpl = cls()
    path = DCR_DIR / f"{tpl.output_table_name}.json"
    assert path.exists(), f"ship {path.relative_to(REPO)} for template {name}"
    kind = cls.sample_data
    assert kind in SAMPLE_OPTIONS, f"add small sample options for {kind}"
    labels = generate(kind, str(tmp_path / "data"), **SAMPLE_OPTIONS[kind])
    tw, sw = labels["train_window"], labels["score_window"]
    train(name, str(tmp_path / "data"), str(tmp_path / "model"), tw["start"], tw["end"], spark=spark)
    sink = SchemaSink()
    score(name, str(tmp_path / "data"), str(tmp_path / "model"), sink, sw["start"], sw["end"], emit="all",
          spark=spark, quarantine_dir=str(tmp_path / "q"))
    declared = stream_columns(load(str(path)))
    missing = sorted(set(sink.fields) - set(declared))
    assert not missing, f"{path.name} does not declare {missing}"
    wrong = {n: (t, declared[n]) for n, t in sink.fields.items() if not compatible(t, declared[n])}
    assert not wrong, f"{path.name}: Spark type does not fit the declared type: {wrong}"
