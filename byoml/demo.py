"""``byoml demo``: sample data -> train -> score -> local ``_CL`` files, then what was found."""
from __future__ import annotations

import os
import shutil
import time
from typing import Optional

DEFAULT_TEMPLATE = "anomalous-resource-access"


def run_demo(workdir: str = "byoml-demo", template: Optional[str] = None, seed: int = 7, users: int = 300) -> int:
    from .evaluate import load_scores
    from .run import score, train
    from .sample_data import generate
    from .templates import get_template_class

    template = template or DEFAULT_TEMPLATE
    cls = get_template_class(template)
    started = time.perf_counter()
    data, model, sink = (os.path.join(workdir, name) for name in ("export", "model", "results"))
    for path in (data, sink):
        shutil.rmtree(path, ignore_errors=True)
    print(f"byoml demo · template {cls.name} · working folder {os.path.abspath(workdir)}\n")

    print(f"1/4 writing sample data ({cls.sample_data}) ...")
    options = {"seed": seed}
    if cls.sample_data == "resource-access":
        options["users"] = users
    labels = generate(cls.sample_data, data, **options)
    train_w, score_w = labels["train_window"], labels["score_window"]
    print(f"    {data}: training {train_w['start']} -> {train_w['end']}, scoring {score_w['start']} -> {score_w['end']}\n")

    print("2/4 training ...")
    summary = train(template, data, model, train_w["start"], train_w["end"])
    print(_indent(summary.render()) + "\n")

    print("3/4 scoring the newest day (every row written, so it can be evaluated) ...")
    summary = score(template, data, model, sink, emit="all")
    print(_indent(summary.render()) + "\n")

    print("4/4 results")
    tpl = cls()
    rows = load_scores(sink, tpl.output_table_name)
    flag = rows["IsAnomaly"].astype(bool)  # every template writes it
    top = rows[flag].sort_values("AnomalyScore", ascending=False).head(10)
    print(f"    {int(flag.sum())} of {len(rows)} scored rows are anomalies; the top {len(top)}:")
    columns = [c for c in ("Account", "Resource", "Computer", "ProcessPath", "Reason", "DataType", "TimeGenerated",
                           "AnomalyScore", "ScoringPath") if c in top]
    if len(top):
        print(_indent(top[columns].to_string(index=False, float_format=lambda v: f"{v:.2f}"), 6))
    metrics = tpl.evaluate(rows, labels)
    shown = {k: v for k, v in metrics.items() if isinstance(v, (int, float)) and v is not None}
    print("\n    against the injected ground truth:")
    for key, value in shown.items():
        print(f"      {key:<34} {value:.3f}" if isinstance(value, float) else f"      {key:<34} {value}")
    print(f"\nresults: {os.path.join(os.path.abspath(sink), tpl.output_table_name + '_CL')}")
    print(f"model:   {os.path.abspath(model)}")
    print(f"demo finished in {time.perf_counter() - started:.0f}s")
    return 0


def _indent(text: str, spaces: int = 4) -> str:
    return "\n".join(" " * spaces + line for line in text.splitlines())
