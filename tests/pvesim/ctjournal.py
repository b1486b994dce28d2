# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What running containers log: a systemd journal (`var/log/journal.jsonl`) or, without systemd, syslog lines
in `var/log/messages` (busybox format, as on Alpine). Written by the simulator's ticker (background.py).

Journal lines use the format of journalfile.py with journald-style cursors of their own (a seqnum id
per container, a boot id per start), so `journalctl --show-cursor` / `--after-cursor` work inside.
"""
from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

from pvesim.journalfile import JsonlJournal, LineFile

# (identifier, pid, unit, message); {n} is a running number.
_SYSTEMD_BOOT = (
    ("systemd", 1, "init.scope", "Started systemd-journald.service - Journal Service."),
    ("systemd", 1, "systemd-networkd.service", "Started systemd-networkd.service - Network Configuration."),
    ("systemd", 1, "ssh.service", "Started ssh.service - OpenBSD Secure Shell server."),
    ("systemd", 1, "cron.service", "Started cron.service - Regular background program processing daemon."),
    ("systemd", 1, "pvesim-app.service", "Started pvesim-app.service - Simulated application."),
    ("systemd", 1, "init.scope", "Reached target multi-user.target - Multi-User System."),
)
_SYSTEMD_LINES = (
    ("pvesim-app", 412, "pvesim-app.service", "heartbeat {n}"),
    ("CRON", None, "cron.service", "pam_unix(cron:session): session opened for user root(uid=0) by root(uid=0)"),
    ("pvesim-app", 412, "pvesim-app.service", "served request {n} in 3 ms"),
    ("systemd-networkd", 71, "systemd-networkd.service", "eth0: DHCPv4 lease renewed"),
    ("sshd", 188, "ssh.service", "Connection closed by 192.168.10.1 port {port} [preauth]"),
    ("systemd", 1, "apt-daily.service", "Starting apt-daily.service - Daily apt download activities..."),
    ("systemd", 1, "apt-daily.service", "apt-daily.service: Deactivated successfully."),
)
_SYSLOG_BOOT = (
    ("syslog.info", "syslogd", None, "syslogd started: BusyBox v1.36.1"),
    ("daemon.info", "init", None, "starting pid 201, tty '': '/sbin/openrc default'"),
    ("cron.info", "crond", 211, "crond (busybox 1.36.1) started, log level 8"),
)
_SYSLOG_LINES = (
    ("daemon.info", "pvesim-app", 412, "heartbeat {n}"),
    ("cron.info", "crond", 211, "USER root pid {port} cmd run-parts /etc/periodic/15min"),
    ("auth.info", "sshd", 188, "Connection closed by 192.168.10.1 port {port} [preauth]"),
)


def _last_seq(path: Path) -> int:
    """The sequence number of the last entry of an existing journal (a kept --state-dir), else 0."""
    try:
        with open(path, "rb") as handle:
            handle.seek(max(0, path.stat().st_size - 65536))
            tail = handle.read().splitlines()
        return int(json.loads(tail[-1])["seq"]) if tail else 0
    except (OSError, ValueError, KeyError, IndexError, TypeError):
        return 0


def _stamp(ts: float) -> str:
    return time.strftime("%b %d %H:%M:%S", time.localtime(ts))


class ContainerLog:
    """The log of one container; `tick()` adds one plausible line, `boot()` the lines of a start."""

    def __init__(self, vmid: int, rootfs: Path, systemd: bool) -> None:
        self.vmid = vmid
        self.systemd = systemd
        log_dir = rootfs / "var" / "log"
        self._journal = JsonlJournal(log_dir / "journal.jsonl") if systemd else None
        self._messages = None if systemd else LineFile(log_dir / "messages")
        self._seq = _last_seq(log_dir / "journal.jsonl") if systemd else 0
        self._count = 0
        self._seqnum_id = hashlib.sha256(f"ct/{vmid}".encode()).hexdigest()[:32]
        self._boot_id = self._seqnum_id
        self._boot_time = 0.0
        self.started_at: float | None = None

    def _cursor(self, seq: int, ts: float) -> str:
        xor = hashlib.sha1(f"{self.vmid}/{seq}".encode()).hexdigest()[:16]
        monotonic = int(max(ts - self._boot_time, 0) * 1e6)
        return f"s={self._seqnum_id};i={seq:x};b={self._boot_id};m={monotonic:x};t={int(ts * 1e6):x};x={xor}"

    def _record(self, ts: float, ident: str, pid: int | None, unit: str | None, message: str) -> dict[str, Any]:
        self._seq += 1
        return {"seq": self._seq, "cursor": self._cursor(self._seq, ts), "ts": ts, "unit": unit, "ident": ident, "pid": pid, "message": message}

    def boot(self, started_at: float, hostname: str) -> None:
        """A (re)start: new boot id, the boot lines, timed at the start."""
        self.started_at = started_at
        self._boot_time = started_at
        self._boot_id = hashlib.sha256(f"ct/{self.vmid}/{started_at}".encode()).hexdigest()[:32]
        if self._journal is not None:
            self._journal.append(self._record(started_at + i * 0.01, ident, pid, unit, msg) for i, (ident, pid, unit, msg) in enumerate(_SYSTEMD_BOOT))
        elif self._messages is not None:
            self._messages.append_lines(
                f"{_stamp(started_at)} {hostname} {fac} {ident}{'' if pid is None else f'[{pid}]'}: {msg}" for fac, ident, pid, msg in _SYSLOG_BOOT
            )

    def tick(self, now: float, hostname: str) -> None:
        """One background line."""
        self._count += 1
        values = {"n": self._count, "port": 40000 + (self._count * 7919) % 20000}
        if self._journal is not None:
            ident, pid, unit, msg = _SYSTEMD_LINES[self._count % len(_SYSTEMD_LINES)]
            self._journal.append([self._record(now, ident, pid, unit, msg.format(**values))])
        elif self._messages is not None:
            fac, ident, pid, msg = _SYSLOG_LINES[self._count % len(_SYSLOG_LINES)]
            tag = ident if pid is None else f"{ident}[{pid}]"
            self._messages.append_lines([f"{_stamp(now)} {hostname} {fac} {tag}: {msg.format(**values)}"])
