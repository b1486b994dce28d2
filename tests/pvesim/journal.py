# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Per-node journal with stable cursors that keeps growing (`GET /nodes/{node}/journal`, 3.10)."""
from __future__ import annotations

import hashlib
import re
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

TICK_SECONDS = 5.0
"""A new background line appears every TICK_SECONDS (generated lazily when the journal is read)."""
MAX_ENTRIES = 50000
"""Oldest entries are dropped beyond this; cursors of the remaining ones stay valid."""

_BACKGROUND = (
    ("pveproxy", 1342, "worker {n} finished"),
    ("pveproxy", 1342, "starting 1 worker(s)"),
    ("pveproxy", 1342, "worker {n} started"),
    ("pmxcfs", 1101, "[status] notice: received log"),
    ("pvestatd", 1287, "status update time (0.{n3} seconds)"),
    ("CRON", None, "pam_unix(cron:session): session opened for user root(uid=0) by root(uid=0)"),
    ("CRON", None, "pam_unix(cron:session): session closed for user root"),
    ("chronyd", 905, "Selected source 192.0.2.123 (2.debian.pool.ntp.org)"),
    ("systemd", 1, "Starting pve-daily-update.service - Daily PVE download activities..."),
    ("systemd", 1, "pve-daily-update.service: Deactivated successfully."),
    ("smartd", 880, "Device: /dev/sda [SAT], SMART Usage Attribute: 194 Temperature_Celsius changed from 38 to 37"),
    ("pvescheduler", 1420, "starting task UPID housekeeping"),
)
_BOOT = (
    ("kernel", None, "Linux version 6.17.4-1-pve (build@proxmox) #1 SMP PREEMPT_DYNAMIC PMX 6.17.4-1"),
    ("systemd", 1, "Started pve-cluster.service - The Proxmox VE cluster filesystem."),
    ("systemd", 1, "Started pvedaemon.service - PVE API Daemon."),
    ("systemd", 1, "Started pveproxy.service - PVE API Proxy Server."),
    ("systemd", 1, "Reached target multi-user.target - Multi-User System."),
)


# The systemd unit each daemon's lines belong to (journalctl -u / the `service` filter of /syslog, 3.11).
UNITS = {
    "pveproxy": "pveproxy.service", "pvedaemon": "pvedaemon.service", "pmxcfs": "pve-cluster.service",
    "pvestatd": "pvestatd.service", "CRON": "cron.service", "chronyd": "chrony.service", "smartd": "smartmontools.service",
    "pvescheduler": "pvescheduler.service", "sshd": "ssh.service", "postfix": "postfix@-.service",
}
_UNIT_IN_MESSAGE = re.compile(r"^(?:(?:Started|Starting|Stopped|Stopping|Finished) )?([\w@.:-]+\.(?:service|timer|scope|target|mount|socket))\b")


def default_unit(ident: str, message: str) -> str | None:
    """systemd's own lines belong to the unit they talk about; the kernel has none; others their daemon's unit."""
    if ident == "kernel":
        return None
    if ident == "systemd":
        match = _UNIT_IN_MESSAGE.match(message)
        return match.group(1) if match else "init.scope"
    return UNITS.get(ident, f"{ident}.service")


@dataclass(frozen=True)
class Entry:
    """One journal entry; `seq` is the journal sequence number encoded in its cursor."""

    seq: int
    ts: float
    ident: str
    pid: int | None
    message: str
    unit: str | None = None


