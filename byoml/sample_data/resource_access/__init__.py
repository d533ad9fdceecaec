"""A realistic SecurityEvent 5140 (file share access) export with labelled anomalies.

The organisation behind the events, per tenant:

* departments of uneven size, each with its file server(s) and shares whose
  popularity is skewed; some servers host several departments, and some share
  names (``Projects``, ``Scans``) exist on several servers;
* resources everyone touches (``Public``, ``Software``, ``SYSVOL``, ``NETLOGON``),
  and ``IPC$`` on the server a user connects to;
* cross-team collaborators and project groups with shares of their own;
* full-time and part-time staff (part-timers have little history), weekends,
  IT admins on ``ADMIN$``/``C$`` of every server, a backup service account that
  reads every share, and machine accounts (``WS-0042$``) on SYSVOL/IPC$;
* users who slowly discover shares of their own department or project (the normal
  "first access" that a good model must not flag);
* new hires and new shares during the last days of training and on the scoring day.

On the scoring day, incidents of several kinds are injected; every (tenant, user,
resource) pair of the scoring day is labelled in ``labels.json``.

The parts: :mod:`.organisation` (who and what exists), :mod:`.behaviour` (a normal day),
:mod:`.incidents` (one function per incident kind) and :mod:`.rendering` (SecurityEvent records).
"""
from __future__ import annotations

import datetime as dt
import json
import os
from collections import defaultdict
from typing import Dict, List, Set, Tuple

from ...timewindow import format_time
from ..export_writer import ExportWriter
from .behaviour import normal_day
from .incidents import inject_incidents
from .organisation import Organisation, Resource, SampleConfig, Tenant, User
from .rendering import Emitter, write_malformed

__all__ = ["Resource", "ResourceAccessSample", "SampleConfig", "Tenant", "User", "generate_resource_access"]


class ResourceAccessSample:
    """Generate the export and the labels; see :func:`generate_resource_access`."""

    def __init__(self, cfg: SampleConfig) -> None:
        self.cfg = cfg
        self.g = Organisation(cfg)

    def run(self, out_dir: str) -> dict:
        cfg, g = self.cfg, self.g
        rng = g.rng
        os.makedirs(out_dir, exist_ok=True)
        per_tenant = [cfg.users] + [max(40, cfg.users // 3)] * (cfg.tenants - 1)
        tenants = [g.build_tenant(i, n) for i, n in enumerate(per_tenant)]
        writers = {t.tenant_id: ExportWriter(out_dir, "SecurityEvent", t.resource_id, cfg.layout,
                                             cfg.max_lines_per_blob) for t in tenants}
        # pair -> (first day, events) for labels; anomalies remembered separately
        seen_train: Dict[Tuple[str, str, Tuple[str, str]], int] = defaultdict(int)
        users_train: Set[Tuple[str, str]] = set()
        resources_train: Set[Tuple[str, Tuple[str, str]]] = set()
        score_pairs: Dict[Tuple[str, str, Tuple[str, str]], dict] = {}
        incidents: List[dict] = []
        counts = defaultdict(int)

        for day in range(cfg.days + 1):
            scoring = day == g.score_day
            for t in tenants:
                events: List[Tuple[dt.datetime, dict]] = []
                emit = Emitter(g, t, events)
                for dept, res in t.new_shares.get(day, []):
                    members = [u for u in t.users if u.department == dept and u.start_day <= day]
                    for u in members:
                        if rng.random() < 0.35:
                            u.profile[res] = float(rng.uniform(0.5, 1.5))
                normal_day(g, t, day, emit)
                if scoring:
                    incidents.extend(inject_incidents(g, t, day, emit, users_train))
                for _, rec, label_kind in emit.accesses:
                    acct = rec["Account"].lower()
                    key = (t.tenant_id, acct, (rec["Computer"].lower(), rec["ShareName"].lower()))
                    if not scoring:
                        seen_train[key] += 1
                        users_train.add((t.tenant_id, acct))
                        resources_train.add((t.tenant_id, key[2]))
                    else:
                        entry = score_pairs.setdefault(key, {
                            "TenantId": t.tenant_id, "Account": rec["Account"], "Computer": rec["Computer"],
                            "ShareName": rec["ShareName"], "label": 0, "kind": "normal", "events": 0})
                        entry["events"] += 1
                        if label_kind != "normal":
                            entry["label"], entry["kind"] = 1, label_kind
                events.sort(key=lambda item: item[0])
                w = writers[t.tenant_id]
                for when, rec in events:
                    w.add(when, rec)
                    counts["events"] += 1
                    if rng.random() < cfg.duplicate_rate:  # export retry: the same record again
                        w.add(when, rec)
                        counts["duplicates"] += 1
                w.flush()
        write_malformed(g, writers, tenants, counts)

        pairs = []
        for key, entry in score_pairs.items():
            tenant, acct, res = key
            entry["Account"] = entry["Account"]
            entry["pair_new"] = key not in seen_train
            entry["user_new"] = (tenant, acct) not in users_train
            entry["resource_new"] = (tenant, res) not in resources_train
            pairs.append(entry)
        pairs.sort(key=lambda p: (p["TenantId"], p["Account"].lower(), p["Computer"].lower(), p["ShareName"].lower()))
        train_start = g.day_start(0)
        score_start = g.day_start(g.score_day)
        labels = {
            "kind": "resource-access",
            "table": "SecurityEvent",
            "generator": "byoml.sample_data.resource_access",
            "seed": cfg.seed,
            "train_window": {"start": format_time(train_start), "end": format_time(score_start)},
            "score_window": {"start": format_time(score_start), "end": format_time(cfg.end)},
            "tenants": [t.tenant_id for t in tenants],
            "counts": {**counts, "users": sum(len(t.users) for t in tenants),
                       "anomalous_pairs": sum(p["label"] for p in pairs), "scored_pairs": len(pairs)},
            "incidents": incidents,
            "pairs": pairs,
        }
        with open(os.path.join(out_dir, "labels.json"), "w", encoding="utf-8") as fh:
            json.dump(labels, fh, indent=1, ensure_ascii=False)
        return labels


def generate_resource_access(out_dir: str, **options) -> dict:
    """Write a SecurityEvent export under ``out_dir`` and its ``labels.json``; return the labels.

    >>> labels = generate_resource_access("/tmp/sample", users=100, days=14, seed=1)  # doctest: +SKIP
    """
    cfg = SampleConfig(**options)
    return ResourceAccessSample(cfg).run(out_dir)
