# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Per-node journal with stable cursors that keeps growing: `GET /nodes/{node}/journal` (mini-journalreader) and
`GET /nodes/{node}/syslog` (journalctl), pve-protocol.md 3.10/3.11.

The journal holds the tail of the previous boot, then this boot's lines, an hour of history and live lines,
so readers meet boot changes as real ones do. Cursor parsing, seeking and journalctl's choice of entries
are the node `journalctl` tool's own functions (tools/journalctl.py), so the REST journal, `/syslog` and
`journalctl` in the node shell agree on every cursor.
"""
from __future__ import annotations

import fnmatch
import hashlib
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

from pvesim.tools import journalctl as jctl

TICK_SECONDS = 5.0
"""A new background line appears every TICK_SECONDS (generated lazily when the journal is read)."""
MAX_ENTRIES = 50000
"""Oldest entries are dropped beyond this; their cursors then seek to the oldest remaining entry."""
DEFAULT_PRIORITY = 6

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
_PREVIOUS_BOOT = (
    ("systemd", 1, "Stopping pveproxy.service - PVE API Proxy Server..."),
    ("systemd", 1, "pveproxy.service: Deactivated successfully."),
    ("systemd", 1, "Stopped pve-cluster.service - The Proxmox VE cluster filesystem."),
    ("systemd-shutdown", 1, "Sending SIGTERM to remaining processes..."),
    ("kernel", None, "reboot: Restarting system"),
)
_BOOT = (
    ("kernel", None, "Linux version 6.17.4-1-pve (build@proxmox) #1 SMP PREEMPT_DYNAMIC PMX 6.17.4-1"),
    ("systemd", 1, "Started pve-cluster.service - The Proxmox VE cluster filesystem."),
    ("systemd", 1, "Started pvedaemon.service - PVE API Daemon."),
    ("systemd", 1, "Started pveproxy.service - PVE API Proxy Server."),
    ("systemd", 1, "Reached target multi-user.target - Multi-User System."),
)
_PRIORITIES = {"pmxcfs": 5, "smartd": 5, "systemd-shutdown": 5, "kernel": 5}
"""syslog priorities other than `info` (6) of the simulated daemons, for the journal's `priority` filter."""


# The systemd unit each daemon's lines belong to (journalctl -u / the `service` filter of /syslog, 3.11).
UNITS = {
    "pveproxy": "pveproxy.service", "pvedaemon": "pvedaemon.service", "pmxcfs": "pve-cluster.service",
    "pvestatd": "pvestatd.service", "CRON": "cron.service", "chronyd": "chrony.service", "smartd": "smartmontools.service",
    "pvescheduler": "pvescheduler.service", "sshd": "ssh.service", "postfix": "postfix@-.service",
    "systemd-shutdown": "init.scope",
}
# Nodes.pm maps these service names to the unit that really logs before calling journalctl (syslog and journal `unit`).
SERVICE_ALIASES = {"sshd": "ssh", "postfix": "postfix@-"}


def default_unit(ident: str, message: str) -> str | None:
    """systemd's own lines belong to the unit they talk about; the kernel has none; others their daemon's unit."""
    if ident == "kernel":
        return None
    if ident == "systemd":
        for word in message.replace(":", " ").split()[:2]:
            if word.endswith((".service", ".timer", ".scope", ".target", ".mount", ".socket")):
                return word
        return "init.scope"
    return UNITS.get(ident, f"{ident}.service")


@dataclass(frozen=True)
class Entry:
    """One journal entry; `seq` is the journal sequence number, `cursor` its journald-style cursor."""

    seq: int
    ts: float
    ident: str
    pid: int | None
    message: str
    unit: str | None
    boot: str
    priority: int
    cursor: str


@dataclass(frozen=True)
class Filters:
    """The 9.2.4+ journal filters (versions.py `journal_filters`): mini-journalreader matches, applied before navigating."""

    unit: str | None = None
    priority: tuple[int, int] | None = None
    identifier: str | None = None
    kernel: bool = False

    def match(self, entry: Entry) -> bool:
        """Whether an entry passes every filter."""
        if self.unit is not None and not jctl.unit_matches([self.unit], entry.unit):
            return False
        if self.priority is not None and not self.priority[0] <= entry.priority <= self.priority[1]:
            return False
        if self.identifier is not None and not fnmatch.fnmatchcase(entry.ident, self.identifier):
            return False
        return not self.kernel or entry.ident == "kernel"


