# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Parameter specs and guest/node views shared by several API modules (shapes per 3.3-3.5)."""
from __future__ import annotations

import time
from typing import Any

from pvesim.app import CallContext
from pvesim.lxcconfig import ct_conf_missing
from pvesim.model import Guest, Node
from pvesim.params import ParamSpec, integer, string

NODE = string("node", optional=False, fmt="pve-node")
VMID = integer("vmid", optional=False, minimum=100, maximum=999999999, fmt="pve-vmid")
NODE_VMID: tuple[ParamSpec, ...] = (NODE, VMID)


def lxc_guest(ctx: CallContext, vmid: int) -> Guest:
    """The container `vmid` on the executing node, else the `Configuration file ... does not exist` 500."""
    guest = ctx.services.cluster.guest(vmid)
    if guest is None or guest.kind != "lxc" or guest.node != ctx.node:
        raise ct_conf_missing(ctx.node, vmid)
    return guest


def _optional(guest: Guest) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    if guest.tags:
        extra["tags"] = guest.tags
    if guest.lock:
        extra["lock"] = guest.lock
    return extra


def usage(guest: Guest, now: float) -> dict[str, Any]:
    """cpu/mem/disk/net/disk-io/uptime of a guest; zeros while stopped (3.3, 3.5)."""
    if not guest.running:
        return {"cpu": 0, "mem": 0, "disk": 0, "uptime": 0, "netin": 0, "netout": 0, "diskread": 0, "diskwrite": 0}
    uptime = guest.uptime(now)
    result: dict[str, Any] = {
        "cpu": guest.usage.cpu(now),
        "mem": guest.usage.mem(guest.maxmem),
        "disk": guest.usage.disk(guest.maxdisk),
        "uptime": uptime,
    }
    # Counters use the exact running time so they grow between two reads in the same second.
    result.update(guest.usage.counters(now - (guest.started_at or now)))
    return result


def ct_status(guest: Guest, now: float) -> dict[str, Any]:
    """One container as in `GET /nodes/{node}/lxc` and `status/current` (without `ha`, 3.5)."""
    entry: dict[str, Any] = {
        "vmid": guest.vmid,
        "type": guest.kind,
        "status": guest.status,
        "name": guest.name,
        "cpus": guest.cpus,
        "maxmem": guest.maxmem,
        "maxswap": guest.maxswap if guest.kind == "lxc" else 0,
        "maxdisk": guest.maxdisk,
        "swap": 0,
    }
    entry.update(usage(guest, now))
    if guest.running:
        entry["pid"] = guest.pid
        entry.update({f"pressure{k}": 0 for k in ("cpusome", "cpufull", "iosome", "iofull", "memorysome", "memoryfull")})
    if guest.template:
        entry["template"] = 1
    entry.update(_optional(guest))
    return entry


def ha_status(guest: Guest) -> dict[str, Any]:
    """`ha` of status/current: {"managed":0} or {"managed":1,"group":...,"state":...} (3.5)."""
    if guest.ha is None:
        return {"managed": 0}
    result: dict[str, Any] = {"managed": 1, "state": guest.ha.state}
    if guest.ha.group:
        result["group"] = guest.ha.group
    return result


def resource_entry(guest: Guest, node_online: bool, now: float, show_pool: bool) -> dict[str, Any]:
    """A guest in `/cluster/resources`; `status: unknown` without stats when its node is offline (3.3)."""
    entry: dict[str, Any] = {"id": f"{guest.kind}/{guest.vmid}", "vmid": guest.vmid, "node": guest.node, "type": guest.kind}
    if not node_online:
        entry["status"] = "unknown"
    else:
        entry.update({
            "status": guest.status, "name": guest.name, "template": guest.template,
            "maxcpu": guest.cpus, "maxmem": guest.maxmem, "maxdisk": guest.maxdisk,
        })
        entry.update(usage(guest, now))
    entry.update(_optional(guest))
    if guest.pool and show_pool:
        entry["pool"] = guest.pool
    if guest.ha is not None:
        entry["hastate"] = guest.ha.state
    return entry


def node_usage(node: Node, guests: list[Guest], now: float) -> dict[str, Any]:
    """Node cpu/mem/disk/uptime: a base load plus what its running guests use."""
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


def now() -> float:
    """Wall clock (one place to change when a fake clock is needed)."""
    return time.time()
