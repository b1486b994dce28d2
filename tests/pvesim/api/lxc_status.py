# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The six container power actions `POST .../lxc/{vmid}/status/<action>` (pve-protocol.md 3.6)."""
from __future__ import annotations

from typing import Any

from pvesim.actions import ActionRunner
from pvesim.api.common import NODE, VMID, lxc_guest
from pvesim.app import CallContext
from pvesim.params import ParamSpec, boolean, integer
from pvesim.router import Handler, Perm, Route

POWER = Perm("/vms/{vmid}", ("VM.PowerMgmt",))


def _action(name: str) -> Handler:
    def handler(ctx: CallContext, params: dict[str, Any]) -> Any:
        with ctx.services.cluster.lock:
            guest = lxc_guest(ctx, params["vmid"])
        return ActionRunner(ctx.services, guest, ctx.authid, params).run(name)
    handler.__name__ = f"vm_{name}"
    handler.__doc__ = f"`POST .../status/{name}`: pre-check synchronously, then return the task's UPID."
    return handler


_PARAMS: dict[str, tuple[ParamSpec, ...]] = {
    "start": (boolean("debug"), NODE, boolean("skiplock"), VMID),
    "stop": (NODE, boolean("overrule-shutdown"), boolean("skiplock"), VMID),
    "shutdown": (boolean("forceStop"), NODE, integer("timeout", minimum=0), VMID),
    "reboot": (NODE, integer("timeout", minimum=0), VMID),
    "suspend": (NODE, VMID),
    "resume": (NODE, VMID),
}

ROUTES = tuple(
    Route("POST", f"/nodes/{{node}}/lxc/{{vmid}}/status/{name}", _action(name), params=params, perm=POWER, protected=True, proxyto="node")
    for name, params in _PARAMS.items()
)
