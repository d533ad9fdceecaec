"""The Windows binaries ``masquerading-process`` knows: their folders, and the parents of the core ones.

Sources: Microsoft's documentation of the binaries, the SANS "Hunt Evil" poster (the parents of
the boot and session processes), MITRE CAR-2021-04-001 (a system binary name in an unexpected
place) and ATT&CK T1036.005. Folders are written as a Windows machine shows them; the template
compares them as folder *templates* (lower case, versions and user names folded:
:func:`byoml.templates.masquerading.names.folder_template`).

``CORE`` names are the ones malware imitates most (the boot and session processes, the service
host, the shell and the proxies it launches through): one edit of them is a look-alike however
short the name (``lsas.exe``, ``smsss.exe``). Other names need a longer stem for an edit to count
(``min_edit_length``), since short ordinary names sit one edit from each other (``mode``/``more``).

``PARENTS`` holds the expected parent names of the processes whose lineage is fixed: a system
process started by anything else is reported (``rare_parent``), unless the tenant's own training
data shows that parent on several computers.
"""
from __future__ import annotations

from typing import Dict, List, Mapping, Sequence, Tuple

S32 = r"C:\Windows\System32"
WOW = r"C:\Windows\SysWOW64"
WIN = r"C:\Windows"
WBEM = (r"C:\Windows\System32\wbem", r"C:\Windows\SysWOW64\wbem")
PS = (r"C:\Windows\System32\WindowsPowerShell\v1.0", r"C:\Windows\SysWOW64\WindowsPowerShell\v1.0")
NET = (r"C:\Windows\Microsoft.NET\Framework64\v4.0.30319", r"C:\Windows\Microsoft.NET\Framework\v4.0.30319",
       r"C:\Windows\Microsoft.NET\Framework64\v2.0.50727", r"C:\Windows\Microsoft.NET\Framework\v2.0.50727")
BOTH = (S32, WOW)

