# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""`GET /nodes/{node}/network` (pve-manager API2/Network.pm `index`; any authenticated user)."""
from __future__ import annotations

from typing import Any

from pvesim.api.common import NODE
from pvesim.app import CallContext
from pvesim.nodenet import node_interfaces
from pvesim.params import string
from pvesim.router import Route

TYPES = (
    "bridge", "bond", "eth", "alias", "vlan", "fabric", "OVSBridge", "OVSBond", "OVSPort", "OVSIntPort", "vnet",
    "any_bridge", "any_local_bridge", "include_sdn",
)


def index(ctx: CallContext, params: dict[str, Any]) -> Any:
    """The executing node's interfaces (no `lo`), filtered by `type`."""
    cluster = ctx.services.cluster
    with cluster.lock:
        return node_interfaces(cluster.nodes[ctx.node], params.get("type"))


ROUTES = (
    Route("GET", "/nodes/{node}/network", index, params=(NODE, string("type", enum=TYPES)), proxyto="node"),
)
