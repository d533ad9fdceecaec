"""Save and load fitted models, atomically.

Layout of a model directory::

    MODEL_DIR/
      CURRENT                      name of the live version, replaced atomically
      m-20261123T101500Z-3fa2c1/
        metadata.json              template, version, parameters, windows, row counts
        state.json                 small learned values
        tables/<name>/part-*.parquet

A save writes a new version folder beside the live one (files written once, no folder is
ever renamed: safe on object-store mounts such as ``/Volumes``, see :mod:`byoml.statefiles`)
and then replaces the small ``CURRENT`` file as a whole. A crash at any point leaves the
previous model loadable; a version folder that ``CURRENT`` does not name is not a model, and
older versions are deleted only after the pointer names the new one.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict

from .._version import __version__
from ..errors import ModelError
from ..paths import to_spark_path
from ..statefiles import write_json_atomic
from ..timewindow import UTC, format_time
from .base import Model, Template

POINTER = "CURRENT"
METADATA = "metadata.json"
STATE = "state.json"
WRITE_THREADS = 4


def _major(version: str) -> str:
    return str(version).split(".", 1)[0]


def _write_json_atomic(path: str, data: Any) -> None:
    """:func:`byoml.statefiles.write_json_atomic` (a name of its own: the crash tests cut it off)."""
    write_json_atomic(path, data)


def save_model(model: Model, model_dir: str) -> str:
    """Write ``model`` as the new live version of ``model_dir``; return its version id."""
    template = model.template
    os.makedirs(model_dir, exist_ok=True)
    now = dt.datetime.now(UTC)
    version_id = f"m-{now:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"
    folder = os.path.join(model_dir, version_id)
    os.makedirs(os.path.join(folder, "tables"))
    try:
        def write(name: str) -> int:
            path = to_spark_path(os.path.join(folder, "tables", name))
            table = tables[name]
            table.write.mode("overwrite").parquet(path)
            return table.sparkSession.read.schema(table.schema).parquet(path).count()

        tables = model.learned_tables()
        # small tables: their jobs are mostly fixed overhead, so they run side by side
        with ThreadPoolExecutor(max_workers=WRITE_THREADS) as pool:
            row_counts = dict(zip(tables, pool.map(write, list(tables))))
        metadata = dict(model.metadata)
        metadata.update(
            {
                "template": template.name,
                "template_class": f"{type(template).__module__}:{type(template).__qualname__}",
                "format_version": template.version,
                "byoml_version": __version__,
                "model_version": f"{template.name}/{template.version}/{version_id}",
                "version_id": version_id,
                "created": format_time(now),
                "params": template.get_params(),
                "tables": row_counts,
                # read back with it: no job to infer each table's schema from its files
                "table_schemas": {name: table.schema.json() for name, table in tables.items()},
            }
        )
        _write_json_atomic(os.path.join(folder, STATE), model.learned_values())
        _write_json_atomic(os.path.join(folder, METADATA), metadata)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    _write_json_atomic(os.path.join(model_dir, POINTER), {"version": version_id})
    model.metadata = metadata
    _remove_old_versions(model_dir, keep=version_id)
    return version_id


def _remove_old_versions(model_dir: str, keep: str) -> None:
    for name in os.listdir(model_dir):
        path = os.path.join(model_dir, name)
        if name == keep or not os.path.isdir(path):
            continue
        if name.startswith("m-") or name.startswith(".staging-"):  # .staging-: left by earlier byoml versions
            shutil.rmtree(path, ignore_errors=True)


def read_metadata(model_dir: str) -> Dict[str, Any]:
    """Metadata of the live model in ``model_dir`` (raises :class:`ModelError`)."""
    return _read(model_dir)[1]


def _read(model_dir: str):
    pointer = os.path.join(model_dir, POINTER)
    if not os.path.exists(pointer):
        raise ModelError(f"no model in '{model_dir}': run 'byoml train ... --model {model_dir}' first")
    try:
        with open(pointer, encoding="utf-8") as fh:
            version_id = json.load(fh)["version"]
        folder = os.path.join(model_dir, version_id)
        with open(os.path.join(folder, METADATA), encoding="utf-8") as fh:
            metadata = json.load(fh)
        with open(os.path.join(folder, STATE), encoding="utf-8") as fh:
            state = json.load(fh)
    except (OSError, ValueError, KeyError) as exc:
        raise ModelError(f"model in '{model_dir}' is unreadable ({exc}); retrain it") from None
    return folder, metadata, state


def check_compatible(metadata: Dict[str, Any], name: str, version: str, model_dir: str) -> None:
    """Refuse a model that another template trained, or an incompatible format version of this one.

    The one place these checks live: ``run.score`` calls it before reading any data, and
    :func:`load_model` on every load.
    """
    made_by = metadata.get("template")
    if made_by != name:
        raise ModelError(
            f"model in '{model_dir}' was trained by template '{made_by}', not '{name}': "
            f"use --template {made_by} or train a {name} model into another directory"
        )
    saved = str(metadata.get("format_version", "?"))
    if _major(saved) != _major(version):
        raise ModelError(
            f"model in '{model_dir}' has format version {saved}, but this byoml's {name} "
            f"reads version {_major(version)}.x: retrain the model"
        )


def load_model(template: Template, model_dir: str, spark) -> Model:
    """Load the live model of ``model_dir`` for ``template``, checking it belongs to it."""
    folder, metadata, state = _read(model_dir)
    check_compatible(metadata, template.name, template.version, model_dir)
    schemas = metadata.get("table_schemas") or {}
    tables = {name: _table_reader(spark, schemas.get(name)).parquet(to_spark_path(os.path.join(folder, "tables", name)))
              for name in metadata.get("tables", {})}
    return template.build_model(tables, state, metadata)


def _table_reader(spark, schema_json):
    """A Parquet reader with the table's saved schema (models saved before it was kept: read from the files)."""
    if not schema_json:
        return spark.read
    from pyspark.sql.types import StructType

    return spark.read.schema(StructType.fromJson(json.loads(schema_json)))
