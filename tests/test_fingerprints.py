"""Outputs on fixed small seeds, pinned by fingerprint: a refactoring must not change a single row.

Each fingerprint is the SHA-256 of the sorted output rows (JSON, floats rounded to 9 digits), or of
the sample export's files. The values were recorded before the template kit's restructuring (issue
16); a change of any of them is a change of behaviour, which a refactoring must not make. A
deliberate change of an algorithm or of the sample generator records new values in its own commit.
The score values were recorded again when issue 17 added the `LowConfidence` column (False on every
row here); without that column the rows hash to the values recorded before issue 16.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import pathlib

import pytest

from byoml.evaluate import load_scores
from byoml.run import score, train
from byoml.sample_data import generate

SAMPLE = dict(users=80, days=14, tenants=1, seed=23, layout="hourly", malformed_lines=3)
# Columns that hold the run's wall-clock time or the model's save identity, not what was computed.
VOLATILE = {"TimeGenerated", "ModelVersion", "RunId"}

EXPECTED = {
    "export": "231f29208adaec8d797a6e7fb102a43fd01f53f1f88d14733d61d2de46136a93",
    "anomalous-resource-access": "3bc3b85fa710941f461128a967531b7032a5b344834213ace469d179d9c877d3",
    "access-rarity": "ed240f7912e76cca183cc89a503ea7a40a3d71a8b1c50c1ffed88b941d64a8c5",
}
OUTPUT_TABLES = {"anomalous-resource-access": "AnomalousResourceAccessResult", "access-rarity": "AccessRarity"}


def _value(v):
    if isinstance(v, float):
        return None if math.isnan(v) else round(v, 9)
    return v


def rows_fingerprint(pdf) -> str:
    """SHA-256 of the rows (volatile columns dropped, floats to 9 digits), in sorted order."""
    columns = sorted(c for c in pdf.columns if c not in VOLATILE)
    lines = sorted(json.dumps({c: _value(row[c]) for c in columns}, sort_keys=True, default=str)
                   for row in pdf.to_dict("records"))
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def files_fingerprint(root: pathlib.Path) -> str:
    """SHA-256 over every file's relative path and bytes, in path order."""
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    root = tmp_path_factory.mktemp("fingerprint") / "export"
    labels = generate("resource-access", str(root), **SAMPLE)
    return root, labels


def test_sample_export_is_unchanged(export):
    root, _ = export
    assert files_fingerprint(root) == EXPECTED["export"]


@pytest.mark.parametrize("template", sorted(OUTPUT_TABLES))
def test_scores_are_unchanged(template, export, spark, tmp_path):
    root, labels = export
    model, sink = str(tmp_path / "model"), str(tmp_path / "sink")
    train(template, str(root), model, end=labels["train_window"]["end"], spark=spark)
    score(template, str(root), model, sink, emit="all", spark=spark)
    rows = load_scores(sink, OUTPUT_TABLES[template])
    assert len(rows) > 0 and os.path.isdir(sink)
    assert rows_fingerprint(rows) == EXPECTED[template]
