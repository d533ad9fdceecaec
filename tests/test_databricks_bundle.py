"""databricks.yml and its resources/*.yml: every job validates against the typed models of PyPI
``databricks-bundles``, and every entry point, parameter, config file and environment variable it
names exists in byoml.

The Databricks CLI cannot be installed here, so the bundle is loaded as the CLI loads it
(:func:`load_bundle`: databricks.yml plus the files its ``include`` globs name) and its ``${...}``
references are resolved by :func:`resolve` below (variables with their target overrides, the
complex ``job_cluster`` variable, workspace paths); the resolved jobs are checked the way
``databricks bundle validate`` would type-check them. The
parameters are then parsed by the parser ``byoml.cli`` builds, exactly as the wheel task's
``byoml`` entry point will parse them.
"""
from __future__ import annotations

import ast
import contextlib
import copy
import os
import pathlib
import re
import subprocess
import sys
from typing import Any, Dict, Iterator, List, Mapping, Tuple

import pytest
import yaml

from byoml.cli import build_parser
from byoml.config import load_config
from byoml.sinks.log_analytics import LogAnalyticsConfig
from byoml.sources import SOURCE_OPTIONS
from byoml.templates import get_template_class
from byoml.templates.registry import BUILTIN
from byoml.timewindow import parse_time

jobs_models = pytest.importorskip("databricks.bundles.jobs", reason="databricks-bundles is in the [test] extra")

REPO = pathlib.Path(__file__).resolve().parents[1]
BUNDLE = REPO / "databricks.yml"
ML_TEMPLATES = sorted(name for name in BUILTIN if name != "access-rarity")  # access-rarity is the reference
# the score jobs that run hourly (reading what the export appended, with a watermark), and each score job's DCR
HOURLY = {"usage-regression", "series-decompose", "log-patterns"}
STORED = {"anomalous-resource-access", "masquerading-process"}  # daily score jobs: read through the day store
DCR_VARS = {"anomalous-resource-access": "access", "usage-regression": "usage", "series-decompose": "usage",
            "log-patterns": "logpatterns", "masquerading-process": "masquerading", "series-forecast": "forecast"}
# values a deployer passes with --var; placeholders in the shapes the jobs expect
DEPLOY_VARS = {
    "source_url": "https://contosoexport.blob.core.windows.net",
    "access_dcr_endpoint": "https://dcr-byoml-access-abcd.westeurope-1.ingest.monitor.azure.com",
    "access_dcr_id": "dcr-00000000000000000000000000000001",
    "usage_dcr_endpoint": "https://dcr-byoml-usage-abcd.westeurope-1.ingest.monitor.azure.com",
    "usage_dcr_id": "dcr-00000000000000000000000000000002",
    "masquerading_dcr_endpoint": "https://dcr-byoml-masq-abcd.westeurope-1.ingest.monitor.azure.com",
    "masquerading_dcr_id": "dcr-00000000000000000000000000000003",
    "logpatterns_dcr_endpoint": "https://dcr-byoml-logpatterns-abcd.westeurope-1.ingest.monitor.azure.com",
    "logpatterns_dcr_id": "dcr-00000000000000000000000000000004",
    "forecast_dcr_endpoint": "https://dcr-byoml-forecast-abcd.westeurope-1.ingest.monitor.azure.com",
    "forecast_dcr_id": "dcr-00000000000000000000000000000005",
    "model_location": "/Volumes/main/security/byoml",
}
WORKSPACE = {"workspace.current_user.userName": "analyst@contoso.com"}
# Databricks dynamic value references the jobs may use, with a value of the shape they take at run time
DYNAMIC = {"{{job.start_time.iso_date}}": "2026-11-02", "{{job.run_id}}": "550315892394120"}
SECRET_REF = re.compile(r"^\{\{secrets/([^/{}]+)/([^/{}]+)\}\}$")
REFERENCE = re.compile(r"\$\{([A-Za-z0-9_.\-]+)\}")
AZURE_IDENTITY_ENV = {"AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET"}


