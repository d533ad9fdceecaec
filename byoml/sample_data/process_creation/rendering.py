"""Rendering: process creations become SecurityEvent 4688 records as the data export writes them
(the field layout of a real exported 4688 row; empty fields are left out, as the export does)."""
from __future__ import annotations

import datetime as dt
import uuid
from typing import Dict, List, Optional, Tuple

from ..export_writer import format_time_generated
from .estate import Computer, Estate, Tenant, User

SYSTEM_ELEVATION, FULL, LIMITED = "%%1936", "%%1937", "%%1938"
LABELS = {"system": "S-1-16-16384", "high": "S-1-16-12288", "medium": "S-1-16-8192"}
CONHOST_CMD = "\\??\\C:\\Windows\\system32\\conhost.exe 0xffffffff -ForceV1"


class Emitter:
    """Collects one computer-day of 4688 records; remembers which process paths it ran (for the labels)."""

    def __init__(self, g: Estate, t: Tenant, c: Computer, events: List[Tuple[dt.datetime, dict]]) -> None:
        self.g, self.t, self.c, self.rng = g, t, c, g.rng
        self.events = events
        self.paths: Dict[str, str] = {}  # process path -> label tag ("" for normal)
        self._pids: Dict[str, int] = {}
        self._host = c.name.split(".")[0]
        self._base = {
            "TenantId": t.tenant_id, "SourceSystem": "OpsManager", "Computer": c.name,
            "EventSourceName": "Microsoft-Windows-Security-Auditing", "Channel": "Security", "Task": 13312, "Level": "0",
            "EventID": 4688, "Activity": "4688 - A new process has been created.",
            "TargetAccount": "-\\-", "TargetDomainName": "-", "TargetLogonId": "0x0", "TargetUserName": "-",
            "TargetUserSid": "S-1-0-0", "SourceComputerId": str(uuid.uuid5(uuid.NAMESPACE_DNS, c.name)),
            "MG": "00000000-0000-0000-0000-000000000001",
            "ManagementGroupName": "AOI-" + t.tenant_id, "Type": "SecurityEvent",
            "_ResourceId": f"/subscriptions/{t.resource_id.split('/')[2]}/resourcegroups/rg-{c.role}s"
                           f"/providers/microsoft.compute/virtualmachines/{self._host.lower()}",
        }
        self.session = f"0x{int(self.rng.integers(0x100000, 0xFFFFFFF)):x}"

    def _pid(self, path: Optional[str]) -> int:
        if path and path in self._pids:
            return self._pids[path]
        return int(self.rng.integers(0x100, 0x3FFF)) * 4

    def process(self, at: dt.datetime, path: str, parent: Optional[str], cmd: str, user: Optional[User] = None,
                console: bool = False, tag: str = "", elevated: bool = False) -> None:
        """One 4688 record (and the conhost.exe of a console program); ``user`` None runs as SYSTEM."""
        c, rng = self.c, self.rng
        u = user.folder if user else ""
        path, cmd = path.replace("{u}", u), cmd.replace("{u}", u)
        parent = parent.replace("{u}", u) if parent else None
        at = min(at, self.g.cfg.end - dt.timedelta(seconds=1))
        pid = int(rng.integers(0x100, 0x3FFF)) * 4
        rec = dict(self._base)
        if user is None:
            domain, name = c.machine_account.split("\\", 1)
            rec.update(Account=c.machine_account, AccountType="Machine", SubjectAccount=c.machine_account,
                       SubjectDomainName=domain, SubjectUserName=name, SubjectUserSid="S-1-5-18", SubjectLogonId="0x3e7",
                       TokenElevationType=SYSTEM_ELEVATION, MandatoryLabel=LABELS["system"])
        else:
            domain, name = user.account.split("\\", 1)
            rec.update(Account=user.account, AccountType="User", SubjectAccount=user.account, SubjectDomainName=domain,
                       SubjectUserName=name, SubjectUserSid=user.sid, SubjectLogonId=self.session,
                       TokenElevationType=FULL if elevated else LIMITED,
                       MandatoryLabel=LABELS["high" if elevated else "medium"])
        rec.update(TimeGenerated=format_time_generated(at), CommandLine=cmd, NewProcessId=hex(pid), NewProcessName=path,
                   Process=path.rsplit("\\", 1)[-1], ProcessId=hex(self._pid(parent)), EventOriginId=self.g.uuid(),
                   TimeCollected=format_time_generated(at + dt.timedelta(seconds=float(rng.uniform(5, 90)))))
        if parent and not c.legacy:
            rec["ParentProcessName"] = parent
        self.events.append((at, rec))
        self._pids[path] = pid
        if path not in self.paths or tag:
            self.paths[path] = tag or self.paths.get(path, "")
        if console:
            self.process(at + dt.timedelta(milliseconds=3), "C:\\Windows\\System32\\conhost.exe", path, CONHOST_CMD, user)

    def exit_event(self, at: dt.datetime, path: str) -> None:
        """A 4689 (process exit): the same table holds more than process creations."""
        rec = dict(self._base)
        rec.update(EventID=4689, Activity="4689 - A process has exited.", TimeGenerated=format_time_generated(at),
                   ProcessName=path, Process=path.rsplit("\\", 1)[-1], ProcessId=hex(self._pid(path)), Status="0x0",
                   Account=self.c.machine_account, AccountType="Machine", SubjectUserSid="S-1-5-18",
                   EventOriginId=self.g.uuid(), TimeCollected=format_time_generated(at + dt.timedelta(seconds=20)))
        for k in ("TargetAccount", "TargetDomainName", "TargetLogonId", "TargetUserName", "TargetUserSid"):
            rec.pop(k)
        self.events.append((at, rec))