# name -> the folders it ships in (the first is shown as the usual one)
_FOLDERS: Dict[str, Sequence[str]] = {
    # boot and session
    "smss.exe": (S32,), "csrss.exe": (S32,), "wininit.exe": (S32,), "winlogon.exe": (S32,),
    "services.exe": (S32,), "lsass.exe": (S32,), "lsaiso.exe": (S32,), "lsm.exe": (S32,),
    "svchost.exe": BOTH, "spoolsv.exe": (S32,), "userinit.exe": BOTH, "logonui.exe": (S32,),
    "dwm.exe": (S32,), "fontdrvhost.exe": (S32,), "sihost.exe": (S32,), "taskhostw.exe": (S32,),
    "taskhost.exe": (S32,), "taskhostex.exe": (S32,), "runtimebroker.exe": (S32,), "ctfmon.exe": BOTH,
    "explorer.exe": (WIN, WOW), "wudfhost.exe": (S32,), "audiodg.exe": (S32,), "conhost.exe": (S32,),
    "dllhost.exe": BOTH, "dllhst3g.exe": BOTH, "backgroundtaskhost.exe": BOTH, "consent.exe": (S32,),
    "smartscreen.exe": (S32,), "searchindexer.exe": (S32,), "searchprotocolhost.exe": BOTH,
    "searchfilterhost.exe": BOTH, "wmiprvse.exe": WBEM, "wmiapsrv.exe": WBEM, "wmic.exe": WBEM,
    "unsecapp.exe": WBEM, "msdtc.exe": BOTH, "vssvc.exe": (S32,), "sppsvc.exe": (S32,),
    "securityhealthservice.exe": (S32,), "securityhealthsystray.exe": (S32,),
    "msmpeng.exe": (r"C:\ProgramData\Microsoft\Windows Defender\Platform\4.18.0.0", r"C:\Program Files\Windows Defender"),
    "mpcmdrun.exe": (r"C:\ProgramData\Microsoft\Windows Defender\Platform\4.18.0.0", r"C:\Program Files\Windows Defender"),
    "nissrv.exe": (r"C:\ProgramData\Microsoft\Windows Defender\Platform\4.18.0.0", r"C:\Program Files\Windows Defender"),
    "trustedinstaller.exe": (r"C:\Windows\servicing",),
    "tiworker.exe": (r"C:\Windows\WinSxS\amd64_microsoft-windows-servicingstack_31bf3856ad364e35_10.0.0.0_none",),
    "wuauclt.exe": (S32,), "usocoreworker.exe": (S32,), "mousocoreworker.exe": (S32,), "musnotification.exe": (S32,),
    "compattelrunner.exe": (S32,), "devicecensus.exe": (S32,), "wermgr.exe": BOTH, "werfault.exe": BOTH,
    "wsmprovhost.exe": BOTH, "rdpclip.exe": (S32,), "winrshost.exe": (S32,),
    # shells, script hosts and the proxies attackers launch through
    "cmd.exe": BOTH, "powershell.exe": PS, "powershell_ise.exe": PS, "rundll32.exe": BOTH, "regsvr32.exe": BOTH,
    "mshta.exe": BOTH, "wscript.exe": BOTH, "cscript.exe": BOTH, "msiexec.exe": BOTH, "cmstp.exe": BOTH,
    "certutil.exe": BOTH, "bitsadmin.exe": BOTH, "schtasks.exe": BOTH, "at.exe": BOTH, "sc.exe": BOTH,
    "reg.exe": BOTH, "regedit.exe": (WIN, WOW), "regedt32.exe": BOTH, "net.exe": BOTH, "net1.exe": BOTH,
    "netsh.exe": BOTH, "wevtutil.exe": BOTH, "vssadmin.exe": (S32,), "bcdedit.exe": (S32,), "wbadmin.exe": (S32,),
    "installutil.exe": NET, "msbuild.exe": NET, "regasm.exe": NET, "regsvcs.exe": NET, "csc.exe": NET,
    "cvtres.exe": NET, "ngen.exe": NET, "ngentask.exe": NET, "aspnet_compiler.exe": NET,
    "forfiles.exe": BOTH, "pcalua.exe": (S32,), "control.exe": BOTH, "mmc.exe": BOTH, "taskmgr.exe": BOTH,
    "eventvwr.exe": BOTH, "perfmon.exe": BOTH, "resmon.exe": BOTH, "msconfig.exe": (S32,), "msinfo32.exe": BOTH,
    "mstsc.exe": BOTH, "msra.exe": BOTH, "sdiagnhost.exe": BOTH, "sethc.exe": BOTH, "utilman.exe": BOTH,
    "osk.exe": BOTH, "magnify.exe": BOTH, "narrator.exe": BOTH,
    "gpupdate.exe": BOTH, "gpresult.exe": BOTH,
    # discovery and admin tools
    "whoami.exe": BOTH, "hostname.exe": BOTH, "ipconfig.exe": BOTH, "systeminfo.exe": BOTH, "tasklist.exe": BOTH,
    "taskkill.exe": BOTH, "netstat.exe": BOTH, "nslookup.exe": BOTH, "ping.exe": BOTH, "tracert.exe": BOTH,
    "arp.exe": BOTH, "route.exe": BOTH, "nltest.exe": BOTH, "quser.exe": BOTH, "qwinsta.exe": BOTH,
    "icacls.exe": BOTH, "takeown.exe": BOTH, "attrib.exe": BOTH, "xcopy.exe": BOTH, "robocopy.exe": BOTH,
    "findstr.exe": BOTH, "find.exe": BOTH, "sort.exe": BOTH, "cipher.exe": BOTH, "cmdkey.exe": BOTH,
    "cmdl32.exe": BOTH, "curl.exe": BOTH, "tar.exe": BOTH, "expand.exe": BOTH, "extrac32.exe": BOTH,
    "makecab.exe": BOTH, "esentutl.exe": BOTH, "ntdsutil.exe": (S32,), "dsquery.exe": BOTH, "dism.exe": BOTH,
    "fsutil.exe": BOTH, "diskpart.exe": (S32,), "shutdown.exe": BOTH, "logoff.exe": BOTH, "chcp.com": BOTH,
    "more.com": BOTH, "mode.com": BOTH, "tree.com": BOTH, "format.com": BOTH, "clip.exe": BOTH,
    "timeout.exe": BOTH, "choice.exe": BOTH, "where.exe": BOTH, "help.exe": BOTH,
    "ssh.exe": (r"C:\Windows\System32\OpenSSH",), "sshd.exe": (r"C:\Windows\System32\OpenSSH",),
    # desktop
    "notepad.exe": (S32, WOW, WIN, r"C:\Program Files\WindowsApps\Microsoft.WindowsNotepad_11.0.0.0_x64__8wekyb3d8bbwe\Notepad"),
    "calc.exe": BOTH, "mspaint.exe": BOTH, "write.exe": (WIN, S32, WOW), "charmap.exe": BOTH, "snippingtool.exe": BOTH,
    "wordpad.exe": (r"C:\Program Files\Windows NT\Accessories", r"C:\Program Files (x86)\Windows NT\Accessories"),
    "iexplore.exe": (r"C:\Program Files\Internet Explorer", r"C:\Program Files (x86)\Internet Explorer"),
    "msedge.exe": (r"C:\Program Files (x86)\Microsoft\Edge\Application", r"C:\Program Files\Microsoft\Edge\Application"),
    "onedrive.exe": (r"C:\Users\*\AppData\Local\Microsoft\OneDrive", r"C:\Program Files\Microsoft OneDrive",
                     r"C:\Program Files (x86)\Microsoft OneDrive"),
    "searchhost.exe": (r"C:\Windows\SystemApps\MicrosoftWindows.Client.CBS_cw5n1h2txyewy",),
    "startmenuexperiencehost.exe": (r"C:\Windows\SystemApps\Microsoft.Windows.StartMenuExperienceHost_cw5n1h2txyewy",),
    "shellexperiencehost.exe": (r"C:\Windows\SystemApps\ShellExperienceHost_cw5n1h2txyewy",),
    "textinputhost.exe": (r"C:\Windows\SystemApps\MicrosoftWindows.Client.CBS_cw5n1h2txyewy",),
}

