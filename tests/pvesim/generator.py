# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Seeded scenario generator for `--nodes` / `--containers-per-node` (benchmarks: 3 x 200, 3 x 1000)."""
from __future__ import annotations

import random
from typing import Any

_ROLES = ("web", "db", "cache", "worker", "proxy", "api", "queue", "mail", "dns", "git", "ci", "monitor", "backup", "media", "vpn")
_OSTYPES = (("debian", 60), ("ubuntu", 25), ("alpine", 10), ("fedora", 5))
_TAGS = ("prod", "dev", "staging", "edge", "internal", "batch")


def _weighted(rng: random.Random, choices: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([c for c, _weight in choices], weights=[w for _value, w in choices])[0]


def _net(rng: random.Random, index: int) -> list[str]:
    """Mostly static private IPv4, some DHCP, some dual stack, a few public or IPv6-only."""
    roll = rng.random()
    third, host = 20 + (index // 250) % 200, 2 + index % 250
    if roll < 0.55:
        return [f"name=eth0,bridge=vmbr0,gw=10.{third}.0.1,ip=10.{third}.0.{host}/16"]
    if roll < 0.75:
        return ["name=eth0,bridge=vmbr0,ip=dhcp"]
    if roll < 0.88:
        return [f"name=eth0,bridge=vmbr0,gw=10.{third}.0.1,ip=10.{third}.0.{host}/16,ip6=auto"]
    if roll < 0.95:
        return [f"name=eth0,bridge=vmbr0,ip6=2001:db8:{third:x}::{host:x}/64"]
    return [f"name=eth0,bridge=vmbr0,gw=203.0.113.1,ip=203.0.113.{host % 250 + 2}/24", f"name=eth1,bridge=vmbr1,ip=100.64.{third}.{host}/10"]


def generate(nodes: int = 3, containers_per_node: int = 4, seed: int = 1) -> dict[str, Any]:
    """A scenario document: `nodes` online nodes, each with `containers_per_node` containers and a VM or two."""
    rng = random.Random(seed)
    doc: dict[str, Any] = {
        "cluster": "homelab" if nodes > 1 else None,
        "nodes": [{"name": f"pve{i + 1}", "ip": f"10.0.0.{11 + i}", "online": True} for i in range(nodes)],
        "pools": [{"poolid": "apps", "comment": "Application containers"}],
        "guests": [],
    }
    vmid = 100
    counter = 0
    for node_index in range(nodes):
        node = f"pve{node_index + 1}"
        for _number in range(containers_per_node):
            role = rng.choice(_ROLES)
            ostype = _weighted(rng, _OSTYPES)
            guest: dict[str, Any] = {
                "vmid": vmid,
                "node": node,
                "type": "lxc",
                # Names repeat on purpose (duplicate names exist in real clusters).
                "name": f"{role}-{rng.randint(1, max(2, containers_per_node // 3))}",
                "status": "running" if rng.random() < 0.7 else "stopped",
                "net": _net(rng, counter),
                "tags": sorted(rng.sample(_TAGS, rng.randint(0, 2))),
                "ostype": ostype,
                "systemd": ostype != "alpine",
                "memory": rng.choice((512, 1024, 2048, 4096)),
                "cores": rng.choice((1, 1, 2, 2, 4)),
                "disk_gib": rng.choice((4, 8, 16, 32)),
            }
            if rng.random() < 0.1:
                guest["pool"] = "apps"
            if rng.random() < 0.03:
                guest["lock"] = "backup"
            doc["guests"].append(guest)
            vmid += 1
            counter += 1
        for _vm in range(1 + containers_per_node // 100):
            doc["guests"].append({"vmid": vmid, "node": node, "type": "qemu", "name": f"vm-{vmid}", "status": rng.choice(("running", "stopped"))})
            vmid += 1
    return doc
