"""Masquerades, one function per kind, injected on the scoring day (some also ran on earlier days on
the same computer, as persistence does; some spread to more computers).

Kinds, and the reason a detector should give:

* ``lookalike_short``: one edit of lsass, smss or csrss (``lsas.exe``, ``smsss.exe``) -> name_lookalike
* ``lookalike_edit``: one edit of a longer core name (``svhost.exe``, ``winlogin.exe``) -> name_lookalike
* ``lookalike_swap``: two adjacent letters swapped (``scvhost.exe``, ``lssas.exe``) -> name_lookalike
* ``lookalike_homoglyph``: ``svch0st.exe``, ``rundII32.exe`` (capital I), a Cyrillic letter -> name_lookalike
* ``lookalike_extension``: ``svchost.exe.exe``, ``lsass.com``, ``svchost`` -> name_lookalike
* ``lookalike_tenant``: a look-alike of the tenant's own frequent binary (``chr0me.exe``) -> name_lookalike
* ``unexpected_folder``: a Windows binary's exact name elsewhere (``C:\\Users\\Public\\svchost.exe``)
* ``rare_parent``: the right path, the wrong parent (``svchost.exe`` started by ``powershell.exe``)
"""
from __future__ import annotations

import datetime as dt
from typing import Callable, Dict, List, Optional, Tuple

from ...templates.masquerading.windows import names as windows_names
from . import catalog as K
from .estate import Computer, Estate, Tenant

KINDS = ("lookalike_short", "lookalike_edit", "lookalike_swap", "lookalike_homoglyph", "lookalike_extension",
         "lookalike_tenant", "unexpected_folder", "rare_parent")
REASON = {**{k: "name_lookalike" for k in KINDS if k.startswith("lookalike")},
          "unexpected_folder": "unexpected_folder", "rare_parent": "rare_parent"}

SHORT = ["lsass", "smss", "csrss"]
CORE = ["svchost", "services", "winlogon", "wininit", "explorer", "spoolsv", "conhost", "rundll32", "dllhost",
        "taskhostw", "RuntimeBroker", "SearchIndexer", "regsvr32", "userinit"]
TENANT = {"teams": "Teams", "chrome": "chrome", "outlook": "OUTLOOK", "word": "WINWORD", "excel": "EXCEL",
          "acrobat": "Acrobat", "monitoring": "MonitoringHost", "ccmexec": "CcmExec", "edgeupdate": "MicrosoftEdgeUpdate"}
DROP = ["C:\\Users\\Public", "C:\\ProgramData", "C:\\ProgramData\\Microsoft\\Windows", "C:\\Windows\\Temp",
        "C:\\Users\\{u}\\AppData\\Local\\Temp", "C:\\Users\\{u}\\AppData\\Roaming\\Microsoft", "C:\\PerfLogs",
        "C:\\Intel", "C:\\Windows\\Tasks", "C:\\Windows\\Fonts", "C:\\Windows\\debug"]
HIDE = DROP + ["C:\\Windows\\System32", "C:\\Windows", "C:\\Windows\\SysWOW64"]
MISPLACED = ["svchost.exe", "lsass.exe", "csrss.exe", "rundll32.exe", "conhost.exe", "dllhost.exe", "taskhostw.exe",
             "spoolsv.exe", "smss.exe", "services.exe", "cmd.exe", "powershell.exe", "RuntimeBroker.exe", "winlogon.exe"]
LINEAGE = [("svchost.exe", K.SVCHOST), ("svchost.exe", K.SVCHOST), ("svchost.exe", K.SVCHOST), ("lsass.exe", K.LSASS),
           ("csrss.exe", K.CSRSS), ("smss.exe", K.SMSS), ("services.exe", K.SERVICES), ("winlogon.exe", K.WINLOGON),
           ("spoolsv.exe", K.S32 + "spoolsv.exe"), ("taskhostw.exe", K.S32 + "taskhostw.exe"),
           ("RuntimeBroker.exe", K.S32 + "RuntimeBroker.exe"), ("SearchProtocolHost.exe", K.S32 + "SearchProtocolHost.exe")]
BAD_PARENTS = [K.POWERSHELL, K.CMD, K.S32 + "rundll32.exe", K.EXPLORER, K.S32 + "mshta.exe",
               "C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE", "C:\\Users\\{u}\\AppData\\Local\\Temp\\setup_x64.exe"]
