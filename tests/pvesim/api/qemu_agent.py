# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""`GET /nodes/{node}/qemu/{vmid}/agent/network-get-interfaces` (qemu-server API2/Qemu/Agent.pm)."""
from __future__ import annotations

from typing import Any

from pvesim import guestagent
from pvesim.api.common import NODE_VMID, now
from pvesim.api.qemu import qemu_guest
from pvesim.app import CallContext
from pvesim.router import Perm, Route
from pvesim.versions import PveVersion


def network_get_interfaces(ctx: CallContext, params: dict[str, Any]) -> Any:
    """`{"result": [...]}`: the agent's answer wrapped by qemu-server; 500s when the agent cannot be asked."""
    cluster = ctx.services.cluster
    with cluster.lock:
        guest = qemu_guest(ctx, params["vmid"])
        guestagent.check_available(guest)
        return {"result": guestagent.network_interfaces(guest, now())}


def routes(profile: PveVersion) -> tuple[Route, ...]:
    """PVE 9: either agent privilege (any); PVE 8: `VM.Monitor` (qemu-server b92a40ce). The read-only token has none -> 403."""
    privs = profile.guest_agent_privs
    return (
        Route(
            "GET", "/nodes/{node}/qemu/{vmid}/agent/network-get-interfaces", network_get_interfaces,
            params=NODE_VMID, perm=Perm("/vms/{vmid}", privs, any_of=len(privs) > 1), protected=True, proxyto="node",
        ),
    )
