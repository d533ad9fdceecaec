"""What runs on a Windows estate, with the paths, parents and command lines Windows gives it.

Paths are real Windows paths; ``{u}`` stands for the user profile folder name. Parents follow the
boot sequence (System -> smss -> smss -> csrss / wininit / winlogon; wininit -> services, lsass;
services -> svchost, spoolsv...), the logon (winlogon -> userinit -> explorer) and what the
applications start (a browser's renderers are its own children, a console program gets a conhost).
"""
from __future__ import annotations

S32 = "C:\\Windows\\System32\\"
WOW = "C:\\Windows\\SysWOW64\\"
SMSS, CSRSS, WININIT, WINLOGON = S32 + "smss.exe", S32 + "csrss.exe", S32 + "wininit.exe", S32 + "winlogon.exe"
SERVICES, LSASS, SVCHOST = S32 + "services.exe", S32 + "lsass.exe", S32 + "svchost.exe"
EXPLORER, USERINIT, CMD = "C:\\Windows\\explorer.exe", S32 + "userinit.exe", S32 + "cmd.exe"
POWERSHELL = S32 + "WindowsPowerShell\\v1.0\\powershell.exe"
CONHOST, WMIPRVSE = S32 + "conhost.exe", S32 + "wbem\\WmiPrvSE.exe"
SEARCHINDEXER = S32 + "SearchIndexer.exe"
DEFENDER = "C:\\ProgramData\\Microsoft\\Windows Defender\\Platform\\4.18.24090.11-0\\"
MSMPENG = DEFENDER + "MsMpEng.exe"
HEALTH = "C:\\Program Files\\Microsoft Monitoring Agent\\Agent\\"

# svchost groups a boot starts (Windows 10/11 split most services into their own host)
SVCHOST_GROUPS = [
    "-k DcomLaunch -p", "-k RPCSS -p", "-k LocalServiceNetworkRestricted -p -s lmhosts", "-k netsvcs -p -s Schedule",
    "-k netsvcs -p -s gpsvc", "-k LocalService -p -s EventSystem", "-k netsvcs -p -s ProfSvc", "-k netsvcs -p -s Themes",
    "-k LocalServiceNetworkRestricted -p -s Dhcp", "-k NetworkService -p -s Dnscache", "-k LocalServiceNoNetwork -p",
    "-k netsvcs -p -s SENS", "-k LocalSystemNetworkRestricted -p -s SysMain", "-k netsvcs -p -s Winmgmt",
    "-k LocalServiceNetworkRestricted -p -s EventLog", "-k NetworkService -p -s CryptSvc", "-k netsvcs -p -s BITS",
    "-k netsvcs -p -s wuauserv", "-k LocalService -p -s BthAvctpSvc", "-k UnistackSvcGroup", "-k appmodel -p -s StateRepository",
    "-k netsvcs -p -s LanmanServer", "-k NetworkService -p -s LanmanWorkstation", "-k LocalService -s W32Time",
    "-k netsvcs -p -s UserManager", "-k LocalSystemNetworkRestricted -p -s NcbService", "-k netsvcs -p -s iphlpsvc",
    "-k LocalServiceNetworkRestricted -p -s WinHttpAutoProxySvc", "-k ClipboardSvcGroup -p -s cbdhsvc",
    "-k wsappx -p -s AppXSvc", "-k netsvcs -p -s Appinfo", "-k LocalService -p -s FontCache",
    "-k NetSvcs -p -s TokenBroker", "-k LocalSystemNetworkRestricted -p -s PcaSvc", "-k print", "-k rdxgroup",
]

# (path, parent, command line, console?) started by services at boot, besides the svchost hosts
BOOT_SERVICES = [
    (S32 + "spoolsv.exe", SERVICES, "C:\\Windows\\System32\\spoolsv.exe", False),
    (MSMPENG, SERVICES, '"' + MSMPENG + '"', False),
    (DEFENDER + "NisSrv.exe", SERVICES, '"' + DEFENDER + 'NisSrv.exe"', False),
    (S32 + "SecurityHealthService.exe", SERVICES, "C:\\Windows\\system32\\SecurityHealthService.exe", False),
    (SEARCHINDEXER, SERVICES, "C:\\Windows\\system32\\SearchIndexer.exe /Embedding", False),
    (S32 + "msdtc.exe", SERVICES, "C:\\Windows\\System32\\msdtc.exe", False),
    (S32 + "sppsvc.exe", SERVICES, "C:\\Windows\\system32\\sppsvc.exe", False),
    (HEALTH + "HealthService.exe", SERVICES, '"' + HEALTH + 'HealthService.exe"', False),
    (S32 + "wbem\\WmiApSrv.exe", SERVICES, "C:\\Windows\\system32\\wbem\\WmiApSrv.exe", False),
]

