"""Who and what exists: a tenant's computers (workstations and servers, their Windows versions),
their users and the software installed on each."""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import List, Optional

import numpy as np

from ...errors import ConfigError
from ..export_writer import LAYOUTS, workspace_resource_id

FIRST = ["adam", "alice", "amir", "anna", "ben", "carla", "chen", "david", "elena", "emma", "farah", "felix", "grace",
         "hana", "ivan", "jana", "jonas", "kai", "lara", "leo", "lucia", "maria", "mark", "mia", "nina", "noah", "olga",
         "omar", "paula", "peter", "rosa", "sam", "sara", "tariq", "tom", "vera", "yuki", "zoe"]
LAST = ["adams", "berg", "costa", "diaz", "evans", "fischer", "garcia", "hansen", "ito", "jensen", "khan", "larsen",
        "meyer", "novak", "olsen", "patel", "quinn", "rossi", "schmidt", "silva", "tanaka", "urban", "vogel", "weber",
        "young", "zimmer"]
SERVER_ROLES = [("dc", 3), ("file", 3), ("sql", 3), ("web", 3), ("app", 3)]


@dataclass
class ProcessSampleConfig:
    """Options of the process-creation sample (``byoml sample-data --template masquerading-process``)."""

    computers: int = 300
    days: int = 14
    tenants: int = 1
    seed: int = 7
    end: dt.datetime = dt.datetime(2026, 11, 3, tzinfo=dt.timezone.utc)
    layout: str = "5min"
    max_lines_per_blob: int = 50_000
    malformed_lines: int = 0
    duplicate_rate: float = 0.002
    incidents_per_kind: int = 5

    def __post_init__(self) -> None:
        if self.computers < 20:
            raise ConfigError("computers must be >= 20 (an estate needs servers and enough workstations to learn from)")
        if self.days < 3:
            raise ConfigError("days must be >= 3")
        if self.tenants < 1:
            raise ConfigError("tenants must be >= 1")
        if self.layout not in LAYOUTS:
            raise ConfigError(f"layout must be one of {LAYOUTS}")
        if self.end.tzinfo is None:
            self.end = self.end.replace(tzinfo=dt.timezone.utc)


@dataclass
class User:
    account: str  # CONTOSO\first.last
    folder: str  # the profile folder name under C:\Users
    sid: str
    group: str  # office, dev, dba, admin


@dataclass
class Computer:
    name: str  # FQDN
    role: str  # workstation, dc, file, sql, web, app
    os: str  # win11, win10, 2022, 2019, 2012r2
    machine_account: str
    user: Optional[User] = None
    apps: List[str] = field(default_factory=list)
    office32: bool = False  # 32-bit Office: its printing goes through SysWOW64
    citrix: bool = False  # 32-bit Citrix Workspace: SysWOW64 shells
    boot_rate: float = 0.7  # chance of a boot on a working day
    new_chrome_updater: bool = False  # Chrome's updater.exe instead of GoogleUpdate.exe
    logon_script: bool = False  # a group policy logon script (wscript.exe) at each logon

    @property
    def legacy(self) -> bool:
        """Windows before 10 / Server 2016 do not log the parent in 4688."""
        return self.os == "2012r2"

    @property
    def server(self) -> bool:
        return self.role != "workstation"


@dataclass
class Tenant:
    tenant_id: str
    domain: str
    dns: str
    resource_id: str
    computers: List[Computer]
    admins: List[User]