class NodeJournal:
    """The journal of one node. Thread-safe; background lines are materialised on read."""

    def __init__(self, node: str, boot_time: float, now: float) -> None:
        self.node = node
        self._lock = threading.Lock()
        self._entries: list[Entry] = []
        self._seq = 0
        seed = hashlib.sha256(node.encode()).hexdigest()
        self._seqnum_id, self._boot_id = seed[:32], seed[32:64]
        self._boot_time = boot_time
        self._sinks: list[Callable[[Entry], None]] = []
        for index, (ident, pid, msg) in enumerate(_BOOT):
            self._add(boot_time + index, ident, pid, msg)
        # An hour of history, one line every 30 s, then live lines every TICK_SECONDS.
        for index in range(120):
            self._add_background(now - 3600 + index * 30)
        self._next_tick = now + TICK_SECONDS

    def _add(self, ts: float, ident: str, pid: int | None, message: str, unit: str | None = None) -> Entry:
        self._seq += 1
        entry = Entry(self._seq, ts, ident, pid, message, unit or default_unit(ident, message))
        self._entries.append(entry)
        if len(self._entries) > MAX_ENTRIES:
            del self._entries[: len(self._entries) - MAX_ENTRIES]
        for sink in self._sinks:
            sink(entry)
        return entry

    def subscribe(self, sink: Callable[[Entry], None]) -> None:
        """Call `sink` for every entry so far and every later one, in order (the node's journal file, nodeshell)."""
        with self._lock:
            for entry in self._entries:
                sink(entry)
            self._sinks.append(sink)

    def tick(self, now: float | None = None) -> None:
        """Materialise the background lines that are due (the simulator's ticker keeps subscribers current)."""
        with self._lock:
            self._catch_up(time.time() if now is None else now)

    def record(self, entry: Entry) -> dict[str, Any]:
        """An entry as the JSON object of the journal files read by the simulated `journalctl`."""
        return {"seq": entry.seq, "cursor": self.cursor(entry), "ts": entry.ts, "unit": entry.unit,
                "ident": entry.ident, "pid": entry.pid, "message": entry.message}

    def _add_background(self, ts: float) -> None:
        ident, pid, msg = _BACKGROUND[self._seq % len(_BACKGROUND)]
        self._add(ts, ident, pid, msg.format(n=100000 + self._seq * 7 % 90000, n3=f"{self._seq % 997:03d}"))

    def _catch_up(self, now: float) -> None:
        # Bounded: after a long idle period only the last MAX_ENTRIES ticks matter anyway.
        if now - self._next_tick > MAX_ENTRIES * TICK_SECONDS:
            self._next_tick = now - MAX_ENTRIES * TICK_SECONDS
        while self._next_tick <= now:
            self._add_background(self._next_tick)
            self._next_tick += TICK_SECONDS

    def append(self, ident: str, pid: int | None, message: str, ts: float | None = None, unit: str | None = None) -> None:
        """Add a line now (task start/end, container start/stop, /_sim/journal)."""
        with self._lock:
            now = time.time() if ts is None else ts
            self._catch_up(now)
            self._add(now, ident, pid, message, unit)

    def cursor(self, entry: Entry) -> str:
        """A journald-style cursor; stable for the life of the simulator (3.10)."""
        monotonic = int((entry.ts - self._boot_time) * 1e6)
        xor = hashlib.sha1(f"{self.node}/{entry.seq}".encode()).hexdigest()[:16]
        return f"s={self._seqnum_id};i={entry.seq:x};b={self._boot_id};m={monotonic:x};t={int(entry.ts * 1e6):x};x={xor}"

    def _seq_of(self, cursor: str) -> int | None:
        match = re.search(r"(?:^|;)s=([0-9a-f]{32});i=([0-9a-f]+)(?:;|$)", cursor)
        if not match or match.group(1) != self._seqnum_id:
            return None
        return int(match.group(2), 16)

    def line(self, entry: Entry) -> str:
        """`Mon DD HH:MM:SS <host> <ident>[<pid>]: <message>` in local time (3.10)."""
        stamp = time.strftime("%b %d %H:%M:%S", time.localtime(entry.ts))
        ident = f"{entry.ident}[{entry.pid}]" if entry.pid is not None else entry.ident
        return f"{stamp} {self.node} {ident}: {entry.message}"

    def query(self, lastentries: int | None = None, since: int | None = None, until: int | None = None,
              startcursor: str | None = None, endcursor: str | None = None) -> list[str] | None:
        """mini-journalreader semantics: [first cursor, lines..., last cursor]; None = reader refused (3.10).

        Conflicting options (lastentries with since/startcursor, since with startcursor, until with
        endcursor) or an unknown cursor make the real reader exit with usage/errors on stderr: no output.
        """
        if (lastentries and (since is not None or startcursor)) or (since is not None and startcursor) or (until is not None and endcursor):
            return None
        start_seq = self._seq_of(startcursor) if startcursor else 0
        end_seq = self._seq_of(endcursor) if endcursor else None
        if start_seq is None or (endcursor and end_seq is None):
            return None
        with self._lock:
            self._catch_up(time.time())
            selected = [
                e for e in self._entries
                if e.seq > start_seq and (end_seq is None or e.seq < end_seq)
                and (since is None or e.ts >= since) and (until is None or e.ts <= until)
            ]
        if lastentries:
            selected = selected[-lastentries:]
        if not selected:
            # Nothing new after startcursor: the reader repeats the cursor it was given (3.10).
            given = startcursor or endcursor
            return [given, given] if given else []
        return [self.cursor(selected[0])] + [self.line(e) for e in selected] + [self.cursor(selected[-1])]

    def syslog(self, since: float | None = None, until: float | None = None, service: str | None = None) -> list[str]:
        """`journalctl -o short --no-pager [--unit S] [--since] [--until]` as /syslog runs it, oldest first (3.11)."""
        wanted = None
        if service:
            wanted = {service, f"{service}.service"}
        with self._lock:
            self._catch_up(time.time())
            return [
                self.line(e) for e in self._entries
                if (since is None or e.ts >= since) and (until is None or e.ts <= until) and (wanted is None or e.unit in wanted)
            ]