def load_bundle() -> Dict[str, Any]:
    """databricks.yml with the resources of every file its ``include`` globs match merged in."""
    with open(BUNDLE, encoding="utf-8") as fh:
        bundle = yaml.safe_load(fh)
    for pattern in bundle.get("include", []):
        files = sorted(REPO.glob(pattern))
        assert files, f"include {pattern!r} matches no file"
        for path in files:
            with open(path, encoding="utf-8") as fh:
                part = yaml.safe_load(fh)
            assert set(part) <= {"resources"}, f"{path.name}: an included file holds only resources"
            for kind, items in part["resources"].items():
                clash = set(items) & set(bundle.setdefault("resources", {}).get(kind, {}))
                assert not clash, f"{path.name}: {kind} {sorted(clash)} defined twice"
                bundle["resources"].setdefault(kind, {}).update(items)
    return bundle


def resolve(bundle: Mapping[str, Any], target: str, deploy_vars: Mapping[str, str]) -> Dict[str, Any]:
    """The bundle's resources for ``target`` with every ``${...}`` replaced (as the CLI does).

    A value that is exactly one reference keeps the referenced value's type; references
    inside a longer string are substituted as text. An unknown reference fails the test.
    """
    declared = bundle.get("variables", {})
    values: Dict[str, Any] = {}
    for name, spec in declared.items():
        if "default" in spec:
            values[name] = spec["default"]
    target_spec = bundle["targets"][target] or {}
    values.update(target_spec.get("variables", {}) or {})
    values.update(deploy_vars)
    missing = sorted(set(declared) - set(values))
    assert not missing, f"variables without a default that a deployer must pass were not given: {missing}"
    root_path = (target_spec.get("workspace") or {}).get(
        "root_path", "/Workspace/Users/${workspace.current_user.userName}/.bundle/${bundle.name}/${bundle.target}")
    context = {**WORKSPACE, "bundle.name": bundle["bundle"]["name"], "bundle.target": target}
    context.update({f"var.{k}": v for k, v in values.items()})
    root = _substitute(root_path, context)
    context.update({"workspace.root_path": root, "workspace.file_path": f"{root}/files"})
    resources = copy.deepcopy(bundle["resources"])
    for kind, items in (target_spec.get("resources") or {}).items():  # per-target resource overrides
        for key, value in items.items():
            resources.setdefault(kind, {}).setdefault(key, {}).update(value)
    return _walk(resources, context)


def _substitute(value: Any, context: Mapping[str, Any]) -> Any:
    if not isinstance(value, str):
        return value
    whole = REFERENCE.fullmatch(value)
    if whole:
        assert whole.group(1) in context, f"unknown reference ${{{whole.group(1)}}}"
        return _walk(context[whole.group(1)], context)  # a complex variable's references too

    def text(match: "re.Match[str]") -> str:
        assert match.group(1) in context, f"unknown reference ${{{match.group(1)}}} in {value!r}"
        return str(_substitute(context[match.group(1)], context))

    return REFERENCE.sub(text, value)


def _walk(value: Any, context: Mapping[str, Any]) -> Any:
    if isinstance(value, dict):
        return {k: _walk(v, context) for k, v in value.items()}
    if isinstance(value, list):
        return [_walk(v, context) for v in value]
    return _substitute(value, context)


