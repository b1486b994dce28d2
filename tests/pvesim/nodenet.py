# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A node's `/etc/network/interfaces` as `GET /nodes/{node}/network` lists it.

Every node has the installer's layout: the physical `eno1` enslaved to the bridge `vmbr0`, which
carries the node's address as `<ip>/24` with a gateway. Shapes follow pve-common INotify.pm: the
address is split into `address` + `netmask` (the prefix length, "24", not a dotted mask) and kept
whole as `cidr`; `lo` is never listed (API2/Network.pm deletes it).
"""
from __future__ import annotations

import ipaddress
from typing import Any

from pvesim.model import Node

PHYSICAL = "eno1"
BRIDGE = "vmbr0"
BRIDGE_TYPES = ("any_bridge", "any_local_bridge")
PREFIX4 = 24
PREFIX6 = 64


def _gateway(address: ipaddress.IPv4Address | ipaddress.IPv6Address, prefix: int) -> str:
    """The first host of the node's subnet, or the last when the node itself has the first."""
    network = ipaddress.ip_network(f"{address}/{prefix}", strict=False)
    first = network.network_address + 1
    return str(first if first != address else network.broadcast_address - 1)


def _bridge(node: Node) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "iface": BRIDGE, "type": "bridge", "active": 1, "autostart": 1, "priority": 4,
        "bridge_ports": PHYSICAL, "bridge_stp": "off", "bridge_fd": "0",
    }
    address = ipaddress.ip_address(node.ip)
    if address.version == 4:
        entry.update({
            "method": "static", "method6": "manual", "families": ["inet"],
            "address": str(address), "netmask": str(PREFIX4), "cidr": f"{address}/{PREFIX4}", "gateway": _gateway(address, PREFIX4),
        })
    else:
        entry.update({
            "method": "manual", "method6": "static", "families": ["inet6"],
            "address6": str(address), "netmask6": PREFIX6, "cidr6": f"{address}/{PREFIX6}", "gateway6": _gateway(address, PREFIX6),
        })
    return entry


def node_interfaces(node: Node, kind: str | None = None) -> list[dict[str, Any]]:
    """The interfaces sorted by name, optionally only one `type` (`any_bridge`: every bridge; SDN types: none here)."""
    physical = {"iface": PHYSICAL, "type": "eth", "method": "manual", "method6": "manual", "families": ["inet"],
                "active": 1, "exists": 1, "priority": 3}
    result = [physical, _bridge(node)]
    if kind is None or kind == "include_sdn":
        return result
    if kind in BRIDGE_TYPES:
        return [i for i in result if i["type"] in ("bridge", "OVSBridge")]
    return [i for i in result if i["type"] == kind]
