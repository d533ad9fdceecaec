"""Run the notebook sets of notebooks/ headlessly (nbclient, an ipykernel of this Python).

Each set runs once per test session, in order, on small sample data, in a fresh kernel per
notebook (as a person runs them); tests/test_notebooks.py checks what they leave, and
tests/test_report.py scores their sample exports with their models again through the CLI, so the
suite trains each model once.
"""
from __future__ import annotations

import os
import pathlib
import sys
from dataclasses import dataclass
from typing import Dict, List

REPO = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
# small sample data: each set runs in a minute or two on 2 cores
SETS: Dict[str, Dict[str, str]] = {
    "anomalous-resource-access": {"BYOML_NOTEBOOK_USERS": "40", "BYOML_NOTEBOOK_DAYS": "7",
                                  "BYOML_NOTEBOOK_LAYOUT": "hourly", "BYOML_NOTEBOOK_SEED": "3",
                                  "BYOML_NOTEBOOK_TEMPLATE": "anomalous-resource-access"},
    "usage": {"BYOML_NOTEBOOK_SERIES": "4", "BYOML_NOTEBOOK_DAYS": "21", "BYOML_NOTEBOOK_SEED": "5",
              "BYOML_NOTEBOOK_TEMPLATE": "usage-regression"},
    "masquerading-process": {"BYOML_NOTEBOOK_COMPUTERS": "40", "BYOML_NOTEBOOK_DAYS": "4", "BYOML_NOTEBOOK_LAYOUT": "hourly",
                             "BYOML_NOTEBOOK_SEED": "3", "BYOML_NOTEBOOK_TEMPLATE": "masquerading-process"},
    "log-patterns": {"BYOML_NOTEBOOK_COMPUTERS": "4", "BYOML_NOTEBOOK_DAYS": "3", "BYOML_NOTEBOOK_LAYOUT": "hourly",
                     "BYOML_NOTEBOOK_SEED": "3", "BYOML_NOTEBOOK_TEMPLATE": "log-patterns"},
    "series-forecast": {"BYOML_NOTEBOOK_SERIES": "4", "BYOML_NOTEBOOK_DAYS": "21", "BYOML_NOTEBOOK_SEED": "5",
                        "BYOML_NOTEBOOK_TEMPLATE": "series-forecast"},
}
FOLDER = {"anomalous-resource-access": "resource-access", "usage": "usage", "masquerading-process": "process-creation",
          "log-patterns": "syslog", "series-forecast": "series-forecast"}


@dataclass
class SetRun:
    """What one notebook set left: its working folder, its template and each notebook's outputs."""

    name: str
    template: str
    base: pathlib.Path
    outputs: Dict[str, List[dict]]
    error: str = ""

    @property
    def export(self) -> pathlib.Path:
        return self.base / "export"

    @property
    def model(self) -> pathlib.Path:
        return self.base / f"model-{self.template}"

    @property
    def results(self) -> pathlib.Path:
        return self.base / f"results-{self.template}"

    @property
    def report(self) -> pathlib.Path:
        return self.base / f"report-{self.template}.html"


def run_set(name: str, workdir: pathlib.Path) -> SetRun:
    """Execute ``notebooks/<name>/*.ipynb`` in order; a failing cell stops the set and is recorded."""
    import nbclient
    import nbformat

    env = {**SETS[name], "BYOML_NOTEBOOK_DIR": str(workdir), "BYOML_SPARK_DRIVER_MEMORY": "1g",
           "PYSPARK_PYTHON": sys.executable}
    saved = {k: os.environ.get(k) for k in [*env, "DATABRICKS_RUNTIME_VERSION"]}
    os.environ.update(env)
    os.environ.pop("DATABRICKS_RUNTIME_VERSION", None)
    run = SetRun(name, SETS[name]["BYOML_NOTEBOOK_TEMPLATE"], workdir / FOLDER[name], {})
    try:
        for book in sorted((NOTEBOOKS / name).glob("*.ipynb")):
            nb = nbformat.read(book, as_version=4)
            client = nbclient.NotebookClient(nb, timeout=900, kernel_name="python3",
                                             resources={"metadata": {"path": str(workdir)}})
            try:
                client.execute()
            except nbclient.exceptions.CellExecutionError as exc:
                run.error = f"{name}/{book.name} failed:\n{str(exc)[-3000:]}"
                break
            run.outputs[book.stem] = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return run
