"""The organisation behind the sample: departments, servers, shares, users and their habits."""
from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Set, Tuple

import numpy as np

from ...timewindow import UTC
from ..export_writer import workspace_resource_id

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


class Organisation:
    """The tenants' people, servers and shares, built from one seeded random generator (shared by
    every part of the sample, so the whole export follows from the seed)."""

    def __init__(self, cfg: SampleConfig) -> None:
        self.cfg = cfg
        self.rng = np.random.default_rng(cfg.seed)
        self.score_day = cfg.days  # index of the scoring day
        self.day0 = cfg.end - dt.timedelta(days=cfg.days + 1)

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
        for i, (dept, _code, _) in enumerate(depts):
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

    # -- time -------------------------------------------------------------
    def day_start(self, day: int) -> dt.datetime:
        return self.day0 + dt.timedelta(days=day)

    def work_time(self, day: int, spread: float = 2.5) -> dt.datetime:
        hour = float(np.clip(self.rng.normal(12.5, spread), 0.0, 23.99))
        return self.day_start(day) + dt.timedelta(hours=hour)
