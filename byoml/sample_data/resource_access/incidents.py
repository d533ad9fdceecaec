"""The scoring day's incidents, one function per kind; each returns the descriptions it injected.

Incidents of "known" users pick staff with training history: a part-timer who never worked in
the training window is, for any model, a new user. The kinds run in a fixed order and share the
organisation's random generator, so a seed gives the same incidents every time.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Dict, List, Set, Tuple

from .organisation import AFFINITY, Organisation, Resource, Tenant, User


@dataclass
class Scene:
    """What every incident kind needs: the tenant, the day, the emitter and who is who."""

    g: Organisation
    t: Tenant
    day: int
    emit: object
    staff: List[User]
    partners: Dict[str, Set[str]]

    @property
    def depts(self) -> List[str]:
        return list(self.t.dept_shares)

    def at(self) -> dt.datetime:
        """A random time of the day."""
        return self.g.day_start(self.day) + dt.timedelta(hours=float(self.g.rng.uniform(0, 24)))

    def pick(self, pool):
        return pool[int(self.g.rng.integers(0, len(pool)))]

    def foreign_depts(self, u: User) -> List[str]:
        """Departments ``u`` has no business with: not theirs, not a partner's, on none of their servers."""
        own_hosts = {r.computer for r in u.profile}
        return [d for d in self.depts if d != u.department and d not in self.partners[u.department]
                and not any(r.computer in own_hosts for r, _ in self.t.dept_shares[d])]


def lateral_cross_department(s: Scene) -> List[dict]:
    """Compromised known users browsing two departments they have no business with."""
    rng, t = s.g.rng, s.t
    out = []
    n_lateral = max(2, len(s.staff) // 70)
    for victim in rng.choice(len(s.staff), size=n_lateral, replace=False):
        u = s.staff[int(victim)]
        targets = s.foreign_depts(u)
        if len(targets) < 2:
            continue
        chosen = rng.choice(len(targets), size=2, replace=False)
        when = s.at()
        touched = []
        for d in (targets[int(c)] for c in chosen):
            items = t.dept_shares[d]
            for j in rng.choice(len(items), size=min(len(items), int(rng.integers(1, 4))), replace=False):
                res = items[int(j)][0]
                s.emit.access(u, res, when + dt.timedelta(minutes=float(rng.uniform(0, 40))),
                              label="lateral_cross_department", n=int(rng.integers(1, 3)))
                touched.append(res.share)
        out.append({"kind": "lateral_cross_department", "TenantId": t.tenant_id, "Account": u.account,
                    "description": f"{u.department} user browsed {', '.join(touched)}"})
    return out


def new_account_sweep(s: Scene) -> List[dict]:
    """A brand-new account sweeping three shares of each of four departments in half an hour."""
    rng, t = s.g.rng, s.t
    name = f"{t.domain}\\{s.pick(['svc-sync', 'temp.admin', 'backup2', 'helpdesk01'])}"
    sweeper = User(account=name, name=name.split("\\")[1], department="?", kind="attacker", rate=0,
                   active_days=1, weekend=1, ip=f"10.77.{int(rng.integers(0, 8))}.{int(rng.integers(2, 250))}",
                   sid="S-1-5-21-3623811015-3361044348-30300820-9" + str(int(rng.integers(100, 999))))
    when = s.at()
    swept = []
    depts = s.depts
    for d in rng.choice(len(depts), size=min(len(depts), 4), replace=False):
        items = t.dept_shares[depts[int(d)]]
        for j in rng.choice(len(items), size=min(len(items), 3), replace=False):
            res = items[int(j)][0]
            s.emit.access(sweeper, res, when + dt.timedelta(seconds=float(rng.uniform(0, 1800))),
                          label="new_account_sweep", n=1, ipc=0.5)
            swept.append(res.share)
    return [{"kind": "new_account_sweep", "TenantId": t.tenant_id, "Account": sweeper.account,
             "description": f"new account touched {len(swept)} shares in 30 minutes"}]


def admin_share_non_admin(s: Scene) -> List[dict]:
    """A non-admin user on the admin shares of up to three servers."""
    rng, t = s.g.rng, s.t
    u = s.pick(s.staff)
    hosts = rng.choice(len(t.servers), size=min(3, len(t.servers)), replace=False)
    for h in hosts:
        share = "C$" if rng.random() < 0.5 else "ADMIN$"
        s.emit.access(u, Resource(t.servers[int(h)], share), s.at(), label="admin_share_non_admin", n=1, ipc=0.0)
    return [{"kind": "admin_share_non_admin", "TenantId": t.tenant_id, "Account": u.account,
             "description": f"{u.department} user opened admin shares on {len(hosts)} servers"}]


def outsider_new_share(s: Scene) -> List[dict]:
    """An outsider's first touch of a new share on another department's server."""
    t = s.t
    out = []
    for dept, res in t.new_shares.get(s.day, [])[:1]:
        outsiders = [u for u in s.staff if u.department != dept and dept not in s.partners[u.department]
                     and not any(r.computer == res.computer for r in u.profile)]
        if outsiders:
            o = s.pick(outsiders)
            s.emit.access(o, res, s.at(), label="outsider_new_share", n=2, ipc=0.0)
            out.append({"kind": "outsider_new_share", "TenantId": t.tenant_id, "Account": o.account,
                        "description": f"{o.department} user opened new share {res.share} of {dept}"})
    return out


def new_hire_foreign_share(s: Scene) -> List[dict]:
    """A new hire reaching into a sensitive share of another department."""
    t = s.t
    hires = [h for h in t.users if h.kind == "new_hire"]
    if not hires:
        return []
    h = s.pick(hires)
    targets = [d for d in s.depts if d != h.department and d not in s.partners[h.department]]
    if not targets:
        return []
    d = s.pick(targets)
    items = t.dept_shares[d]
    res = items[min(2, len(items) - 1)][0]
    s.emit.access(h, res, s.at(), label="new_hire_foreign_share", n=2, ipc=0.0)
    return [{"kind": "new_hire_foreign_share", "TenantId": t.tenant_id, "Account": h.account,
             "description": f"new {h.department} hire opened {res.share} of {d}"}]


KINDS = (lateral_cross_department, new_account_sweep, admin_share_non_admin, outsider_new_share,
         new_hire_foreign_share)


def inject_incidents(g: Organisation, t: Tenant, day: int, emit, known: Set[Tuple[str, str]]) -> List[dict]:
    """Inject every kind of incident into the scoring day of ``t``; returns their descriptions."""
    partners: Dict[str, Set[str]] = defaultdict(set)
    for a, b in AFFINITY:
        partners[a].add(b)
        partners[b].add(a)
    staff = [u for u in t.users if u.kind in ("staff", "part_time") and u.start_day == 0
             and (t.tenant_id, u.account.lower()) in known]
    scene = Scene(g, t, day, emit, staff, partners)
    return [incident for kind in KINDS for incident in kind(scene)]