# (path, parent, command line) of a session's start
LOGON = [
    (USERINIT, WINLOGON, "C:\\Windows\\system32\\userinit.exe"),
    (EXPLORER, USERINIT, "C:\\Windows\\Explorer.EXE"),
    (S32 + "sihost.exe", SVCHOST, "sihost.exe"),
    (S32 + "taskhostw.exe", SVCHOST, "taskhostw.exe {222A245B-E637-4AE9-A93F-A59CA119A75E}"),
    (S32 + "RuntimeBroker.exe", SVCHOST, "C:\\Windows\\System32\\RuntimeBroker.exe -Embedding"),
    (S32 + "ctfmon.exe", SVCHOST, '"ctfmon.exe"'),
    (S32 + "SecurityHealthSystray.exe", EXPLORER, '"C:\\Windows\\System32\\SecurityHealthSystray.exe"'),
    (S32 + "dllhost.exe", SVCHOST, "C:\\Windows\\system32\\DllHost.exe /Processid:{AB8902B4-09CA-4BB6-B78D-A8F59079A8D5}"),
    ("C:\\Windows\\SystemApps\\Microsoft.Windows.StartMenuExperienceHost_cw5n1h2txyewy\\StartMenuExperienceHost.exe", SVCHOST,
     '"C:\\Windows\\SystemApps\\Microsoft.Windows.StartMenuExperienceHost_cw5n1h2txyewy\\StartMenuExperienceHost.exe" -ServerName:App.AppXywbrabmsek0gm3tkwpr5kwzbs55tkqay.mca'),
    ("C:\\Windows\\SystemApps\\MicrosoftWindows.Client.CBS_cw5n1h2txyewy\\TextInputHost.exe", SVCHOST,
     '"C:\\Windows\\SystemApps\\MicrosoftWindows.Client.CBS_cw5n1h2txyewy\\TextInputHost.exe" -ServerName:InputApp.AppX9jnwy6v8x9xcfgy2j2mjzhx4ct1e8vce.mca'),
]
WIN11_LOGON = [("C:\\Windows\\SystemApps\\MicrosoftWindows.Client.CBS_cw5n1h2txyewy\\SearchHost.exe", SVCHOST,
                '"C:\\Windows\\SystemApps\\MicrosoftWindows.Client.CBS_cw5n1h2txyewy\\SearchHost.exe" -ServerName:CortanaUI.AppX8z9r6jm96hw4bsbneegw0kyxx296wr9t.mca')]

