"""A realistic ``Syslog`` export with new error patterns and surges injected, and a ground truth.

Computers of four roles (web, db, mail, bastion) run daemons (sshd, sudo, CRON, systemd,
kernel, nginx, postgres, postfix...) that write the messages such machines write, each from a
logging statement with its own rate, daily rhythm and variables (users, addresses, ports,
pids, paths, sizes). In the scoring day incidents are injected and written to ``labels.json``:

* ``new_pattern``: an error no computer logged in training (a file system error, the OOM
  killer, a user not in sudoers, an upstream timing out, a certificate expiring), on one computer
  for a few hours;
* ``surge``: a known statement on its usual computer, 40 to 150 more records an hour than its
  usual few, for one to three hours (a password-guessing run, a mail reject wave, a burst of
  audited commands...).

Each incident names its group (``Computer``, ``Facility``, ``ProcessName``), its hours and a
regular expression that its messages match (``match``), so ``byoml evaluate`` can tell a flagged
pattern-hour of an incident from a false flag.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import uuid
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np

from ..timewindow import UTC, format_time
from .export_writer import ExportWriter, format_time_generated, workspace_resource_id

USERS = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory", "oscar",
         "peggy", "trent", "victor", "walter"]
GUESSED = ["admin", "test", "oracle", "ubuntu", "guest", "postgres", "user", "ftpuser", "pi", "git", "support", "web"]
DOMAINS = ["contoso.com", "fabrikam.net", "example.org", "tailspin.io", "wingtip.co", "adatum.biz"]
PATHS = ["/", "/index.html", "/api/orders", "/api/users", "/static/app.js", "/static/site.css", "/login", "/health"]


def _ip(rng) -> str:
    return f"{rng.integers(11, 223)}.{rng.integers(0, 256)}.{rng.integers(0, 256)}.{rng.integers(1, 255)}"


def _pick(rng, items):
    return items[int(rng.integers(len(items)))]


# (statement key, facility, process, severity, rate per hour at peak, daily amplitude 0..1, message)
Statement = Tuple[str, str, str, str, float, float, Callable]
COMMON: List[Statement] = [
    ("cron_open", "authpriv", "CRON", "info", 4.0, 0.0, lambda r: "pam_unix(cron:session): session opened for user root by (uid=0)"),
    ("cron_close", "authpriv", "CRON", "info", 4.0, 0.0, lambda r: "pam_unix(cron:session): session closed for user root"),
    ("cron_cmd", "cron", "CRON", "info", 4.0, 0.0,
     lambda r: f"(root) CMD (/usr/lib/sa/sa1 1 1 > /dev/null 2>&1 # job {r.integers(100, 999)})"),
    ("systemd_start", "daemon", "systemd", "info", 2.0, 0.3,
     lambda r: f"Started Session {r.integers(1000, 99999)} of user {_pick(r, USERS)}."),
    ("systemd_timer", "daemon", "systemd", "info", 1.0, 0.0, lambda r: "Starting Daily apt download activities..."),
    ("kernel_ufw", "kern", "kernel", "warning", 6.0, 0.4,
     lambda r: f"[UFW BLOCK] IN=eth0 OUT= MAC=00:0d:3a:{r.integers(10, 99)}:1f:2c SRC={_ip(r)} DST=10.0.0.{r.integers(2, 60)} "
               f"LEN={r.integers(40, 1500)} TOS=0x00 PREC=0x00 TTL={r.integers(30, 250)} ID={r.integers(1, 65535)} PROTO=TCP "
               f"SPT={r.integers(1024, 65535)} DPT={_pick(r, [22, 23, 445, 3389, 8080])} WINDOW={r.integers(1024, 65535)} "
               "RES=0x00 SYN URGP=0"),
    ("rsyslog", "syslog", "rsyslogd", "info", 0.25, 0.0,
     lambda r: f"[origin software=\"rsyslogd\" swVersion=\"8.2112.0\" x-pid=\"{r.integers(500, 900)}\"] rsyslogd was HUPed"),
    ("ntp", "daemon", "chronyd", "info", 0.5, 0.0,
     lambda r: f"Selected source {_ip(r)} ({_pick(r, ['0', '1', '2', '3'])}.pool.ntp.org)"),
    ("sshd_accept", "auth", "sshd", "info", 3.0, 0.8,
     lambda r: f"Accepted publickey for {_pick(r, USERS)} from {_ip(r)} port {r.integers(1024, 65535)} ssh2: RSA SHA256:"
               f"{uuid.UUID(int=int(r.integers(0, 2**62))).hex[:22]}"),
    ("sshd_open", "authpriv", "sshd", "info", 3.0, 0.8,
     lambda r: f"pam_unix(sshd:session): session opened for user {_pick(r, USERS)} by (uid=0)"),
    ("sshd_close", "authpriv", "sshd", "info", 3.0, 0.8,
     lambda r: f"pam_unix(sshd:session): session closed for user {_pick(r, USERS)}"),
    ("sshd_disconnect", "auth", "sshd", "info", 3.0, 0.8,
     lambda r: f"Received disconnect from {_ip(r)} port {r.integers(1024, 65535)}:11: disconnected by user"),
    ("sshd_invalid", "auth", "sshd", "info", 1.5, 0.2,
     lambda r: f"Invalid user {_pick(r, GUESSED)} from {_ip(r)} port {r.integers(1024, 65535)}"),
    ("sshd_failed", "auth", "sshd", "info", 1.5, 0.2,
     lambda r: f"Failed password for invalid user {_pick(r, GUESSED)} from {_ip(r)} port {r.integers(1024, 65535)} ssh2"),
    ("sudo_cmd", "authpriv", "sudo", "notice", 1.0, 0.9,
     lambda r: f"{_pick(r, USERS[:6])} : TTY=pts/{r.integers(0, 9)} ; PWD=/home/{_pick(r, USERS[:6])} ; USER=root ; "
               f"COMMAND=/usr/bin/{_pick(r, ['systemctl status nginx', 'apt update', 'journalctl -u app', 'tail -f /var/log/syslog'])}"),
]
ROLE: Dict[str, List[Statement]] = {
    "web": [
        ("nginx_access", "local7", "nginx", "info", 40.0, 0.7,
         lambda r: f"{_ip(r)} - - \"GET {_pick(r, PATHS)} HTTP/1.1\" {_pick(r, [200, 200, 200, 304, 404])} {r.integers(200, 90000)}"),
        ("nginx_limit", "local7", "nginx", "warn", 1.0, 0.7,
         lambda r: f"limiting requests, excess: {r.integers(1, 20)}.{r.integers(100, 999)} by zone \"api\", client: {_ip(r)}, "
                   f"server: www.contoso.com, request: \"GET /api/orders HTTP/1.1\""),
        ("app_gc", "local0", "app", "info", 6.0, 0.5,
         lambda r: f"GC pause {r.integers(2, 90)}ms, heap {r.integers(200, 900)} MB of 1024 MB"),
        ("app_req", "local0", "app", "info", 12.0, 0.7,
         lambda r: f"request id={uuid.UUID(int=int(r.integers(0, 2**62)))} user={_pick(r, USERS)} took {r.integers(3, 800)}ms"),
    ],
    "db": [
        ("pg_checkpoint", "local0", "postgres", "info", 12.0, 0.0,
         lambda r: f"checkpoint complete: wrote {r.integers(10, 900)} buffers ({r.integers(0, 9)}.{r.integers(0, 9)}%); "
                   f"0 WAL file(s) added, 0 removed, {r.integers(0, 4)} recycled"),
        ("pg_conn", "local0", "postgres", "info", 20.0, 0.6,
         lambda r: f"connection authorized: user={_pick(r, ['app', 'report', 'etl', 'backup'])} database=orders"),
        ("pg_slow", "local0", "postgres", "warning", 1.0, 0.6,
         lambda r: f"duration: {r.integers(1000, 9000)}.{r.integers(100, 999)} ms  statement: SELECT * FROM orders WHERE "
                   f"customer_id = {r.integers(1, 99999)}"),
        ("pg_autovacuum", "local0", "postgres", "info", 2.0, 0.0,
         lambda r: f"automatic vacuum of table \"orders.public.{_pick(r, ['orders', 'items', 'customers', 'payments', 'audit'])}\": "
                   f"index scans: 1"),
    ],
    "mail": [
        ("postfix_connect", "mail", "postfix/smtpd", "info", 15.0, 0.6,
         lambda r: f"connect from mail{r.integers(1, 60)}.{_pick(r, DOMAINS)}[{_ip(r)}]"),
        ("postfix_disconnect", "mail", "postfix/smtpd", "info", 15.0, 0.6,
         lambda r: f"disconnect from mail{r.integers(1, 60)}.{_pick(r, DOMAINS)}[{_ip(r)}] ehlo=1 mail=1 rcpt=1 data=1 quit=1 "
                   f"commands=5"),
        ("postfix_sent", "mail", "postfix/smtp", "info", 12.0, 0.6,
         lambda r: f"{uuid.UUID(int=int(r.integers(0, 2**62))).hex[:10].upper()}: to=<{_pick(r, USERS)}@{_pick(r, DOMAINS)}>, "
                   f"relay=mx.{_pick(r, DOMAINS)}[{_ip(r)}]:25, delay={r.integers(0, 9)}.{r.integers(1, 99)}, "
                   f"dsn=2.0.0, status=sent (250 2.0.0 OK)"),
        ("postfix_reject", "mail", "postfix/smtpd", "info", 1.0, 0.3,
         lambda r: f"NOQUEUE: reject: RCPT from unknown[{_ip(r)}]: 554 5.7.1 <{_pick(r, USERS)}@contoso.com>: Relay access "
                   f"denied; from=<spam@{_pick(r, DOMAINS)}> to=<{_pick(r, USERS)}@contoso.com> proto=ESMTP helo=<{_pick(r, GUESSED)}>"),
    ],
    "bastion": [
        ("sshd_accept_pw", "auth", "sshd", "info", 4.0, 0.9,
         lambda r: f"Accepted password for {_pick(r, USERS)} from {_ip(r)} port {r.integers(1024, 65535)} ssh2"),
        ("audit_exec", "authpriv", "auditd", "info", 8.0, 0.9,
         lambda r: f"type=EXECVE msg=audit({r.integers(1600000000, 1700000000)}.{r.integers(100, 999)}:{r.integers(1000, 99999)}): "
                   f"argc=2 a0=\"{_pick(r, ['ls', 'cat', 'vim', 'ps'])}\" a1=\"{_pick(r, ['-la', '/etc/hosts', 'notes.txt', 'aux'])}\""),
    ],
}
#: errors no computer logs in training: (facility, process, severity, message, regex of the ground truth)
NEW_ERRORS: List[Tuple[str, str, str, Callable, str]] = [
    ("kern", "kernel", "crit", lambda r: f"EXT4-fs error (device sda1): ext4_find_entry:1455: inode #{r.integers(2, 99999)}: "
                                          f"comm {_pick(r, ['find', 'rsync', 'tar'])}: reading directory lblock 0",
     r"EXT4-fs error"),
    ("kern", "kernel", "err", lambda r: f"Out of memory: Killed process {r.integers(1000, 65000)} "
                                         f"({_pick(r, ['java', 'python3', 'node'])}) "
                                         f"total-vm:{r.integers(100000, 9000000)}kB, anon-rss:{r.integers(10000, 900000)}kB, file-rss:0kB",
     r"Out of memory: Killed process"),
    ("authpriv", "sudo", "alert", lambda r: f"{_pick(r, USERS)} : user NOT in sudoers ; TTY=pts/{r.integers(0, 9)} ; "
                                             f"PWD=/tmp ; USER=root ; COMMAND=/bin/bash",
     r"user NOT in sudoers"),
    ("local7", "nginx", "err", lambda r: f"upstream timed out (110: Connection timed out) while reading response header from upstream, "
                                          f"client: {_ip(r)}, server: www.contoso.com, upstream: \"http://127.0.0.1:8080/api/orders\"",
     r"upstream timed out"),
    ("daemon", "certbot", "err", lambda r: f"Certificate for www.contoso.com expires in {r.integers(1, 5)} days and could not be renewed: "
                                            f"Connection refused",
     r"could not be renewed"),
]
#: known statements whose surges are injected, by role (a password-guessing run, a reject wave...)
SURGES: Dict[str, List[Tuple[str, str]]] = {
    "web": [("nginx_limit", r"limiting requests"), ("sshd_failed", r"Failed password for invalid user")],
    "db": [("pg_slow", r"duration: .* statement"), ("sshd_invalid", r"^Invalid user")],
    "mail": [("postfix_reject", r"NOQUEUE: reject"), ("sshd_failed", r"Failed password for invalid user")],
    "bastion": [("sshd_failed", r"Failed password for invalid user"), ("audit_exec", r"type=EXECVE")],
}
ROLES = ("web", "db", "mail", "bastion")


@dataclass
class SyslogSampleConfig:
    computers: int = 8
    days: int = 14
    score_days: int = 1
    seed: int = 7
    end: dt.datetime = dt.datetime(2026, 11, 3, tzinfo=UTC)
    layout: str = "hourly"
    new_patterns: int = 3
    surges: int = 3
    volume: float = 1.0  # multiplies every rate
    from_loghub: Optional[str] = None  # a loghub *_structured.csv: byoml.sample_data.loghub instead
    max_lines_per_blob: int = 50_000


def _statements(role: str) -> List[Statement]:
    return COMMON + ROLE[role]


def _hour_factor(hour: int, amplitude: float) -> float:
    """1 at 14:00 UTC, ``1 - amplitude`` at 02:00."""
    return 1.0 - amplitude * 0.5 * (1.0 - np.cos((hour - 14) / 24.0 * 2 * np.pi))


def _record(tenant: str, computer: str, when: dt.datetime, facility: str, process: str, severity: str, message: str,
            rng) -> dict:
    return {
        "TenantId": tenant, "TimeGenerated": format_time_generated(when), "SourceSystem": "Linux", "Computer": computer,
        "HostName": computer.split(".")[0], "Facility": facility, "SeverityLevel": severity, "ProcessName": process,
        "ProcessID": int(rng.integers(300, 65000)), "SyslogMessage": message, "EventTime": format_time_generated(when),
        "EventOriginId": str(uuid.UUID(int=int(rng.integers(0, 2**63)) << 64 | int(rng.integers(0, 2**63)), version=4)),
        "Type": "Syslog", "_ResourceId": f"/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/rg-linux/"
                                        f"providers/microsoft.compute/virtualmachines/{computer.split('.')[0]}",
    }


def generate_syslog(out_dir: str, **options) -> dict:
    """Write a Syslog export under ``out_dir`` and ``labels.json``; return the labels."""
    cfg = SyslogSampleConfig(**options)
    if cfg.from_loghub:
        from .loghub import generate_from_loghub

        return generate_from_loghub(out_dir, cfg.from_loghub, days=cfg.days, end=cfg.end, layout=cfg.layout,
                                    max_lines_per_blob=cfg.max_lines_per_blob)
    rng = np.random.default_rng(cfg.seed)
    total_days = cfg.days + cfg.score_days
    start = cfg.end - dt.timedelta(days=total_days)
    score_from = cfg.end - dt.timedelta(days=cfg.score_days)
    tenant = str(uuid.UUID(bytes=rng.bytes(16), version=4))
    writer = ExportWriter(out_dir, "Syslog", workspace_resource_id(str(uuid.UUID(bytes=rng.bytes(16), version=4)), "rg-linux",
                                                                  "law-linux"), cfg.layout, cfg.max_lines_per_blob)
    computers = [(f"{ROLES[i % len(ROLES)]}-{i // len(ROLES) + 1:02d}.contoso.local", ROLES[i % len(ROLES)])
                 for i in range(cfg.computers)]
    score_hours = cfg.score_days * 24
    incidents: List[dict] = []
    extra: Dict[Tuple[int, int], List[Tuple[str, str, str, Callable, float]]] = {}  # (computer, hour) -> extra statements
    boost: Dict[Tuple[int, str, int], float] = {}  # (computer, statement, hour) -> records added
    errors = rng.permutation(len(NEW_ERRORS))[:cfg.new_patterns]
    for e in errors:
        c = int(rng.integers(len(computers)))
        at, length = int(rng.integers(2, score_hours - 4)), int(rng.integers(2, 5))
        facility, process, severity, make, regex = NEW_ERRORS[int(e)]
        rate = float(rng.uniform(4, 15))
        for h in range(at, at + length):
            extra.setdefault((c, h), []).append((facility, process, severity, make, rate))
        incidents.append(_incident("new_pattern", computers[c][0], facility, process, score_from, at, length, regex))
    for _ in range(cfg.surges):
        c = int(rng.integers(len(computers)))
        key, regex = SURGES[computers[c][1]][int(rng.integers(len(SURGES[computers[c][1]])))]
        statement = next(s for s in _statements(computers[c][1]) if s[0] == key)
        at, length = int(rng.integers(2, score_hours - 4)), int(rng.integers(1, 4))
        added = float(rng.uniform(40, 150)) * cfg.volume
        for h in range(at, at + length):
            boost[(c, key, h)] = added
        incidents.append(_incident("surge", computers[c][0], statement[1], statement[2], score_from, at, length, regex))
    rows = 0
    for c, (computer, role) in enumerate(computers):
        statements = _statements(role)
        scale = float(rng.uniform(0.6, 1.4)) * cfg.volume
        for hour in range(total_days * 24):
            t0 = start + dt.timedelta(hours=hour)
            scored = t0 >= score_from
            h = hour - cfg.days * 24
            for key, facility, process, severity, rate, amplitude, make in statements:
                mean = rate * scale * _hour_factor(t0.hour, amplitude) + (boost.get((c, key, h), 0.0) if scored else 0.0)
                for _ in range(int(rng.poisson(mean))):
                    when = t0 + dt.timedelta(seconds=float(rng.uniform(0, 3600)))
                    writer.add(when, _record(tenant, computer, when, facility, process, severity, make(rng), rng))
                    rows += 1
            for facility, process, severity, make, rate in (extra.get((c, h), []) if scored else []):
                for _ in range(max(1, int(rng.poisson(rate)))):
                    when = t0 + dt.timedelta(seconds=float(rng.uniform(0, 3600)))
                    writer.add(when, _record(tenant, computer, when, facility, process, severity, make(rng), rng))
                    rows += 1
            if hour % 24 == 23:
                writer.flush()
        writer.flush()
    labels = {
        "kind": "log-patterns",
        "table": "Syslog",
        "generator": "byoml.sample_data.syslog",
        "seed": cfg.seed,
        "key": ["Computer", "Facility", "ProcessName"],
        "train_window": {"start": format_time(start), "end": format_time(score_from)},
        "score_window": {"start": format_time(score_from), "end": format_time(cfg.end)},
        "computers": [c for c, _ in computers],
        "counts": {"rows": rows, "computers": len(computers), "incidents": len(incidents)},
        "incidents": incidents,
    }
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "labels.json"), "w", encoding="utf-8") as fh:
        json.dump(labels, fh, indent=1)
    return labels


def _incident(kind: str, computer: str, facility: str, process: str, score_from: dt.datetime, at: int, length: int,
              regex: str) -> dict:
    return {"kind": kind, "Computer": computer, "Facility": facility, "ProcessName": process,
            "start": format_time(score_from + dt.timedelta(hours=at)),
            "end": format_time(score_from + dt.timedelta(hours=at + length)), "match": regex}
