# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The QEMU guest agent of a simulated VM: availability checks and `guest-network-get-interfaces`.

The checks and their order are qemu-server's `agent_available` (plain dies -> HTTP 500): no agent in the
config, then the VM not running, then the agent not answering. The interface list is what qemu-guest-agent
reports: `lo`, then `eth0` with the scenario's `agent_addresses` and the link-local address from the MAC;
address types are `ipv4`/`ipv6` (not the `inet`/`inet6` of the container `/interfaces`, 3.8).
"""
from __future__ import annotations

import ipaddress
from typing import Any

from pvesim.errors import die
from pvesim.model import Guest
from pvesim.network import default_hwaddr, link_local

NIC_MODELS = ("virtio", "e1000", "e1000e", "rtl8139", "vmxnet3")
AVERAGE_PACKET = 900
"""Bytes per packet used to derive the packet counters from the byte counters."""


def check_available(guest: Guest) -> None:
    """qemu-server `agent_available`: raise the 500 a real node answers when the agent cannot be asked."""
    if not guest.agent:
        raise die("No QEMU guest agent configured")
    if not guest.running:
        raise die(f"VM {guest.vmid} is not running")
    if not guest.agent_running:
        raise die("QEMU guest agent is not running")


def _address(text: str) -> dict[str, Any]:
    iface = ipaddress.ip_interface(text)
    kind = "ipv4" if iface.version == 4 else "ipv6"
    return {"ip-address-type": kind, "ip-address": str(iface.ip), "prefix": iface.network.prefixlen}


def _statistics(rx_bytes: int, tx_bytes: int) -> dict[str, int]:
    return {
        "rx-bytes": rx_bytes, "rx-dropped": 0, "rx-errs": 0, "rx-packets": rx_bytes // AVERAGE_PACKET,
        "tx-bytes": tx_bytes, "tx-dropped": 0, "tx-errs": 0, "tx-packets": tx_bytes // AVERAGE_PACKET,
    }


def network_interfaces(guest: Guest, now: float) -> list[dict[str, Any]]:
    """`guest-network-get-interfaces` of a running VM: lo, then eth0 (net0's MAC, lower-case as the agent reports it)."""
    mac = (_net0_mac(guest) or default_hwaddr(guest.vmid, 0)).lower()
    counters = guest.usage.counters(now - (guest.started_at or now))
    loopback = {
        "name": "lo", "hardware-address": "00:00:00:00:00:00",
        "ip-addresses": [_address("127.0.0.1/8"), _address("::1/128")],
        "statistics": _statistics(counters["netin"] // 50, counters["netin"] // 50),
    }
    eth0 = {
        "name": "eth0", "hardware-address": mac,
        # The kernel's order: IPv4, global IPv6, then the link-local address.
        "ip-addresses": [_address(a) for a in guest.agent_addresses] + [_address(link_local(mac))],
        "statistics": _statistics(counters["netin"], counters["netout"]),
    }
    return [loopback, eth0]


def _net0_mac(guest: Guest) -> str | None:
    """The MAC of a qemu `net0: virtio=BC:24:11:..,bridge=vmbr0` (the model name is the key)."""
    pairs = dict(p.split("=", 1) for p in str(guest.config.get("net0", "")).split(",") if "=" in p)
    return next((pairs[m] for m in NIC_MODELS if m in pairs), None)