# Applications: key -> (path, parent, command line, children per start (path is its own), console)
APPS = {
    "edge": ("C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\msedge.exe", EXPLORER,
             '"C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\msedge.exe" --profile-directory=Default', 14, False),
    "chrome": ("C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe", EXPLORER,
               '"C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe"', 14, False),
    "outlook": ("C:\\Program Files\\Microsoft Office\\root\\Office16\\OUTLOOK.EXE", EXPLORER,
                '"C:\\Program Files\\Microsoft Office\\root\\Office16\\OUTLOOK.EXE"', 0, False),
    "word": ("C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE", EXPLORER,
             '"C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE" /n', 0, False),
    "excel": ("C:\\Program Files\\Microsoft Office\\root\\Office16\\EXCEL.EXE", EXPLORER,
              '"C:\\Program Files\\Microsoft Office\\root\\Office16\\EXCEL.EXE"', 0, False),
    "acrobat": ("C:\\Program Files\\Adobe\\Acrobat DC\\Acrobat\\Acrobat.exe", EXPLORER,
                '"C:\\Program Files\\Adobe\\Acrobat DC\\Acrobat\\Acrobat.exe"', 1, False),
    "notepad": (S32 + "notepad.exe", EXPLORER, '"C:\\Windows\\system32\\notepad.exe"', 0, False),
    "teams": ("C:\\Users\\{u}\\AppData\\Local\\Microsoft\\Teams\\current\\Teams.exe",
              "C:\\Users\\{u}\\AppData\\Local\\Microsoft\\Teams\\Update.exe",
              '"C:\\Users\\{u}\\AppData\\Local\\Microsoft\\Teams\\current\\Teams.exe"', 6, False),
    "zoom": ("C:\\Users\\{u}\\AppData\\Roaming\\Zoom\\bin\\Zoom.exe", EXPLORER,
             '"C:\\Users\\{u}\\AppData\\Roaming\\Zoom\\bin\\Zoom.exe"', 0, False),
    "slack": ("C:\\Users\\{u}\\AppData\\Local\\slack\\app-4.41.97\\slack.exe", "C:\\Users\\{u}\\AppData\\Local\\slack\\slack.exe",
              '"C:\\Users\\{u}\\AppData\\Local\\slack\\app-4.41.97\\slack.exe" --process-start-args --startup', 5, False),
    "onedrive": ("C:\\Users\\{u}\\AppData\\Local\\Microsoft\\OneDrive\\OneDrive.exe", EXPLORER,
                 '"C:\\Users\\{u}\\AppData\\Local\\Microsoft\\OneDrive\\OneDrive.exe" /background', 0, False),
    "code": ("C:\\Users\\{u}\\AppData\\Local\\Programs\\Microsoft VS Code\\Code.exe", EXPLORER,
             '"C:\\Users\\{u}\\AppData\\Local\\Programs\\Microsoft VS Code\\Code.exe"', 8, False),
    "git": ("C:\\Program Files\\Git\\cmd\\git.exe", "C:\\Users\\{u}\\AppData\\Local\\Programs\\Microsoft VS Code\\Code.exe",
            "git status -z -uall", 0, True),
    "python": ("C:\\Users\\{u}\\AppData\\Local\\Programs\\Python\\Python312\\python.exe", CMD,
               "python manage.py test", 0, True),
    "pythonw": ("C:\\Users\\{u}\\AppData\\Local\\Programs\\Python\\Python312\\pythonw.exe", EXPLORER,
                '"C:\\Users\\{u}\\AppData\\Local\\Programs\\Python\\Python312\\pythonw.exe" -m idlelib', 0, False),
    "node": ("C:\\Program Files\\nodejs\\node.exe", CMD, '"C:\\Program Files\\nodejs\\node.exe" server.js', 0, True),
    "notepadpp": ("C:\\Program Files\\Notepad++\\notepad++.exe", EXPLORER, '"C:\\Program Files\\Notepad++\\notepad++.exe"', 0, False),
    # vendor binaries named like Windows ones: must not flag
    "notepad2": ("C:\\Users\\{u}\\AppData\\Local\\Programs\\Notepad2\\Notepad2.exe", EXPLORER,
                 '"C:\\Users\\{u}\\AppData\\Local\\Programs\\Notepad2\\Notepad2.exe"', 0, False),
    "explorerpp": ("C:\\Program Files\\Explorer++\\Explorer++.exe", EXPLORER, '"C:\\Program Files\\Explorer++\\Explorer++.exe"', 0, False),
    "ssms": ("C:\\Program Files (x86)\\Microsoft SQL Server Management Studio 19\\Common7\\IDE\\Ssms.exe", EXPLORER,
             '"C:\\Program Files (x86)\\Microsoft SQL Server Management Studio 19\\Common7\\IDE\\Ssms.exe"', 0, False),
    "mmc": (S32 + "mmc.exe", EXPLORER, '"C:\\Windows\\system32\\mmc.exe" "C:\\Windows\\system32\\dsa.msc"', 0, False),
    "powershell": (POWERSHELL, EXPLORER, '"C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe"', 0, True),
    "mstsc": (S32 + "mstsc.exe", EXPLORER, '"C:\\Windows\\system32\\mstsc.exe"', 0, False),
    "cmd": (CMD, EXPLORER, '"C:\\Windows\\system32\\cmd.exe"', 0, True),
}
VENDOR_LOOKALIKES = {"notepad2": "notepad.exe", "explorerpp": "explorer.exe", "ssms": "smss.exe"}
PER_USER = ("teams", "zoom", "slack", "onedrive", "code", "python", "pythonw", "notepad2")

