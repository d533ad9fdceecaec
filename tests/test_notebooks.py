"""notebooks/: every set runs headlessly (nbclient, a real ipykernel of this Python), in order,
against small sample data, and leaves what each notebook promises: an export, a model, scored
rows, a report, and figures."""
from __future__ import annotations

import json
from typing import List

import pytest

from tests.notebook_runs import NOTEBOOKS, SETS

nbformat = pytest.importorskip("nbformat", reason="nbformat is in the [test] extra")

PLOTLY = "application/vnd.plotly.v1+json"
TABLES = {"anomalous-resource-access": "AnomalousResourceAccessResult_CL", "usage-regression": "UsageAnomalies_CL",
          "masquerading-process": "MasqueradingProcessResult_CL", "log-patterns": "LogPatterns_CL",
          "series-forecast": "SeriesForecast_CL"}


def test_every_set_has_sample_data_training_and_scoring():
    assert sorted(p.name for p in NOTEBOOKS.iterdir() if p.is_dir()) == sorted(SETS)
    for name in SETS:
        books = sorted(p.name for p in (NOTEBOOKS / name).glob("*.ipynb"))
        assert books == ["01_sample_data.ipynb", "02_training.ipynb", "03_scoring.ipynb"], name
        for book in books:
            nb = nbformat.read(NOTEBOOKS / name / book, as_version=4)
            nbformat.validate(nb)
            assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), f"{book}: commit it without outputs"
            code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
            assert "dbutils.widgets" in code and "except NameError" in code, f"{book}: dbutils must stay optional"
            assert "BYOML_NOTEBOOK_DIR" in code, f"{book}: the working folder is a parameter"
            assert ".collect()" not in code, f"{book}: bring bounded frames to the driver (limit/aggregates)"


def _text(outputs: List[dict]) -> str:
    parts = []
    for output in outputs:
        if output.get("output_type") == "stream":
            parts.append(output.get("text", ""))
        elif "data" in output:
            parts.append(output["data"].get("text/plain", ""))
    return "\n".join(parts)


def _figures(outputs: List[dict]) -> List[dict]:
    return [o["data"][PLOTLY] for o in outputs if PLOTLY in o.get("data", {})]


@pytest.mark.parametrize("name", sorted(SETS))
def test_notebook_set_runs_in_order(name, notebook_runs):
    run = notebook_runs(name)
    assert list(run.outputs) == ["01_sample_data", "02_training", "03_scoring"]
    # 1: the export and its labels, and a look at it
    labels = json.loads((run.export / "labels.json").read_text())
    assert labels["seed"] == int(SETS[name]["BYOML_NOTEBOOK_SEED"])
    assert "training window" in _text(run.outputs["01_sample_data"]) and _figures(run.outputs["01_sample_data"])
    # 2: a saved model of the template
    meta = json.loads(next(run.model.glob("m-*/metadata.json")).read_text())
    assert meta["template"] == run.template
    assert f"byoml train · {run.template}" in _text(run.outputs["02_training"])
    # 3: every scored row, the report, the figures and the evaluation
    scored = list((run.results / TABLES[run.template]).glob("part-*.json"))
    assert scored and sum(1 for f in scored for line in f.open() if line.strip()) > 0
    assert run.report.stat().st_size > 1_000_000 and "Plotly.newPlot(" in run.report.read_text(encoding="utf-8")
    text = _text(run.outputs["03_scoring"])
    assert f"byoml score · {run.template}" in text and f"report       {run.report}" in text
    figures = _figures(run.outputs["03_scoring"])
    if name == "anomalous-resource-access":
        assert [f["data"][0]["type"] for f in figures] == ["heatmap", "bar"]
        assert "auc" in text.lower() or "precision" in text.lower()
    elif name == "masquerading-process":  # flagged rows per reason, then the score histogram
        assert [f["data"][0]["type"] for f in figures] == ["bar", "bar"]
        assert figures[0]["data"][0]["orientation"] == "h" and "name_lookalike" in figures[0]["data"][0]["y"]
        assert "lookalike_short" in text and "recall" in text.lower()
    elif name == "log-patterns":  # the top patterns of the day: records (bars) against their baseline (marks)
        assert len(figures) == 1 and [t["type"] for t in figures[0]["data"]] == ["bar", "scatter"]
        assert figures[0]["data"][0]["orientation"] == "h"
        assert "new_pattern_recall" in text and "surge_recall" in text and "false_flags_per_100_pattern_hours" in text
    elif name == "series-forecast":  # one figure: history, forecast and both bands per series; the check on actuals
        names = {t.get("name") for t in figures[0]["data"]} if len(figures) == 1 else set()
        assert {"history", "forecast", "80% interval", "95% interval"} <= names, names
        assert "coverage over" in text and "80% interval" in text
    else:
        assert len(figures) == 1 and any(t.get("name", "").startswith("flag") for t in figures[0]["data"])
        assert "recall" in text.lower() or "precision" in text.lower()