def parse_priority(text: str) -> tuple[int, int] | None:
    """`3` -> (0, 3) (that level and everything more severe), `2..4` -> (2, 4), `` -> no filter."""
    if not text:
        return None
    low, _sep, high = text.partition("..")
    return (int(low), int(high)) if high else (0, int(low))


class NodeJournal:
    """The journal of one node. Thread-safe; background lines are materialised on read."""

    def __init__(self, node: str, boot_time: float, now: float) -> None:
        self.node = node
        self._lock = threading.Lock()
        self._entries: list[Entry] = []
        self._seq = 0
        seed = hashlib.sha256(node.encode()).hexdigest()
        self._seqnum_id, self.boot_id = seed[:32], seed[32:64]
        self._previous_boot = hashlib.sha256(f"{node}/previous-boot".encode()).hexdigest()[:32]
        self._boot_times = {self._previous_boot: boot_time - 7 * 86400, self.boot_id: boot_time}
        self._sinks: list[Callable[[Entry], None]] = []
        for index, (ident, pid, msg) in enumerate(_PREVIOUS_BOOT):
            self._add(boot_time - 120 + index, ident, pid, msg, boot=self._previous_boot)
        for index, (ident, pid, msg) in enumerate(_BOOT):
            self._add(boot_time + index, ident, pid, msg)
        # An hour of history, one line every 30 s, then live lines every TICK_SECONDS.
        for index in range(120):
            self._add_background(now - 3600 + index * 30)
        self._next_tick = now + TICK_SECONDS

    def _add(self, ts: float, ident: str, pid: int | None, message: str, unit: str | None = None, boot: str | None = None,
             priority: int | None = None) -> Entry:
        self._seq += 1
        boot = boot or self.boot_id
        level = _PRIORITIES.get(ident, DEFAULT_PRIORITY) if priority is None else priority
        entry = Entry(self._seq, ts, ident, pid, message, unit or default_unit(ident, message), boot, level, self._cursor(self._seq, ts, boot))
        self._entries.append(entry)
        if len(self._entries) > MAX_ENTRIES:
            del self._entries[: len(self._entries) - MAX_ENTRIES]
        for sink in self._sinks:
            sink(entry)
        return entry

    def _cursor(self, seq: int, ts: float, boot: str) -> str:
        """A journald-style cursor; stable for the life of the simulator (and across runs: ids come from the node name)."""
        monotonic = max(int((ts - self._boot_times[boot]) * 1e6), 0)
        xor = hashlib.sha1(f"{self.node}/{seq}".encode()).hexdigest()[:16]
        return f"s={self._seqnum_id};i={seq:x};b={boot};m={monotonic:x};t={int(ts * 1e6):x};x={xor}"

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
        return {"seq": entry.seq, "cursor": entry.cursor, "ts": entry.ts, "unit": entry.unit,
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

    def append(self, ident: str, pid: int | None, message: str, ts: float | None = None, unit: str | None = None,
               priority: int | None = None) -> None:
        """Add a line now (task start/end, container start/stop, /_sim/journal)."""
        with self._lock:
            now = time.time() if ts is None else ts
            self._catch_up(now)
            self._add(now, ident, pid, message, unit, priority=priority)

    def line(self, entry: Entry) -> str:
        """`Mon DD HH:MM:SS <host> <ident>[<pid>]: <message>` in local time (3.10)."""
        stamp = time.strftime("%b %d %H:%M:%S", time.localtime(entry.ts))
        ident = f"{entry.ident}[{entry.pid}]" if entry.pid is not None else entry.ident
        return f"{stamp} {self.node} {ident}: {entry.message}"

    def entries(self) -> list[Entry]:
        """Every entry so far, oldest first (due background lines included)."""
        with self._lock:
            self._catch_up(time.time())
            return list(self._entries)

    # --- GET /nodes/{node}/journal: mini-journalreader -------------------------------------------------

    def query(self, lastentries: int | None = None, since: int | None = None, until: int | None = None,
              startcursor: str | None = None, endcursor: str | None = None, filters: Filters | None = None,
              structured: bool = False) -> list[Any] | None:
        """What `mini-journalreader -j` prints: [first cursor, lines..., last cursor]; None = it printed nothing.

        Nodes.pm passes `-n`/`-b`/`-e` only for true values (`if $param->{lastentries}`), so 0 means "not given".
        Semantics of proxmox-mini-journalreader (src/mini-journalreader.c `main`):
        * conflicting options (`-n` with `-b`/`-f`, `-b` with `-f`, `-e` with `-t`) and a cursor that
          sd_journal_seek_cursor() rejects end the reader before it prints anything (empty body);
        * `-f C`: seek to C, step onto the entry there (C's own entry, or the nearest one after an unknown
          but well-formed cursor) and print *its* cursor first, then the entries after it;
        * `-n N`: seek to the tail (or to `-e`, or onto `-t` with N+1), go back N+1 entries and print from
          the next one: the last N (with fewer than N+1 entries the oldest is never printed);
        * `-e E` is exclusive (`get_timestamp(j) < end`); the loop stops on the first entry at or after it, so
          the last cursor is that entry's; `-t C` stops on C's own entry (an unknown cursor never matches);
        * `-- Reboot --` before the first line of a later boot; the last element is the cursor of the entry
          the reader ended on. Nothing to position on (empty range, no match): `[]` (inferred: the reader
          has no entry to take a cursor from).
        """
        if (lastentries and (since or startcursor)) or (since and startcursor) or (until and endcursor):
            return None
        start_loc = jctl.parse_cursor(startcursor) if startcursor else None
        end_loc = jctl.parse_cursor(endcursor) if endcursor else None
        if (startcursor and start_loc is None) or (endcursor and end_loc is None):
            return None
        view = [e for e in self.entries() if filters is None or filters.match(e)]
        end_us = until * 1_000_000 if until else None
        first: Entry | None = None
        current: Entry | None = None
        if lastentries:
            number = lastentries
            if end_us is not None:
                pos = self._index(view, lambda e: int(e.ts * 1e6) >= end_us)
            elif end_loc is not None:
                # Going back from a cursor counts the entry there, which is why the reader asks for one more.
                pos = min(self._seek(view, end_loc) + 1, len(view))
                number += 1
            else:
                pos = len(view)
            if pos == 0:
                return []
            index = max(pos - (number + 1), 0)
            current = view[index]
            following = view[index + 1:]
        elif since:
            following = view[self._index(view, lambda e: e.ts >= since):]
        elif start_loc is not None:
            index = self._seek(view, start_loc)
            if index >= len(view):
                return []
            current = first = view[index]
            following = view[index + 1:]
        else:
            following = view
        out: list[Any] = []
        boot: str | None = None
        for entry in following:
            current = entry
            if end_us is not None and int(entry.ts * 1e6) >= end_us:
                break
            first = first or entry
            if end_loc is not None and jctl.is_cursor_of(end_loc, entry.cursor):
                break
            if boot is not None and entry.boot != boot and not structured:
                out.append("-- Reboot --")
            boot = entry.boot
            out.append(self._structured(entry) if structured else self.line(entry))
        if current is None:
            return []
        if boot is not None and current.boot != boot and not structured:
            out.append("-- Reboot --")
        return ([first.cursor] if first is not None else []) + out + [current.cursor]

    @staticmethod
    def _index(view: list[Entry], at_or_after: Callable[[Entry], bool]) -> int:
        return next((i for i, e in enumerate(view) if at_or_after(e)), len(view))

    def _seek(self, view: list[Entry], location: dict[str, str]) -> int:
        return self._index(view, lambda e: jctl.at_or_after(location, e.seq, e.ts, e.cursor))

    def _structured(self, entry: Entry) -> dict[str, Any]:
        # `structured=1` (adf6e681, mini-journalreader -J): one object per entry. The field names are inferred
        # from the parameter's description; the collection does not use this output.
        item: dict[str, Any] = {"timestamp": int(entry.ts * 1e6), "hostname": self.node, "identifier": entry.ident,
                                "priority": entry.priority, "message": entry.message}
        if entry.pid is not None:
            item["pid"] = entry.pid
        if entry.unit is not None:
            item["unit"] = entry.unit
        return item

    # --- GET /nodes/{node}/syslog: journalctl -o short --no-pager -------------------------------------

    def syslog(self, since: float | None = None, until: float | None = None, service: str | None = None) -> list[str]:
        """`journalctl -o short --no-pager [--unit S] [--since] [--until]` as pve-common `dump_journal` runs it (3.11):
        oldest first, `-- Boot <id> --` between boots, `-- No entries --` when nothing matches, `--until` inclusive."""
        records = [self.record(e) for e in self.entries()]
        opts = jctl.Options(units=[service] if service else [], since=since, until=until)
        lines, _selection = jctl.show(records, opts, self.node)
        return lines