def _references(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for v in value.values():
            yield from _references(v)
    elif isinstance(value, list):
        for v in value:
            yield from _references(v)
    elif isinstance(value, str):
        yield from REFERENCE.findall(value)


def setup_py() -> Tuple[str, List[str], Dict[str, List[str]]]:
    """(name, console_scripts, extras_require) read from setup.py's ``setup(...)`` call."""
    tree = ast.parse((REPO / "setup.py").read_text(encoding="utf-8"))
    call = next(n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "setup")
    kwargs = {k.arg: k.value for k in call.keywords}
    name = ast.literal_eval(kwargs["name"])
    entry_points = ast.literal_eval(kwargs["entry_points"])
    extras = ast.literal_eval(kwargs["extras_require"])
    return name, list(entry_points.get("console_scripts", [])), extras


def jobs_of(target: str) -> Dict[str, Dict[str, Any]]:
    return resolve(load_bundle(), target, DEPLOY_VARS)["jobs"]


def tasks(target: str) -> Iterator[Tuple[str, Dict[str, Any], Dict[str, Any]]]:
    for key, job in jobs_of(target).items():
        for task in job.get("tasks", []):
            yield key, job, task


def runtime_parameters(params: List[str]) -> List[str]:
    """Parameters as the task receives them: dynamic value references replaced by run-time values."""
    out = []
    for p in params:
        for ref, value in DYNAMIC.items():
            p = p.replace(ref, value)
        assert "{{" not in p, f"unknown dynamic value reference in {p!r} (known: {sorted(DYNAMIC)})"
        out.append(p)
    return out


@contextlib.contextmanager
def cluster_environment(env: Mapping[str, str]) -> Iterator[None]:
    """The job cluster's spark_env_vars in os.environ (secret references as placeholder values)."""
    saved = {k: os.environ.get(k) for k in env}
    try:
        for k, v in env.items():
            os.environ[k] = "secret-from-scope" if SECRET_REF.match(str(v)) else str(v)
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def parse(params: List[str]):
    """Parse with byoml's own parser; an unknown or malformed parameter fails the test."""
    try:
        return build_parser().parse_args(params)
    except SystemExit as exc:
        pytest.fail(f"byoml's parser rejects {params}: exit {exc.code}")


# -- the bundle as a whole -----------------------------------------------------------------------
def test_every_variable_is_declared_used_and_documented():
    bundle = load_bundle()
    declared = set(bundle["variables"])
    used = {ref.split(".", 1)[1] for ref in _references(bundle) if ref.startswith("var.")}
    assert used <= declared, f"undeclared variables: {sorted(used - declared)}"
    assert declared <= used, f"declared but unused variables: {sorted(declared - used)}"
    assert all(spec.get("description") for spec in bundle["variables"].values())
    for required in ("source_url", "access_dcr_endpoint", "access_dcr_id", "usage_dcr_endpoint", "usage_dcr_id",
                     "masquerading_dcr_endpoint", "masquerading_dcr_id",
                     "logpatterns_dcr_endpoint", "logpatterns_dcr_id", "secret_scope", "model_location"):
        assert required in declared


def test_every_job_runs_on_the_one_shared_cluster_definition():
    bundle = load_bundle()
    assert bundle["variables"]["job_cluster"]["type"] == "complex"
    files = sorted(p.name for p in (REPO / "resources").glob("*.yml"))
    assert len(files) == len(ML_TEMPLATES), files
    for key, job in bundle["resources"]["jobs"].items():
        for cluster in job["job_clusters"]:
            assert cluster["new_cluster"] == "${var.job_cluster}", f"{key}: a cluster of its own"
    resolved = jobs_of("prod")
    clusters = [c["new_cluster"] for job in resolved.values() for c in job["job_clusters"]]
    assert all(c == clusters[0] for c in clusters) and clusters[0]["spark_version"] == "17.3.x-scala2.13"
    assert "${" not in str(clusters[0]), "every reference inside the complex variable is resolved"


def test_the_wheel_is_the_artifact_every_task_installs():
    bundle = load_bundle()
    (artifact,) = bundle["artifacts"].values()
    assert artifact["type"] == "whl" and artifact["path"] == "."
    assert "-w dist" in artifact["build"] and "--no-deps" in artifact["build"]
    for key, _, task in tasks("dev"):
        assert {"whl": "./dist/*.whl"} in task.get("libraries", []), f"{key}: the task does not install the wheel"


@pytest.mark.parametrize("target", ["dev", "prod"])
def test_every_job_validates_against_the_databricks_bundles_models(target):
    jobs = jobs_of(target)
    assert jobs
    for key, spec in jobs.items():
        try:
            job = jobs_models.Job.from_dict(spec)
        except (ValueError, TypeError, KeyError) as exc:
            pytest.fail(f"job {key} ({target}) is not a valid bundle job: {exc}")
        assert job.name and job.tasks, key
        assert job.as_dict()["tasks"][0]["task_key"] == spec["tasks"][0]["task_key"]


def test_the_models_reject_what_the_cli_would_reject():
    """The check above can fail: a misspelt field or a bad enum value is refused."""
    spec = copy.deepcopy(next(iter(jobs_of("dev").values())))
    spec["tasks"][0]["python_wheel_task"]["entry_points"] = spec["tasks"][0]["python_wheel_task"].pop("entry_point")
    with pytest.raises(ValueError, match="entry_points"):
        jobs_models.Job.from_dict(spec)
    spec = copy.deepcopy(next(iter(jobs_of("dev").values())))
    spec["schedule"]["pause_status"] = "STOPPED"
    with pytest.raises(ValueError):
        jobs_models.Job.from_dict(spec)


def test_dev_schedules_are_paused_and_prod_schedules_run():
    bundle = load_bundle()
    assert bundle["targets"]["dev"]["mode"] == "development" and bundle["targets"]["dev"].get("default") is True
    assert bundle["targets"]["prod"]["mode"] == "production"
    for target, expected in (("dev", "PAUSED"), ("prod", "UNPAUSED")):
        for key, job in jobs_of(target).items():
            assert jobs_models.Job.from_dict(job).schedule.pause_status.value == expected, (target, key)


def _cron(job: Mapping[str, Any]) -> Dict[str, str]:
    fields = job["schedule"]["quartz_cron_expression"].split()
    assert len(fields) == 6, job["schedule"]
    assert job["schedule"]["timezone_id"] == "UTC"
    return dict(zip(("second", "minute", "hour", "day", "month", "weekday"), fields))


def test_a_weekly_train_and_a_score_job_per_ml_template_at_the_right_cadence():
    by_template: Dict[Tuple[str, str], Dict[str, Any]] = {}
    for _key, job, task in tasks("prod"):
        args = parse(runtime_parameters(task["python_wheel_task"]["parameters"]))
        assert (args.template, args.command) not in by_template, f"two {args.command} jobs for {args.template}"
        by_template[(args.template, args.command)] = job
    assert sorted({t for t, _ in by_template}) == ML_TEMPLATES
    for name in ML_TEMPLATES:
        train, score = by_template[(name, "train")], by_template[(name, "score")]
        t = _cron(train)
        assert t["weekday"] not in ("*", "?") and t["day"] == "?" and t["hour"].isdigit(), f"{name}: train not weekly"
        s = _cron(score)
        if name in HOURLY:
            assert s["hour"] == "*" and s["minute"].isdigit(), f"{name}: score should run hourly"
        else:
            assert s["hour"].isdigit() and s["day"] in ("*", "?") and s["weekday"] in ("*", "?"), f"{name}: score daily"
        assert train["max_concurrent_runs"] == score["max_concurrent_runs"] == 1


# -- what the tasks name exists in the package -----------------------------------------------------
def test_every_entry_point_exists_in_setup_py():
    name, scripts, _ = setup_py()
    targets = dict(s.replace(" ", "").split("=", 1) for s in scripts)
    for key, _, task in tasks("dev"):
        wheel = task["python_wheel_task"]
        assert wheel["package_name"] == name, key
        assert wheel["entry_point"] in targets, f"{key}: entry point {wheel['entry_point']} not in console_scripts"
        module, _, func = targets[wheel["entry_point"]].partition(":")
        imported = __import__(module, fromlist=[func])
        assert callable(getattr(imported, func)), targets[wheel["entry_point"]]


def test_every_parameter_parses_with_the_byoml_parser_and_means_what_the_job_says():
    for key, _job, task in tasks("prod"):
        params = runtime_parameters(task["python_wheel_task"]["parameters"])
        args = parse(params)
        assert args.command == task["task_key"], key
        get_template_class(args.template)  # a registered template
        if args.template in STORED:  # the SecurityEvent day store: score jobs fill it, the train job reads only it
            assert args.store == f"{DEPLOY_VARS['model_location']}/store"
            assert args.source == (None if args.command == "train" else DEPLOY_VARS["source_url"])
        else:
            assert args.source == DEPLOY_VARS["source_url"] and args.store is None
        assert args.model == f"{DEPLOY_VARS['model_location']}/{args.template}/model"
        for bound in (args.start, args.end):
            if bound:
                assert parse_time(bound).isoformat() == "2026-11-02T00:00:00+00:00"
        if args.command == "train":
            assert args.days == int(load_bundle()["variables"]["train_days"]["default"]) and not args.start
        else:
            assert args.sink == "loganalytics" and args.report.startswith(DEPLOY_VARS["model_location"])
            assert args.report.endswith(".html")


def test_a_misspelt_parameter_would_be_caught():
    _, _, task = next(tasks("dev"))
    params = runtime_parameters(task["python_wheel_task"]["parameters"]) + ["--emitt", "all"]
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(params)
    assert exc.value.code == 2


def test_score_configs_exist_and_load_with_the_job_cluster_environment(tmp_path):
    """The --config each score job names is in the repository (synced by the bundle) and, with the
    job cluster's environment, gives the template's Logs Ingestion sink and known source options."""
    checked = 0
    for key, job, task in tasks("prod"):
        args = parse(runtime_parameters(task["python_wheel_task"]["parameters"]))
        cluster = next(c for c in job["job_clusters"] if c["job_cluster_key"] == task["job_cluster_key"])
        env = cluster["new_cluster"].get("spark_env_vars", {})
        for name, value in env.items():
            ref = SECRET_REF.match(str(value))
            if name in AZURE_IDENTITY_ENV:
                assert ref and ref.group(1) == "byoml", f"{key}: {name} must come from the secret scope"
            else:
                assert not ref, name
        assert AZURE_IDENTITY_ENV <= set(env), key
        if args.command == "train":
            continue
        root = f"/Workspace/Users/{WORKSPACE['workspace.current_user.userName']}/.bundle/byoml/prod/files/"
        assert args.config.startswith(root), args.config
        local = REPO / args.config[len(root):]
        assert local.is_file(), f"{key}: --config {args.config} is not in the repository ({local})"
        hourly = args.template in HOURLY
        dcr = DEPLOY_VARS[f"{DCR_VARS[args.template]}_dcr_id"]
        endpoint = DEPLOY_VARS[f"{DCR_VARS[args.template]}_dcr_endpoint"]
        state = f"{DEPLOY_VARS['model_location']}/{args.template}/state"
        with cluster_environment(env):
            sections = load_config(str(local))
            sink = LogAnalyticsConfig.from_options(sections["sink"])
        assert sink.dcr_id == dcr and sink.endpoint == endpoint and sink.state_dir == f"{state}/sink", key
        assert set(sections["source"]) <= SOURCE_OPTIONS
        if hourly:
            assert sections["source"]["watermark"] == f"{state}/watermark", "hourly jobs read incrementally"
        else:
            # the daily jobs: access scores the previous day (--end), the forecast starts at the run's date (--start)
            assert (args.start if args.template == "series-forecast" else args.end), key
            assert "watermark" not in sections["source"], "the daily jobs read a fixed window"
        checked += 1
    assert checked == len(ML_TEMPLATES)
    with pytest.raises(Exception, match="BYOML_MODEL_LOCATION"):
        with cluster_environment({}):
            os.environ.pop("BYOML_MODEL_LOCATION", None)
            load_config(str(REPO / "jobs" / "databricks-usage-regression.yaml"))


def test_the_test_extra_has_what_these_checks_need():
    _, _, extras = setup_py()
    names = {re.split(r"[<>=!~ \[;]", r, maxsplit=1)[0].lower() for r in extras["test"]}
    assert {"databricks-bundles", "nbclient", "nbformat", "ipykernel", "websocket-client"} <= names


# -- the days before --end, for the weekly train jobs ----------------------------------------------
def test_train_days_is_the_whole_days_before_end(tmp_path, capsys):
    from byoml.cli import EXIT_USAGE, main
    from byoml.timewindow import days_before

    assert days_before(28, "2026-11-02") == ("2026-10-05T00:00:00Z", "2026-11-02T00:00:00Z")
    assert main(["train", "--template", "usage-regression", "--source", str(tmp_path), "--model", str(tmp_path / "m"),
                 "--start", "2026-10-01", "--days", "7"]) == EXIT_USAGE
    assert "either --start or --days" in capsys.readouterr().err
    assert main(["train", "--template", "usage-regression", "--source", str(tmp_path), "--model", str(tmp_path / "m"),
                 "--end", "2026-11-02", "--days", "0"]) == EXIT_USAGE


# -- jobs/: thin entry scripts over the CLI ----------------------------------------------------------
@pytest.mark.parametrize("script,command", [("train.py", "train"), ("score.py", "score")])
def test_job_scripts_are_the_cli(script, command):
    path = REPO / "jobs" / script
    done = subprocess.run([sys.executable, str(path), "--help"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert f"usage: byoml {command}" in done.stdout
    assert ("--report" in done.stdout) == (command == "score") and ("--days" in done.stdout) == (command == "train")
    bad = subprocess.run([sys.executable, str(path), "--template", "usage-regression"], capture_output=True, text=True,
                         timeout=120)
    assert bad.returncode == 2 and "--source" in bad.stderr
    source = path.read_text(encoding="utf-8")
    assert "from byoml.cli import main" in source and len(source.splitlines()) < 20
