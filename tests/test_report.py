"""byoml score --report: HTML reports of real (small) scoring runs, their content, their bounds, and
how they render in headless Chromium (Debian ``chromium``) with no console error.

The runs reuse the notebook sets' sample exports and models (tests/notebook_runs.py), so the suite
trains each model once: the resource access report is the one notebook 3 wrote through
``byoml.run.score``; the usage export is scored again through the CLI with ``--report``."""
from __future__ import annotations

import contextlib
import io
import json
import os
import pathlib
from html.parser import HTMLParser
from typing import Dict, List

import pandas as pd
import pytest

from byoml.cli import EXIT_OK, EXIT_USAGE, main
from byoml.evaluate import load_scores
from byoml.report import collect, html_table, write_report
from tests.peers.chromium import find_chromium, open_page

ACCESS = "anomalous-resource-access"
USAGE = "usage-regression"


class _Table(HTMLParser):
    """Rows (lists of cell texts) of the table with a given id."""

    def __init__(self, table_id: str) -> None:
        super().__init__()
        self.table_id, self.inside, self.rows, self.header = table_id, False, [], []
        self._row, self._cell, self._in_cell = None, [], False

    def handle_starttag(self, tag, attrs):
        if tag == "table" and dict(attrs).get("id") == self.table_id:
            self.inside = True
        elif self.inside and tag == "tr":
            self._row = []
        elif self.inside and tag in ("td", "th"):
            self._cell, self._in_cell = [], True

    def handle_endtag(self, tag):
        if not self.inside:
            return
        if tag in ("td", "th") and self._row is not None:
            self._row.append("".join(self._cell).strip())
            self._in_cell = False
        elif tag == "tr" and self._row is not None:
            (self.header if not self.header else self.rows).append(self._row)
            self._row = None
        elif tag == "table":
            self.inside = False

    def handle_data(self, data):
        if self._in_cell:
            self._cell.append(data)


def table_rows(document: str, table_id: str = "top") -> List[Dict[str, str]]:
    parser = _Table(table_id)
    parser.feed(document)
    return [dict(zip(parser.header[0], row)) for row in parser.rows] if parser.header else []


def _score(tmp: pathlib.Path, template: str, source: str, model: str, extra: List[str]) -> dict:
    """``byoml score ... --report`` through the CLI; what it printed, its summary and its report."""
    summary_file = tmp / "summary.json"
    report = tmp / "reports" / "report.html"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = main(["score", "--template", template, "--source", source, "--model", model, "--sink",
                     str(tmp / "sink"), "--summary-json", str(summary_file), "--report", str(report), *extra])
    assert code == EXIT_OK, printed.getvalue()
    return {"summary": json.loads(summary_file.read_text()), "stdout": printed.getvalue(), "report": report,
            "html": report.read_text(encoding="utf-8"), "sink": tmp / "sink"}


@pytest.fixture(scope="module")
def access_scored(notebook_runs):
    """The resource access notebooks' scoring run: ``byoml.run.score(..., emit="all", report=...)``, the
    function behind ``byoml score --report`` (whose CLI wiring the usage run below goes through)."""
    run = notebook_runs("anomalous-resource-access")
    return {"report": run.report, "html": run.report.read_text(encoding="utf-8"), "sink": run.results}


@pytest.fixture(scope="module")
def usage_scored(tmp_path_factory, spark, notebook_runs):
    """The usage notebooks' sample export and usage-regression model, scored over its scoring window."""
    run = notebook_runs("usage")
    sw = json.loads((run.export / "labels.json").read_text())["score_window"]
    return _score(tmp_path_factory.mktemp("report-usage"), USAGE, str(run.export), str(run.model),
                  ["--start", sw["start"], "--end", sw["end"], "--emit", "all"])


class _Resources(HTMLParser):
    """Every external resource a page would load (script src, link href, img src)."""

    def __init__(self) -> None:
        super().__init__()
        self.external: List[str] = []
        self.scripts = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script":
            self.scripts += 1
        for name in ("src", "href"):
            if attrs.get(name) and tag in ("script", "link", "img", "iframe"):
                self.external.append(f"<{tag} {name}={attrs[name]}>")


