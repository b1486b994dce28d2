# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""QEMU guests, read-only: the list, `status/current` and `config` (no power actions are simulated)."""
from __future__ import annotations

from typing import Any

from pvesim import qemuconfig
from pvesim.api.common import NODE, NODE_VMID, VMID, ct_status, ha_status, now
from pvesim.app import CallContext
from pvesim.errors import die
from pvesim.model import Guest
from pvesim.params import boolean, string
from pvesim.router import Perm, Route

VM_AUDIT = Perm("/vms/{vmid}", ("VM.Audit",))
RUNNING_MACHINE = "pc-i440fx-10.1+pve0"
RUNNING_QEMU = "10.1.2"


def qemu_guest(ctx: CallContext, vmid: int) -> Guest:
    """The VM `vmid` on the executing node, else the qemu-server `Configuration file ... does not exist` 500."""
    guest = ctx.services.cluster.guest(vmid)
    if guest is None or guest.kind != "qemu" or guest.node != ctx.node:
        raise qemuconfig.vm_conf_missing(ctx.node, vmid)
    return guest


def _vm_entry(guest: Guest, moment: float) -> dict[str, Any]:
    """A VM as `vmstatus` reports it: the container fields without `type`, `maxswap`, `swap`."""
    entry = ct_status(guest, moment)
    for key in ("type", "maxswap", "swap"):
        entry.pop(key)
    return entry


def list_vms(ctx: CallContext, params: dict[str, Any]) -> Any:
    """VMs of the executing node; same counters as containers plus `qmpstatus` for running ones."""
    cluster = ctx.services.cluster
    moment = now()
    result = []
    with cluster.lock:
        if ctx.identity is None or not ctx.identity.has(("VM.Audit",)):
            return []
        for guest in cluster.guests_on(ctx.node, "qemu"):
            entry = _vm_entry(guest, moment)
            if guest.running:
                entry["qmpstatus"] = "running"
            result.append(entry)
    return result


def vm_status(ctx: CallContext, params: dict[str, Any]) -> Any:
    """`vm_status`: vmstatus(full) + `ha`, `agent` when configured; `qmpstatus` falls back to `status` when stopped."""
    cluster = ctx.services.cluster
    with cluster.lock:
        guest = qemu_guest(ctx, params["vmid"])
        result = _vm_entry(guest, now())
        # qemu-server: `qmpstatus = status if !qmpstatus`, so a stopped VM says "stopped" (the peer inventory relies on the key).
        result["qmpstatus"] = guest.status
        if guest.running:
            result.update({"running-machine": RUNNING_MACHINE, "running-qemu": RUNNING_QEMU})
        if guest.agent:
            result["agent"] = 1
        result["ha"] = ha_status(ctx, guest)
    return result


def get_config(ctx: CallContext, params: dict[str, Any]) -> Any:
    """Flat config + digest; `agent: "1"` for VMs with a guest agent configured."""
    cluster = ctx.services.cluster
    with cluster.lock:
        guest = qemu_guest(ctx, params["vmid"])
        if params.get("snapshot"):
            raise die(f"snapshot '{params['snapshot']}' does not exist")
        return qemuconfig.api_view(guest)


ROUTES = (
    Route("GET", "/nodes/{node}/qemu", list_vms, params=(boolean("full"), NODE), protected=True, proxyto="node"),
    Route("GET", "/nodes/{node}/qemu/{vmid}/status/current", vm_status, params=NODE_VMID, perm=VM_AUDIT, protected=True, proxyto="node"),
    Route(
        "GET", "/nodes/{node}/qemu/{vmid}/config", get_config,
        params=(boolean("current"), NODE, string("snapshot", max_length=40, fmt="pve-configid"), VMID),
        perm=VM_AUDIT, proxyto="node",
    ),
)