DROPPERS = [K.CMD, K.POWERSHELL, K.SERVICES, K.SVCHOST, K.WMIPRVSE, K.EXPLORER, K.S32 + "rundll32.exe"]
HOMOGLYPHS = {"o": ["0", "\u043e"], "l": ["1", "I"], "e": ["\u0435"], "a": ["\u0430"], "c": ["\u0441"], "s": ["\u0455"],
              "p": ["\u0440"], "x": ["\u0445"], "m": ["rn"], "i": ["1"]}
LETTERS = "abcdefghjkmnpqrtuvwxyz"  # no i, l, o, s: those would be look-alike characters, not edits
KNOWN = {n.rsplit(".", 1)[0] for n in windows_names()} | {"ssms", "notepad2", "notepad"}


class Injector:
    """Injects the incidents of one tenant; ``labels`` collects the labelled (computer, path) rows."""

    def __init__(self, g: Estate, t: Tenant) -> None:
        self.g, self.t, self.rng = g, t, g.rng
        self.labels: List[dict] = []
        self.incidents: List[dict] = []
        self.runs: Dict[Tuple[int, str], List[Callable]] = {}  # (day, computer) -> what to emit there

    # -- names ------------------------------------------------------------
    def _pick(self, items):
        return items[int(self.rng.integers(0, len(items)))]

    def _edit(self, stem: str, ops=("del", "ins", "sub")) -> str:
        rng = self.rng
        for _ in range(100):
            op, pos = self._pick(ops), int(rng.integers(1, len(stem)))
            letter = LETTERS[int(rng.integers(0, len(LETTERS)))]
            out = {"del": stem[:pos] + stem[pos + 1:], "ins": stem[:pos] + letter + stem[pos:],
                   "sub": stem[:pos] + letter + stem[pos + 1:]}[op]
            if out.lower() != stem.lower() and out.lower() not in KNOWN:
                return out
        raise RuntimeError(f"no edit of {stem}")

    def _swap(self, stem: str) -> str:
        options = [i for i in range(len(stem) - 1) if stem[i].lower() != stem[i + 1].lower()]
        for _ in range(50):
            i = self._pick(options)
            out = stem[:i] + stem[i + 1] + stem[i] + stem[i + 2:]
            if out.lower() not in KNOWN:
                return out
        raise RuntimeError(f"no swap of {stem}")

    def _homoglyph(self, stem: str) -> str:
        spots = [i for i, ch in enumerate(stem) if ch.lower() in HOMOGLYPHS]
        i = self._pick(spots)
        return stem[:i] + self._pick(HOMOGLYPHS[stem[i].lower()]) + stem[i + 1:]

    def _extension(self, stem: str) -> str:
        return stem + self._pick([".exe.exe", ".com", "", ".scr", ".pif", ".exe.scr"])

    # -- incidents --------------------------------------------------------
    def _victim(self, servers: bool = True) -> Computer:
        pool = [c for c in self.t.computers if (servers or not c.server) and not c.legacy]
        return self._pick(pool)

    def _run(self, kind: str, c: Computer, day: int, path: str, parent: str, user=None) -> str:
        """Plan the masquerade's runs on ``c`` that day (emitted when the day is generated); its path as shown."""
        self.runs.setdefault((day, c.name), []).append(lambda e: self._emit(e, kind, day, path, parent, user))
        return path.replace("{u}", user.folder if user else "")

    def _emit(self, e, kind: str, day: int, path: str, parent: str, user) -> None:
        rng = self.rng
        at = self.g.day_start(day) + dt.timedelta(hours=float(rng.uniform(0.5, 23)))
        for k in range(1 + int(rng.poisson(1.0))):
            e.process(at + dt.timedelta(minutes=37 * k), path, parent, f'"{path}"' + self._pick(["", " -k netsvcs", " /s", " --update"]),
                      user, tag=kind)
        if rng.random() < 0.5:
            for child in rng.choice(K.DISCOVERY, size=int(rng.integers(1, 4)), replace=False):
                e.process(at + dt.timedelta(seconds=40), str(child), path, str(child).rsplit("\\", 1)[-1], user, True)

    def inject(self, kind: str, score_day: int) -> None:
        rng, c = self.rng, self._victim()
        user = c.user if (c.user and rng.random() < 0.6) else None
        imitated = ""
        if kind == "rare_parent":
            name, path = self._pick(LINEAGE)
            parent = self._pick(BAD_PARENTS)
            imitated = name
        else:
            parent = self._pick(DROPPERS)
            if kind == "unexpected_folder":
                name = self._pick(MISPLACED)
                folder = self._pick(DROP + (["C:\\Windows"] if name != "explorer.exe" else []))
                imitated = name
            elif kind == "lookalike_tenant":
                key = self._pick([k for k in TENANT if k not in ("teams",)] + ["teams"])
                stem = TENANT[key]
                how = self._pick(["homoglyph", "extension"] + (["edit"] if len(stem) >= 6 else []))
                name = (self._homoglyph(stem) + ".exe" if how == "homoglyph" else self._extension(stem) if how == "extension"
                        else self._edit(stem) + ".exe")
                folder, imitated = self._pick(DROP), stem + ".exe"
            else:
                stem = self._pick(SHORT if kind == "lookalike_short" else CORE)
                variant = {"lookalike_short": self._edit, "lookalike_edit": self._edit, "lookalike_swap": self._swap,
                           "lookalike_homoglyph": self._homoglyph}.get(kind)
                name = self._extension(stem) if kind == "lookalike_extension" else variant(stem) + ".exe"
                folder, imitated = self._pick(HIDE), stem + ".exe"
            if "{u}" in folder and not (c.user and user):
                folder = "C:\\ProgramData"
            path = f"{folder}\\{name}"
        if "{u}" in parent and not (c.user and user):
            parent = K.CMD
        days = [score_day]
        if rng.random() < 0.3:  # persistence: it ran on earlier days too
            days = sorted({score_day - int(rng.integers(1, 4)) for _ in range(2)}) + days
        victims = [c] + ([self._victim() for _ in range(int(rng.integers(1, 3)))] if rng.random() < 0.15 else [])
        hit = []
        for victim in victims:
            victim_user = victim.user if (user is not None and victim.user) else None
            if victim_user is None and "{u}" in path + parent:
                continue  # a profile path needs a profile
            for day in days if victim is c else [score_day]:
                shown = self._run(kind, victim, day, path, parent, victim_user)
            hit.append(victim.name)
            self.labels.append({"TenantId": self.t.tenant_id, "Computer": victim.name, "ProcessPath": shown,
                                "kind": kind, "label": 1, "reason": REASON[kind], "imitated": imitated})
        self.incidents.append({"kind": kind, "ProcessPath": path.replace("{u}", user.folder if user else ""),
                               "parent": parent.replace("{u}", user.folder if user else ""), "computers": hit,
                               "days": len(days), "imitated": imitated, "reason": REASON[kind]})