# (path, parent, command line, console?, mean per day) of what runs in the background of a workstation
BACKGROUND = [
    (WMIPRVSE, SVCHOST, "C:\\Windows\\system32\\wbem\\wmiprvse.exe -secured -Embedding", False, 8),
    (S32 + "taskhostw.exe", SVCHOST, "taskhostw.exe Install $(Arg0)", False, 3),
    (S32 + "backgroundTaskHost.exe", SVCHOST,
     '"C:\\Windows\\system32\\backgroundTaskHost.exe" -ServerName:BackgroundTaskHost.WebAccountProvider', False, 3),
    (S32 + "SearchProtocolHost.exe", SEARCHINDEXER,
     '"C:\\Windows\\system32\\SearchProtocolHost.exe" Global\\UsGthrFltPipeMssGthrPipe1_ Global\\UsGthrCtrlFltPipeMssGthrPipe1', False, 8),
    (S32 + "SearchFilterHost.exe", SEARCHINDEXER, '"C:\\Windows\\system32\\SearchFilterHost.exe" 0 716 720 728 8192 724 700', False, 8),
    (S32 + "dllhost.exe", SVCHOST, "C:\\Windows\\system32\\DllHost.exe /Processid:{3EB3C877-1F16-487C-9050-104DBCD66683}", False, 3),
    (S32 + "RuntimeBroker.exe", SVCHOST, "C:\\Windows\\System32\\RuntimeBroker.exe -Embedding", False, 2),
    (HEALTH + "MonitoringHost.exe", HEALTH + "HealthService.exe", '"' + HEALTH + 'MonitoringHost.exe" -Embedding', False, 6),
    (DEFENDER + "MpCmdRun.exe", SVCHOST, '"' + DEFENDER + 'MpCmdRun.exe" -IdleTask -TaskName WdCacheMaintenance', True, 1),
    (S32 + "smartscreen.exe", SVCHOST, "C:\\Windows\\System32\\smartscreen.exe -Embedding", False, 1.5),
    (S32 + "svchost.exe", SERVICES, "C:\\Windows\\system32\\svchost.exe -k netsvcs -p -s DsmSvc", False, 1.5),
    ("C:\\Program Files (x86)\\Microsoft\\EdgeUpdate\\MicrosoftEdgeUpdate.exe", SVCHOST,
     '"C:\\Program Files (x86)\\Microsoft\\EdgeUpdate\\MicrosoftEdgeUpdate.exe" /ua /installsource scheduler', False, 2),
    ("C:\\Windows\\CCM\\CcmExec.exe", SERVICES, "C:\\Windows\\CCM\\CcmExec.exe", False, 0.2),
    ("C:\\Windows\\CCM\\CcmEval.exe", SVCHOST, "C:\\Windows\\CCM\\CcmEval.exe", False, 0.8),
    (S32 + "wermgr.exe", SVCHOST, "C:\\Windows\\system32\\wermgr.exe -upload", False, 0.5),
    (S32 + "CompatTelRunner.exe", SVCHOST, "C:\\Windows\\system32\\compattelrunner.exe", False, 0.4),
    (S32 + "consent.exe", SVCHOST, "consent.exe 1176 288 000001E4C6A2B0E0", False, 0.4),
]
WIN11_BACKGROUND = [(S32 + "MoUsoCoreWorker.exe", SVCHOST, "C:\\Windows\\System32\\mousocoreworker.exe -Embedding", False, 1.5)]
WIN10_BACKGROUND = [(S32 + "usocoreworker.exe", SVCHOST, "C:\\Windows\\System32\\usocoreworker.exe -Embedding", False, 1.5),
                    (S32 + "cscript.exe", SVCHOST, "C:\\Windows\\system32\\cscript.exe //nologo C:\\Windows\\Scripts\\inventory.vbs", True, 0.3)]
# Chrome's updater since 2024 (a versioned folder); estates on the older GoogleUpdate.exe have both
GOOGLE_UPDATER = ("C:\\Program Files (x86)\\Google\\GoogleUpdater\\131.0.6724.0\\updater.exe", SVCHOST,
                  '"C:\\Program Files (x86)\\Google\\GoogleUpdater\\131.0.6724.0\\updater.exe" --wake --system', False, 1.5)
