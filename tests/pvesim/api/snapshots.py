# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Snapshot lists of containers and VMs (`GET .../{lxc,qemu}/{vmid}/snapshot`); no snapshots are modelled."""
from __future__ import annotations

from typing import Any

from pvesim.api.common import NODE_VMID, lxc_guest
from pvesim.api.qemu import qemu_guest
from pvesim.app import CallContext
from pvesim.lxcconfig import digest
from pvesim.model import Guest
from pvesim.router import Handler, Perm, Route

VM_AUDIT = Perm("/vms/{vmid}", ("VM.Audit",))


def _current(guest: Guest) -> list[dict[str, Any]]:
    """Only the `current` pseudo-snapshot, as pve-container/qemu-server append it after the real ones."""
    return [{"name": "current", "description": "You are here!", "running": 1 if guest.running else 0, "digest": digest(guest.config)}]


def _snapshot_list(kind: str) -> Handler:
    def handler(ctx: CallContext, params: dict[str, Any]) -> Any:
        with ctx.services.cluster.lock:
            guest = lxc_guest(ctx, params["vmid"]) if kind == "lxc" else qemu_guest(ctx, params["vmid"])
            return _current(guest)
    handler.__name__ = f"{kind}_snapshot_list"
    handler.__doc__ = f"`GET .../{kind}/{{vmid}}/snapshot`: the config must exist on the node (500 otherwise)."
    return handler


ROUTES = tuple(
    Route("GET", f"/nodes/{{node}}/{kind}/{{vmid}}/snapshot", _snapshot_list(kind), params=NODE_VMID, perm=VM_AUDIT, protected=True, proxyto="node")
    for kind in ("lxc", "qemu")
)
