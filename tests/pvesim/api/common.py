# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Parameter specs and guest/node views shared by several API modules (shapes per 3.3-3.5)."""
from __future__ import annotations

import time
from typing import Any

from pvesim.app import CallContext
from pvesim.lxcconfig import ct_conf_missing
from pvesim.model import Guest
from pvesim.params import ParamSpec, integer, string
from pvesim.pvestatd import guest_usage

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
    entry.update(guest_usage(guest, now))
    if guest.running:
        entry["pid"] = guest.pid
        entry.update({f"pressure{k}": 0 for k in ("cpusome", "cpufull", "iosome", "iofull", "memorysome", "memoryfull")})
    if guest.template:
        entry["template"] = 1
    entry.update(_optional(guest))
    return entry


def ha_status(ctx: CallContext, guest: Guest) -> dict[str, Any]:
    """`ha` of status/current: {"managed":0} or {"managed":1,"state":...} plus `group` on older releases
    (pve-ha-manager Config.pm `get_service_status`; versions.py `ha_status_group`)."""
    if guest.ha is None:
        return {"managed": 0}
    result: dict[str, Any] = {"managed": 1, "state": guest.ha.state}
    if guest.ha.group and ctx.services.profile.ha_status_group:
        result["group"] = guest.ha.group
    return result


def resource_entry(guest: Guest, show_pool: bool, stats: dict[str, Any] | None) -> dict[str, Any]:
    """A guest in `/cluster/resources` (3.3): the broadcast `stats` (pvestatd.py), or `status: unknown` without them
    (none yet, or expired after its node went offline). `node`, `tags`, `lock`, `pool` and `hastate` are current."""
    entry: dict[str, Any] = {"id": f"{guest.kind}/{guest.vmid}", "vmid": guest.vmid, "node": guest.node, "type": guest.kind}
    if stats is None:
        entry["status"] = "unknown"
    else:
        entry.update(stats)
    entry.update(_optional(guest))
    if guest.pool and show_pool:
        entry["pool"] = guest.pool
    if guest.ha is not None:
        entry["hastate"] = guest.ha.state
    return entry


def now() -> float:
    """Wall clock (one place to change when a fake clock is needed)."""
    return time.time()
