"""An ordinary day of one computer: the boot sequence, a user's session and applications, what
Windows and the agents run in the background, 32-bit software, updates, and the servers' work."""
from __future__ import annotations

import datetime as dt

from . import catalog as K
from .estate import Computer, Estate, Tenant
from .rendering import Emitter

APP_RATES = {"outlook": 1, "word": 1.5, "excel": 1.5, "edge": 1.5, "chrome": 1.5, "acrobat": 0.7, "notepad": 0.7,
             "zoom": 0.5, "code": 1, "git": 12, "python": 2, "pythonw": 0.15, "node": 1, "notepadpp": 1, "notepad2": 1, "explorerpp": 0.5,
             "ssms": 1, "mmc": 1, "powershell": 1.5, "mstsc": 1, "cmd": 1}
AT_LOGON = ("teams", "onedrive", "slack")
CITRIX = "C:\\Program Files (x86)\\Citrix\\ICA Client\\SelfServicePlugin\\SelfService.exe"
ONE_OFF_P = [w for _, _, w in K.ONE_OFF]
ONE_OFF_P = [w / sum(ONE_OFF_P) for w in ONE_OFF_P]
TIWORKER = ("C:\\Windows\\WinSxS\\amd64_microsoft-windows-servicingstack_31bf3856ad364e35_10.0.22621.4240_none_"
            "7c05c31b8a43f2b4\\TiWorker.exe")


def _at(g: Estate, day: int, hour: float) -> dt.datetime:
    return g.day_start(day) + dt.timedelta(hours=min(max(hour, 0.0), 23.999))


def boot(g: Estate, c: Computer, e: Emitter, at: dt.datetime) -> None:
    """System -> smss -> smss (per session) -> csrss, wininit / winlogon -> services, lsass -> svchost..."""
    rng = g.rng
    step = [0.0]

    def run(path, parent, cmd):
        step[0] += float(rng.uniform(0.05, 0.6))
        e.process(at + dt.timedelta(seconds=step[0]), path, parent, cmd)

    run(K.SMSS, None, "\\SystemRoot\\System32\\smss.exe")
    for session in ("00000100 00000084", "00000110 00000084"):
        run(K.SMSS, K.SMSS, f"\\SystemRoot\\System32\\smss.exe {session}")
        run(K.CSRSS, K.SMSS, "%SystemRoot%\\system32\\csrss.exe ObjectDirectory=\\Windows SharedSection=1024,20480,768 "
                             "Windows=On SubSystemType=Windows ServerDll=basesrv,1 ServerDll=winsrv:UserServerDllInitialization,3")
        run(K.WININIT if session.startswith("00000100") else K.WINLOGON, K.SMSS,
            "wininit.exe" if session.startswith("00000100") else "winlogon.exe")
    run(K.SERVICES, K.WININIT, "C:\\Windows\\system32\\services.exe")
    run(K.LSASS, K.WININIT, "C:\\Windows\\system32\\lsass.exe")
    if c.os == "win11" and rng.random() < 0.5:
        run(K.S32 + "LsaIso.exe", K.WININIT, "\\??\\C:\\Windows\\system32\\lsaiso.exe")
    if c.os != "2012r2":
        run(K.S32 + "fontdrvhost.exe", K.WININIT, '"fontdrvhost.exe"')
        run(K.S32 + "fontdrvhost.exe", K.WINLOGON, '"fontdrvhost.exe"')
    run(K.S32 + "dwm.exe", K.WINLOGON, '"dwm.exe"')
    run(K.S32 + "LogonUI.exe", K.WINLOGON, '"LogonUI.exe" /flags:0x2 /state0:0xa3b92855 /state1:0x41c64e6d')
    groups = K.SVCHOST_GROUPS if not c.server else K.SVCHOST_GROUPS[:22]
    for group in groups:
        run(K.SVCHOST, K.SERVICES, f"C:\\Windows\\system32\\svchost.exe {group}")
    for path, parent, cmd, _ in K.BOOT_SERVICES:
        run(path, parent, cmd)
    for path, parent, cmd in K.SERVER_BOOT.get(c.role, []):
        run(path, parent, cmd)
    if not c.server:
        run("C:\\Windows\\CCM\\CcmExec.exe", K.SERVICES, "C:\\Windows\\CCM\\CcmExec.exe")


