# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""pvestatd: the status and counters that `/cluster/resources`, `/nodes` and `/pools/{poolid}` show.

Real PVE reads those from the RRD broadcast (API2Tools.pm `extract_vm_stats`/`extract_node_stats`), which
each node's pvestatd refreshes every `$updatetime = 10` seconds (Service/pvestatd.pm:885). So a guest that
was just started still reads `stopped` there for up to 10 s and its counters move in steps, while
`status/current` and `/nodes/{node}/lxc` compute everything when asked. `--stats-refresh S` sets the
period (default 10); 0 makes every read live, for tests that need instant values.

pmxcfs drops broadcast entries older than 5 minutes (pve-cluster status.c `rrd_entry_is_old`), so an
offline node's numbers and its guests' (last) status stay visible that long, then become `unknown`.
"""
from __future__ import annotations

import hashlib
import threading
import time
from typing import Any

from pvesim.model import Cluster, Guest, Node

EXPIRE_SECONDS = 300.0


def guest_usage(guest: Guest, now: float) -> dict[str, Any]:
    """cpu/mem/disk/net/disk-io/uptime of a guest right now; zeros while stopped (3.3, 3.5)."""
    if not guest.running:
        return {"cpu": 0, "mem": 0, "disk": 0, "uptime": 0, "netin": 0, "netout": 0, "diskread": 0, "diskwrite": 0}
    result: dict[str, Any] = {
        "cpu": guest.usage.cpu(now),
        "mem": guest.usage.mem(guest.maxmem),
        "disk": guest.usage.disk(guest.maxdisk),
        "uptime": guest.uptime(now),
    }
    # Counters use the exact running time so they grow between two reads in the same second.
    result.update(guest.usage.counters(now - (guest.started_at or now)))
    return result


def node_usage(node: Node, guests: list[Guest], now: float) -> dict[str, Any]:
    """Node cpu/mem/disk/uptime right now: a base load plus what its running guests use."""
    running = [g for g in guests if g.running]
    mem = int(node.memory * 0.08) + sum(int(g.maxmem * g.usage.mem_share) for g in running)
    cpu = min(1.0, node.usage.cpu(now) * 0.2 + sum(g.usage.cpu_level * g.cpus for g in running) / max(node.cpus, 1))
    return {
        "cpu": round(cpu, 6),
        "maxcpu": node.cpus,
        "mem": min(mem, int(node.memory * 0.95)),
        "maxmem": node.memory,
        "disk": int(node.disk * node.usage.disk_share),
        "maxdisk": node.disk,
        "uptime": node.uptime(now),
    }


def guest_rrd(guest: Guest, now: float) -> dict[str, Any]:
    """What pvestatd broadcasts for a guest: status, name, template, limits and usage (extract_vm_stats fields)."""
    entry: dict[str, Any] = {"status": guest.status, "name": guest.name, "template": guest.template,
                             "maxcpu": guest.cpus, "maxmem": guest.maxmem, "maxdisk": guest.maxdisk}
    entry.update(guest_usage(guest, now))
    return entry


class StatusDaemon:
    """Per-node snapshots taken every `interval` seconds by one thread (each node at its own phase), or live reads.

    Read only under `cluster.lock`; the thread takes the same lock for a snapshot.
    """

    def __init__(self, cluster: Cluster, interval: float, stop_event: threading.Event) -> None:
        self.cluster = cluster
        self.interval = interval
        self.stop_event = stop_event
        self._guests: dict[int, tuple[float, dict[str, Any]]] = {}
        self._nodes: dict[str, tuple[float, dict[str, Any]]] = {}
        self._due: dict[str, float] = {}
        self.updates = 0
        """How many node updates ran (the `pvestatd` entry of GET /_sim/state; tests wait on it)."""
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """First snapshot of every node now (pvestatd has been running long before), then the update thread."""
        if self.interval <= 0:
            return
        now = time.time()
        with self.cluster.lock:
            for name, node in self.cluster.nodes.items():
                if node.online:
                    self._update(name, now)
                # Each node's pvestatd started at its own moment: spread the phases over the period.
                phase = int(hashlib.sha256(name.encode()).hexdigest()[:8], 16) % 1000 / 1000.0
                self._due[name] = now + self.interval * (0.2 + 0.8 * phase)
        self._thread = threading.Thread(target=self._run, name="pvesim-pvestatd", daemon=True)
        self._thread.start()

    def join(self, timeout: float) -> None:
        """Wait for the thread after stop_event was set."""
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self.stop_event.is_set():
            wait = max(0.0, min(self._due.values()) - time.time()) if self._due else self.interval
            if self.stop_event.wait(wait):
                return
            now = time.time()
            with self.cluster.lock:
                for name, due in list(self._due.items()):
                    if due <= now:
                        node = self.cluster.nodes.get(name)
                        if node is not None and node.online:  # an offline node's pvestatd sends nothing
                            self._update(name, now)
                        self._due[name] = due + self.interval * max(1, int((now - due) // self.interval) + 1)

    def _update(self, name: str, now: float) -> None:
        node = self.cluster.nodes[name]
        guests = self.cluster.guests_on(name)
        self._nodes[name] = (now, node_usage(node, guests, now))
        for guest in guests:
            self._guests[guest.vmid] = (now, guest_rrd(guest, now))
        self.updates += 1

    def guest(self, guest: Guest, now: float) -> dict[str, Any] | None:
        """The broadcast fields of a guest; None when there are none (extract_vm_stats then says `status: unknown`)."""
        if self.interval <= 0:
            return guest_rrd(guest, now) if self.cluster.nodes[guest.node].online else None
        return _fresh(self._guests.get(guest.vmid), now)

    def node(self, node: Node, now: float) -> dict[str, Any] | None:
        """The broadcast numbers of a node; None before its first update or when they expired."""
        if self.interval <= 0:
            return node_usage(node, self.cluster.guests_on(node.name), now) if node.online else None
        return _fresh(self._nodes.get(node.name), now)


def _fresh(item: tuple[float, dict[str, Any]] | None, now: float) -> dict[str, Any] | None:
    if item is None or now - item[0] > EXPIRE_SECONDS:
        return None
    return dict(item[1])