def _self_contained(document: str) -> None:
    assert document.startswith("<!DOCTYPE html>") and document.rstrip().endswith("</html>")
    resources = _Resources()
    resources.feed(document)
    assert resources.external == [], "the report must load nothing: plotly.js is inlined"
    assert resources.scripts >= 2 and len(document) > 1_000_000  # the library itself is in the file
    assert "Plotly.newPlot(" in document


# -- content ---------------------------------------------------------------------------------------
def test_access_report_lists_the_top_anomalies_with_their_explanations(access_scored):
    run = access_scored
    _self_contained(run["html"])
    rows = load_scores(str(run["sink"]), "AnomalousResourceAccessResult")
    flagged = rows[rows["IsAnomaly"]].sort_values("AnomalyScore", ascending=False, kind="mergesort")
    assert len(flagged) > 0
    shown = table_rows(run["html"])
    assert len(shown) == min(50, len(flagged))
    assert [r["Account"] for r in shown] == flagged["Account"].head(len(shown)).tolist()
    assert [float(r["AnomalyScore"]) for r in shown] == pytest.approx(flagged["AnomalyScore"].head(len(shown)).tolist(), abs=5e-4)
    assert [r["Explanation"] for r in shown] == flagged["Explanation"].head(len(shown)).tolist()
    assert all(r["Explanation"] for r in shown)
    assert f"{len(flagged):,} anomalies" in run["html"]
    assert 'id="plot-0"' in run["html"] and 'id="plot-1"' in run["html"]  # heatmap and score histogram


def test_usage_report_shows_every_flagged_series(usage_scored):
    run = usage_scored
    assert f"report       {run['report']}" in run["stdout"], "the summary says where the report is"
    assert run["summary"]["outputs"]["report"] == str(run["report"])
    _self_contained(run["html"])
    rows = load_scores(str(run["sink"]), "UsageAnomalies")
    flagged = rows[rows["Anomalies"] != 0]
    assert run["summary"]["counts"]["flagged"] == len(flagged) > 0
    per_series = flagged.groupby("DataType").size()
    assert len(per_series) <= 12
    for name, n in per_series.items():  # panel titles sit in the figure's JSON
        assert json.dumps(f"{name} · {n} flagged")[1:-1] in run["html"], f"no panel for flagged series {name}"
    for name in set(rows["DataType"]) - set(per_series.index):
        assert json.dumps(f"{name} · ")[1:-1] not in run["html"], f"unflagged series {name} has a panel"
    shown = table_rows(run["html"])
    assert len(shown) == min(50, len(flagged))
    assert {(r["DataType"], r["TimeGenerated"]) for r in shown} == {
        (d, pd.Timestamp(t).strftime("%Y-%m-%d %H:%M")) for d, t in zip(flagged["DataType"], flagged["TimeGenerated"])}


def test_collection_is_bounded(spark, access_scored, usage_scored):
    from pyspark.sql import functions as F

    access = spark.read.json(str(access_scored["sink"] / "AnomalousResourceAccessResult_CL"))
    data = collect(access, F.col("IsAnomaly"), kind="access", top_n=3, max_grid=2)
    assert len(data.top) == 3 and data.flagged == access.filter("IsAnomaly").count()
    assert data.grid["Account"].nunique() <= 2 and data.grid["Resource"].nunique() <= 2 and len(data.grid) <= 4
    assert data.top["AnomalyScore"].is_monotonic_decreasing
    usage = spark.read.json(str(usage_scored["sink"] / "UsageAnomalies_CL")).withColumn(
        "TimeGenerated", F.col("TimeGenerated").cast("timestamp"))
    data = collect(usage, F.col("IsAnomaly"), kind="series", series_keys=["DataType"], top_n=2, max_series=1,
                   max_points=5)
    assert data.series_shown == 1 and len(data.series) <= 5 and len(data.top) <= 2
    assert data.series_flagged >= 1


def test_the_template_names_its_report_and_an_unknown_kind_gets_the_generic_one(spark, access_scored, tmp_path):
    from pyspark.sql import functions as F

    from byoml.templates import get_template

    access = spark.read.json(str(access_scored["sink"] / "AnomalousResourceAccessResult_CL"))
    template = get_template("anomalous-resource-access")
    info = write_report(str(tmp_path / "a.html"), access, F.col("IsAnomaly"), template)
    assert info.kind == "access" and info.note == ""

    class Custom(type(template)):
        report_kind = "graph"

    info = write_report(str(tmp_path / "b.html"), access, F.col("IsAnomaly"), Custom())
    assert info.kind == "table" and "report kind 'graph'" in info.note and "generic report" in info.note
    assert "report kind &#x27;graph&#x27;" in (tmp_path / "b.html").read_text()