def session(g: Estate, c: Computer, e: Emitter, user, at: dt.datetime, apps: bool) -> None:
    """A logon: userinit -> explorer and the shell's hosts; then the user's applications all day."""
    rng = g.rng
    t = at
    for path, parent, cmd in K.LOGON + (K.WIN11_LOGON if c.os == "win11" else []):
        if c.os == "2012r2" and path.endswith("taskhostw.exe"):
            path = K.S32 + "taskhostex.exe"
        t += dt.timedelta(seconds=float(rng.uniform(0.2, 3)))
        e.process(t, path, parent, cmd, user)
    if c.server:
        e.process(t, K.S32 + "rdpclip.exe", K.SVCHOST, "rdpclip", user)
    elif c.logon_script:
        for path, parent, cmd in K.LOGON_SCRIPT:
            t += dt.timedelta(seconds=float(rng.uniform(1, 5)))
            e.process(t, path, parent, cmd.replace("{dns}", c.name.split(".", 1)[1]), user)
    if c.citrix:
        e.process(t + dt.timedelta(seconds=20), CITRIX, K.EXPLORER, f'"{CITRIX}" -ipoll -startup', user)
    if not apps:
        return
    for app in AT_LOGON:
        if app in c.apps:
            start(g, c, e, user, app, t + dt.timedelta(seconds=float(rng.uniform(5, 60))))
    for app in c.apps:
        for _ in range(int(rng.poisson(APP_RATES.get(app, 0)))):
            start(g, c, e, user, app, at + dt.timedelta(hours=float(rng.uniform(0.2, 8.5))))
    for _ in range(int(rng.poisson(2.0))):  # now and then: installers, tools, the long tail
        one_off(g, e, user, at + dt.timedelta(hours=float(rng.uniform(0.2, 8.5))))
    if c.office32 and rng.random() < 0.5:
        path, parent, cmd, console = K.SYSWOW64[1]
        e.process(at + dt.timedelta(hours=float(rng.uniform(1, 8))), path, parent, cmd, user, console)
    if c.citrix:
        for k in (2, 3, 6):
            if rng.random() < 0.35:
                path, parent, cmd, console = K.SYSWOW64[k]
                e.process(at + dt.timedelta(hours=float(rng.uniform(0.1, 8))), path, parent, cmd, user, console)


def one_off(g: Estate, e: Emitter, user, at: dt.datetime) -> None:
    """A program of the long tail, picked by its weight; versions and GUID folders drawn per run."""
    rng = g.rng
    k = int(rng.choice(len(K.ONE_OFF), p=ONE_OFF_P))
    path, parent, _ = K.ONE_OFF[k]
    fill = {"v": str(int(rng.integers(1, 9))), "V": f"{int(rng.integers(0, 1 << 20)):05X}", "g": g.uuid().upper()}
    path = path.replace("{{{g}}}", "{" + fill["g"] + "}").replace("{v}", fill["v"]).replace("{V}", fill["V"])
    e.process(at, path, parent, f'"{path}"', user)


def start(g: Estate, c: Computer, e: Emitter, user, app: str, at: dt.datetime) -> None:
    """An application start, its launcher where it has one, and the children it starts itself."""
    rng = g.rng
    path, parent, cmd, children, console = K.APPS[app]
    if c.office32 and "Microsoft Office" in path:
        path, cmd = (s.replace("C:\\Program Files\\", "C:\\Program Files (x86)\\") for s in (path, cmd))
    if "{u}" in parent and parent != path and not parent.endswith("Code.exe"):  # a per-user launcher
        e.process(at - dt.timedelta(seconds=2), parent, K.EXPLORER, f'"{parent}" --processStart {path.rsplit(chr(92), 1)[-1]}', user)
    e.process(at, path, parent, cmd, user, console, elevated=app in ("mmc", "ssms") or (app == "powershell" and rng.random() < 0.4))
    for k in range(int(rng.poisson(children)) if children else 0):
        e.process(at + dt.timedelta(seconds=1 + k), path, path, f"{cmd.split(' --')[0]} --type=renderer --lang=en-US", user)