# a group policy logon script: gpscript.exe -> wscript.exe
LOGON_SCRIPT = [(S32 + "gpscript.exe", SVCHOST, "gpscript.exe /Logon"),
                (S32 + "wscript.exe", S32 + "gpscript.exe", 'C:\\Windows\\System32\\WScript.exe "\\\\{dns}\\SysVol\\{dns}\\scripts\\logon.vbs"')]
CHROME_UPDATE = ("C:\\Program Files (x86)\\Google\\Update\\GoogleUpdate.exe", SVCHOST,
                 '"C:\\Program Files (x86)\\Google\\Update\\GoogleUpdate.exe" /ua /installsource scheduler', False, 2)

# 32-bit software starts the SysWOW64 copies of Windows binaries (benign look-alikes by folder)
SYSWOW64 = [
    (WOW + "msiexec.exe", S32 + "msiexec.exe", "C:\\Windows\\syswow64\\MsiExec.exe -Embedding 5A1B2C3D4E5F60718293A4B5C6D7E8F9 C", False),
    (WOW + "rundll32.exe", "C:\\Program Files (x86)\\Microsoft Office\\root\\Office16\\WINWORD.EXE",
     '"C:\\Windows\\SysWOW64\\rundll32.exe" C:\\Windows\\SysWOW64\\printui.dll,PrintUIEntryDPIAware', False),
    (WOW + "cmd.exe", "C:\\Program Files (x86)\\Citrix\\ICA Client\\SelfServicePlugin\\SelfService.exe",
     'C:\\Windows\\SysWOW64\\cmd.exe /c "ipconfig /all"', True),
    (WOW + "WindowsPowerShell\\v1.0\\powershell.exe", "C:\\Program Files (x86)\\Citrix\\ICA Client\\SelfServicePlugin\\SelfService.exe",
     "C:\\Windows\\SysWOW64\\WindowsPowerShell\\v1.0\\powershell.exe -NoProfile -Command Get-CimInstance Win32_OperatingSystem", True),
    (WOW + "regsvr32.exe", WOW + "msiexec.exe", '"C:\\Windows\\SysWOW64\\regsvr32.exe" /s "C:\\Program Files (x86)\\Common Files\\Adobe\\ARM\\1.0\\armsvc.dll"', False),
    (WOW + "dllhost.exe", SVCHOST, "C:\\Windows\\SysWOW64\\DllHost.exe /Processid:{76D0CB12-7604-4048-B83C-1005C7DDC503}", False),
    (WOW + "WerFault.exe", "C:\\Program Files (x86)\\Citrix\\ICA Client\\SelfServicePlugin\\SelfService.exe",
     "C:\\Windows\\SysWOW64\\WerFault.exe -u -p 8836 -s 1140", False),
]