def test_text_is_escaped():
    cell = "<script>alert('x')</script> & \\\\fs\\share"
    document = html_table(pd.DataFrame({"Account": [cell], "AnomalyScore": [3.14159]}), "t")
    assert "<script>" not in document and "&lt;script&gt;" in document and "3.142" in document


def test_a_report_that_cannot_be_written_fails_before_any_work(tmp_path, capsys):
    code = main(["score", "--template", USAGE, "--source", str(tmp_path), "--model", str(tmp_path / "none"),
                 "--sink", str(tmp_path / "sink"), "--report", "abfss://c@a.dfs.core.windows.net/r.html"])
    assert code == EXIT_USAGE
    assert "--report" in capsys.readouterr().err


# -- in a browser ----------------------------------------------------------------------------------
def _chromium() -> str:
    binary = find_chromium()
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing in CI: .ci/run installs Debian's chromium package")
        pytest.skip("headless Chromium not installed (Debian: apt-get install -y chromium); .ci/run installs it")
    return binary


PLOTS = """Array.from(document.querySelectorAll('.js-plotly-plot')).map(function (d) {
  return {id: d.id, traces: d.data.length, svg: d.querySelectorAll('svg.main-svg').length,
          types: d.data.map(function (t) { return t.type || 'scatter'; })}; })"""


def test_the_checker_sees_console_errors_and_exceptions(tmp_path):
    binary = _chromium()
    page = tmp_path / "broken.html"
    page.write_text("<html><body><script>console.error('deliberate');"
                    "setTimeout(function () { null.x; }, 50);</script></body></html>")
    errors = open_page(page.as_uri(), binary=binary).errors
    assert any("deliberate" in e for e in errors) and any(e.startswith("exception: TypeError") for e in errors)


def test_access_report_renders_without_console_errors(access_scored):
    binary = _chromium()
    rows = load_scores(str(access_scored["sink"]), "AnomalousResourceAccessResult")
    flagged = rows[rows["IsAnomaly"]]
    page = open_page(access_scored["report"].as_uri(), binary=binary, expressions={
        "plots": PLOTS,
        "heatmap": "(function (t) { return {x: Array.from(t.x), y: Array.from(t.y), "
                   "z: Array.from(t.z, function (r) { return Array.from(r); })}; })"
                   "(document.getElementById('plot-0').data[0])",
        "rows": "document.querySelectorAll('#top tbody tr').length",
    })
    assert page.errors == [], page.errors
    plots = page.values["plots"]
    assert [p["types"][0] for p in plots] == ["heatmap", "bar"] and all(p["svg"] > 0 for p in plots)
    heat = page.values["heatmap"]
    top_users = flagged.groupby("Account")["AnomalyScore"].max().sort_values(ascending=False)
    assert set(heat["y"]) == set(top_users.index[:30])
    best = flagged.sort_values("AnomalyScore", ascending=False).iloc[0]
    cell = heat["z"][heat["y"].index(best["Account"])][heat["x"].index(best["Resource"])]
    assert cell == pytest.approx(best["AnomalyScore"])
    assert page.values["rows"] == min(50, len(flagged))


def test_usage_report_renders_without_console_errors(usage_scored):
    binary = _chromium()
    rows = load_scores(str(usage_scored["sink"]), "UsageAnomalies")
    flagged = rows[rows["Anomalies"] != 0]
    page = open_page(usage_scored["report"].as_uri(), binary=binary, expressions={
        "plots": PLOTS,
        "flags": "document.getElementById('plot-0').data.filter(function (t) { return /^flag/.test(t.name); })"
                 ".reduce(function (n, t) { return n + t.x.length; }, 0)",
        "titles": "Array.from(document.querySelectorAll('#plot-0 .annotation-text')).map(function (a) "
                  "{ return a.textContent; })",
    })
    assert page.errors == [], page.errors
    (plot,) = page.values["plots"]
    assert plot["svg"] > 0 and plot["traces"] >= 4 * flagged["DataType"].nunique()
    assert page.values["flags"] == len(flagged), "one marker per flagged bin"
    assert len(page.values["titles"]) == flagged["DataType"].nunique()