# The names malware imitates most: an edit counts however short the name (see the module doc).
CORE = frozenset({
    "smss.exe", "csrss.exe", "wininit.exe", "winlogon.exe", "services.exe", "lsass.exe", "lsaiso.exe", "lsm.exe",
    "svchost.exe", "spoolsv.exe", "userinit.exe", "logonui.exe", "sihost.exe", "taskhostw.exe", "taskhost.exe",
    "runtimebroker.exe", "ctfmon.exe", "explorer.exe", "conhost.exe", "dllhost.exe", "audiodg.exe",
    "searchindexer.exe", "wmiprvse.exe", "msmpeng.exe", "rundll32.exe", "regsvr32.exe", "powershell.exe",
    "mshta.exe", "msiexec.exe", "wuauclt.exe", "iexplore.exe", "fontdrvhost.exe",
})

SYSTEM = "system"  # the parent of smss.exe: the kernel, which 4688 shows without a path
# child -> the parents that start it on every Windows machine
PARENTS: Dict[str, Sequence[str]] = {
    "smss.exe": (SYSTEM, "smss.exe"), "csrss.exe": ("smss.exe",), "wininit.exe": ("smss.exe",),
    "winlogon.exe": ("smss.exe",), "services.exe": ("wininit.exe",), "lsass.exe": ("wininit.exe",),
    "lsaiso.exe": ("wininit.exe",), "lsm.exe": ("wininit.exe",), "svchost.exe": ("services.exe",),
    "spoolsv.exe": ("services.exe",), "searchindexer.exe": ("services.exe",), "wudfhost.exe": ("services.exe",),
    "taskhostw.exe": ("svchost.exe",), "taskhostex.exe": ("svchost.exe",), "taskhost.exe": ("services.exe", "svchost.exe"),
    "sihost.exe": ("svchost.exe",), "runtimebroker.exe": ("svchost.exe",), "wmiprvse.exe": ("svchost.exe",),
    "userinit.exe": ("winlogon.exe",), "logonui.exe": ("winlogon.exe",), "dwm.exe": ("winlogon.exe", "svchost.exe"),
    "fontdrvhost.exe": ("wininit.exe", "winlogon.exe"),
    "searchprotocolhost.exe": ("searchindexer.exe",), "searchfilterhost.exe": ("searchindexer.exe",),
}


def folders(extra: Mapping[str, Sequence[str]] = ()) -> List[Tuple[str, str]]:
    """(name, folder) of every shipped binary, plus ``extra`` (the ``extra_folders`` option)."""
    out = [(name, folder) for name, where in _FOLDERS.items() for folder in where]
    for name, where in dict(extra or {}).items():
        out.extend((name.lower(), folder) for folder in where)
    return out


def parents(extra: Mapping[str, Sequence[str]] = ()) -> List[Tuple[str, str]]:
    """(child, parent) names of every fixed lineage, plus ``extra`` (the ``extra_parents`` option)."""
    out = [(child, parent) for child, names in PARENTS.items() for parent in names]
    for child, names in dict(extra or {}).items():
        out.extend((child.lower(), parent.lower()) for parent in names)
    return out


def names() -> List[str]:
    """Every shipped binary name, lower case."""
    return sorted(_FOLDERS)
