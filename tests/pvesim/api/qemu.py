# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""QEMU guests, status only for now: `GET /nodes/{node}/qemu`."""
from __future__ import annotations

from typing import Any

from pvesim.api.common import NODE, ct_status, now
from pvesim.app import CallContext
from pvesim.params import boolean
from pvesim.router import Route


def list_vms(ctx: CallContext, params: dict[str, Any]) -> Any:
    """VMs of the executing node; same counters as containers plus `qmpstatus` for running ones."""
    cluster = ctx.services.cluster
    moment = now()
    result = []
    with cluster.lock:
        if ctx.identity is None or not ctx.identity.has(("VM.Audit",)):
            return []
        for guest in cluster.guests_on(ctx.node, "qemu"):
            entry = ct_status(guest, moment)
            entry.pop("type")
            entry.pop("maxswap")
            entry.pop("swap")
            if guest.running:
                entry["qmpstatus"] = "running"
            result.append(entry)
    return result


ROUTES = (
    Route("GET", "/nodes/{node}/qemu", list_vms, params=(boolean("full"), NODE), protected=True, proxyto="node"),
)
