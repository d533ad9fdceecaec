"""Model directories (atomic saves, version checks) and the template registry."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from byoml.errors import ConfigError, ModelError
from byoml.templates import available, get_template, get_template_class, load_model, save_model, store
from byoml.templates.rarity import AccessRarityModel


def _model(spark, template, n=3):
    pairs = spark.createDataFrame([("t", f"u{i}", "r", i + 1) for i in range(n)],
                                  "TenantId string, UserKey string, ResourceKey string, n long")
    from pyspark.sql import functions as F

    return AccessRarityModel(
        template, {"note": f"n={n}"},
        pairs_=pairs,
        users_=pairs.groupBy("TenantId", "UserKey").agg(F.sum("n").alias("n")),
        resources_=pairs.groupBy("TenantId", "ResourceKey").agg(F.sum("n").alias("n")),
        tenants_=pairs.groupBy("TenantId").agg(F.sum("n").alias("n"), F.countDistinct("ResourceKey").alias("resources")),
    )


def test_save_writes_metadata_and_retrain_replaces(spark, tmp_path):
    template = get_template("access-rarity")
    first = save_model(_model(spark, template, 3), str(tmp_path))
    second = save_model(_model(spark, template, 5), str(tmp_path))
    assert first != second
    versions = [p for p in os.listdir(tmp_path) if p.startswith("m-")]
    assert versions == [second], "retraining replaces the model and removes the old version"
    meta = store.read_metadata(str(tmp_path))
    assert meta["note"] == "n=5" and meta["tables"]["pairs"] == 5
    assert meta["params"]["threshold"] == 14.0
    loaded = load_model(template, str(tmp_path), spark)
    assert loaded.pairs_.count() == 5


def test_tables_load_with_their_saved_schemas_and_older_models_still_load(spark, tmp_path):
    template = get_template("access-rarity")
    version = save_model(_model(spark, template, 4), str(tmp_path))
    meta = store.read_metadata(str(tmp_path))
    assert set(meta["table_schemas"]) == {"pairs", "users", "resources", "tenants"}
    loaded = load_model(template, str(tmp_path), spark)
    assert loaded.pairs_.schema.fieldNames() == ["TenantId", "UserKey", "ResourceKey", "n"]
    assert sorted(r["n"] for r in loaded.pairs_.collect()) == [1, 2, 3, 4]
    # the saved schema is the one read with (here narrowed to three columns), not the files'
    path = os.path.join(tmp_path, version, store.METADATA)
    with open(path) as fh:
        old = json.load(fh)
    narrowed = json.loads(old["table_schemas"]["pairs"])
    narrowed["fields"] = narrowed["fields"][:3]
    with open(path, "w") as fh:
        json.dump({**old, "table_schemas": {**old["table_schemas"], "pairs": json.dumps(narrowed)}}, fh)
    assert load_model(template, str(tmp_path), spark).pairs_.schema.fieldNames() == ["TenantId", "UserKey", "ResourceKey"]
    # a model saved before the schemas were kept: its tables' schemas are read from their files
    del old["table_schemas"]
    with open(path, "w") as fh:
        json.dump(old, fh)
    again = load_model(template, str(tmp_path), spark)
    assert again.pairs_.schema.fieldNames() == ["TenantId", "UserKey", "ResourceKey", "n"]
    assert again.tenants_.count() == 1


def test_crash_mid_save_leaves_the_previous_model(spark, tmp_path, monkeypatch):
    template = get_template("access-rarity")
    save_model(_model(spark, template, 3), str(tmp_path))
    real = store._write_json_atomic

    def crash(path, data):
        if path.endswith("metadata.json"):
            raise KeyboardInterrupt("power cut")
        return real(path, data)

    monkeypatch.setattr(store, "_write_json_atomic", crash)
    with pytest.raises(KeyboardInterrupt):
        save_model(_model(spark, template, 7), str(tmp_path))
    monkeypatch.undo()
    assert load_model(template, str(tmp_path), spark).pairs_.count() == 3
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".staging")]


def test_crash_between_rename_and_pointer_swap_keeps_old_model(spark, tmp_path, monkeypatch):
    template = get_template("access-rarity")
    save_model(_model(spark, template, 3), str(tmp_path))
    real = store._write_json_atomic

    def crash(path, data):
        if os.path.basename(path) == store.POINTER:
            raise SystemExit("killed")
        return real(path, data)

    monkeypatch.setattr(store, "_write_json_atomic", crash)
    with pytest.raises(SystemExit):
        save_model(_model(spark, template, 9), str(tmp_path))
    monkeypatch.undo()
    assert load_model(template, str(tmp_path), spark).pairs_.count() == 3
    save_model(_model(spark, template, 4), str(tmp_path))  # the next save cleans the orphan up
    assert len([p for p in os.listdir(tmp_path) if p.startswith("m-")]) == 1


def test_incompatible_version_and_missing_model_are_clear_errors(spark, tmp_path):
    template = get_template("access-rarity")
    with pytest.raises(ModelError, match="no model in .*run 'byoml train"):
        load_model(template, str(tmp_path), spark)
    save_model(_model(spark, template), str(tmp_path))
    folder = tmp_path / json.loads((tmp_path / store.POINTER).read_text())["version"]
    meta = json.loads((folder / store.METADATA).read_text())
    meta["format_version"] = "2.0"
    (folder / store.METADATA).write_text(json.dumps(meta))
    with pytest.raises(ModelError, match="format version 2.0.*retrain"):
        load_model(template, str(tmp_path), spark)
    (folder / store.METADATA).write_text("{broken")
    with pytest.raises(ModelError, match="unreadable"):
        load_model(template, str(tmp_path), spark)


def test_registry_names_and_errors():
    assert "access-rarity" in available()
    assert get_template_class("byoml.templates.rarity:AccessRarity").name == "access-rarity"
    with pytest.raises(ConfigError, match="unknown template 'nope'.*access-rarity"):
        get_template_class("nope")
    with pytest.raises(ConfigError, match="cannot import template module"):
        get_template_class("no_such_module_xyz:Thing")
    with pytest.raises(ConfigError, match="not a byoml Template"):
        get_template_class("json:JSONDecoder")


def test_entry_point_plugin_is_found_by_name(tmp_path):
    """A template shipped in its own package registers under the byoml.templates group."""
    (tmp_path / "acme_tpl.py").write_text(textwrap.dedent('''
        from byoml.templates.rarity import AccessRarity
        class AcmeRarity(AccessRarity):
            name = "acme-rarity"
    '''))
    dist = tmp_path / "acme_tpl-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-tpl\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[byoml.templates]\nacme-rarity = acme_tpl:AcmeRarity\n")
    code = ("from byoml.templates import available, get_template; "
            "print(sorted(available())); print(get_template('acme-rarity').name)")
    out = subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": str(tmp_path)},
                         capture_output=True, text=True, check=True).stdout
    assert "'acme-rarity'" in out.splitlines()[0]
    assert out.splitlines()[1] == "acme-rarity"


def test_a_save_renames_no_folder_and_appends_to_no_file(spark, tmp_path, monkeypatch):
    """Object-store mounts (/Volumes, /dbfs): a version folder is written in place, only CURRENT is replaced."""
    import builtins

    renamed, modes = [], []
    real_replace, real_open = os.replace, builtins.open

    def replace(src, dst):
        renamed.append((src, os.path.isdir(src)))
        return real_replace(src, dst)

    def spy_open(file, mode="r", *args, **kwargs):
        modes.append(mode)
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(os, "replace", replace)
    monkeypatch.setattr(builtins, "open", spy_open)
    template = get_template("access-rarity")
    save_model(_model(spark, template, 3), str(tmp_path))
    save_model(_model(spark, template, 4), str(tmp_path))
    monkeypatch.undo()
    assert renamed and not [src for src, is_dir in renamed if is_dir]
    # only small files are replaced whole: the pointer, and a version's metadata and state
    assert {os.path.basename(src).split(".tmp-")[0] for src, _ in renamed} == {store.POINTER, store.METADATA, store.STATE}
    assert not [m for m in modes if "a" in m or "+" in m]
    assert load_model(template, str(tmp_path), spark).pairs_.count() == 4
