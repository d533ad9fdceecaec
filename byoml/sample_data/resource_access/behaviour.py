"""Everyday behaviour: what users, admins, the backup account and machines do on a normal day."""
from __future__ import annotations

import datetime as dt

import numpy as np

from .organisation import DC_SHARES, Organisation, Resource, Tenant, User


def normal_day(g: Organisation, t: Tenant, day: int, emit) -> None:
    """One ordinary day of every user of ``t``: sessions on their usual shares, logon scripts,
    first visits, the backup account, machine accounts and non-5140 noise."""
    cfg = g.cfg
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
            admin_day(g, t, u, day, emit)
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

def admin_day(g: Organisation, t: Tenant, u: User, day: int, emit) -> None:
    """An IT admin's or helpdesk user's day: admin shares on servers and domain controllers."""
    rng = g.rng
    n = max(1, int(rng.poisson(u.rate)))
    servers = t.servers + t.dcs
    for _ in range(n):
        host = servers[int(rng.integers(0, len(servers)))]
        if u.kind == "admin":
            share = "ADMIN$" if rng.random() < 0.6 else "C$"
        else:
            share = "C$" if rng.random() < 0.5 else "IPC$"
        emit.access(u, Resource(host, share), g.work_time(day, 3), n=int(rng.integers(1, 3)), ipc=0.3)
    if rng.random() < 0.3:
        emit.access(u, Resource("FS-CORP-01." + t.dns, "Software"), g.work_time(day))