# per server role: (path, parent, command line, console?, mean per day) besides the background
SERVER_DAILY = {
    "dc": [(S32 + "dllhost.exe", SVCHOST, "C:\\Windows\\system32\\DllHost.exe /Processid:{02D4B3F1-FD88-11D1-960D-00805FC79235}", False, 4),
           (S32 + "gpupdate.exe", SVCHOST, "gpupdate.exe /target:computer", True, 1),
           (WMIPRVSE, SVCHOST, "C:\\Windows\\system32\\wbem\\wmiprvse.exe -Embedding", False, 8)],
    "sql": [(CMD, "C:\\Program Files\\Microsoft SQL Server\\MSSQL16.MSSQLSERVER\\MSSQL\\Binn\\SQLAGENT.EXE",
             'C:\\Windows\\system32\\cmd.exe /c "D:\\Jobs\\nightly-backup.cmd"', True, 3),
            ("C:\\Program Files\\Microsoft SQL Server\\Client SDK\\ODBC\\170\\Tools\\Binn\\SQLCMD.EXE", CMD,
             'SQLCMD.EXE -S . -E -i "D:\\Jobs\\maintenance.sql"', True, 3)],
    "web": [(S32 + "inetsrv\\w3wp.exe", SVCHOST, 'c:\\windows\\system32\\inetsrv\\w3wp.exe -ap "DefaultAppPool" -v "v4.0" -l "webengine4.dll"',
             False, 4),
            ("C:\\Windows\\Microsoft.NET\\Framework64\\v4.0.30319\\csc.exe", S32 + "inetsrv\\w3wp.exe",
             '"C:\\Windows\\Microsoft.NET\\Framework64\\v4.0.30319\\csc.exe" /noconfig /fullpaths @"C:\\Windows\\Microsoft.NET\\Framework64\\v4.0.30319\\Temporary ASP.NET Files\\root\\x.cmdline"',
             False, 1)],
    "file": [(S32 + "dllhost.exe", SVCHOST, "C:\\Windows\\system32\\DllHost.exe /Processid:{AB8902B4-09CA-4BB6-B78D-A8F59079A8D5}", False, 2)],
    "app": [("C:\\Program Files\\Contoso\\Billing\\BillingWorker.exe", SERVICES, '"C:\\Program Files\\Contoso\\Billing\\BillingWorker.exe" --queue invoices', False, 6)],
}
SERVER_BOOT = {
    "dc": [(S32 + "dns.exe", SERVICES, "C:\\Windows\\system32\\dns.exe"), (S32 + "dfsrs.exe", SERVICES, "C:\\Windows\\system32\\DFSRs.exe"),
           (S32 + "ismserv.exe", SERVICES, "C:\\Windows\\System32\\ismserv.exe"),
           ("C:\\Windows\\ADWS\\Microsoft.ActiveDirectory.WebServices.exe", SERVICES, "C:\\Windows\\ADWS\\Microsoft.ActiveDirectory.WebServices.exe")],
    "sql": [("C:\\Program Files\\Microsoft SQL Server\\MSSQL16.MSSQLSERVER\\MSSQL\\Binn\\sqlservr.exe", SERVICES,
             '"C:\\Program Files\\Microsoft SQL Server\\MSSQL16.MSSQLSERVER\\MSSQL\\Binn\\sqlservr.exe" -sMSSQLSERVER'),
            ("C:\\Program Files\\Microsoft SQL Server\\MSSQL16.MSSQLSERVER\\MSSQL\\Binn\\SQLAGENT.EXE", SERVICES,
             '"C:\\Program Files\\Microsoft SQL Server\\MSSQL16.MSSQLSERVER\\MSSQL\\Binn\\SQLAGENT.EXE" -i MSSQLSERVER')],
    "web": [(S32 + "inetsrv\\inetinfo.exe", SERVICES, "C:\\Windows\\system32\\inetsrv\\inetinfo.exe")],
    "file": [], "app": [],
}

# what an attacker runs once in: discovery, as children of the masquerade
DISCOVERY = [S32 + "whoami.exe", S32 + "ipconfig.exe", S32 + "net.exe", S32 + "systeminfo.exe", S32 + "nltest.exe",
             S32 + "tasklist.exe", S32 + "quser.exe"]

