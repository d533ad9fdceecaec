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
    print()
    for line in findings(rows, labels):
        print(f"    {line}")
    print(f"\n    figures: byoml evaluate --template {template} --scores {sink} --labels {data}")
    print(f"\nresults: {os.path.join(os.path.abspath(sink), tpl.output_table_name + '_CL')}")
    print(f"model:   {os.path.abspath(model)}")
    print(f"demo finished in {time.perf_counter() - started:.0f}s")
    return 0


def _indent(text: str, spaces: int = 4) -> str:
    return "\n".join(" " * spaces + line for line in text.splitlines())


def findings(rows, labels: dict) -> list:
    """The run against the injected ground truth, in plain sentences: incidents caught, false alarms by name."""
    import pandas as pd

    flagged = rows[rows["IsAnomaly"].astype(bool)]
    if labels.get("kind") == "resource-access":
        truth = pd.DataFrame(labels["pairs"])
        flagged_users = {(str(t), str(a).lower()) for t, a in zip(flagged["TenantId"], flagged["Account"])}
        incidents = labels.get("incidents", [])
        caught = [i for i in incidents if (str(i["TenantId"]), i["Account"].lower()) in flagged_users]
        missed = [i for i in incidents if i not in caught]
        lines = [f"Caught {len(caught)} of the {len(incidents)} injected incidents"
                 + (":" if caught else ".")]
        lines += [f"  - {i['Account']}: {i['description']}" for i in caught]
        lines += [f"Missed: {i['Account']}: {i['description']}" for i in missed]
        anomalous_users = {(str(t), str(a).lower()) for t, a, lab in zip(truth["TenantId"], truth["Account"], truth["label"]) if lab}
        false = flagged[[(str(t), str(a).lower()) not in anomalous_users
                         for t, a in zip(flagged["TenantId"], flagged["Account"])]]
        if not len(false):
            lines.append("No false alarm: every flagged access belongs to an injected incident.")
        else:
            lines.append(f"{len(false)} false alarm{'s' if len(false) > 1 else ''} (flagged, but normal behaviour):")
            for r in false.sort_values("AnomalyScore", ascending=False).head(10).to_dict("records"):
                lines.append(f"  - {r['Account']} on {r.get('Resource', '')} (score {r['AnomalyScore']:.2f})")
        return lines
    windows = labels.get("windows", [])
    key = labels.get("key", "DataType")
    keys = key if isinstance(key, list) else [key]
    times = pd.to_datetime(flagged["TimeGenerated"], utc=True)
    caught, inside = [], pd.Series(False, index=flagged.index)
    for w in windows:
        hit = pd.Series(True, index=flagged.index)
        for k in keys:
            hit &= flagged[k].astype(str) == str(w[k])
        hit &= (times >= pd.Timestamp(w["start"])) & (times < pd.Timestamp(w["end"]))
        inside |= hit
        if hit.any():
            caught.append(w)
    lines = [f"Caught {len(caught)} of the {len(windows)} injected anomalies"
             + (f" ({', '.join(sorted({w.get('kind', '?') for w in caught}))})." if caught else ".")]
    for w in windows:
        if w not in caught:
            lines.append(f"Missed: {' / '.join(str(w[k]) for k in keys)} {w.get('kind', '')} from {w['start']}")
    false = flagged[~inside]
    if not len(false):
        lines.append("No false alarm.")
    else:
        lines.append(f"{len(false)} false alarm{'s' if len(false) > 1 else ''}:")
        for r in false.head(10).to_dict("records"):
            lines.append(f"  - {' / '.join(str(r[k]) for k in keys)} at {r['TimeGenerated']} ({r.get('AnomalyReason', '')})")
    return lines