def background(g: Estate, c: Computer, e: Emitter, day: int) -> None:
    """What Windows, Defender, the monitoring agent, updaters and management run through the day."""
    rng = g.rng
    items = list(K.BACKGROUND)
    if c.server:
        items = [i for i in items if "EdgeUpdate" not in i[0] and "CCM" not in i[0] and "consent" not in i[0]]
    elif c.os == "win11":
        items += K.WIN11_BACKGROUND
    else:
        items += K.WIN10_BACKGROUND
    if "chrome" in c.apps:
        items.append(K.GOOGLE_UPDATER if c.new_chrome_updater else K.CHROME_UPDATE)
    items += [(p, parent, cmd, console, rate) for p, parent, cmd, console, rate in K.SERVER_DAILY.get(c.role, [])]
    for path, parent, cmd, console, rate in items:
        if c.os == "2012r2" and path.endswith("taskhostw.exe"):
            path = K.S32 + "taskhostex.exe"
        for _ in range(int(rng.poisson(rate))):
            at = _at(g, day, float(rng.uniform(0, 24)))
            e.process(at, path, parent, cmd, None, console)
            if rng.random() < 0.3:
                e.exit_event(at + dt.timedelta(seconds=float(rng.uniform(1, 300))), path)
    if rng.random() < 0.3:  # COM surrogate of a 32-bit component
        path, parent, cmd, console = K.SYSWOW64[5]
        e.process(_at(g, day, float(rng.uniform(0, 24))), path, parent, cmd, None, console)
    if rng.random() < 0.06:  # a software install with 32-bit custom actions
        at = _at(g, day, float(rng.uniform(9, 17)))
        e.process(at, K.S32 + "msiexec.exe", K.SERVICES, "C:\\Windows\\system32\\msiexec.exe /V")
        for k in (0, 4):
            path, parent, cmd, console = K.SYSWOW64[k]
            e.process(at + dt.timedelta(seconds=5 + k), path, parent, cmd, None, console)
    if rng.random() < 0.04:  # servicing: TrustedInstaller -> TiWorker -> DismHost from a GUID folder in Temp
        at = _at(g, day, float(rng.uniform(0, 24)))
        e.process(at, "C:\\Windows\\servicing\\TrustedInstaller.exe", K.SERVICES, "C:\\Windows\\servicing\\TrustedInstaller.exe")
        e.process(at + dt.timedelta(seconds=2), TIWORKER, K.SVCHOST, TIWORKER + " -Embedding")
        folder = g.uuid().upper()
        e.process(at + dt.timedelta(seconds=30), f"C:\\Windows\\Temp\\{folder}\\DismHost.exe", TIWORKER,
                  f"C:\\Windows\\TEMP\\{folder}\\dismhost.exe {{{g.uuid().upper()}}}")
    if rng.random() < 0.05:  # Defender definitions from Windows Update
        build = int(rng.integers(400, 1200))
        e.process(_at(g, day, float(rng.uniform(0, 24))),
                  f"C:\\Windows\\SoftwareDistribution\\Download\\Install\\AM_Delta_Patch_1.421.{build}.0.exe", K.SVCHOST,
                  f'"C:\\Windows\\SoftwareDistribution\\Download\\Install\\AM_Delta_Patch_1.421.{build}.0.exe" WD /q')


def computer_day(g: Estate, t: Tenant, c: Computer, day: int, e: Emitter) -> None:
    """One ordinary day of ``c``."""
    rng = g.rng
    weekend = g.day_start(day).weekday() >= 5
    if c.server:
        if rng.random() < c.boot_rate:
            boot(g, c, e, _at(g, day, float(rng.uniform(1, 4))))
        if rng.random() < (0.05 if weekend else 0.25):  # an administrator's remote session
            admin = t.admins[int(rng.integers(0, len(t.admins)))]
            at = _at(g, day, float(rng.normal(13, 2.5)))
            session(g, c, e, admin, at, apps=False)
            for app in ("powershell", "mmc", "cmd"):
                if rng.random() < 0.6:
                    start(g, c, e, admin, app, at + dt.timedelta(minutes=float(rng.uniform(1, 90))))
            if rng.random() < 0.3:
                e.process(at + dt.timedelta(minutes=5), K.S32 + "whoami.exe", K.POWERSHELL, "whoami.exe /all", admin, True)
    else:
        active = rng.random() < (0.06 if weekend else 0.92)
        logon = _at(g, day, float(rng.normal(8.3, 0.8)))
        if active and rng.random() < c.boot_rate:
            boot(g, c, e, logon - dt.timedelta(minutes=float(rng.uniform(1, 4))))
        if active:
            session(g, c, e, c.user, logon, apps=True)
    background(g, c, e, day)