class Estate:
    """Builds tenants deterministically from one seeded generator."""

    def __init__(self, cfg: ProcessSampleConfig) -> None:
        self.cfg = cfg
        self.rng = np.random.default_rng(cfg.seed)
        self.day0 = (cfg.end - dt.timedelta(days=cfg.days + 1)).replace(hour=0, minute=0, second=0, microsecond=0)

    def uuid(self) -> str:
        return str(uuid.UUID(int=int(self.rng.integers(0, 2**63)) << 64 | int(self.rng.integers(0, 2**63)), version=4))

    def day_start(self, day: int) -> dt.datetime:
        return self.day0 + dt.timedelta(days=day)

    def build_tenant(self, index: int, n_computers: int) -> Tenant:
        rng = self.rng
        domain = ["CONTOSO", "FABRIKAM", "NORTHWIND", "TAILSPIN"][index % 4]
        dns = f"{domain.lower()}.local"
        tenant_id = str(uuid.UUID(int=(index + 1) * 0x5A17 + 0x1F2E3D4C5B6A7988, version=4))
        resource_id = workspace_resource_id(f"{index + 1:08d}-1111-2222-3333-444455556666", "rg-security",
                                            f"law-{domain.lower()}")
        used, rid = set(), 1200

        def new_user(group: str) -> User:
            nonlocal rid
            while True:
                name = f"{rng.choice(FIRST)}.{rng.choice(LAST)}"
                if name not in used:
                    used.add(name)
                    break
            rid += 1
            prefix = "adm-" if group == "admin" else ""
            return User(f"{domain}\\{prefix}{name}", prefix + name, f"S-1-5-21-1004336348-1177238915-682003330-{rid}", group)

        computers: List[Computer] = []
        n_servers = max(5, n_computers * 15 // 100)
        roles = [r for r, w in SERVER_ROLES for _ in range(w)]
        for k in range(n_servers):
            role = roles[k % len(roles)]
            os_name = "2012r2" if k in (n_servers - 1, n_servers - 2) else str(rng.choice(["2022", "2019", "2016"], p=[0.45, 0.4, 0.15]))
            number = k // len(SERVER_ROLES) + 1
            name = f"DC{number:02d}.{dns}" if role == "dc" else f"{role.upper()}{number:02d}-{k:02d}.{dns}"
            host = name.split(".")[0]
            computers.append(Computer(name, role, os_name, f"{domain}\\{host}$", boot_rate=0.08))
        n_ws = n_computers - n_servers
        for k in range(n_ws):
            r = rng.random()
            group = "dev" if r < 0.12 else "dba" if r < 0.14 else "admin" if r < 0.17 else "office"
            user = new_user(group)
            host = f"{'LT' if rng.random() < 0.55 else 'WS'}-{k + 1:04d}"
            c = Computer(f"{host}.{dns}", "workstation", "win11" if rng.random() < 0.6 else "win10", f"{domain}\\{host}$", user=user)
            c.apps = ["edge", "outlook", "word", "excel", "onedrive"]
            for app, p in (("teams", 0.85), ("chrome", 0.6), ("acrobat", 0.5), ("zoom", 0.3), ("slack", 0.2), ("notepad", 0.6)):
                if rng.random() < p:
                    c.apps.append(app)
            if group == "dev":
                c.apps += ["code", "git", "python", "notepadpp"] + (["node"] if rng.random() < 0.5 else [])
                if rng.random() < 0.3:
                    c.apps.append("pythonw")
                if rng.random() < 0.4:
                    c.apps.append("notepad2")
                if rng.random() < 0.2:
                    c.apps.append("explorerpp")
            elif group == "dba":
                c.apps += ["ssms", "powershell"]
            elif group == "admin":
                c.apps += ["mmc", "powershell", "mstsc", "cmd"]
            c.office32 = rng.random() < 0.3
            c.new_chrome_updater = rng.random() < 0.2
            c.logon_script = rng.random() < 0.5
            c.citrix = rng.random() < 0.25
            computers.append(c)
        devs = [c for c in computers if c.user and c.user.group == "dev"]
        for c in devs[:3]:  # a vendor tool the devs share: on enough computers to be the tenant's own
            if "notepad2" not in c.apps:
                c.apps.append("notepad2")
        admins = [new_user("admin") for _ in range(3)]
        return Tenant(tenant_id, domain, dns, resource_id, computers, admins)