def plan_incidents(g: Estate, t: Tenant, score_day: int, per_kind: int) -> Injector:
    """Plan ``per_kind`` incidents of every kind in ``t``: the injector's ``runs`` say what to emit
    on which computer-day, its ``labels`` and ``incidents`` the ground truth."""
    injector = Injector(g, t)
    for kind in KINDS:
        for _ in range(per_kind):
            injector.inject(kind, score_day)
    return injector


def benign_kind(path: str) -> Optional[str]:
    """The kind of benign look-alike a process path is, if it is one (labelled so it can be counted)."""
    lower = path.lower()
    name = lower.rsplit("\\", 1)[-1]
    if lower.startswith("c:\\windows\\syswow64\\"):
        return "benign_syswow64"
    if name in VENDOR:
        return "benign_vendor"
    if lower.startswith("c:\\users\\") and "\\appdata\\" in lower:
        return "benign_per_user"
    if name in WINDOWS_PAIRS:
        return "benign_windows_pair"
    return None


VENDOR = {K.APPS[a][0].rsplit("\\", 1)[-1].lower() for a in K.VENDOR_LOOKALIKES}
# Windows binaries one edit or a swap from another Windows binary (the recipe's favourite false flags)
WINDOWS_PAIRS: Dict[str, str] = {"taskhostex.exe": "taskhostw.exe", "cscript.exe": "wscript.exe",
                                 "usocoreworker.exe": "mousocoreworker.exe", "mousocoreworker.exe": "usocoreworker.exe",
                                 "wmiapsrv.exe": "wmiprvse.exe", "lsaiso.exe": "lsass.exe",
                                 "searchfilterhost.exe": "searchprotocolhost.exe", "sihost.exe": "svchost.exe"}
