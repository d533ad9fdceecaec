"""Rendering: accesses become SecurityEvent records as the data export writes them."""
from __future__ import annotations

import datetime as dt
from typing import List, Optional, Tuple

from ..export_writer import format_time_generated
from .organisation import Organisation, Resource, Tenant, User


class Emitter:
    """Turns accesses into SecurityEvent records; remembers labelled user accesses."""

    def __init__(self, g: Organisation, t: Tenant, events: list) -> None:
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


def write_malformed(g: Organisation, writers, tenants, counts) -> None:
    """``cfg.malformed_lines`` broken lines in the first tenant's scoring-day files (the reader must
    quarantine them)."""
    n = g.cfg.malformed_lines
    if not n:
        return
    rng = g.rng
    day = g.day_start(g.score_day) + dt.timedelta(hours=6)
    w = writers[tenants[0].tenant_id]
    samples = ['{"TenantId":"x","TimeGenerated":"2026-1', "not json at all", '{"EventID":"five","TimeGenerated":"'
               + format_time_generated(day) + '","Type":"SecurityEvent"}', "[1,2,3]"]
    for k in range(n):
        w.add_line(day + dt.timedelta(minutes=int(rng.integers(0, 120))), samples[k % len(samples)])
    w.flush()
    counts["malformed"] = n
