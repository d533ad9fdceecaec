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
"""
from __future__ import annotations

import datetime as dt
import json
import os
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Set, Tuple

import numpy as np

from ..timewindow import UTC, format_time
from .export_writer import ExportWriter, format_time_generated, workspace_resource_id

DEPARTMENTS = [
    ("Engineering", "ENG", ["Engineering", "Builds", "Specs", "Tools", "Projects", "Releases", "QA"]),
    ("Sales", "SAL", ["Sales", "Quotes", "Contracts", "Leads", "Sales-Reports"]),
    ("Finance", "FIN", ["Finance", "Finance-Reports", "Payroll", "Budget", "Audit", "Invoices"]),
    ("Marketing", "MKT", ["Marketing", "Brand", "Campaigns", "Media", "Events"]),
    ("Support", "SUP", ["Support", "Cases", "KnowledgeBase", "Escalations"]),
    ("HR", "HR", ["HR", "Recruiting", "Personnel", "Benefits"]),
    ("Operations", "OPS", ["Operations", "Logistics", "Inventory", "Vendors", "Scans"]),
    ("Legal", "LEG", ["Legal", "Contracts-Legal", "Litigation", "Compliance"]),
    ("Research", "RES", ["Research", "Datasets", "Projects", "Papers", "Lab"]),
    ("Procurement", "PRC", ["Procurement", "Suppliers", "Purchase-Orders"]),
    ("Facilities", "FAC", ["Facilities", "Floorplans", "Maintenance"]),
    ("Executive", "EXE", ["Executive", "Board", "Strategy"]),
]
# Departments that work together: their members occasionally use each other's main shares.
AFFINITY = [
    ("Sales", "Marketing"), ("Finance", "Procurement"), ("HR", "Legal"), ("Engineering", "Research"),
    ("Support", "Engineering"), ("Operations", "Facilities"), ("Finance", "Executive"), ("Sales", "Legal"),
]
SMALL_DEPARTMENT = 16  # departments smaller than this share a file server
COMMON_SHARES = [("FS-CORP-01", "Public", 4.0), ("FS-CORP-01", "Software", 1.0), ("FS-CORP-01", "Templates", 1.5),
                 ("FS-CORP-01", "Home", 3.0)]
DC_SHARES = [("SYSVOL", 1.0), ("NETLOGON", 0.6)]
FIRST = ["alex", "sam", "maria", "li", "omar", "anna", "john", "fatima", "yuki", "pedro", "olga", "raj", "emma",
         "noah", "zoe", "ivan", "chen", "sara", "tom", "lena", "amir", "nina", "paul", "mia", "ali", "eva", "max",
         "ines", "kofi", "hana", "leo", "ruth", "igor", "tara", "ben", "aiko", "juan", "elif", "dan", "sofia"]
LAST = ["smith", "garcia", "chen", "kumar", "novak", "okafor", "silva", "tanaka", "müller", "rossi", "haddad",
        "kowalski", "nguyen", "johansson", "ivanova", "brown", "dubois", "yilmaz", "costa", "park", "singh",
        "moreau", "fischer", "lopez", "ahmed", "kim", "jensen", "petrov", "wilson", "sato"]


@dataclass(frozen=True)
class Resource:
    computer: str
    share: str

    @property
    def key(self) -> Tuple[str, str]:
        return (self.computer.lower(), self.share.lower())


@dataclass
class User:
    account: str  # DOMAIN\name
    name: str
    department: str
    kind: str  # staff | part_time | admin | helpdesk | service | new_hire
    rate: float  # sessions per active day
    active_days: float  # probability of working on a weekday
    weekend: float  # probability of working on a weekend day
    profile: Dict[Resource, float] = field(default_factory=dict)
    explore: float = 0.0  # chance per active day of a first access to a department/project share
    start_day: int = 0  # first day (index) the user exists
    ip: str = ""
    sid: str = ""


@dataclass
class Tenant:
    tenant_id: str
    domain: str
    dns: str
    resource_id: str
    users: List[User]
    machines: List[str]
    servers: List[str]
    dept_shares: Dict[str, List[Tuple[Resource, float]]]
    project_shares: Dict[str, Resource]
    dept_of_server: Dict[str, List[str]]
    dcs: List[str]
    new_shares: Dict[int, List[Tuple[str, Resource]]]  # day -> [(department, resource)]


@dataclass
class SampleConfig:
    users: int = 300
    days: int = 28
    tenants: int = 1
    seed: int = 7
    end: dt.datetime = dt.datetime(2026, 11, 3, tzinfo=UTC)
    layout: str = "5min"
    duplicate_rate: float = 0.003
    malformed_lines: int = 0
    max_lines_per_blob: int = 50_000
    other_events: float = 0.08  # share of non-5140 SecurityEvent noise
    machines: Optional[int] = None


class _Gen:
    def __init__(self, cfg: SampleConfig) -> None:
        self.cfg = cfg
        self.rng = np.random.default_rng(cfg.seed)
        self.score_day = cfg.days  # index of the scoring day
        self.day0 = cfg.end - dt.timedelta(days=cfg.days + 1)

    # ------------------------------------------------------------------ org
    def uuid(self) -> str:
        return str(uuid.UUID(bytes=self.rng.bytes(16), version=4))

    def build_tenant(self, index: int, n_users: int) -> Tenant:
        rng = self.rng
        domain, dns = [("CONTOSO", "contoso.local"), ("FABRIKAM", "fabrikam.local"),
                       ("WOODGROVE", "woodgrove.local"), ("TAILSPIN", "tailspin.local")][index % 4]
        tenant_id = self.uuid()
        resource_id = workspace_resource_id(self.uuid(), f"rg-sec-{index}", f"law-{domain.lower()}")
        n_depts = int(np.clip(round(4 + n_users / 40), 4, len(DEPARTMENTS)))
        depts = DEPARTMENTS[:n_depts]
        weights = 1.0 / np.arange(1, n_depts + 1) ** 0.9
        it_size = max(2, int(round(n_users * 0.03)))
        service = 1
        staff_total = max(n_depts * 3, n_users - it_size - service)
        sizes = np.maximum(3, np.round(weights / weights.sum() * staff_total)).astype(int)

        servers: List[str] = ["FS-CORP-01"]
        dept_of_server: Dict[str, List[str]] = defaultdict(list)
        dept_shares: Dict[str, List[Tuple[Resource, float]]] = {}
        shared_host = None
        for i, (name, code, shares) in enumerate(depts):
            if sizes[i] < SMALL_DEPARTMENT and shared_host is not None:
                hosts = [shared_host]  # small departments share a server, two at a time
                shared_host = None
            else:
                count = 2 if sizes[i] >= 40 else 1
                hosts = [f"FS-{code}-{k + 1:02d}" for k in range(count)]
                servers.extend(hosts)
                if sizes[i] < SMALL_DEPARTMENT:
                    shared_host = hosts[0]
            for h in hosts:
                dept_of_server[h].append(name)
            items = []
            popularity = 1.0 / np.arange(1, len(shares) + 1) ** 1.1
            for j, share in enumerate(shares):
                host = hosts[j % len(hosts)]
                items.append((Resource(f"{host}.{dns}", share), float(popularity[j])))
            items.append((Resource(f"{hosts[0]}.{dns}", "Scans"), 0.15))
            dept_shares[name] = items
        dcs = [f"DC01.{dns}", f"DC02.{dns}"]
        # project groups across departments, with their share on a member department's server
        project_shares: Dict[str, Resource] = {}
        for k, project in enumerate(["Apollo", "Orion", "Atlas", "Zephyr"][: max(1, n_depts // 3)]):
            owner = depts[k % n_depts][0]
            host = dept_shares[owner][0][0].computer
            project_shares[project] = Resource(host, project)
        # new shares: two during the last training days, two on the scoring day
        new_shares: Dict[int, List[Tuple[str, Resource]]] = defaultdict(list)
        for k, (day, suffix) in enumerate([(self.score_day - 3, "2026Q4"), (self.score_day - 1, "Migration"),
                                           (self.score_day, "FY27"), (self.score_day, "Restructure")]):
            dept = depts[(k * 3 + 1) % n_depts][0]
            host = dept_shares[dept][0][0].computer
            new_shares[day].append((dept, Resource(host, f"{dept}-{suffix}")))

        users: List[User] = []
        used_names: Set[str] = set()

        def new_name() -> str:
            while True:
                name = f"{rng.choice(FIRST)}.{rng.choice(LAST)}"
                if name in used_names:
                    name = f"{name}{rng.integers(2, 99)}"
                if name not in used_names:
                    used_names.add(name)
                    return name

        rid = 1100
        for i, (dept, code, _) in enumerate(depts):
            subnet = 10 + i
            for _ in range(int(sizes[i])):
                rid += 1
                r = rng.random()
                kind = "part_time" if r < 0.15 else "staff"
                name = new_name()
                u = User(
                    account=f"{domain}\\{name}", name=name, department=dept, kind=kind,
                    rate=float(rng.gamma(2.0, 2.5)) if kind == "staff" else float(rng.gamma(1.5, 1.2)),
                    active_days=0.92 if kind == "staff" else float(rng.uniform(0.12, 0.3)),
                    weekend=0.04 if dept not in ("Support", "Operations") else 0.25,
                    explore=float(rng.uniform(0.03, 0.08)),
                    ip=f"10.{subnet}.{rng.integers(0, 8)}.{rng.integers(2, 250)}",
                    sid=f"S-1-5-21-3623811015-3361044348-30300820-{rid}",
                )
                self._profile(u, dns, dept_shares, project_shares)
                users.append(u)
        for k in range(it_size):
            rid += 1
            kind = "admin" if k < max(2, it_size // 2) else "helpdesk"
            name = ("adm-" if kind == "admin" else "") + new_name()
            u = User(account=f"{domain}\\{name}", name=name, department="IT", kind=kind,
                     rate=float(rng.uniform(6, 12)), active_days=0.95, weekend=0.2, explore=0.0,
                     ip=f"10.99.0.{10 + k}", sid=f"S-1-5-21-3623811015-3361044348-30300820-{rid}")
            users.append(u)
        users.append(User(account=f"{domain}\\svc-backup", name="svc-backup", department="IT", kind="service",
                          rate=0.0, active_days=1.0, weekend=1.0, ip="10.99.1.5",
                          sid="S-1-5-21-3623811015-3361044348-30300820-1050"))
        # new hires: some join in the last training days, some on the scoring day
        n_hires = max(2, n_users // 60)
        for k in range(n_hires):
            dept = depts[int(rng.integers(0, min(n_depts, 6)))][0]
            rid += 1
            name = new_name()
            u = User(account=f"{domain}\\{name}", name=name, department=dept, kind="new_hire",
                     rate=float(rng.uniform(3, 7)), active_days=1.0, weekend=0.0, explore=0.1,
                     start_day=self.score_day - int(rng.integers(0, 4)) if k % 2 else self.score_day,
                     ip=f"10.{10 + [d[0] for d in depts].index(dept)}.9.{rng.integers(2, 250)}",
                     sid=f"S-1-5-21-3623811015-3361044348-30300820-{rid}")
            self._profile(u, dns, dept_shares, project_shares, new_hire=True)
            users.append(u)
        n_machines = self.cfg.machines if self.cfg.machines is not None else max(5, n_users // 2)
        machines = [f"{domain}\\WS-{k:04d}$" for k in range(n_machines)]
        all_servers = [f"{s}.{dns}" for s in servers]
        return Tenant(tenant_id, domain, dns, resource_id, users, machines, all_servers, dept_shares,
                      project_shares, dict(dept_of_server), dcs, dict(new_shares))

    def _profile(self, u: User, dns: str, dept_shares, project_shares, new_hire: bool = False) -> None:
        rng = self.rng
        own = dept_shares[u.department]
        # every user has the department's main share, plus a skewed random subset of the rest
        k = len(own) if new_hire else int(rng.integers(2, len(own) + 1))
        chosen = [own[0]] + [own[j] for j in sorted(rng.choice(np.arange(1, len(own)), size=max(0, min(k, len(own)) - 1), replace=False))]
        if new_hire:
            chosen = own[:3]
        for res, pop in chosen:
            u.profile[res] = pop * float(rng.uniform(0.5, 2.0))
        for host, share, w in COMMON_SHARES:
            if rng.random() < (0.9 if share in ("Public", "Home") else 0.4):
                u.profile[Resource(f"{host}.{dns}", share)] = w * 0.3
        if not new_hire:
            partners = [b for a, b in AFFINITY if a == u.department] + [a for a, b in AFFINITY if b == u.department]
            partners = [p for p in partners if p in dept_shares]
            if partners and rng.random() < 0.18:  # cross-team collaborator
                partner = partners[int(rng.integers(0, len(partners)))]
                u.profile[dept_shares[partner][0][0]] = float(rng.uniform(0.3, 1.0))
            if project_shares and rng.random() < 0.12:  # project member
                names = sorted(project_shares)
                u.profile[project_shares[names[int(rng.integers(0, len(names)))]]] = float(rng.uniform(0.5, 1.5))

    # ------------------------------------------------------------------ events
    def day_start(self, day: int) -> dt.datetime:
        return self.day0 + dt.timedelta(days=day)

    def work_time(self, day: int, spread: float = 2.5) -> dt.datetime:
        hour = float(np.clip(self.rng.normal(12.5, spread), 0.0, 23.99))
        return self.day_start(day) + dt.timedelta(hours=hour)


class ResourceAccessSample:
    """Generate the export and the labels; see :func:`generate_resource_access`."""

    def __init__(self, cfg: SampleConfig) -> None:
        self.cfg = cfg
        self.g = _Gen(cfg)

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
                emit = self._emitter(t, events, day)
                for dept, res in t.new_shares.get(day, []):
                    members = [u for u in t.users if u.department == dept and u.start_day <= day]
                    for u in members:
                        if rng.random() < 0.35:
                            u.profile[res] = float(rng.uniform(0.5, 1.5))
                self._normal_day(t, day, emit)
                if scoring:
                    incidents.extend(self._incidents(t, day, emit, users_train))
                for when, rec, label_kind in emit.accesses:
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
        self._malformed(writers, tenants, counts)

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

    # -------------------------------------------------------------- behaviour
    def _emitter(self, t: Tenant, events: list, day: int) -> "_Emitter":
        return _Emitter(self.g, t, events)

    def _normal_day(self, t: Tenant, day: int, emit) -> None:
        g, cfg = self.g, self.cfg
        rng = g.rng
        weekday = g.day_start(day).weekday()
        weekend = weekday >= 5
        for u in t.users:
            if u.start_day > day:
                continue
            if u.kind == "service":
                # nightly backup reads every share of every file server
                for items in t.dept_shares.values():
                    for res, _ in items:
                        if rng.random() < 0.9:
                            emit.access(u, res, g.day_start(day) + dt.timedelta(hours=float(rng.uniform(1, 4))),
                                        n=1, ipc=0.0)
                for share_day, new in t.new_shares.items():
                    if share_day < day:
                        for _, res in new:
                            emit.access(u, res, g.day_start(day) + dt.timedelta(hours=2), n=1, ipc=0.0)
                continue
            p_active = u.weekend if weekend else u.active_days
            if rng.random() >= p_active:
                continue
            if u.kind in ("admin", "helpdesk"):
                self._admin_day(t, u, day, emit)
                continue
            resources = list(u.profile)
            weights = np.array([u.profile[r] for r in resources])
            sessions = max(1, int(rng.poisson(u.rate)))
            picks = rng.choice(len(resources), size=sessions, p=weights / weights.sum())
            for idx in picks:
                emit.access(u, resources[idx], g.work_time(day))
            # logon scripts
            if rng.random() < 0.5:
                dc = t.dcs[int(rng.integers(0, len(t.dcs)))]
                for share, w in DC_SHARES:
                    if rng.random() < w:
                        emit.access(u, Resource(dc, share), g.day_start(day) + dt.timedelta(hours=float(rng.uniform(7, 9.5))), n=1, ipc=0.0)
            # discovery: a first visit to a department or project share, which then stays in the profile
            if rng.random() < u.explore:
                candidates = [r for r, _ in t.dept_shares[u.department] if r not in u.profile]
                # collaborators and project members also discover their partners' shares
                for partner, items in t.dept_shares.items():
                    if partner != u.department and items[0][0] in u.profile:
                        candidates += [r for r, _ in items[:3] if r not in u.profile]
                candidates += [r for d, items in t.new_shares.items() if d <= day for dept, r in items
                               if dept == u.department and r not in u.profile]
                if candidates:
                    res = candidates[int(rng.integers(0, len(candidates)))]
                    u.profile[res] = float(rng.uniform(0.2, 0.8))
                    emit.access(u, res, g.work_time(day))
        # machine accounts: group policy and named pipes on the domain controllers
        n_active = int(len(t.machines) * (0.5 if weekend else 0.95))
        for m in rng.choice(t.machines, size=n_active, replace=False):
            for _ in range(int(rng.integers(2, 9))):  # group policy refreshes
                dc = t.dcs[int(rng.integers(0, len(t.dcs)))]
                share = ("SYSVOL", "IPC$", "NETLOGON")[int(rng.integers(0, 3))]
                at = g.day_start(day) + dt.timedelta(hours=float(rng.uniform(0, 24)))
                emit.raw(at, emit.record(str(m), None, dc, share, at))
        # other SecurityEvent traffic in the same table (logons), which a 5140 template must skip
        n_other = int(len(emit.accesses) * cfg.other_events)
        for _ in range(n_other):
            u = t.users[int(rng.integers(0, len(t.users)))]
            if u.start_day > day:
                continue
            at = g.work_time(day, 4)
            emit.raw(at, emit.record(u.account, u, t.dcs[0], "IPC$", at, event_id=4624))

    def _admin_day(self, t: Tenant, u: User, day: int, emit) -> None:
        rng = self.g.rng
        n = max(1, int(rng.poisson(u.rate)))
        servers = t.servers + t.dcs
        for _ in range(n):
            host = servers[int(rng.integers(0, len(servers)))]
            if u.kind == "admin":
                share = "ADMIN$" if rng.random() < 0.6 else "C$"
            else:
                share = "C$" if rng.random() < 0.5 else "IPC$"
            emit.access(u, Resource(host, share), self.g.work_time(day, 3), n=int(rng.integers(1, 3)), ipc=0.3)
        if rng.random() < 0.3:
            emit.access(u, Resource("FS-CORP-01." + t.dns, "Software"), self.g.work_time(day))

    def _incidents(self, t: Tenant, day: int, emit, known: Set[Tuple[str, str]]) -> List[dict]:
        """Inject the scoring day's anomalies; returns their descriptions.

        Incidents of "known" users pick staff with training history: a part-timer who never
        worked in the training window is, for any model, a new user.
        """
        g = self.g
        rng = g.rng
        depts = list(t.dept_shares)
        partners = defaultdict(set)
        for a, b in AFFINITY:
            partners[a].add(b)
            partners[b].add(a)
        staff = [u for u in t.users if u.kind in ("staff", "part_time") and u.start_day == 0
                 and (t.tenant_id, u.account.lower()) in known]
        out: List[dict] = []

        def foreign_depts(u: User) -> List[str]:
            own_hosts = {r.computer for r in u.profile}
            return [d for d in depts if d != u.department and d not in partners[u.department]
                    and not any(r.computer in own_hosts for r, _ in t.dept_shares[d])]

        def at() -> dt.datetime:
            return g.day_start(day) + dt.timedelta(hours=float(rng.uniform(0, 24)))

        def pick(pool):
            return pool[int(rng.integers(0, len(pool)))]

        # 1. compromised known users browsing departments they have no business with
        n_lateral = max(2, len(staff) // 70)
        for victim in rng.choice(len(staff), size=n_lateral, replace=False):
            u = staff[int(victim)]
            targets = foreign_depts(u)
            if len(targets) < 2:
                continue
            chosen = rng.choice(len(targets), size=2, replace=False)
            when = at()
            touched = []
            for d in (targets[int(c)] for c in chosen):
                items = t.dept_shares[d]
                for j in rng.choice(len(items), size=min(len(items), int(rng.integers(1, 4))), replace=False):
                    res = items[int(j)][0]
                    emit.access(u, res, when + dt.timedelta(minutes=float(rng.uniform(0, 40))),
                                label="lateral_cross_department", n=int(rng.integers(1, 3)))
                    touched.append(res.share)
            out.append({"kind": "lateral_cross_department", "TenantId": t.tenant_id, "Account": u.account,
                        "description": f"{u.department} user browsed {', '.join(touched)}"})
        # 2. a brand-new account sweeping shares across departments
        name = f"{t.domain}\\{pick(['svc-sync', 'temp.admin', 'backup2', 'helpdesk01'])}"
        sweeper = User(account=name, name=name.split("\\")[1], department="?", kind="attacker", rate=0,
                       active_days=1, weekend=1, ip=f"10.77.{int(rng.integers(0, 8))}.{int(rng.integers(2, 250))}",
                       sid="S-1-5-21-3623811015-3361044348-30300820-9" + str(int(rng.integers(100, 999))))
        when = at()
        swept = []
        for d in rng.choice(len(depts), size=min(len(depts), 4), replace=False):
            items = t.dept_shares[depts[int(d)]]
            for j in rng.choice(len(items), size=min(len(items), 3), replace=False):
                res = items[int(j)][0]
                emit.access(sweeper, res, when + dt.timedelta(seconds=float(rng.uniform(0, 1800))),
                            label="new_account_sweep", n=1, ipc=0.5)
                swept.append(res.share)
        out.append({"kind": "new_account_sweep", "TenantId": t.tenant_id, "Account": sweeper.account,
                    "description": f"new account touched {len(swept)} shares in 30 minutes"})
        # 3. a non-admin user on admin shares
        u = pick(staff)
        hosts = rng.choice(len(t.servers), size=min(3, len(t.servers)), replace=False)
        for h in hosts:
            share = "C$" if rng.random() < 0.5 else "ADMIN$"
            emit.access(u, Resource(t.servers[int(h)], share), at(), label="admin_share_non_admin", n=1, ipc=0.0)
        out.append({"kind": "admin_share_non_admin", "TenantId": t.tenant_id, "Account": u.account,
                    "description": f"{u.department} user opened admin shares on {len(hosts)} servers"})
        # 4. an outsider's first touch of a new share on another department's server
        for dept, res in t.new_shares.get(day, [])[:1]:
            outsiders = [s for s in staff if s.department != dept and dept not in partners[s.department]
                         and not any(r.computer == res.computer for r in s.profile)]
            if outsiders:
                o = pick(outsiders)
                emit.access(o, res, at(), label="outsider_new_share", n=2, ipc=0.0)
                out.append({"kind": "outsider_new_share", "TenantId": t.tenant_id, "Account": o.account,
                            "description": f"{o.department} user opened new share {res.share} of {dept}"})
        # 5. a new hire reaching into a sensitive share of another department
        hires = [h for h in t.users if h.kind == "new_hire"]
        if hires:
            h = pick(hires)
            targets = [d for d in depts if d != h.department and d not in partners[h.department]]
            if targets:
                d = pick(targets)
                items = t.dept_shares[d]
                res = items[min(2, len(items) - 1)][0]
                emit.access(h, res, at(), label="new_hire_foreign_share", n=2, ipc=0.0)
                out.append({"kind": "new_hire_foreign_share", "TenantId": t.tenant_id, "Account": h.account,
                            "description": f"new {h.department} hire opened {res.share} of {d}"})
        return out

    def _malformed(self, writers, tenants, counts) -> None:
        n = self.cfg.malformed_lines
        if not n:
            return
        rng = self.g.rng
        day = self.g.day_start(self.g.score_day) + dt.timedelta(hours=6)
        w = writers[tenants[0].tenant_id]
        samples = ['{"TenantId":"x","TimeGenerated":"2026-1', "not json at all", '{"EventID":"five","TimeGenerated":"'
                   + format_time_generated(day) + '","Type":"SecurityEvent"}', "[1,2,3]"]
        for k in range(n):
            w.add_line(day + dt.timedelta(minutes=int(rng.integers(0, 120))), samples[k % len(samples)])
        w.flush()
        counts["malformed"] = n


class _Emitter:
    """Turns accesses into SecurityEvent records; remembers labelled user accesses."""

    def __init__(self, g: _Gen, t: Tenant, events: list) -> None:
        self.g, self.t, self.rng = g, t, g.rng
        self.events = events
        self.accesses: List[Tuple[dt.datetime, dict, str]] = []

    def _within(self, at: dt.datetime) -> dt.datetime:
        """The export ends with the scoring day: a burst started late that day stops at its end."""
        return min(at, self.g.cfg.end - dt.timedelta(seconds=1))

    def raw(self, at: dt.datetime, rec: dict) -> None:
        """An event that is not a labelled user access (machine accounts, logons)."""
        self.events.append((at, rec))

    def access(self, u: User, res: Resource, when: dt.datetime, label: str = "normal",
               n: Optional[int] = None, ipc: float = 0.25) -> None:
        rng = self.rng
        n = n if n is not None else int(rng.geometric(0.45))
        for k in range(max(1, n)):
            at = self._within(when + dt.timedelta(seconds=float(rng.uniform(0, 900)) * k))
            rec = self.record(u.account, u, res.computer, res.share, at)
            self.events.append((at, rec))
            self.accesses.append((at, rec, label))
        if ipc and rng.random() < ipc:  # named pipes on the same server
            at = self._within(when - dt.timedelta(seconds=float(rng.uniform(0.1, 2))))
            rec = self.record(u.account, u, res.computer, "IPC$", at)
            self.events.append((at, rec))
            self.accesses.append((at, rec, label))

    def record(self, account: str, u: Optional[User], computer: str, share: str,
               at: dt.datetime, event_id: int = 5140) -> dict:
        rng, t = self.rng, self.t
        domain, name = account.split("\\", 1)
        if u is not None and rng.random() < 0.03:  # the same account in another case
            account = account.upper() if rng.random() < 0.5 else account.lower()
        local = {"IPC$": "", "ADMIN$": "C:\\Windows", "C$": "C:\\",
                 "SYSVOL": "C:\\Windows\\SYSVOL\\sysvol",
                 "NETLOGON": f"C:\\Windows\\SYSVOL\\sysvol\\{t.dns}\\SCRIPTS"}.get(share, f"D:\\Shares\\{share}")
        host = computer.split(".", 1)[0].lower()
        rec = {
            "TenantId": t.tenant_id,
            "TimeGenerated": format_time_generated(at),
            "SourceSystem": "OpsManager",
            "Account": account,
            "AccountType": "Machine" if name.endswith("$") else "User",
            "Computer": computer,
            "EventSourceName": "Microsoft-Windows-Security-Auditing",
            "Channel": "Security",
            "Task": 12808,
            "Level": "0",
            "EventID": event_id,
            "Activity": f"{event_id} - A network share object was accessed."
            if event_id == 5140 else f"{event_id} - An account was successfully logged on.",
            "SubjectUserName": name,
            "SubjectDomainName": domain,
            "SubjectUserSid": u.sid if u else "S-1-5-18",
            "SubjectLogonId": f"0x{int(rng.integers(0x10000, 0xFFFFFFF)):x}",
            "ShareName": f"\\\\*\\{share}",
            "ShareLocalPath": local,
            "ObjectType": "File",
            "IpAddress": u.ip if u else f"10.50.{int(rng.integers(0, 16))}.{int(rng.integers(2, 250))}",
            "IpPort": str(int(rng.integers(49152, 65535))),
            "AccessMask": "0x1",
            "AccessList": "%%4416\r\n\t\t\t\t",
            "EventOriginId": self.g.uuid(),
            "MG": "00000000-0000-0000-0000-000000000001",
            "ManagementGroupName": "AOI-" + t.tenant_id,
            "TimeCollected": format_time_generated(at + dt.timedelta(seconds=float(rng.uniform(5, 90)))),
            "Type": "SecurityEvent",
            "_ResourceId": f"/subscriptions/{t.resource_id.split('/')[2]}/resourcegroups/rg-servers"
                           f"/providers/microsoft.compute/virtualmachines/{host}",
        }
        if event_id != 5140:
            for k in ("ShareName", "ShareLocalPath", "ObjectType", "AccessMask", "AccessList"):
                rec.pop(k)
            rec["LogonType"] = 3
            rec["TargetUserName"] = name
            rec["TargetDomainName"] = domain
        return rec


def generate_resource_access(out_dir: str, **options) -> dict:
    """Write a SecurityEvent export under ``out_dir`` and its ``labels.json``; return the labels.

    >>> labels = generate_resource_access("/tmp/sample", users=100, days=14, seed=1)  # doctest: +SKIP
    """
    cfg = SampleConfig(**options)
    return ResourceAccessSample(cfg).run(out_dir)