# The long tail: programs a computer runs now and then (the many names each seen once or twice a day
# across an estate). (path, parent, weight); {u} is the profile, {v} a number drawn per run (versions).
OFFICE = "C:\\Program Files\\Microsoft Office\\root\\Office16\\"
SYSINTERNALS = "C:\\Program Files\\Sysinternals\\"
ONE_OFF = [
    ("C:\\Users\\{u}\\Downloads\\vc_redist.x64.exe", EXPLORER, 2), ("C:\\Users\\{u}\\Downloads\\ChromeSetup.exe", EXPLORER, 1),
    ("C:\\Users\\{u}\\Downloads\\ZoomInstallerFull.exe", EXPLORER, 1), ("C:\\Users\\{u}\\Downloads\\Git-2.4{v}.0-64-bit.exe", EXPLORER, 0.5),
    ("C:\\Users\\{u}\\Downloads\\python-3.12.{v}-amd64.exe", EXPLORER, 0.5), ("C:\\Users\\{u}\\Downloads\\npp.8.6.{v}.Installer.x64.exe", EXPLORER, 0.5),
    ("C:\\Users\\{u}\\Downloads\\windowsdesktop-runtime-8.0.{v}-win-x64.exe", EXPLORER, 0.5),
    ("C:\\Program Files (x86)\\Microsoft\\EdgeUpdate\\Install\\{{{g}}}\\MicrosoftEdgeUpdateSetup_X86_1.3.19{v}.31.exe",
     "C:\\Program Files (x86)\\Microsoft\\EdgeUpdate\\MicrosoftEdgeUpdate.exe", 2),
    ("C:\\Program Files (x86)\\Microsoft\\EdgeWebView\\Application\\131.0.2903.{v}\\msedgewebview2.exe", OFFICE + "OUTLOOK.EXE", 4),
    (S32 + "MRT.exe", SVCHOST, 1.5), (S32 + "cleanmgr.exe", EXPLORER, 0.5), (S32 + "dxdiag.exe", EXPLORER, 0.3),
    (S32 + "msinfo32.exe", EXPLORER, 0.3), (S32 + "SnippingTool.exe", EXPLORER, 2), (S32 + "mspaint.exe", EXPLORER, 1),
    (S32 + "calc.exe", EXPLORER, 1.5), (S32 + "printui.exe", EXPLORER, 0.5), (S32 + "control.exe", EXPLORER, 1),
    ("C:\\Windows\\ImmersiveControlPanel\\SystemSettings.exe", SVCHOST, 2), (S32 + "sdclt.exe", EXPLORER, 0.2),
    (S32 + "wsl.exe", EXPLORER, 0.3), (S32 + "Dism.exe", CMD, 0.2), (S32 + "taskmgr.exe", EXPLORER, 1.5),
    (S32 + "eventvwr.exe", EXPLORER, 0.3), (S32 + "regedit.exe".replace("System32\\", ""), EXPLORER, 0.3),
    ("C:\\Program Files\\7-Zip\\7zFM.exe", EXPLORER, 1.5), ("C:\\Program Files\\7-Zip\\7zG.exe", "C:\\Program Files\\7-Zip\\7zFM.exe", 1),
    ("C:\\Program Files\\VideoLAN\\VLC\\vlc.exe", EXPLORER, 0.7), ("C:\\Program Files (x86)\\WinSCP\\WinSCP.exe", EXPLORER, 0.4),
    ("C:\\Program Files\\PuTTY\\putty.exe", EXPLORER, 0.4), ("C:\\Program Files\\Mozilla Firefox\\firefox.exe", EXPLORER, 0.8),
    (OFFICE + "ONENOTE.EXE", EXPLORER, 2.5), (OFFICE + "ONENOTEM.EXE", EXPLORER, 0.4), (OFFICE + "POWERPNT.EXE", EXPLORER, 3),
    (OFFICE + "MSACCESS.EXE", EXPLORER, 0.3), (OFFICE + "VISIO.EXE", EXPLORER, 0.3), (OFFICE + "SDXHelper.exe", OFFICE + "WINWORD.EXE", 2),
    (OFFICE + "ai.exe", OFFICE + "WINWORD.EXE", 1.5),
    ("C:\\Program Files\\Common Files\\microsoft shared\\ClickToRun\\OfficeC2RClient.exe", SVCHOST, 0.8),
    ("C:\\Program Files\\Cisco\\Cisco AnyConnect Secure Mobility Client\\vpnui.exe", EXPLORER, 2),
    ("C:\\Program Files\\Dell\\CommandUpdate\\dcu-cli.exe", SVCHOST, 0.8), ("C:\\Program Files\\TeamViewer\\TeamViewer.exe", EXPLORER, 0.3),
    ("C:\\Users\\{u}\\AppData\\Roaming\\Spotify\\Spotify.exe", EXPLORER, 0.8),
    ("C:\\Users\\{u}\\AppData\\Local\\Discord\\app-1.0.90{v}\\Discord.exe", EXPLORER, 0.3),
    ("C:\\Users\\{u}\\AppData\\Local\\Postman\\app-11.{v}.0\\Postman.exe", EXPLORER, 0.2),
    ("C:\\Program Files\\WindowsApps\\Microsoft.WindowsTerminal_1.21.{v}.0_x64__8wekyb3d8bbwe\\WindowsTerminal.exe", EXPLORER, 0.6),
    (SYSINTERNALS + "Autoruns64.exe", EXPLORER, 0.15), (SYSINTERNALS + "autorunsc64.exe", CMD, 0.1),
    (SYSINTERNALS + "procexp64.exe", EXPLORER, 0.2), (SYSINTERNALS + "Procmon64.exe", EXPLORER, 0.15),
    ("C:\\Users\\{u}\\AppData\\Local\\Temp\\is-{V}.tmp\\unins000.exe", EXPLORER, 0.2),
    ("C:\\Users\\{u}\\AppData\\Local\\Temp\\{{{g}}}\\setup.exe", EXPLORER, 0.4),
]
