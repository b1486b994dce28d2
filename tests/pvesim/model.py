# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Cluster, node and guest state. One re-entrant lock guards all of it (`Cluster.lock`)."""
from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from typing import Any

from pvesim.stats import Usage

PVE_VERSION = "9.2.11"
REPOID = "14a22df35955d97d"
KERNEL_RELEASE = "6.17.4-1-pve"
KERNEL_VERSION = "#1 SMP PREEMPT_DYNAMIC PMX 6.17.4-1 (2025-12-03T15:42Z)"
MIB = 1024 * 1024
GIB = 1024 * MIB


@dataclass
class HaState:
    """An HA resource: what was requested and where the CRM/LRM are with it (actions.py models them).

    `state` is the CRM's service state that `status/current` (`ha.state`) and `/cluster/resources` (`hastate`)
    show: `started`, `stopped`, `request_stop`, `relocate` or `error` (pve-ha-manager Manager.pm).
    """

    group: str | None = None
    state: str = "started"
    requested: str = "started"
    """The configured state (`ha-manager set --state`): `started` or `stopped`."""
    relocate_to: str | None = None
    """Test switch: the next start on the current node fails and HA relocates the guest to this node."""

    @classmethod
    def for_status(cls, group: str | None, running: bool, relocate_to: str | None = None) -> HaState:
        """A resource whose guest is settled in its status."""
        state = "started" if running else "stopped"
        return cls(group, state, state, relocate_to)


@dataclass
class Node:
    """A cluster node; offline nodes answer 595 to proxied calls (2.1)."""

    name: str
    ip: str
    online: bool
    nodeid: int
    cpus: int
    memory: int
    disk: int
    boot_time: float
    cpu_model: str = "AMD EPYC 7302P 16-Core Processor"
    usage: Usage = field(default_factory=lambda: Usage(0))
    next_pid: int = 100000
    root_shell: str = "bash"
    """root@pam's login shell on this node (rootshell.ROOT_SHELLS; scenario `root_shell`, CLI `--root-shell`)."""

    def alloc_pid(self) -> int:
        """A fresh process id on this node (task workers, container init processes)."""
        self.next_pid += 7 + (self.next_pid % 13)
        return self.next_pid

    def uptime(self, now: float) -> int:
        """Seconds since the node booted."""
        return int(now - self.boot_time)


@dataclass
class Guest:
    """A container (`lxc`) or VM (`qemu`); for containers `config` holds the CT config keys (3.9)."""

    vmid: int
    node: str
    kind: str
    config: dict[str, Any]
    status: str
    pool: str | None = None
    ha: HaState | None = None
    systemd: bool = True
    extra_interfaces: list[dict[str, Any]] = field(default_factory=list)
    ignores_shutdown: bool = False
    task_warnings: int = 0
    started_at: float | None = None
    pid: int | None = None
    checkpoint: bool = False
    usage: Usage = field(default_factory=lambda: Usage(0))
    agent_running: bool = True
    """QEMU: whether the guest agent answers (only matters while the VM runs and `agent` is configured)."""
    agent_addresses: list[str] = field(default_factory=list)
    """QEMU: `addr/prefix` the guest agent reports on eth0 (scenario `agent_addresses`)."""

    @property
    def name(self) -> str:
        """CT name = config hostname with whitespace removed, else `CT<vmid>` (3.5)."""
        if self.kind == "qemu":
            return str(self.config.get("name") or f"VM{self.vmid}")
        return re.sub(r"\s", "", str(self.config.get("hostname", ""))) or f"CT{self.vmid}"

    @property
    def running(self) -> bool:
        """Status is only ever `running` or `stopped` for containers (3.5)."""
        return self.status == "running"

    @property
    def lock(self) -> str | None:
        """The config lock (`backup`, `migrate`, ...)."""
        value = self.config.get("lock")
        return str(value) if value else None

    @property
    def template(self) -> int:
        """1 for templates (0/1 integers, never booleans, 2.2)."""
        return 1 if int(self.config.get("template", 0) or 0) else 0

    @property
    def tags(self) -> str | None:
        """`;`-separated tags as stored in the config."""
        value = self.config.get("tags")
        return str(value) if value else None

    @property
    def agent(self) -> bool:
        """QEMU guest agent enabled in the config: `agent: 1` or `agent: enabled=1,...` (the property string's default key)."""
        first = str(self.config.get("agent", "")).split(",", maxsplit=1)[0]
        return first.removeprefix("enabled=") in ("1", "on", "yes", "true")

    @property
    def maxmem(self) -> int:
        """Memory limit in bytes (config `memory` is MiB)."""
        return int(self.config.get("memory", 512)) * MIB

    @property
    def maxswap(self) -> int:
        """Swap limit in bytes (config `swap` is MiB)."""
        return int(self.config.get("swap", 512)) * MIB

    @property
    def cpus(self) -> int:
        """CPU count (config `cores`)."""
        return int(self.config.get("cores", 1))

    @property
    def maxdisk(self) -> int:
        """Root disk size from `rootfs: ...,size=8G` (4 GiB default, 3.5)."""
        key = "rootfs" if self.kind == "lxc" else "scsi0"
        match = re.search(r"size=(\d+)([KMGT]?)", str(self.config.get(key, "")))
        if not match:
            return 4 * GIB
        scale = {"": 1, "K": 1024, "M": MIB, "G": GIB, "T": 1024 * GIB}[match.group(2)]
        return int(match.group(1)) * scale

    def uptime(self, now: float) -> int:
        """Seconds since the last start; 0 when stopped."""
        if not self.running or self.started_at is None:
            return 0
        return max(int(now - self.started_at), 0)

    def mark_running(self, now: float, pid: int) -> None:
        """Start bookkeeping: new init pid, counters restart from zero."""
        self.status = "running"
        self.started_at = now
        self.pid = pid

    def mark_stopped(self) -> None:
        """Stop bookkeeping: no pid, zero counters."""
        self.status = "stopped"
        self.started_at = None
        self.pid = None


@dataclass
class Pool:
    """A resource pool; members are the guests whose `pool` names it."""

    poolid: str
    comment: str | None = None


class Cluster:
    """The whole simulated cluster. Hold `lock` while reading or changing anything in it."""

    def __init__(self, name: str | None, nodes: list[Node], guests: list[Guest], pools: list[Pool], version: str = PVE_VERSION) -> None:
        if not nodes:
            raise ValueError("a scenario needs at least one node")
        self.name = name
        self.version = version
        self.config_version = 3 + len(nodes)
        self.nodes = {n.name: n for n in nodes}
        self.guests = {g.vmid: g for g in sorted(guests, key=lambda g: g.vmid)}
        self.pools = {p.poolid: p for p in pools}
        self.lock = threading.RLock()

    @property
    def local_node(self) -> Node:
        """The node that answers the API (the first one): `local: 1` in /cluster/status (3.2)."""
        return next(iter(self.nodes.values()))

    @property
    def display_name(self) -> str:
        """The cluster name, or the only node's name for a standalone node (6.1)."""
        return self.name or self.local_node.name

    @property
    def quorate(self) -> int:
        """1 when more than half of the nodes are online."""
        online = sum(1 for n in self.nodes.values() if n.online)
        return 1 if online * 2 > len(self.nodes) else 0

    def guest(self, vmid: int) -> Guest | None:
        """The guest with that vmid, any node, any type."""
        return self.guests.get(vmid)

    def guests_on(self, node: str, kind: str | None = None) -> list[Guest]:
        """Guests of one node (optionally one type), sorted by vmid."""
        return [g for g in self.guests.values() if g.node == node and (kind is None or g.kind == kind)]
