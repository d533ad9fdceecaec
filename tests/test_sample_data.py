"""The sample generators: deterministic, realistic, and labels that match the data."""
from __future__ import annotations

import collections
import datetime as dt
import glob
import hashlib
import json
import os

import pytest

from byoml.sample_data import generate
from byoml.sample_data.resource_access.organisation import Organisation, SampleConfig


def _events(root):
    for path in glob.glob(os.path.join(root, "am-securityevent", "**", "*.json"), recursive=True):
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                try:
                    yield json.loads(line)
                except ValueError:
                    continue


def _tree_digest(root):
    h = hashlib.sha256()
    for path in sorted(glob.glob(os.path.join(root, "**", "*.json"), recursive=True)):
        h.update(os.path.relpath(path, root).encode())
        with open(path, "rb") as fh:
            h.update(fh.read())
    return h.hexdigest()


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    root = tmp_path_factory.mktemp("gen")
    labels = generate("resource-access", str(root), users=150, days=14, seed=3)
    return str(root), labels, list(_events(str(root)))


def test_same_seed_same_files(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    generate("resource-access", str(a), users=40, days=4, seed=9)
    generate("resource-access", str(b), users=40, days=4, seed=9)
    assert _tree_digest(str(a)) == _tree_digest(str(b))
    generate("usage", str(a / "u"), series=4, days=3, seed=9)
    generate("usage", str(b / "u"), series=4, days=3, seed=9)
    assert _tree_digest(str(a / "u")) == _tree_digest(str(b / "u"))


def test_organisation_is_uneven_and_varied():
    g = Organisation(SampleConfig(users=300, days=14, seed=1))
    t = g.build_tenant(0, 300)
    sizes = collections.Counter(u.department for u in t.users if u.kind in ("staff", "part_time"))
    assert max(sizes.values()) >= 4 * min(sizes.values()), "departments of uneven size"
    kinds = collections.Counter(u.kind for u in t.users)
    assert kinds["part_time"] > 10 and kinds["admin"] >= 2 and kinds["service"] == 1 and kinds["new_hire"] >= 2
    hosts = [r.computer for items in t.dept_shares.values() for r, _ in items]
    assert len(set(hosts)) < len(t.dept_shares) + sum(1 for d in sizes if sizes[d] >= 40), "small departments share servers"
    share_names = collections.Counter(r.share for items in t.dept_shares.values() for r, _ in items)
    assert share_names["Scans"] > 1 and share_names["Projects"] == 2, "same share name on several servers"
    assert any(len({r.computer for r in u.profile} - {"FS-CORP-01.contoso.local"}) > 1 for u in t.users if u.kind == "staff"), \
        "cross-team collaborators reach another department's server"


def test_events_look_like_the_export(sample):
    root, labels, events = sample
    assert all(e["Type"] == "SecurityEvent" and e["TimeGenerated"].endswith("Z") for e in events)
    machine = [e for e in events if e["Account"].endswith("$")]
    assert len(machine) > 0.1 * len(events), "machine accounts are a large share of real 5140 traffic"
    assert {e["ShareName"] for e in machine} <= {"\\\\*\\SYSVOL", "\\\\*\\IPC$", "\\\\*\\NETLOGON"}
    assert any(e["EventID"] == 4624 for e in events), "other EventIDs share the table"
    admin = [e for e in events if e.get("ShareName") in ("\\\\*\\ADMIN$", "\\\\*\\C$")]
    by_admins = sum("adm-" in e["Account"].lower() for e in admin)
    assert admin and by_admins >= 0.6 * len(admin), "admin shares are mostly IT admins' (the rest: helpdesk, incidents)"
    by_day = collections.Counter(dt.date.fromisoformat(e["TimeGenerated"][:10]).weekday() >= 5
                                 for e in events if not e["Account"].endswith("$"))
    assert by_day[True] / 4 < 0.4 * by_day[False] / 10, "weekends are quiet"
    assert labels["counts"]["duplicates"] > 0
    assert len({e["Account"] for e in events}) > len({e["Account"].lower() for e in events}), "account case varies"


def test_labels_cover_the_scoring_day_and_hard_cases(sample):
    root, labels, events = sample
    start = labels["score_window"]["start"]
    day = {(e["TenantId"], e["Account"].lower(), e["Computer"].lower(), e["ShareName"].lower())
           for e in events if e["TimeGenerated"] >= start and e["EventID"] == 5140 and not e["Account"].endswith("$")}
    labelled = {(p["TenantId"], p["Account"].lower(), p["Computer"].lower(), p["ShareName"].lower()) for p in labels["pairs"]}
    assert day == labelled
    pairs = labels["pairs"]
    kinds = {p["kind"] for p in pairs if p["label"]}
    assert {"lateral_cross_department", "new_account_sweep", "admin_share_non_admin"} <= kinds and len(kinds) >= 4
    normal_new_known = [p for p in pairs if not p["label"] and p["pair_new"] and not p["user_new"]]
    assert len(normal_new_known) >= 10, "normal first accesses of known users: the hard case"
    assert any(not p["label"] and p["user_new"] for p in pairs), "new hires working normally"
    assert any(not p["label"] and p["resource_new"] for p in pairs), "new shares used by their department"
    assert any(p["label"] and (p["user_new"] or p["resource_new"]) for p in pairs)


def test_usage_sample_has_labelled_windows(tmp_path):
    labels = generate("usage", str(tmp_path), series=9, days=10, seed=2)
    assert len(labels["windows"]) == 3 and {w["kind"] for w in labels["windows"]} <= {"spike", "drop", "silence", "level_shift"}
    rows = [json.loads(line) for f in glob.glob(str(tmp_path / "am-usage" / "**" / "PT1H.json"), recursive=True)
            for line in open(f)]
    assert {r["DataType"] for r in rows} == set(labels["series"])
    per_hour = collections.Counter((r["DataType"], r["TimeGenerated"]) for r in rows)
    assert max(per_hour.values()) >= 2, "billable and free volume come as separate rows"
